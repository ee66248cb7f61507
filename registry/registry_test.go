package registry_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/image"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/registry"
)

func start(t *testing.T, cli *client.Client, opts registry.Options) *registry.Registry {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	r, err := registry.Start(ctx, cli, opts)
	if err != nil {
		t.Fatalf("start registry: %v", err)
	}
	t.Cleanup(func() { r.Remove(context.Background(), registry.RemoveOptions{}) })
	return r
}

func TestPushCatalogTagsDigestRestartRemove(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "reg")
	r := start(t, cli, registry.Options{Name: name, Image: testenv.Image(t, cli, fixtures.Registry), Aliases: nil})
	if r.ClusterAddr != name+":5000" {
		t.Errorf("cluster address %q", r.ClusterAddr)
	}

	busybox := testenv.Image(t, cli, fixtures.Busybox)
	pushed, err := r.Push(ctx, cli, busybox, "example/busybox:1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { image.Remove(context.Background(), cli, pushed.HostRef, image.RemoveOptions{}) })
	if pushed.HostRef != r.HostAddr+"/example/busybox:1" || pushed.ClusterRef != name+":5000/example/busybox:1" {
		t.Errorf("references %+v", pushed)
	}

	repos, err := r.API.Catalog(ctx)
	if err != nil || !slices.Contains(repos, "example/busybox") {
		t.Fatalf("catalog %v, %v", repos, err)
	}
	tags, err := r.API.Tags(ctx, "example/busybox")
	if err != nil || !slices.Equal(tags, []string{"1"}) {
		t.Fatalf("tags %v, %v", tags, err)
	}
	digest, err := r.API.Digest(ctx, "example/busybox", "1")
	if err != nil || digest != pushed.Digest {
		t.Fatalf("digest %q (push said %q), %v", digest, pushed.Digest, err)
	}

	var nf *registry.NotFoundError
	if _, err := r.API.Tags(ctx, "no/such"); !errors.As(err, &nf) || !cerrdefs.IsNotFound(err) || nf.Tag != "" {
		t.Errorf("tags of an unknown repository: %v", err)
	}
	if _, err := r.API.Digest(ctx, "example/busybox", "nope"); !errors.As(err, &nf) || nf.Tag != "nope" {
		t.Errorf("digest of an unknown tag: %v", err)
	}
	pull := image.Pull(ctx, cli, r.HostAddr+"/example/busybox:nope", image.PullOptions{})
	if _, err := image.Wait(pull); err == nil || !containsAll(err.Error(), "example/busybox:nope") {
		t.Errorf("pull of a missing tag: %v", err)
	}

	// Stopped: unreachable. Restarted: the images are still there (they live in the volume).
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.API.Catalog(ctx); !errors.Is(err, registry.ErrUnreachable) {
		t.Errorf("catalog of a stopped registry: %v, want ErrUnreachable", err)
	}
	if err := r.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if tags, err := r.API.Tags(ctx, "example/busybox"); err != nil || len(tags) != 1 {
		t.Errorf("after restart: tags %v, %v", tags, err)
	}
	// Pull from it again, through the engine.
	image.Remove(ctx, cli, pushed.HostRef, image.RemoveOptions{})
	if _, err := image.Wait(image.Pull(ctx, cli, pushed.HostRef, image.PullOptions{})); err != nil {
		t.Errorf("pull back: %v", err)
	}

	if err := r.Remove(ctx, registry.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerInspect(ctx, r.ContainerID, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("container still there: %v", err)
	}
	if _, err := cli.VolumeInspect(ctx, r.Volume, client.VolumeInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("volume still there: %v", err)
	}
}

func TestPortInUseCreatesNothing(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	name := testenv.Name(t, "reg")
	_, err = registry.Start(ctx, cli, registry.Options{Name: name, Image: testenv.Image(t, cli, fixtures.Registry), HostPort: port})
	var pe *registry.PortInUseError
	if !errors.As(err, &pe) || !cerrdefs.IsConflict(err) || pe.Addr != "127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("want PortInUseError for %d, got %v", port, err)
	}
	if _, err := cli.VolumeInspect(ctx, name+"-data", client.VolumeInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("volume created despite the error: %v", err)
	}
}

func TestUnreachableRegistry(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	_, err := registry.NewAPI("http://" + addr).Catalog(context.Background())
	if !errors.Is(err, registry.ErrUnreachable) || !containsAll(err.Error(), addr) {
		t.Fatalf("want ErrUnreachable naming %s, got %v", addr, err)
	}
}

func TestNetworkAlias(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	netName := testenv.Name(t, "net")
	if _, err := cli.NetworkCreate(ctx, netName, client.NetworkCreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.NetworkRemove(context.Background(), netName, client.NetworkRemoveOptions{}) })
	r := start(t, cli, registry.Options{Name: testenv.Name(t, "reg"), Image: testenv.Image(t, cli, fixtures.Registry),
		Network: netName, Aliases: []string{"registry"}})
	if r.ClusterAddr != "registry:5000" {
		t.Errorf("cluster address %q, want registry:5000", r.ClusterAddr)
	}
	opened, err := registry.Open(ctx, cli, r.Name)
	if err != nil {
		t.Fatal(err)
	}
	if opened.HostAddr != r.HostAddr || opened.ClusterAddr != r.ClusterAddr || opened.Volume != r.Volume {
		t.Errorf("Open found %+v, Start returned %+v", opened, r)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
