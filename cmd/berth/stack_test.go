package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	"github.com/moby/moby/client"
)

func writeCompose(t *testing.T, body string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "stack.yml")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestStackDeployCLI(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "cli")
	t.Cleanup(func() { exec.Command("docker", "stack", "rm", name).Run() })
	file := writeCompose(t, "services:\n  web:\n    image: 127.0.0.1:5000/berth-cli/web:1\n    deploy:\n      replicas: 0\n")

	// flags after the stack name, as the Docker CLI allows
	if code := run(ctx, []string{"stack", "deploy", "--resolve-image", "never", name, "-c", file}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	svc, err := cli.ServiceInspect(ctx, name+"_web", client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Service.Spec.Labels[stack.LabelNamespace] != name {
		t.Fatalf("labels: %v", svc.Service.Spec.Labels)
	}
	// a second deploy updates in place
	if code := run(ctx, []string{"stack", "deploy", "-c", file, "--resolve-image=never", "--prune", name}); code != 0 {
		t.Fatalf("second deploy: exit code %d", code)
	}
}

func TestStackDeployCLIInvalid(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, time.Minute)
	name := testenv.Name(t, "clibad")
	file := writeCompose(t, "services:\n  web:\n    image: 127.0.0.1:5000/x:1\n    networks: [front]\n    deploy:\n      placement:\n        constraints: ['node.role!=']\nnetworks:\n  front: {}\n")
	if code := run(ctx, []string{"stack", "deploy", "--resolve-image", "never", "-c", file, name}); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	nets, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("label", stack.LabelNamespace+"="+name)})
	if err != nil || len(nets.Items) != 0 {
		t.Fatalf("an invalid stack created networks: %v %v", nets.Items, err)
	}
	// Docker's exit codes: 125 for a bad flag value, 1 for a wrong argument count
	if code := run(ctx, []string{"stack", "deploy", "--resolve-image", "sometimes", "-c", file, name}); code != 125 {
		t.Fatalf("bad --resolve-image: exit code %d, want 125", code)
	}
	if code := run(ctx, []string{"stack", "deploy", "-c", file}); code != 1 {
		t.Fatalf("no stack name: exit code %d, want 1", code)
	}
}

func TestStackConfigCLI(t *testing.T) {
	file := writeCompose(t, "services:\n  web:\n    image: 127.0.0.1:5000/x:1\n")
	for _, args := range [][]string{
		{"stack", "config", "-c", file},                                // STACK is optional, as with docker stack config
		{"stack", "config", "-c", file, "--format", "compose", "demo"}, // the merged file
		{"stack", "config", "-c", file, "--format", "json"},            // the Engine specs
		{"stack", "config", "-c", file, "--format", "json", "demo"},
	} {
		if code := run(t.Context(), args); code != 0 {
			t.Errorf("%v: exit code %d", args, code)
		}
	}
	if code := run(t.Context(), []string{"stack", "config", "-c", file, "a", "b"}); code != 1 {
		t.Errorf("two STACK names: exit code %d, want 1 (as docker)", code)
	}
}

// "-c -" reads the Compose file from standard input, as docker stack config and deploy do:
// relative paths are then resolved against the working directory.
func TestStackComposeFromStdin(t *testing.T) {
	body := "services:\n  web:\n    image: 127.0.0.1:1/berth-cli/stdin:1\n    secrets: [s]\nsecrets:\n  s: {file: ./s.txt}\n"
	file := writeCompose(t, body)
	t.Chdir(filepath.Dir(file))
	fromStdin := func(args ...string) (int, string) {
		t.Helper()
		in, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		old := os.Stdin
		os.Stdin = in
		defer func() { os.Stdin = old }()
		return capture(t, t.Context(), args...)
	}
	code, want := capture(t, t.Context(), "stack", "config", "-c", file)
	if code != 0 || !strings.Contains(want, filepath.Join(filepath.Dir(file), "s.txt")) {
		t.Fatalf("stack config -c FILE: exit code %d\n%s", code, want)
	}
	if code, got := fromStdin("stack", "config", "-c", "-"); code != 0 || got != want {
		t.Fatalf("stack config -c -: exit code %d\n%s\nwant the output of -c FILE:\n%s", code, got, want)
	}

	cli := testenv.Swarm(t)
	name := testenv.Name(t, "stdin")
	t.Cleanup(func() { stack.Remove(context.Background(), cli, name, stack.RemoveOptions{Wait: true}) })
	if err := os.WriteFile("s.txt", []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := fromStdin("stack", "deploy", "--resolve-image", "never", "-d", "-c", "-", name); code != 0 {
		t.Fatalf("stack deploy -c -: exit code %d\n%s", code, out)
	}
	svc, err := cli.ServiceInspect(t.Context(), name+"_web", client.ServiceInspectOptions{})
	if err != nil {
		t.Fatalf("stack deploy -c - did not create the service: %v", err)
	}
	if got := svc.Service.Spec.TaskTemplate.ContainerSpec.Image; got != "127.0.0.1:1/berth-cli/stdin:1" {
		t.Errorf("image %q", got)
	}
}

// --skip-preflight deploys a stack the preflight refuses (a constraint no node matches yet,
// as for workers that join later); without it nothing is written.
func TestStackDeploySkipPreflight(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "skip")
	t.Cleanup(func() { stack.Remove(context.Background(), cli, name, stack.RemoveOptions{}) })
	file := writeCompose(t, "services:\n  web:\n    image: 127.0.0.1:1/berth-cli/web:1\n    deploy:\n      placement:\n        constraints: [node.labels.berth-joins-later==yes]\n")
	if code := run(ctx, []string{"stack", "deploy", "--resolve-image", "never", "-d", "-c", file, name}); code != 1 {
		t.Fatalf("with the preflight: exit code %d, want 1", code)
	}
	if _, err := cli.ServiceInspect(ctx, name+"_web", client.ServiceInspectOptions{}); err == nil {
		t.Fatal("the preflight's refusal created the service")
	}
	if code := run(ctx, []string{"stack", "deploy", "--resolve-image", "never", "--skip-preflight", "-d", "-c", file, name}); code != 0 {
		t.Fatalf("--skip-preflight: exit code %d", code)
	}
	if _, err := cli.ServiceInspect(ctx, name+"_web", client.ServiceInspectOptions{}); err != nil {
		t.Fatal(err)
	}
}
