package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/berth/image"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/registry"
)

// Registry starts a local registry for this test on a free loopback port (removed with its
// volume when the test ends) and pushes fixture k into it as "berth-test/NAME:1". It returns
// the registry and the pushed image's host reference (127.0.0.1:PORT/…), which swarm tasks
// can pull without ever reaching Docker Hub (ENGINE.md §4).
func Registry(t testing.TB, cli *client.Client, k fixtures.Kind) (*registry.Registry, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reg, err := registry.Start(ctx, cli, registry.Options{Name: Name(t, "reg"), Image: Image(t, cli, fixtures.Registry)})
	if err != nil {
		t.Fatalf("start test registry: %v", err)
	}
	t.Cleanup(func() { reg.Remove(context.Background(), registry.RemoveOptions{}) })
	pushed, err := reg.Push(ctx, cli, Image(t, cli, k), "berth-test/fixture:1")
	if err != nil {
		t.Fatalf("push %s into the test registry: %v", k.Local, err)
	}
	t.Cleanup(func() { image.Remove(context.Background(), cli, pushed.HostRef, image.RemoveOptions{}) })
	return reg, pushed.HostRef
}
