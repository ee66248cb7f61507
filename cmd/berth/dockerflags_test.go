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

// dockerUnsupported are docker's flags berth does not have yet, per verb.
var dockerUnsupported = map[string][]string{
	"build":          classicBuildFlags,
	"image build":    classicBuildFlags,
	"pull":           {"--disable-content-trust"}, // no Notary signing in berth
	"image pull":     {"--disable-content-trust"},
	"push":           {"--disable-content-trust"},
	"image push":     {"--disable-content-trust"},
	"service create": {"--credential-spec"}, // Windows only
	"service update": {"--credential-spec"},
	"service logs":   {"--details"},
	"stack config":   {"--skip-interpolation"},
	"swarm ca":       {"--ca-cert", "--ca-key", "--external-ca"}, // berth rotates to a CA swarm generates
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
	if _, err := exec.LookPath("docker"); err != nil {
		if testenv.Required() {
			t.Fatal("no docker CLI to compare with")
		}
		t.Skip("no docker CLI to compare with")
	}
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
