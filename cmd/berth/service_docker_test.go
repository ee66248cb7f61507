package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/internal/testenv"
)

// TestServiceFlagsAsDocker creates one service with berth and one with the Docker CLI from the
// same long list of flags, then updates both with the same *-add/*-rm flags, and wants the
// same specs from the engine each time.
func TestServiceFlagsAsDocker(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, 2*time.Minute)
	id := testenv.Name(t, "flags")
	secret, config := id+"-secret", id+"-config"
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.WriteFile(data, []byte("s3cret"), 0o600)
	envFile := filepath.Join(dir, "env")
	os.WriteFile(envFile, []byte("# comment\nFROM_FILE=1\n\nOTHER=two\n"), 0o644)
	// the secret and config through berth's own verbs
	for _, args := range [][]string{
		{"secret", "create", "--label", "t=" + id, secret, data},
		{"config", "create", "-l", "t=" + id, config, data},
	} {
		if code, out := capture(t, ctx, args...); code != 0 || strings.TrimSpace(out) == "" {
			t.Fatalf("berth %v: exit %d %q", args, code, out)
		}
	}
	t.Cleanup(func() {
		exec.Command("docker", "secret", "rm", secret).Run()
		exec.Command("docker", "config", "rm", config).Run()
	})
	if code, out := capture(t, ctx, "secret", "ls", "--filter", "label=t="+id, "--format", "{{.Name}}"); code != 0 || out != secret+"\n" {
		t.Errorf("secret ls: exit %d %q", code, out)
	}
	if code, out := capture(t, ctx, "config", "inspect", "--format", "{{.Spec.Name}}", config); code != 0 || out != config+"\n" {
		t.Errorf("config inspect: exit %d %q", code, out)
	}

	flags := []string{"-d", "--no-resolve-image", "--replicas", "0",
		"--secret", secret, "--secret", "source=" + secret + ",target=other,uid=10,gid=20,mode=0400",
		"--config", "source=" + config + ",target=/etc/app.conf,mode=0440",
		"-e", "A=1", "--env-file", envFile, "-l", "tier=web", "--container-label", "c=1",
		"--health-cmd", "true", "--health-interval", "7s", "--health-retries", "4", "--health-timeout", "2s", "--health-start-period", "3s",
		"--restart-condition", "on-failure", "--restart-delay", "2s", "--restart-max-attempts", "3", "--restart-window", "1m",
		"--update-parallelism", "2", "--update-delay", "3s", "--update-failure-action", "rollback", "--update-monitor", "4s", "--update-order", "start-first", "--update-max-failure-ratio", "0.5",
		"--rollback-parallelism", "3", "--rollback-delay", "1s", "--rollback-order", "stop-first", "--rollback-failure-action", "continue",
		"--limit-cpu", "0.5", "--limit-memory", "64M", "--reserve-cpu", "0.25", "--reserve-memory", "32M", "--limit-pids", "100",
		"--placement-pref", "spread=node.labels.zone", "--constraint", "node.role==manager", "--replicas-max-per-node", "2",
		"--entrypoint", "/bin/sh -c", "--hostname", "h1", "--dns", "10.0.0.2", "--dns-search", "example.org", "--dns-option", "ndots:2",
		"--host", "db:10.0.0.3", "--init", "--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD", "--sysctl", "net.core.somaxconn=1024",
		"--ulimit", "nofile=1024:2048", "--read-only", "-t", "--stop-signal", "SIGINT", "--stop-grace-period", "3s", "--group", "wheel",
		"--log-driver", "json-file", "--log-opt", "max-size=1m", "-u", "1000", "-w", "/srv",
		"--mount", "type=volume,source=" + id + "-vol,target=/data,volume-label=a=b,volume-nocopy",
		"--mount", "type=tmpfs,target=/tmp,tmpfs-size=1m,tmpfs-mode=1777",
		"--mount", "type=bind,source=/tmp,target=/host,readonly,bind-propagation=rslave",
		"-p", "published=30600,target=80,mode=host", "--endpoint-mode", "dnsrr",
	}
	names := map[string]string{"berth": id + "-b", "docker": id + "-d"}
	for _, n := range names {
		t.Cleanup(func() { exec.Command("docker", "service", "rm", n).Run() })
	}
	image := "127.0.0.1:5000/berth-cli/web:1"
	if code, out := capture(t, ctx, append(append([]string{"service", "create", "--name", names["berth"]}, flags...), image, "echo", "hi")...); code != 0 {
		t.Fatalf("berth service create: exit %d %s", code, out)
	}
	if out, err := exec.Command("docker", append(append([]string{"service", "create", "--name", names["docker"]}, flags...), image, "echo", "hi")...).CombinedOutput(); err != nil {
		t.Fatalf("docker service create: %v %s", err, out)
	}
	compare := func(step string) {
		t.Helper()
		specs := map[string]swarmtypes.ServiceSpec{}
		for who, n := range names {
			res, err := cli.ServiceInspect(ctx, n, client.ServiceInspectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s := res.Service.Spec
			s.Name = ""
			c := s.TaskTemplate.ContainerSpec
			if step == "update" { // docker's update leaves the environment in map order; berth sorts it
				slices.Sort(c.Env)
			}
			// docker orders secret references in map order (each run its own)
			slices.SortFunc(c.Secrets, func(a, b *swarmtypes.SecretReference) int { return strings.Compare(a.File.Name, b.File.Name) })
			specs[who] = s
		}
		if d := cmp.Diff(specs["docker"], specs["berth"], cmpopts.EquateComparable(netip.Addr{})); d != "" {
			t.Errorf("%s: berth's spec differs from docker's (-docker +berth):\n%s", step, d)
		}
	}
	compare("create")

	update := []string{"-d", "--no-resolve-image", "--env-add", "B=2", "--env-rm", "A", "--label-add", "x=y", "--label-rm", "tier",
		"--secret-rm", secret, "--config-rm", config, "--dns-add", "10.0.0.9", "--dns-rm", "10.0.0.2", "--host-add", "cache:10.0.0.4", "--host-rm", "db:10.0.0.3",
		"--mount-rm", "/tmp", "--mount-add", "type=volume,target=/cache", "--constraint-rm", "node.role==manager", "--constraint-add", "node.role!=worker",
		"--publish-rm", "80", "--publish-add", "published=30601,target=81,mode=host", "--sysctl-rm", "net.core.somaxconn", "--ulimit-rm", "nofile",
		"--group-add", "adm", "--group-rm", "wheel", "--placement-pref-rm", "spread=node.labels.zone", "--cap-add", "SYS_TIME",
		"--container-label-add", "c=2", "--args", "echo bye", "--limit-memory", "128M", "--health-retries", "5", "--update-parallelism", "1"}
	for who, n := range names {
		var err error
		var out []byte
		if who == "berth" {
			code, o := capture(t, ctx, append(append([]string{"service", "update"}, update...), n)...)
			out = []byte(o)
			if code != 0 {
				err = &exitError{code: code}
			}
		} else {
			out, err = exec.Command("docker", append(append([]string{"service", "update"}, update...), n)...).CombinedOutput()
		}
		if err != nil {
			t.Fatalf("%s service update: %v %s", who, err, out)
		}
	}
	compare("update")

	// with no flags but the name: the defaults docker sends must be berth's too
	names = map[string]string{"berth": id + "-b0", "docker": id + "-d0"}
	for _, n := range names {
		t.Cleanup(func() { exec.Command("docker", "service", "rm", n).Run() })
	}
	if code, out := capture(t, ctx, "service", "create", "-d", "--no-resolve-image", "--name", names["berth"], image); code != 0 {
		t.Fatalf("berth service create: exit %d %s", code, out)
	}
	if out, err := exec.Command("docker", "service", "create", "-d", "--no-resolve-image", "--name", names["docker"], image).CombinedOutput(); err != nil {
		t.Fatalf("docker service create: %v %s", err, out)
	}
	compare("defaults")

	code, out := capture(t, ctx, "service", "inspect", names["berth"])
	var inspected []swarmtypes.Service
	if code != 0 || json.Unmarshal([]byte(out), &inspected) != nil || len(inspected) != 1 || inspected[0].Spec.Name != names["berth"] {
		t.Errorf("service inspect: exit %d\n%.300s", code, out)
	}
	if code, out := capture(t, ctx, "service", "inspect", "--format", "{{.Spec.Name}}", names["berth"], names["docker"]); code != 0 || out != names["berth"]+"\n"+names["docker"]+"\n" {
		t.Errorf("service inspect --format: exit %d %q", code, out)
	}
	if code, _ := capture(t, ctx, "secret", "rm", secret); code != 0 {
		t.Errorf("secret rm: exit %d", code)
	}
	if code, _ := capture(t, ctx, "config", "rm", config); code != 0 {
		t.Errorf("config rm: exit %d", code)
	}
}
