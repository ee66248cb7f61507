package image_test

import (
	"errors"
	"testing"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/image"
)

// ParseReference takes image names from files and flags: it never panics, refuses with a
// *ValidationError, and what it accepts parses again to itself.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"busybox", "127.0.0.1:5000/berth-test/fixture:1", "registry:5000/a/b@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"UPPER", "a:b:c", "", "localhost/x:" + "y", "[::1]:5000/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		named, err := image.ParseReference(s)
		if err != nil {
			if !errors.Is(err, berth.ErrInvalid) {
				t.Fatalf("ParseReference(%q): %v is not ErrInvalid", s, err)
			}
			return
		}
		again, err := image.ParseReference(named.String())
		if err != nil || again.String() != named.String() {
			t.Fatalf("ParseReference(%q) = %q, which parses to %v, %v", s, named, again, err)
		}
	})
}
