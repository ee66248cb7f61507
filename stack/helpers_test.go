package stack_test

import (
	"path/filepath"
	"testing"

	"github.com/moby/moby/api/types/mount"
	swarmapi "github.com/moby/moby/api/types/swarm"
)

func mountAt(target string) mount.Mount {
	return mount.Mount{Type: mount.TypeVolume, Target: target}
}

type swarmService = swarmapi.Service

// conformanceFiles are berth's own Compose files, which the golden, round-trip, plan,
// conformance and fuzz tests all read.
const conformanceFiles = "testdata/conformance/*.yml"

// composeFiles returns the files that pattern matches; none found fails the test, so that a
// moved folder cannot make a test pass on zero files.
func composeFiles(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no Compose files match %s (%v)", pattern, err)
	}
	return files
}
