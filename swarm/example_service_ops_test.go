package swarm_test

import (
	"context"
	"fmt"
	"log"
	"maps"
	"slices"

	swarmapi "github.com/moby/moby/api/types/swarm"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
)

// Create a service from the builder, scale it and print where its tasks run, as
// `docker service create`, `docker service scale` and `docker service ps` do.
func ExampleCreate() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	svc := swarm.NewService("echo").Image("registry:5000/example/echo:1").Replicas(1)
	res, err := swarm.Create(ctx, cli, svc, swarm.CreateOptions{Wait: true})
	if err != nil {
		log.Fatal(err)
	}
	defer swarm.Remove(ctx, cli, res.ID, swarm.RemoveOptions{})
	if _, err := swarm.Scale(ctx, cli, "echo", 6, swarm.ScaleOptions{Wait: true}); err != nil {
		log.Fatal(err)
	}
	tasks, err := swarm.Tasks(ctx, cli, "echo", swarm.TasksOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for node, n := range swarm.Placement(tasks) {
		fmt.Println(node, n)
	}
}

// Change one field of a running service; the update is sent with the version read, and a
// concurrent change makes it fail with *swarm.VersionConflictError.
func ExampleUpdate() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	_, err = swarm.Update(ctx, cli, "echo", func(s *swarmapi.ServiceSpec) error {
		s.TaskTemplate.ContainerSpec.Env = append(s.TaskTemplate.ContainerSpec.Env, "LOG_LEVEL=debug")
		return nil
	}, swarm.UpdateOptions{Wait: true})
	if err != nil {
		log.Fatal(err)
	}
}

func ExamplePlacement() {
	tasks := []swarm.Task{
		{Name: "echo.1", Node: "worker1", State: swarmapi.TaskStateRunning},
		{Name: "echo.2", Node: "worker2", State: swarmapi.TaskStateRunning},
		{Name: "echo.3", Node: "worker1", State: swarmapi.TaskStateRunning},
		{Name: "echo.4", Node: "worker3", State: swarmapi.TaskStateShutdown},
	}
	p := swarm.Placement(tasks)
	for _, node := range slices.Sorted(maps.Keys(p)) {
		fmt.Println(node, p[node])
	}
	// Output:
	// worker1 2
	// worker2 1
}

func ExampleRawSpec() {
	replicas := uint64(2)
	spec := swarmapi.ServiceSpec{
		Annotations:  swarmapi.Annotations{Name: "web"},
		TaskTemplate: swarmapi.TaskSpec{ContainerSpec: &swarmapi.ContainerSpec{Image: "registry:5000/web:1"}},
		Mode:         swarmapi.ServiceMode{Replicated: &swarmapi.ReplicatedService{Replicas: &replicas}},
	}
	var def swarm.Definition = swarm.RawSpec(spec) // what swarm.Create accepts, like a *swarm.Service
	got, _ := def.Spec()
	fmt.Println(got.Name, *got.Mode.Replicated.Replicas)
	// Output:
	// web 2
}
