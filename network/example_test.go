package network_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/network"
)

// The chapter's `docker network create --driver overlay --attachable ch03`.
func ExampleCreate() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	_, err = network.Create(ctx, cli, "ch03", network.CreateOptions{Driver: "overlay", Attachable: true})
	if errors.Is(err, network.ErrExists) {
		fmt.Println("ch03 is there already")
	} else if err != nil {
		log.Fatal(err)
	}
}

// Invalid options come back all at once, before any request.
func ExampleCreate_invalid() {
	_, err := network.Create(context.Background(), nil, "db-net", network.CreateOptions{
		Attachable: true, Subnets: []network.Subnet{{Subnet: "10.20.0.0/24", Gateway: "10.30.0.1"}},
	})
	for _, ve := range berth.ValidationErrors(err) {
		fmt.Println(ve)
	}
	// Output:
	// attachable: only an overlay network is attachable (driver is "")
	// subnets[0]/gateway: "10.30.0.1" is not an address inside 10.20.0.0/24
}

// `docker network connect --alias db ch03 mysql`, then disconnect and remove.
func ExampleConnect() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := network.Connect(ctx, cli, "ch03", "mysql", network.ConnectOptions{Aliases: []string{"db"}}); err != nil {
		log.Fatal(err)
	}
	if err := network.Disconnect(ctx, cli, "ch03", "mysql", false); err != nil {
		log.Fatal(err)
	}
	if err := network.Remove(ctx, cli, "ch03"); errors.Is(err, network.ErrInUse) {
		fmt.Println("other containers still use ch03")
	}
}

// `docker network ls --filter driver=overlay` and `docker network inspect`.
func ExampleList() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	list, err := network.List(ctx, cli, network.ListOptions{Driver: "overlay"})
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range list {
		info, err := network.Inspect(ctx, cli, n.ID)
		if err == nil {
			fmt.Println(info.Name, info.Scope, info.Attachable)
		}
	}
}
