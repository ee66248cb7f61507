package registry_test

import (
	"context"
	"fmt"
	"log"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/registry"
)

// Start a local registry, push an image into it and list what it holds.
func ExampleRegistry_Push() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	reg, err := registry.Start(ctx, cli, registry.Options{Name: "registry"})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Remove(ctx, registry.RemoveOptions{})
	pushed, err := reg.Push(ctx, cli, "busybox:latest", "example/busybox:1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pushed.HostRef, pushed.ClusterRef, pushed.Digest)
	repos, err := reg.API.Catalog(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(repos)
}
