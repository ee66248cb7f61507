package testenv

import (
	"context"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Swarm returns a client of an engine that is a swarm manager. When the engine is not in a
// swarm it is made a single-node swarm advertising 127.0.0.1; that swarm is left active, as
// packages' tests run in parallel and may share it (`make test` leaves it afterwards when it
// was not active before). An engine that is a worker or locked fails the test.
func Swarm(t testing.TB) *client.Client {
	t.Helper()
	cli := Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatalf("engine info: %v", err)
	}
	switch info.Info.Swarm.LocalNodeState {
	case swarm.LocalNodeStateActive:
		if !info.Info.Swarm.ControlAvailable {
			t.Fatalf("engine is a swarm worker; swarm tests need a manager")
		}
		return cli
	case swarm.LocalNodeStateInactive:
		_, err := cli.SwarmInit(ctx, client.SwarmInitOptions{ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1"})
		if err != nil && !cerrdefs.IsFailedPrecondition(err) { // lost a race with another package: fine
			t.Fatalf("swarm init: %v", err)
		}
		return cli
	default:
		t.Fatalf("engine swarm state is %q; want active or inactive", info.Info.Swarm.LocalNodeState)
	}
	return nil
}

// RemoveService removes the service named name (if it is still there) and then the task
// containers swarm leaves behind for it (a 20.10 engine keeps the exited containers of a
// removed job's completed tasks). Errors are ignored: it is for cleanup.
func RemoveService(cli *client.Client, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli.ServiceRemove(ctx, name, client.ServiceRemoveOptions{})
	filter := make(client.Filters).Add("label", "com.docker.swarm.service.name="+name)
	for range 20 {
		list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter})
		if err != nil || len(list.Items) == 0 {
			return
		}
		for _, c := range list.Items {
			cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
		time.Sleep(250 * time.Millisecond)
	}
}
