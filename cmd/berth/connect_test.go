package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
)

// TestDockerContexts makes contexts with the Docker CLI in a temporary config directory and
// connects through them as docker would: --context, DOCKER_CONTEXT, the current context, and
// -H over all of them.
func TestDockerContexts(t *testing.T) {
	cli := testenv.Engine(t)
	host := cli.DaemonHost()
	ctx := testenv.Context(t, time.Minute)
	cfg := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfg)
	t.Setenv("DOCKER_HOST", "")
	os.Unsetenv("DOCKER_HOST")
	dockerCLI := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
	}
	dockerCLI("context", "create", "berth-good", "--docker", "host="+host)
	dockerCLI("context", "create", "berth-bad", "--docker", "host=tcp://127.0.0.1:1")

	if code, out := capture(t, ctx, "--context", "berth-good", "version"); code != 0 || !strings.Contains(out, "at "+host) {
		t.Errorf("--context berth-good: exit %d %q", code, out)
	}
	if code, _ := capture(t, ctx, "--context", "berth-bad", "version"); code != 1 {
		t.Errorf("--context berth-bad: exit %d; want 1 (no engine there)", code)
	}
	if code, _ := capture(t, ctx, "--context", "nowhere", "version"); code != 1 {
		t.Errorf("unknown context: exit %d; want 1", code)
	}
	t.Setenv("DOCKER_CONTEXT", "berth-bad")
	if code, _ := capture(t, ctx, "version"); code != 1 {
		t.Errorf("DOCKER_CONTEXT=berth-bad: exit %d; want 1", code)
	}
	if code, out := capture(t, ctx, "-H", host, "version"); code != 0 || !strings.Contains(out, "at "+host) {
		t.Errorf("-H over DOCKER_CONTEXT: exit %d %q", code, out)
	}
	if code, _ := capture(t, ctx, "-H", host, "--context", "berth-good", "version"); code != 125 {
		t.Errorf("-H and --context: exit %d; want 125", code)
	}
	os.Unsetenv("DOCKER_CONTEXT")
	dockerCLI("context", "use", "berth-good") // currentContext in config.json
	if code, out := capture(t, ctx, "version"); code != 0 || !strings.Contains(out, "at "+host) {
		t.Errorf("current context berth-good: exit %d %q", code, out)
	}
	dockerCLI("context", "use", "berth-bad")
	if code, _ := capture(t, ctx, "version"); code != 1 {
		t.Errorf("current context berth-bad: exit %d; want 1", code)
	}
	t.Setenv("DOCKER_HOST", host) // DOCKER_HOST wins over the current context, as with docker
	if code, _ := capture(t, ctx, "version"); code != 0 {
		t.Errorf("DOCKER_HOST over the current context: exit %d", code)
	}
}

// TestLoginLogout logs in to a registry on loopback, finds the credentials where docker keeps
// them (and where --with-registry-auth reads them), and logs out; then reads them through a
// credential helper.
func TestLoginLogout(t *testing.T) {
	cli := testenv.Engine(t)
	reg, ref := testenv.Registry(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, time.Minute)
	cfg := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfg)
	if code, out := capture(t, ctx, "login", "-u", "bob", "-p", "s3cret", reg.HostAddr); code != 0 || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("login: exit %d %q", code, out)
	}
	raw, _ := os.ReadFile(filepath.Join(cfg, "config.json"))
	var file struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	if err := json.Unmarshal(raw, &file); err != nil || file.Auths[reg.HostAddr].Auth != base64.StdEncoding.EncodeToString([]byte("bob:s3cret")) {
		t.Fatalf("config.json after login: %s %v", raw, err)
	}
	if a := registryAuthFor(ref); a == nil || a.Username != "bob" || a.Password != "s3cret" {
		t.Errorf("credentials for %s: %+v", ref, a)
	}
	// the Docker CLI reads what berth wrote
	if out, err := exec.Command("docker", "logout", reg.HostAddr).CombinedOutput(); err != nil || !strings.Contains(string(out), "Removing login credentials") {
		t.Errorf("docker logout of berth's login: %v %s", err, out)
	}
	if code, out := capture(t, ctx, "logout", reg.HostAddr); code != 0 || !strings.Contains(out, "Not logged in") {
		t.Errorf("logout after docker's: exit %d %q", code, out)
	}

	// a credential helper: a program on PATH speaking docker-credential-helpers' protocol
	bin := t.TempDir()
	store := filepath.Join(t.TempDir(), "store")
	helper := "#!/bin/sh\ncase $1 in\nget) read s; [ -f " + store + " ] && cat " + store + " || { echo 'credentials not found in native keychain'; exit 1; } ;;\nstore) cat > " + store + " ;;\nerase) rm -f " + store + " ;;\nesac\n"
	os.WriteFile(filepath.Join(bin, "docker-credential-berthtest"), []byte(helper), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"credsStore":"berthtest","auths":{}}`), 0o600)
	if code, out := capture(t, ctx, "login", "-u", "carol", "--password-stdin", reg.HostAddr); code == 0 {
		t.Errorf("login --password-stdin with an empty stdin: exit 0 %q", out)
	}
	if code, out := capture(t, ctx, "login", "-u", "carol", "-p", "pw", reg.HostAddr); code != 0 {
		t.Fatalf("login through the helper: exit %d %q", code, out)
	}
	if a := registryAuthFor(ref); a == nil || a.Username != "carol" || a.Password != "pw" {
		t.Errorf("credentials from the helper: %+v", a)
	}
	if raw, _ := os.ReadFile(filepath.Join(cfg, "config.json")); strings.Contains(string(raw), base64.StdEncoding.EncodeToString([]byte("carol:pw"))) {
		t.Errorf("the password went into config.json although a helper stores it: %s", raw)
	}
	if code, _ := capture(t, ctx, "logout", reg.HostAddr); code != 0 {
		t.Errorf("logout through the helper: exit %d", code)
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Errorf("the helper still stores the credentials: %v", err)
	}
}
