// Package testenv gives integration tests a real engine, fixture images and unique names.
//
// With BERTH_REQUIRE_ENGINE=1 (as `make test` and CI set it) a missing engine or fixture is a
// test failure; without it the test is skipped, so `go test ./...` on a laptop without Docker
// still runs the pure tests.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/moby/moby/client"
)

// Required reports whether integration tests must run (BERTH_REQUIRE_ENGINE=1).
func Required() bool { return os.Getenv("BERTH_REQUIRE_ENGINE") == "1" }

var (
	connectOnce sync.Once
	shared      *client.Client
	connectErr  error
)

// Engine returns a client of the engine under test, shared by the tests of one package. It
// fails the test when BERTH_REQUIRE_ENGINE=1 and no engine answers, and skips it otherwise.
func Engine(t testing.TB) *client.Client {
	t.Helper()
	connectOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		shared, connectErr = berth.Connect(ctx)
	})
	if connectErr != nil {
		unavailable(t, connectErr.Error()+"; `make engine` installs and starts one")
	}
	return shared
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	Missing(t, "an engine", why)
}

// Missing is the one way a test stops for lack of something the machine should have (an
// engine, the docker CLI, Chromium, root for a mount, a unix socket): it fails under
// BERTH_REQUIRE_ENGINE=1, as in CI, and skips otherwise.
func Missing(t testing.TB, what, why string) {
	t.Helper()
	if Required() {
		t.Fatalf("integration test needs %s (BERTH_REQUIRE_ENGINE=1): %s", what, why)
	}
	t.Skipf("no %s (set BERTH_REQUIRE_ENGINE=1 to fail instead): %s", what, why)
}

// Image returns the reference of fixture k to use on this engine: the local fixture when
// present, else the public image when present locally. With neither, the test fails under
// BERTH_REQUIRE_ENGINE=1 (run `make fixtures`) and is skipped otherwise: tests never pull.
func Image(t testing.TB, cli client.ImageAPIClient, k fixtures.Kind) string {
	t.Helper()
	ctx := context.Background()
	ref, err := k.Resolve(ctx, cli)
	if err != nil {
		t.Fatalf("resolve fixture %s: %v", k.Local, err)
	}
	if _, err := cli.ImageInspect(ctx, ref); err != nil {
		unavailable(t, "neither "+k.Local+" nor "+k.Public+" is on the engine; run `make fixtures`")
	}
	return ref
}

// Name returns a name unique to this test run: prefix, the test's name and random hex, in the
// characters Docker accepts for container, volume and network names.
func Name(t testing.TB, prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	base := strings.ToLower(t.Name())
	base = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, base)
	if len(base) > 24 {
		base = base[:24]
	}
	return prefix + "-" + strings.Trim(base, "-") + "-" + hex.EncodeToString(b)
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// DockerCLI returns the path of the docker CLI, for the tests and benchmarks that compare berth
// with it. Without one, the test fails under BERTH_REQUIRE_ENGINE=1 and is skipped otherwise,
// as a missing engine is.
func DockerCLI(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("docker")
	if err != nil {
		unavailable(t, "no docker CLI: "+err.Error())
	}
	return path
}
