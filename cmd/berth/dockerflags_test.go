package main

import (
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berthdev/berth/internal/testenv"
)

// berthExtras are berth's intentional flags beyond docker's, per verb.
var berthExtras = map[string][]string{
	"service create": {"--progress"}, // auto|tty|plain progress, as stack deploy's
	"service scale":  {"--progress"},
	"service update": {"--progress"},
	"stack deploy":   {"--no-rollback", "--progress", "--skip-preflight", "--timeout"}, // berth waits for convergence, bounded, and undoes a failed deploy; its preflight can be skipped
	"stack rm":       {"--timeout"},                                                    // berth waits for the networks to be gone, bounded
	"stack config":   {"--format"},                                                     // compose (the merged file, the default) or json (the Engine specs)
	// docker 28 hides --all on an engine older than API 1.42; berth shows it and ignores it
	// there (such an engine prunes every unused volume anyway)
	"volume prune": {"--all/-a"},
}

// classicBuildFlags are the classic builder's flags berth's image.Build does not carry yet.
var classicBuildFlags = []string{"--add-host", "--cache-from", "--cgroup-parent", "--compress", "--cpu-period", "--cpu-quota",
	"--cpu-shares/-c", "--cpuset-cpus", "--cpuset-mems", "--disable-content-trust", "--force-rm", "--isolation", "--memory-swap",
	"--memory/-m", "--network", "--rm", "--security-opt", "--shm-size", "--ulimit"}

// runUnsupported are `docker run`'s flags that container.RunFlags does not carry yet (the
// builder's Modify covers them in Go); attaching streams (-a, -i) is not done: berth prints
// the logs once the container exited.
var runUnsupported = []string{"--add-host", "--attach/-a", "--blkio-weight", "--blkio-weight-device", "--cap-add", "--cap-drop",
	"--cgroup-parent", "--cgroupns", "--cidfile", "--cpu-period", "--cpu-quota", "--cpu-rt-period", "--cpu-rt-runtime",
	"--cpu-shares/-c", "--cpuset-cpus", "--cpuset-mems", "--detach-keys", "--device", "--device-cgroup-rule", "--device-read-bps",
	"--device-read-iops", "--device-write-bps", "--device-write-iops", "--disable-content-trust", "--dns", "--dns-option",
	"--dns-search", "--domainname", "--expose", "--gpus", "--group-add", "--interactive/-i", "--ip", "--ip6", "--ipc", "--isolation",
	"--kernel-memory", "--label-file", "--link", "--link-local-ip", "--log-driver", "--log-opt", "--mac-address",
	"--memory-reservation", "--memory-swap", "--memory-swappiness", "--mount", "--oom-kill-disable", "--oom-score-adj", "--pid",
	"--pids-limit", "--privileged", "--publish-all/-P", "--pull", "--quiet/-q", "--read-only", "--runtime", "--security-opt",
	"--shm-size", "--sig-proxy", "--storage-opt", "--sysctl", "--ulimit", "--use-api-socket", "--userns", "--uts", "--volume-driver"}

// The container verbs' docker flags berth does not have yet, shared by the group's verb and
// the top-level one.
var (
	execUnsupported  = []string{"--detach-keys", "--env-file"}
	startUnsupported = []string{"--attach/-a", "--detach-keys", "--interactive/-i"} // start does not attach
	psUnsupported    = []string{"--last/-n", "--latest/-l", "--size/-s"}
)

