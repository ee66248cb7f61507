package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
)

// docker runs the Docker CLI and returns its standard output.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).Output()
	if err != nil {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestScriptsSeeWhatDockerShows runs the list verbs scripts use with berth and with the Docker
// CLI on the same engine and wants the same output: -q, --format json, --format TEMPLATE,
// --filter label=…, and the default tables.
func TestScriptsSeeWhatDockerShows(t *testing.T) {
	testenv.Swarm(t)
	ctx := testenv.Context(t, 2*time.Minute)
	label := "berth.test.scripts=" + testenv.Name(t, "s")
	var names []string
	for i := range 3 {
		name := testenv.Name(t, fmt.Sprintf("scripts%d", i))
		names = append(names, name)
		t.Cleanup(func() { exec.Command("docker", "service", "rm", name).Run() })
		// no task ever starts (0 replicas), so nothing is pulled
		args := []string{"service", "create", "-d", "--no-resolve-image", "--name", name, "--replicas", "0", "--label", label, "-p", fmt.Sprintf("%d:80", 30500+i)}
		if i == 2 {
			args = append(args, "--label", "extra=yes")
		}
		if code, out := capture(t, ctx, append(args, "127.0.0.1:5000/berth-cli/web:1")...); code != 0 {
			t.Fatalf("berth service create: exit %d\n%s", code, out)
		}
	}
	volume := testenv.Name(t, "scriptsvol")
	t.Cleanup(func() { exec.Command("docker", "volume", "rm", volume).Run() })
	if code, _ := capture(t, ctx, "volume", "create", "--label", label, volume); code != 0 {
		t.Fatalf("volume create: exit %d", code)
	}

	for _, args := range [][]string{
		{"service", "ls", "-q", "--filter", "label=" + label},
		{"service", "ls", "--filter", "label=" + label},
		{"service", "ls", "--filter", "label=" + label, "--filter", "label=extra=yes", "--format", "{{.Name}} {{.Mode}} {{.Replicas}} {{.Ports}}"},
		{"service", "ls", "--filter", "label=" + label, "--format", "table {{.Name}}\t{{.Image}}"},
		{"service", "ls", "--filter", "name=" + names[1], "-q"},
		{"node", "ls"},
		{"node", "ls", "-q", "--filter", "role=manager"},
		{"volume", "ls", "--filter", "label=" + label},
		{"volume", "ls", "-q", "--filter", "label=" + label},
	} {
		code, got := capture(t, ctx, args...)
		if want := docker(t, args...); code != 0 || got != want {
			t.Errorf("berth %s: exit %d\n%s\ndocker:\n%s", strings.Join(args, " "), code, got, want)
		}
	}
	for _, args := range [][]string{
		{"service", "ls", "--format", "json", "--filter", "label=" + label},
		{"node", "ls", "--format", "json"},
		{"volume", "ls", "--format", "json", "--filter", "label=" + label},
	} {
		code, got := capture(t, ctx, args...)
		want := docker(t, args...)
		g, w := jsonLines(t, got), jsonLines(t, want)
		if code != 0 || len(g) != len(w) || len(g) == 0 {
			t.Errorf("berth %s: exit %d, %d objects; docker %d\n%s", strings.Join(args, " "), code, len(g), len(w), got)
			continue
		}
		for i := range g {
			if fmt.Sprint(g[i]) != fmt.Sprint(w[i]) {
				t.Errorf("berth %s: object %d\n%v\ndocker:\n%v", strings.Join(args, " "), i, g[i], w[i])
			}
		}
	}
	// a bad filter key fails as docker's does, before any listing
	if code, _ := capture(t, ctx, "service", "ls", "--filter", "colour=red"); code != 1 {
		t.Errorf("unknown filter key: exit %d; want 1", code)
	}
	if code, _ := capture(t, ctx, "service", "ls", "--filter", "label"); code != 125 {
		t.Errorf("filter without =: exit %d; want 125", code)
	}
}
