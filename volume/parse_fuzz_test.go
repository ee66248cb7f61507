package volume_test

import (
	"errors"
	"testing"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/volume"
)

// ParseSource takes the CLI's backup source ("VOLUME" or "CONTAINER:PATH"): it never panics,
// refuses with ErrInvalid, and what it accepts prints back to a source that parses the same.
func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"data", "db:/var/lib/mysql", "db:", ":/x", "", "a:b:c", "../x", "vol with space"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		src, err := volume.ParseSource(s)
		if err != nil {
			if !errors.Is(err, berth.ErrInvalid) {
				t.Fatalf("ParseSource(%q): %v is not ErrInvalid", s, err)
			}
			return
		}
		again, err := volume.ParseSource(src.String())
		if err != nil || again != src {
			t.Fatalf("ParseSource(%q) = %+v, printed %q parses to %+v, %v", s, src, src.String(), again, err)
		}
	})
}

// ParseFormat takes --format of backups: only the names it documents.
func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"tar", "tar.gz", "gzip", "zip", "", "TAR"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := volume.ParseFormat(s); err != nil && !errors.Is(err, berth.ErrInvalid) {
			t.Fatalf("ParseFormat(%q): %v is not ErrInvalid", s, err)
		}
	})
}
