package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/swarm/dind"
)

// TestSwarmCLI drives `berth lab up`, `node ls|update`, `swarm join-token` and `lab down`
// against a one-worker lab, reaching its manager through DOCKER_HOST as a user would.
func TestSwarmCLI(t *testing.T) {
	host := testenv.Engine(t)
	testenv.Image(t, host, fixtures.Dind)
	busybox := testenv.Image(t, host, fixtures.Busybox)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "cli")
	t.Cleanup(func() { dind.Remove(context.Background(), host, name) })

	if code := run(ctx, []string{"lab", "up", "--name", name, "--workers", "1", "--push", busybox}); code != 0 {
		t.Fatalf("lab up: exit %d", code)
	}
	lab, err := dind.Attach(ctx, host, name)
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Detach()
	if code := run(ctx, []string{"lab", "ls", name}); code != 0 {
		t.Errorf("lab ls %s: exit %d", name, code)
	}
	orig, had := os.LookupEnv("DOCKER_HOST")
	t.Setenv("DOCKER_HOST", lab.Manager.EngineHost)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"node", "ls"}, 0},
		{[]string{"node", "update", "--availability", "drain", name + "-worker1", "--label-add", "zone=a"}, 0},
		{[]string{"node", "ls", "--filter", "node.label=zone=a", "-q"}, 0},
		{[]string{"node", "update", "--role", "boss", name + "-worker1"}, 1},
		{[]string{"swarm", "join-token", "--rotate", "worker"}, 0},
		{[]string{"swarm", "join-token", "admin"}, 1},
		{[]string{"swarm", "init"}, 1}, // already a manager
	} {
		if code := run(ctx, tc.args); code != tc.code {
			t.Errorf("berth %v: exit %d; want %d", tc.args, code, tc.code)
		}
	}
	n, err := lab.Manager.Client.NodeInspect(ctx, name+"-worker1", client.NodeInspectOptions{})
	if err != nil || n.Node.Spec.Availability != "drain" || n.Node.Spec.Labels["zone"] != "a" {
		t.Errorf("worker1 after node update: %+v %v", n.Node.Spec, err)
	}
	if had {
		os.Setenv("DOCKER_HOST", orig)
	} else {
		os.Unsetenv("DOCKER_HOST")
	}
	if code := run(ctx, []string{"lab", "down", "--name", name}); code != 0 {
		t.Errorf("lab down: exit %d", code)
	}
	if names, _ := dind.List(ctx, host); len(names) > 0 {
		for _, n := range names {
			if n == name {
				t.Errorf("lab %s still listed after lab down", name)
			}
		}
	}
}
