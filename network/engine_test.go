package network_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/berthdev/berth/container"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/network"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

func create(t *testing.T, cli *client.Client, name string, opts network.CreateOptions) string {
	t.Helper()
	id, err := network.Create(testenv.Context(t, time.Minute), cli, name, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.NetworkRemove(context.Background(), id, client.NetworkRemoveOptions{}) })
	return id
}

func sleeper(t *testing.T, cli *client.Client) *container.Container {
	name := testenv.Name(t, "ctr")
	t.Cleanup(func() {
		container.Remove(context.Background(), cli, name, container.RemoveOptions{Force: true, Volumes: true})
	})
	return container.New(testenv.Image(t, cli, fixtures.Busybox)).Name(name).Command("sleep", "300")
}

func TestBridgeCreateInspectListRemove(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	name, mark := testenv.Name(t, "net"), testenv.Name(t, "mark")
	subnet := fmt.Sprintf("10.%d.%d.0/24", 200+rand.IntN(50), rand.IntN(256))
	id := create(t, cli, name, network.CreateOptions{Internal: true, Labels: map[string]string{mark: "1"},
		Options: map[string]string{"com.docker.network.bridge.enable_icc": "true"}, Subnets: []network.Subnet{{Subnet: subnet}}})
	info, err := network.Inspect(ctx, cli, name)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != id || info.Driver != "bridge" || !info.Internal || info.Labels[mark] != "1" || len(info.IPAM.Config) != 1 || info.IPAM.Config[0].Subnet.String() != subnet {
		t.Errorf("inspect %+v", info)
	}
	list, err := network.List(ctx, cli, network.ListOptions{Labels: []string{mark}, Driver: "bridge"})
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("list by label: %+v %v", list, err)
	}
	_, err = network.Create(ctx, cli, name, network.CreateOptions{})
	if !errors.Is(err, network.ErrExists) || !cerrdefs.IsConflict(err) {
		t.Errorf("second create: %v", err)
	}
	if err := network.Remove(ctx, cli, name); err != nil {
		t.Fatal(err)
	}
	if _, err := network.Inspect(ctx, cli, name); !errors.Is(err, network.ErrNotFound) || !cerrdefs.IsNotFound(err) {
		t.Errorf("inspect after remove: %v", err)
	}
	if err := network.Remove(ctx, cli, name); !errors.Is(err, network.ErrNotFound) {
		t.Errorf("remove twice: %v", err)
	}
}

func TestRemoveInUseThenDisconnect(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	name := testenv.Name(t, "net")
	create(t, cli, name, network.CreateOptions{})
	res, err := container.Run(ctx, cli, sleeper(t, cli), container.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := network.Connect(ctx, cli, name, res.ID, network.ConnectOptions{Aliases: []string{"db"}}); err != nil {
		t.Fatal(err)
	}
	info, _ := container.Inspect(ctx, cli, res.ID)
	if ep := info.NetworkSettings.Networks[name]; ep == nil || !slices.Contains(ep.Aliases, "db") {
		t.Errorf("endpoint on %s: %+v", name, ep)
	}
	if err := network.Remove(ctx, cli, name); !errors.Is(err, network.ErrInUse) {
		t.Fatalf("remove with a container attached: %v", err)
	}
	if err := network.Disconnect(ctx, cli, name, res.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := network.Remove(ctx, cli, name); err != nil {
		t.Fatal(err)
	}
	if err := network.Connect(ctx, cli, name, res.ID, network.ConnectOptions{}); !errors.Is(err, network.ErrNotFound) {
		t.Errorf("connect to a removed network: %v", err)
	}
}

// The chapter's `docker network create --driver overlay --attachable ch03`, on the host's
// single-node swarm: a standalone container joins it at creation with an alias, another is
// connected later, and a network removed by Remove can be created again at once.
func TestOverlayAttachable(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "ch03")
	create(t, cli, name, network.CreateOptions{Driver: "overlay", Attachable: true})
	info, err := network.Inspect(ctx, cli, name)
	if err != nil || info.Scope != "swarm" || !info.Attachable {
		t.Fatalf("inspect: scope %q attachable %v %v", info.Scope, info.Attachable, err)
	}
	first, err := container.Run(ctx, cli, sleeper(t, cli).Network(name, "echo"), container.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := container.Run(ctx, cli, sleeper(t, cli), container.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := network.Connect(ctx, cli, name, second.ID, network.ConnectOptions{Aliases: []string{"proxy"}}); err != nil {
		t.Fatal(err)
	}
	for id, alias := range map[string]string{first.ID: "echo", second.ID: "proxy"} {
		c, _ := container.Inspect(ctx, cli, id)
		if ep := c.NetworkSettings.Networks[name]; ep == nil || !slices.Contains(ep.Aliases, alias) || !ep.IPAddress.IsValid() {
			t.Errorf("%.12s on %s: %+v", id, name, ep)
		}
	}
	for _, id := range []string{first.ID, second.ID} {
		if err := network.Disconnect(ctx, cli, name, id, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := network.Remove(ctx, cli, name); err != nil {
		t.Fatal(err)
	}
	create(t, cli, name, network.CreateOptions{Driver: "overlay", Attachable: true})
}
