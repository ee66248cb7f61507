package swarm_test

import (
	"testing"

	"github.com/berthdev/berth/swarm"
)

// ParseCPUs takes a user's --limit-cpu / deploy.resources.limits.cpus: it never panics, and
// what it accepts formats back to the same count.
func FuzzParseCPUs(f *testing.F) {
	for _, s := range []string{"0.5", "2", "0.000000001", "1e3", "-1", "1/2", "", "99999999999", ".5", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := swarm.ParseCPUs(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseCPUs(%q) = %d, negative", s, n)
		}
		if back, err := swarm.ParseCPUs(swarm.FormatCPUs(n)); n < 1<<52 && (err != nil || back != n) {
			t.Fatalf("ParseCPUs(%q) = %d, FormatCPUs gives %q, which parses to %d, %v", s, n, swarm.FormatCPUs(n), back, err)
		}
	})
}
