//go:build faults

package registry_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/berthdev/berth/image"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/registry"
)

// The registry stops in the middle of a push: Push fails with a *PushError that says the
// registry stopped answering (cerrdefs.ErrUnavailable), naming the registry and the image;
// once the registry is back, the same push succeeds.
func TestFaultRegistryStoppedDuringPush(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 3*time.Minute)
	r := start(t, cli, registry.Options{Name: testenv.Name(t, "reg"), Image: testenv.Image(t, cli, fixtures.Registry)})

	// A layer of random bytes (the engine compresses layers when it pushes them: these do not
	// shrink), big enough for the push to take a while on loopback.
	blob := make([]byte, 96<<20)
	rand.Read(blob)
	tag := "berth-test/" + testenv.Name(t, "big") + ":1"
	res, err := image.Wait(image.Build(ctx, cli, image.Files{
		{Name: "Dockerfile", Data: []byte("FROM scratch\nCOPY blob /blob\n")},
		{Name: "blob", Data: blob},
	}, image.BuildOptions{Tags: []string{tag}}))
	if err != nil {
		t.Fatalf("build the image: %v", err)
	}
	t.Cleanup(func() { image.Remove(context.Background(), cli, res.ImageID, image.RemoveOptions{Force: true}) })

	stopped := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond) // the push is under way: tagging is instant, the upload is not
		stopped <- r.Stop(ctx)
	}()
	start := time.Now()
	_, err = r.Push(ctx, cli, tag, "berth-test/big:1")
	took := time.Since(start)
	if serr := <-stopped; serr != nil {
		t.Fatalf("stop the registry: %v", serr)
	}
	t.Logf("push after %s: %v", took.Round(time.Millisecond), err)
	if err == nil {
		t.Fatalf("the push finished in %s, before the registry stopped: make the image bigger", took)
	}
	var pe *registry.PushError
	if !errors.As(err, &pe) || !pe.Down || !errors.Is(err, cerrdefs.ErrUnavailable) {
		t.Fatalf("want a *PushError with the registry down, got %T %v", err, err)
	}
	if !strings.Contains(err.Error(), r.Name) || !strings.Contains(err.Error(), "berth-test/big:1") {
		t.Errorf("error %q names neither the registry nor the image", err)
	}
	t.Cleanup(func() { image.Remove(context.Background(), cli, pe.Image, image.RemoveOptions{}) })

	if err := r.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Push(ctx, cli, tag, "berth-test/big:1"); err != nil {
		t.Fatalf("push again once the registry is back: %v", err)
	}
}
