package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/berth/container"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/network"
)

// TestContainerCLI runs the chapter's single-container steps through the CLI: run in the
// foreground (output and exit code as docker's), run -d, exec, logs, ps as docker ps, stop,
// rm; nothing is left behind.
func TestContainerCLI(t *testing.T) {
	cli := testenv.Engine(t)
	busybox := testenv.Image(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "ctr")
	t.Cleanup(func() {
		for _, n := range []string{name, name + "-fg"} {
			container.Remove(context.Background(), cli, n, container.RemoveOptions{Force: true, Volumes: true})
		}
	})
	code, out := capture(t, ctx, "run", "--rm", "--name", name+"-fg", "-e", "A=1", busybox, "sh", "-c", "echo out $A; exit 3")
	if code != 3 || strings.TrimSpace(out) != "out 1" {
		t.Errorf("run: exit %d, output %q; want 3 and \"out 1\"", code, out)
	}
	if _, err := cli.ContainerInspect(ctx, name+"-fg", client.ContainerInspectOptions{}); err == nil {
		t.Errorf("run --rm left its container")
	}
	if code, out := capture(t, ctx, "container", "run", "-d", "--name", name, "-l", "berth.test="+name, busybox, "sh", "-c", "echo started; exec sleep 120"); code != 0 || len(strings.TrimSpace(out)) != 64 {
		t.Fatalf("run -d: exit %d, output %q; want a container ID", code, out)
	}
	if code, out := capture(t, ctx, "exec", "-e", "X=y", name, "sh", "-c", "echo $X; exit 4"); code != 4 || strings.TrimSpace(out) != "y" {
		t.Errorf("exec: exit %d, output %q; want 4 and y", code, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, out := capture(t, ctx, "logs", "--tail", "1", name)
		if strings.TrimSpace(out) == "started" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs: %q; want started", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	filter := "label=berth.test=" + name
	_, berthIDs := capture(t, ctx, "ps", "-q", "--filter", filter)
	if want := docker(t, "ps", "-q", "--filter", filter); berthIDs != want || want == "" {
		t.Errorf("ps -q: berth %q, docker %q", berthIDs, want)
	}
	_, names := capture(t, ctx, "container", "ls", "--filter", filter, "--format", "{{.Names}} {{.State}}")
	if strings.TrimSpace(names) != name+" running" {
		t.Errorf("container ls --format: %q", names)
	}
	if code, _ := capture(t, ctx, "stop", "-t", "1", name); code != 0 {
		t.Errorf("stop: exit %d", code)
	}
	if code, _ := capture(t, ctx, "container", "rm", name); code != 0 {
		t.Errorf("rm: exit %d", code)
	}
	if code, _ := capture(t, ctx, "exec", name, "true"); code != 1 {
		t.Errorf("exec in a removed container: exit %d; want 1", code)
	}
}

// TestNetworkCLI creates, lists (as docker network ls does), connects, disconnects and removes
// a network.
func TestNetworkCLI(t *testing.T) {
	cli := testenv.Engine(t)
	busybox := testenv.Image(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "net")
	t.Cleanup(func() {
		container.Remove(context.Background(), cli, name, container.RemoveOptions{Force: true})
		cli.NetworkRemove(context.Background(), name, client.NetworkRemoveOptions{})
	})
	if code, _ := capture(t, ctx, "network", "create", "--label", "berth.test="+name, "--subnet", "10.231.7.0/24", name); code != 0 {
		t.Fatalf("network create: exit %d", code)
	}
	filter := "label=berth.test=" + name
	_, got := capture(t, ctx, "network", "ls", "--filter", filter, "--format", "{{.Name}} {{.Driver}} {{.Scope}}")
	if want := docker(t, "network", "ls", "--filter", filter, "--format", "{{.Name}} {{.Driver}} {{.Scope}}"); got != want || want == "" {
		t.Errorf("network ls: berth %q, docker %q", got, want)
	}
	if code, _ := capture(t, ctx, "run", "-d", "--name", name, busybox, "sleep", "120"); code != 0 {
		t.Fatal("run -d failed")
	}
	if code, _ := capture(t, ctx, "network", "connect", "--alias", "db", name, name); code != 0 {
		t.Errorf("network connect: exit %d", code)
	}
	info, err := container.Inspect(ctx, cli, name)
	if err != nil || info.NetworkSettings.Networks[name] == nil {
		t.Fatalf("container not on %s: %v", name, err)
	}
	if code, _ := capture(t, ctx, "network", "rm", name); code == 0 {
		t.Errorf("network rm of a network in use succeeded")
	}
	if code, _ := capture(t, ctx, "network", "disconnect", name, name); code != 0 {
		t.Errorf("network disconnect: exit %d", code)
	}
	if code, _ := capture(t, ctx, "network", "rm", name); code != 0 {
		t.Errorf("network rm: exit %d", code)
	}
}

// TestRestorePlainCLI restores what the chapter's busybox recipe (`tar cvzf` of
// /var/lib/mysql) makes, with --strip-components 3.
func TestRestorePlainCLI(t *testing.T) {
	cli := testenv.Engine(t)
	busybox := testenv.Image(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 2*time.Minute)
	name, restored := testenv.Name(t, "tar"), testenv.Name(t, "restored")
	t.Cleanup(func() {
		container.Remove(context.Background(), cli, name, container.RemoveOptions{Force: true})
		cli.VolumeRemove(context.Background(), restored, client.VolumeRemoveOptions{Force: true})
	})
	if code, _ := capture(t, ctx, "run", "--name", name, busybox, "sh", "-c",
		"mkdir -p /var/lib/mysql/db && echo row > /var/lib/mysql/db/t && tar czf /tmp/mysql-backup.tar.gz /var/lib/mysql"); code != 0 {
		t.Fatal("tar in busybox failed")
	}
	archive, err := container.ReadFile(ctx, cli, name, "/tmp/mysql-backup.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "mysql-backup.tar.gz")
	if err := os.WriteFile(file, archive, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _ := capture(t, ctx, "volume", "verify", file); code == 0 {
		t.Errorf("a plain archive verified as a berth backup")
	}
	if code, _ := capture(t, ctx, "volume", "verify", "--plain", file); code != 0 {
		t.Errorf("verify --plain: exit %d", code)
	}
	if code, _ := capture(t, ctx, "volume", "restore", "--strip-components", "3", file, restored); code != 0 {
		t.Fatalf("restore --strip-components 3: exit %d", code)
	}
	code, out := capture(t, ctx, "run", "--rm", "-v", restored+":/data", busybox, "cat", "/data/db/t")
	if code != 0 || strings.TrimSpace(out) != "row" {
		t.Errorf("restored file: exit %d, %q; want row", code, out)
	}
}

// TestVisualizeCLI: a public address without credentials is refused before any engine call;
// on loopback the page and the snapshot answer.
func TestVisualizeCLI(t *testing.T) {
	testenv.Swarm(t)
	if code := run(t.Context(), []string{"visualize", "--listen", "0.0.0.0:0"}); code == 0 {
		t.Errorf("visualize on 0.0.0.0 without credentials: exit 0")
	}
	addr := freeLoopback(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"visualize", "--listen", addr}) }()
	for _, path := range []string{"/", "/api/snapshot"} {
		body, err := testenv.GetUntil(t.Context(), "http://"+addr+path, "", 20*time.Second)
		if err != nil || len(body) == 0 {
			t.Errorf("GET %s: %v", path, err)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("visualize ended with exit %d", code)
	}
}

// TestIngressCLI: the proxy serves /healthz on its admin address and stops with its context;
// `ingress stack` prints the stack file.
func TestIngressCLI(t *testing.T) {
	cli := testenv.Swarm(t)
	net := testenv.Name(t, "ingress")
	if _, err := network.Create(t.Context(), cli, net, network.CreateOptions{Driver: "overlay", Attachable: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { network.Remove(context.Background(), cli, net) })
	if code := run(t.Context(), []string{"ingress"}); code == 0 {
		t.Errorf("ingress without --network: exit 0")
	}
	addr, admin := freeLoopback(t), freeLoopback(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"ingress", "--network", net, "--addr", addr, "--admin-addr", admin}) }()
	if _, err := testenv.GetUntil(t.Context(), "http://"+admin+"/healthz", "", 20*time.Second); err != nil {
		t.Errorf("GET /healthz: %v", err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("ingress ended with exit %d", code)
	}
	if code, out := capture(t, t.Context(), "ingress", "stack"); code != 0 || !strings.Contains(out, "services:") {
		t.Errorf("ingress stack: exit %d, %.80q", code, out)
	}
}

// freeLoopback returns a loopback address with a port that was free a moment ago.
func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
