package dind_test

import (
	"context"
	"fmt"
	"log"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm/dind"
)

// Start a manager, three workers and a registry holding busybox, print where everything is,
// and remove it all again.
func ExampleStart() {
	ctx := context.Background()
	host, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer host.Close()
	lab, err := dind.Start(ctx, host, dind.Options{Name: "demo", Workers: 3, Push: []string{"busybox:latest"}})
	if err != nil {
		log.Fatal(err)
	}
	defer lab.Close(context.WithoutCancel(ctx))
	for _, w := range lab.Warnings {
		fmt.Println("warning:", w)
	}
	for _, n := range lab.Nodes() {
		fmt.Println(n.Name, n.Role, n.Addr, n.EngineHost)
	}
	fmt.Println("services use", lab.Images["busybox:latest"]) // registry:5000/library/busybox:latest
	fmt.Println("the host pushes to", lab.Registry.HostAddr)
}
