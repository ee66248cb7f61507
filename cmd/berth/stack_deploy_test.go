package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	"github.com/moby/moby/client"
)

// capture runs the CLI and returns its exit code and standard output.
func capture(t *testing.T, ctx context.Context, args ...string) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				done <- b.String()
				return
			}
		}
	}()
	code := run(ctx, args)
	os.Stdout = old
	w.Close()
	return code, <-done
}

func TestStackLifecycleCLI(t *testing.T) {
	cli := testenv.Swarm(t)
	_, img := testenv.Registry(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 3*time.Minute)
	name := testenv.Name(t, "clilife")
	t.Cleanup(func() { stack.Remove(context.Background(), cli, name, stack.RemoveOptions{Wait: true}) })
	body := "services:\n  web:\n    image: %s\n    command: [sleep, '3600']\n    stop_grace_period: 1s\n    deploy:\n      replicas: %d\n      update_config: {monitor: 1s}\n"
	file := writeCompose(t, fmt.Sprintf(body, img, 1))

	if code, out := capture(t, ctx, "stack", "plan", "--exit-code", "-c", file, name); code != 2 || !strings.Contains(out, "+ service "+name+"_web") {
		t.Fatalf("plan before deploy: exit %d\n%s", code, out)
	}
	if code, out := capture(t, ctx, "stack", "deploy", "-c", file, name); code != 0 || !strings.Contains(out, "converged") {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	if code, out := capture(t, ctx, "stack", "plan", "--exit-code", "-c", file, name); code != 0 || !strings.Contains(out, "no changes") {
		t.Fatalf("plan after deploy: exit %d\n%s", code, out)
	}
	file2 := writeCompose(t, fmt.Sprintf(body, img, 2))
	if code, out := capture(t, ctx, "stack", "plan", "--json", "-c", file2, name); code != 0 || !strings.Contains(out, `"op": "update"`) {
		t.Fatalf("plan --json of a scale-up: exit %d\n%s", code, out)
	}
	if code, out := capture(t, ctx, "stack", "ls"); code != 0 || !strings.Contains(out, name) {
		t.Fatalf("ls: exit %d\n%s", code, out)
	}
	if code, out := capture(t, ctx, "stack", "services", name); code != 0 || !strings.Contains(out, "1/1") {
		t.Fatalf("services: exit %d\n%s", code, out)
	}
	if code, out := capture(t, ctx, "stack", "ps", name); code != 0 || !strings.Contains(out, name+"_web.1") {
		t.Fatalf("ps: exit %d\n%s", code, out)
	}
	// scripts read the same from berth as from docker
	host := strings.TrimSpace(docker(t, "node", "inspect", "self", "--format", "{{.Description.Hostname}}"))
	for _, args := range [][]string{
		{"stack", "ps", "-q", "--filter", "node=" + host, name},
		{"node", "ps", "--filter", "name=" + name + "_web", "--format", "{{.Name}} {{.Node}}"},
		{"stack", "ps", "-q", name},
		{"stack", "ps", "--format", "{{.Name}} {{.Image}} {{.Node}} {{.DesiredState}} {{.Error}}", name},
		{"stack", "ps", "--filter", "desired-state=running", "--format", "{{.ID}} {{.Name}}", name},
		{"stack", "ps", "--no-trunc", "--format", "{{.ID}} {{.Image}}", name},
		{"stack", "services", "--format", "json", name},
		{"stack", "services", "-q", "--filter", "name=" + name + "_web", name},
		{"service", "ps", "--format", "{{.ID}} {{.Name}} {{.Node}} {{.DesiredState}}", name + "_web"},
		{"service", "ps", "-q", "--no-trunc", name + "_web"},
	} {
		code, got := capture(t, ctx, args...)
		if want := docker(t, args...); code != 0 || got != want || strings.TrimSpace(got) == "" {
			t.Errorf("berth %s: exit %d\n%s\ndocker:\n%s", strings.Join(args, " "), code, got, want)
		}
	}
	// the Docker CLI manages berth's stack
	if out, err := exec.Command("docker", "stack", "services", name).CombinedOutput(); err != nil || !strings.Contains(string(out), name+"_web") {
		t.Fatalf("docker stack services: %v\n%s", err, out)
	}
	if code, _ := capture(t, ctx, "stack", "rm", name); code != 0 {
		t.Fatalf("rm: exit %d", code)
	}
	if _, err := cli.ServiceInspect(ctx, name+"_web", client.ServiceInspectOptions{}); err == nil {
		t.Fatal("service left after rm")
	}
	if code, _ := capture(t, ctx, "stack", "ps", name+"-never"); code != 1 {
		t.Fatalf("ps of a stack that does not exist: exit %d, want 1", code)
	}
	if code, _ := capture(t, ctx, "stack", "deploy", "--bogus", "-c", file, name); code != 125 {
		t.Fatalf("unknown flag: exit %d, want 125", code)
	}
}

// TestStackRmDockerDeployed removes with berth a stack that the Docker CLI deployed.
func TestStackRmDockerDeployed(t *testing.T) {
	testenv.Swarm(t)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "clirm")
	t.Cleanup(func() { exec.Command("docker", "stack", "rm", name).Run() })
	file := writeCompose(t, "services:\n  web:\n    image: 127.0.0.1:5000/berth-cli/web:1\n    deploy:\n      replicas: 0\nnetworks:\n  default: {}\n")
	if out, err := exec.Command("docker", "stack", "deploy", "--resolve-image", "never", "-c", file, name).CombinedOutput(); err != nil {
		t.Fatalf("docker stack deploy: %v\n%s", err, out)
	}
	if code, out := capture(t, ctx, "stack", "plan", "--exit-code", "--resolve-image", "never", "-c", file, name); code != 0 {
		t.Fatalf("plan of a CLI-deployed stack: exit %d\n%s", code, out)
	}
	if code, _ := capture(t, ctx, "stack", "rm", name); code != 0 {
		t.Fatalf("rm: exit %d", code)
	}
	if out, _ := exec.Command("docker", "stack", "ls").CombinedOutput(); strings.Contains(string(out), name) {
		t.Fatalf("docker stack ls still lists %s:\n%s", name, out)
	}
}

func TestDockerConfigAuth(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	cfg := `{"auths":{"registry.example:5000":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("bob:s3cret")) + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ac := registryAuthFor("registry.example:5000/team/app:1")
	if ac == nil || ac.Username != "bob" || ac.Password != "s3cret" {
		t.Fatalf("auth %+v", ac)
	}
	if registryAuthFor("other.example/app:1") != nil {
		t.Fatal("credentials sent to another registry")
	}
}
