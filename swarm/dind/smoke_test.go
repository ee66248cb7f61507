package dind_test

import (
	"context"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/swarm/dind"
)

func TestSmoke(t *testing.T) {
	host := testenv.Engine(t)
	ctx := testenv.Context(t, 3*time.Minute)
	lab, err := dind.Start(ctx, host, dind.Options{Name: testenv.Name(t, "lab"), Workers: 3, Push: []string{"berth-fixtures/busybox:local"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	t.Logf("%+v elapsed %s", lab, lab.Elapsed)
	for _, n := range lab.Nodes() {
		t.Logf("%+v", *n)
	}
}
