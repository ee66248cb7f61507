package swarm_test

import (
	"context"
	"fmt"
	"log"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
)

// Make the engine of DOCKER_HOST a swarm manager, then print how workers join it.
func ExampleInit() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	res, err := swarm.Init(ctx, cli, swarm.InitOptions{
		AdvertiseAddr:   "10.0.0.2",
		DefaultAddrPool: []string{"10.20.0.0/16"},
		SubnetSize:      24,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("docker swarm join --token %s 10.0.0.2:2377\n", res.Swarm.JoinTokens.Worker)
}

// Drain a node and label it, in one write.
func ExampleUpdateNode() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	n, err := swarm.UpdateNode(ctx, cli, "worker1", swarm.NodeUpdate{
		Availability: swarm.AvailabilityDrain,
		AddLabels:    map[string]string{"maintenance": "2026-11"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n.Hostname, n.Availability, n.Labels)
}

// List the workers with the columns of `docker node ls`.
func ExampleNodes() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	nodes, err := swarm.Nodes(ctx, cli, swarm.NodeFilter{Role: swarm.RoleWorker})
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range nodes {
		fmt.Println(n.ID, n.Hostname, n.Status, n.Availability, n.ManagerStatus, n.EngineVersion)
	}
}
