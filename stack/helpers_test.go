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

// composeFiles returns the Compose files of testdata/conformance, which the golden, round-trip,
// plan, conformance and fuzz tests all read; none found fails the test, so that a moved folder
// cannot make them pass on zero files.
func composeFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "conformance", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Compose files in testdata/conformance (%v)", err)
	}
	return files
}