// dockerUnsupported are docker's flags berth does not have yet, per verb.
var dockerUnsupported = map[string][]string{
	"run":               runUnsupported,
	"container run":     runUnsupported,
	"exec":              execUnsupported,
	"container exec":    execUnsupported,
	"start":             startUnsupported,
	"container start":   startUnsupported,
	"ps":                psUnsupported,
	"container ls":      psUnsupported,
	"logs":              {"--details"},
	"container logs":    {"--details"},
	"rm":                {"--link/-l"}, // legacy links
	"container rm":      {"--link/-l"},
	"container inspect": {"--size/-s"},
	"network connect":   {"--driver-opt", "--gw-priority", "--ip6", "--link", "--link-local-ip"},
	"network create":    {"--aux-address", "--config-from", "--config-only", "--ingress", "--ipam-driver", "--ipam-opt", "--ipv4", "--scope"},
	"network inspect":   {"--verbose/-v"},
	"network rm":        {"--force/-f"},
	"build":             classicBuildFlags,
	"image build":       classicBuildFlags,
	"pull":              {"--disable-content-trust"}, // no Notary signing in berth
	"image pull":        {"--disable-content-trust"},
	"push":              {"--disable-content-trust"},
	"image push":        {"--disable-content-trust"},
	"service create":    {"--credential-spec"}, // Windows only
	"service update":    {"--credential-spec"},
	"service logs":      {"--details"},
	"stack config":      {"--skip-interpolation"},
	"swarm ca":          {"--ca-cert", "--ca-key", "--external-ca"}, // berth rotates to a CA swarm generates
}

var dockerFlagLine = regexp.MustCompile(`^\s+(?:-(\w), )?--([a-z0-9-]+)`)

// dockerFlags returns the flags `docker PATH --help` lists ("-c, --compose-file" as
// "--compose-file/-c"), or ok=false when docker has no such command.
func dockerFlags(t *testing.T, path string) ([]string, bool) {
	out, err := exec.Command("docker", append(strings.Fields(path), "--help")...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Usage:") || strings.Contains(string(out), "unknown command") {
		return nil, false
	}
	if !strings.Contains(string(out), "docker "+path) {
		return nil, false // docker printed a parent's help: no such verb
	}
	var flags []string
	inOptions := false
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasSuffix(line, "Options:"):
			inOptions = true
			continue
		case line == "" || !strings.HasPrefix(line, " "):
			inOptions = inOptions && line == ""
			if strings.TrimSpace(line) != "" {
				inOptions = false
			}
		}
		if m := dockerFlagLine.FindStringSubmatch(line); inOptions && m != nil && m[2] != "help" {
			flags = append(flags, flagName(m[2], m[1]))
		}
	}
	slices.Sort(flags)
	return flags, true
}

func flagName(name, short string) string {
	if short != "" {
		return "--" + name + "/-" + short
	}
	return "--" + name
}

func berthFlags(c *cobra.Command) []string {
	var flags []string
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && !f.Hidden {
			flags = append(flags, flagName(f.Name, f.Shorthand))
		}
	})
	slices.Sort(flags)
	return flags
}

func leaves(c *cobra.Command) []*cobra.Command {
	if !c.HasSubCommands() {
		return []*cobra.Command{c}
	}
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		if !sub.Hidden && sub.Name() != "help" && sub.Name() != "completion" {
			out = append(out, leaves(sub)...)
		}
	}
	return out
}

// TestFlagsMatchDocker compares the flags of every verb berth shares with the installed Docker
// CLI: names and shorthands must be the same, except for the differences listed (and only
// those: a listed difference that is gone must leave the lists).
func TestFlagsMatchDocker(t *testing.T) {
	testenv.DockerCLI(t)
	shared := 0
	for _, c := range leaves(newRoot()) {
		path := strings.TrimPrefix(c.CommandPath(), "berth ")
		want, ok := dockerFlags(t, path)
		if !ok {
			continue
		}
		shared++
		got := berthFlags(c)
		var extra, missing []string
		for _, f := range got {
			if !slices.Contains(want, f) {
				extra = append(extra, f)
			}
		}
		for _, f := range want {
			if !slices.Contains(got, f) {
				missing = append(missing, f)
			}
		}
		if !slices.Equal(extra, berthExtras[path]) {
			t.Errorf("berth %s: flags docker lacks %q; listed as intentional %q", path, extra, berthExtras[path])
		}
		if !slices.Equal(missing, dockerUnsupported[path]) {
			t.Errorf("berth %s: docker flags berth lacks %q; listed as unsupported %q", path, missing, dockerUnsupported[path])
		}
	}
	if shared < 40 {
		t.Errorf("only %d verbs shared with docker", shared)
	}
	t.Logf("%d verbs shared with docker", shared)
}
