package testenv

import (
	"testing"

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
