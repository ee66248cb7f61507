package cron

import (
	"strings"
	"testing"
)

// A job's volumes ("SOURCE:/TARGET[:ro|rw]") come from files and labels: never a panic; an
// accepted one has an absolute target and a source.
func FuzzParseVolume(f *testing.F) {
	for _, s := range []string{"data:/data", "/host:/c:ro", "./rel:/x:rw", "a:b", ":/x", "a:/b:rx", "a:/b:ro:extra"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseVolume(s)
		if err == nil && (m.Source == "" || !strings.HasPrefix(m.Target, "/")) {
			t.Fatalf("parseVolume(%q) = %+v", s, m)
		}
	})
}
