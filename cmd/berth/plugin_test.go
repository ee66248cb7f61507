package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
)

// buildBerth builds the CLI into dir under name.
func buildBerth(t *testing.T, dir, name string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestDockerPlugin installs the binary as a Docker CLI plugin in a temporary config directory
// and runs `docker berth version` and `docker berth stack ls` through the Docker CLI.
func TestDockerPlugin(t *testing.T) {
	host := testenv.Engine(t).DaemonHost()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatal("no docker CLI")
	}
	cfg := t.TempDir()
	plugins := filepath.Join(cfg, "cli-plugins")
	os.MkdirAll(plugins, 0o755)
	bin := buildBerth(t, plugins, "docker-berth")

	meta, err := exec.Command(bin, "docker-cli-plugin-metadata").Output()
	var m map[string]string
	if err != nil || json.Unmarshal(meta, &m) != nil || m["SchemaVersion"] != "0.1.0" || m["Vendor"] == "" {
		t.Fatalf("plugin metadata: %v %s", err, meta)
	}
	docker := func(args ...string) (string, error) {
		cmd := exec.Command("docker", args...)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg, "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := docker("berth", "version"); err != nil || !strings.Contains(out, "berth dev") || !strings.Contains(out, "engine ") {
		t.Fatalf("docker berth version: %v\n%s", err, out)
	}
	// docker hands its global options on: berth connects where docker was told to
	if out, err := docker("-H", host, "berth", "version"); err != nil || !strings.Contains(out, "at "+host) {
		t.Errorf("docker -H %s berth version: %v\n%s", host, err, out)
	}
	if out, err := docker("-H", "tcp://127.0.0.1:1", "berth", "stack", "ls"); err == nil || !strings.Contains(out, "127.0.0.1:1") {
		t.Errorf("docker -H (nothing there) berth stack ls: %v\n%s", err, out)
	}
	if out, err := docker("--help"); err != nil || !strings.Contains(out, "berth*") {
		t.Errorf("docker --help does not list the plugin: %v\n%s", err, out)
	}
	if out, err := docker("berth", "stack", "deploy", "--bogus"); err == nil || !strings.Contains(out, "unknown flag: --bogus") {
		t.Errorf("docker berth with a bad flag: %v\n%s", err, out)
	}
}

// TestCompletion asks the completion protocol (`berth __complete …`, what the scripts of
// `berth completion bash|zsh|fish` call) for stack and service names and finds live ones.
func TestCompletion(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, time.Minute)
	name := testenv.Name(t, "compl")
	t.Cleanup(func() { stack.Remove(context.Background(), cli, name, stack.RemoveOptions{}) })
	file := writeCompose(t, "services:\n  web:\n    image: 127.0.0.1:5000/berth-cli/web:1\n    deploy:\n      replicas: 0\n")
	if code, out := capture(t, ctx, "stack", "deploy", "-d", "--resolve-image", "never", "-c", file, name); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		if code, out := capture(t, ctx, "completion", shell); code != 0 || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d\n%.200s", shell, code, out)
		}
	}
	code, out := capture(t, ctx, "__complete", "stack", "ps", name[:len(name)-3])
	if code != 0 || !strings.Contains(out, name+"\n") {
		t.Fatalf("__complete stack ps %s: exit %d\n%s", name[:len(name)-3], code, out)
	}
	code, out = capture(t, ctx, "__complete", "service", "ps", name)
	if code != 0 || !strings.Contains(out, name+"_web\n") {
		t.Fatalf("__complete service ps: exit %d\n%s", code, out)
	}
}
