package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
)

// Mistakes exit as the Docker CLI's do: 125 for a flag error, 1 for a wrong argument count or
// an unknown command; and the help reads like docker's.
func TestUsageAsDocker(t *testing.T) {
	for _, args := range [][]string{
		{"service", "ls", "--bogus"},
		{"service", "rm"},
		{"service", "lss"},
		{"servce"},
		{"service", "create", "--replicas", "x", "img"},
		{"stack", "deploy", "-c"},
		{"node", "update", "--availability"},
		{"swarm", "join-token"},
		{"volume", "ls", "extra"},
	} {
		code := run(t.Context(), args)
		err := exec.Command("docker", args...).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != code {
			t.Errorf("berth %v: exit %d; docker: %v", args, code, err)
		}
	}
	code, out := capture(t, t.Context(), "stack", "deploy", "--help")
	for _, want := range []string{"Usage:  berth stack deploy [OPTIONS] STACK", "-c, --compose-file strings", "Aliases:\n  berth stack deploy, berth stack up", "-d, --detach"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("stack deploy --help: exit %d, no %q in\n%s", code, want, out)
		}
	}
	if code, out := capture(t, t.Context(), "service", "-h"); code != 0 || !strings.Contains(out, "Run 'berth service COMMAND --help'") {
		t.Errorf("service -h: exit %d\n%s", code, out)
	}
}

// ssh:// hosts go through ssh and `docker system dial-stdio` on the far side, as the Docker
// CLI's connection helper does. Here "ssh" is a stand-in on PATH that runs the remote command
// locally, so the real dial-stdio carries the API to the real engine.
func TestSSHHost(t *testing.T) {
	testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	bin := t.TempDir()
	log := filepath.Join(bin, "args")
	fake := "#!/bin/sh\necho \"$@\" > " + log + "\nwhile [ \"$1\" != -- ]; do shift; done\nshift 2\nexec \"$@\"\n"
	os.WriteFile(filepath.Join(bin, "ssh"), []byte(fake), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if code, out := capture(t, ctx, "-H", "ssh://deploy@build.example:2222", "version"); code != 0 || !strings.Contains(out, "engine ") {
		t.Fatalf("version over ssh: exit %d %q", code, out)
	}
	if args, _ := os.ReadFile(log); strings.TrimSpace(string(args)) != "-l deploy -p 2222 -- build.example docker system dial-stdio" {
		t.Errorf("ssh ran with %q", args)
	}
	if code, _ := capture(t, ctx, "-H", "ssh://build.example/path", "version"); code != 1 {
		t.Errorf("ssh host with a path: exit %d; want 1", code)
	}
}
