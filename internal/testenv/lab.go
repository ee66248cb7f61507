package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/swarm/dind"
)

// LabImages fills the node and registry images of o with the local fixtures when it names
// none: the library's defaults are the public images, which a machine without internet lacks.
func LabImages(t testing.TB, host dind.Engine, o dind.Options) dind.Options {
	t.Helper()
	if o.Image == "" {
		o.Image = Image(t, host, fixtures.Dind)
	}
	if o.RegistryImage == "" {
		o.RegistryImage = Image(t, host, fixtures.Registry)
	}
	return o
}

// StartLab starts a lab from the fixture images (see LabImages) and closes it when the test
// ends, also when it fails. The lab's name must be unique (Name).
func StartLab(t testing.TB, ctx context.Context, host dind.Engine, o dind.Options) *dind.Cluster {
	t.Helper()
	lab, err := dind.Start(ctx, host, LabImages(t, host, o))
	if err != nil {
		t.Fatalf("start lab: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := lab.Close(ctx); err != nil {
			t.Errorf("close lab %s: %v", lab.Name, err)
		}
	})
	t.Logf("lab %s up in %s (privileged %v) %v", lab.Name, lab.Elapsed.Round(time.Millisecond), lab.Privileged, lab.Warnings)
	return lab
}
