package main

import (
	"context"
	"os"
	"regexp"
	"strings"
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

	// the same engine through the global -H flag, with the verbs of the swarm's administration
	mgr, worker := lab.Manager.EngineHost, lab.Workers[0]
	h := func(host string, args ...string) (int, string) {
		return capture(t, ctx, append([]string{"-H", host}, args...)...)
	}
	if code, out := h(mgr, "node", "inspect", "--format", "{{.Description.Hostname}} {{.Spec.Labels.zone}}", name+"-worker1"); code != 0 || out != name+"-worker1 a\n" {
		t.Errorf("node inspect --format: exit %d %q", code, out)
	}
	if code, out := h(mgr, "node", "inspect", "--pretty", "self"); code != 0 || !strings.Contains(out, "Hostname:\t\t"+name+"-manager") {
		t.Errorf("node inspect --pretty self: exit %d %q", code, out)
	}
	if code, out := h(mgr, "node", "ps", "-q", name+"-worker1"); code != 0 {
		t.Errorf("node ps: exit %d %q", code, out)
	}
	if code, out := h(mgr, "node", "ls", "--format", "{{.Hostname}} {{.Self}}", "--filter", "role=manager"); code != 0 || out != name+"-manager true\n" {
		t.Errorf("node ls --format: exit %d %q", code, out)
	}
	code, out := h(mgr, "swarm", "update", "--autolock", "--task-history-limit", "3")
	key := regexp.MustCompile(`SWMKEY-\S+`).FindString(out)
	if code != 0 || key == "" || !strings.Contains(out, "berth swarm unlock") {
		t.Fatalf("swarm update --autolock: exit %d\n%s", code, out)
	}
	if code, out := h(mgr, "swarm", "unlock-key", "-q"); code != 0 || strings.TrimSpace(out) != key {
		t.Errorf("swarm unlock-key -q: exit %d %q; want %s", code, out, key)
	}
	if code, out := h(mgr, "swarm", "unlock-key", "--rotate", "-q"); code != 0 || !strings.HasPrefix(out, "SWMKEY-") || strings.TrimSpace(out) == key {
		t.Errorf("swarm unlock-key --rotate: exit %d %q", code, out)
	}
	if code, out := h(mgr, "swarm", "update", "--autolock=false"); code != 0 || strings.Contains(out, "SWMKEY") {
		t.Errorf("swarm update --autolock=false: exit %d %q", code, out)
	}
	if code, _ := h(mgr, "swarm", "unlock-key"); code != 1 {
		t.Errorf("swarm unlock-key without autolock: exit %d; want 1", code)
	}
	sw, err := lab.Manager.Client.SwarmInspect(ctx, client.SwarmInspectOptions{})
	if err != nil || *sw.Swarm.Spec.Orchestration.TaskHistoryRetentionLimit != 3 || sw.Swarm.Spec.EncryptionConfig.AutoLockManagers {
		t.Errorf("swarm after update: %+v %v", sw.Swarm.Spec, err)
	}
	if code, out := h(mgr, "swarm", "ca"); code != 0 || !strings.Contains(out, "BEGIN CERTIFICATE") {
		t.Errorf("swarm ca: exit %d %q", code, out)
	}
	// a worker that leaves and starts its own autolocked swarm is shown its unlock key
	if code, out := h(worker.EngineHost, "swarm", "leave", "--force"); code != 0 {
		t.Fatalf("swarm leave: exit %d %s", code, out)
	}
	code, out = h(worker.EngineHost, "swarm", "init", "--autolock", "--advertise-addr", worker.Addr.String())
	if code != 0 || !strings.Contains(out, "Swarm initialized") || !regexp.MustCompile(`\n    SWMKEY-\S+\n`).MatchString(out) {
		t.Errorf("swarm init --autolock: exit %d\n%s", code, out)
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
