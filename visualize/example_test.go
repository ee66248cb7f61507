package visualize_test

import (
	"context"
	"fmt"
	"time"

	swarmapi "github.com/moby/moby/api/types/swarm"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/visualize"
)

// Serve the visualizer of the engine in the environment on 127.0.0.1:9000 until ctx ends.
func ExampleServe() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, err := berth.Connect(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	err = visualize.Serve(ctx, cli, visualize.Options{Listen: "127.0.0.1:9000",
		Listening: func(addr string) { fmt.Printf("open http://%s/\n", addr) }})
	fmt.Println(err)
}

// A non-loopback address needs a token, basic auth, or Insecure.
func ExampleOptions_Validate() {
	fmt.Println(visualize.Options{Listen: "0.0.0.0:9000"}.Validate())
	fmt.Println(visualize.Options{Listen: "0.0.0.0:9000", Token: "s3cret"}.Validate())
	// Output:
	// visualize/listen: "0.0.0.0:9000" is not a loopback address and no token or basic auth is set: set one, listen on 127.0.0.1, or allow it with insecure
	// <nil>
}

// Build keeps what the page shows and nothing else: the env value is gone.
func ExampleBuild() {
	one := uint64(1)
	spec := swarmapi.TaskSpec{ContainerSpec: &swarmapi.ContainerSpec{Image: "registry:5000/api:2@sha256:0123", Env: []string{"TOKEN=hidden"}}}
	s := visualize.Build(
		[]swarmapi.Node{{ID: "n1", Spec: swarmapi.NodeSpec{Role: "worker", Availability: "drain"},
			Description: swarmapi.NodeDescription{Hostname: "worker1"}, Status: swarmapi.NodeStatus{State: "ready"}}},
		[]swarmapi.Service{{ID: "s1", Spec: swarmapi.ServiceSpec{Annotations: swarmapi.Annotations{Name: "web_api",
			Labels: map[string]string{"com.docker.stack.namespace": "web"}},
			Mode: swarmapi.ServiceMode{Replicated: &swarmapi.ReplicatedService{Replicas: &one}}, TaskTemplate: spec}}},
		[]swarmapi.Task{{ID: "t1", ServiceID: "s1", Slot: 1, NodeID: "n1", Spec: spec, DesiredState: "running",
			Status: swarmapi.TaskStatus{State: "rejected", Err: "No such image: registry:5000/api:2"}}},
	)
	n, sv, t := s.Nodes[0], s.Services[0], s.Tasks[0]
	fmt.Println(n.Hostname, n.Availability, n.Available())
	fmt.Println(sv.Name, sv.Stack, sv.Image, sv.Mode, sv.Running, sv.Wanted, sv.Color)
	fmt.Println(t.Name(), t.State, t.Error)
	// Output:
	// worker1 drain false
	// web_api web registry:5000/api:2 replicated 0 1 hsl(126 65% 52%)
	// web_api.1 rejected No such image: registry:5000/api:2
}
