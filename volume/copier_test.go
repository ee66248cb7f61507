package volume

import (
	"archive/tar"
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// engineTar is a tar stream as the engine sends it for /data: a, b (1 MiB), c.
func engineTar(t *testing.T) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1700000000, 0)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "data/", Mode: 0o755, ModTime: mt})
	for _, f := range []struct{ name, body string }{{"data/a", "alpha"}, {"data/b", strings.Repeat("b", 1<<20)}, {"data/c", "gamma"}} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: mt})
		io.WriteString(tw, f.body)
	}
	tw.Close()
	return buf.Bytes()
}

// streams returns an open function that serves each stream in turn.
func streams(list ...[]byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		s := list[0]
		if len(list) > 1 {
			list = list[1:]
		}
		return io.NopCloser(bytes.NewReader(s)), nil
	}
}

func TestBackupResumesAfterACutStream(t *testing.T) {
	full := engineTar(t)
	bStart := bytes.Index(full, []byte(strings.Repeat("b", 512)))
	cHeader := bytes.Index(full, []byte("data/c"))
	for name, c := range map[string]struct {
		first   []byte
		changed []string
	}{
		"inside-a-file":     {full[:bStart+1000], []string{"data/b"}}, // b shrank: the engine stopped inside it
		"between-entries":   {full[:cHeader], nil},                    // no end-of-archive marker
		"complete":          {full, nil},
		"cut-then-complete": {full[:bStart+512], []string{"data/b"}},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			aw := archiveWriter{format: FormatTar, tempDir: t.TempDir(), source: "test"}
			sum, _, changed, err := aw.write(streams(c.first, full), &out)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(changed, c.changed) {
				t.Errorf("changed = %v; want %v", changed, c.changed)
			}
			if sum.Files != 3 || sum.Bytes != 10+1<<20 {
				t.Errorf("summary %+v", sum)
			}
			if _, err := Verify(bytes.NewReader(out.Bytes()), VerifyOptions{TempDir: t.TempDir()}); err != nil {
				t.Fatalf("the resumed archive does not verify: %v", err)
			}
		})
	}
}

func TestBackupGivesUpOnASourceThatKeepsChanging(t *testing.T) {
	full := engineTar(t)
	cut := full[:bytes.Index(full, []byte("data/c"))]
	aw := archiveWriter{format: FormatTar, tempDir: t.TempDir()}
	_, _, _, err := aw.write(streams(cut), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "keeps changing") {
		t.Fatalf("err = %v", err)
	}
}

func TestWalkCompare(t *testing.T) {
	ordered := []string{"data", "data/a", "data/a/z", "data/a-b", "data/b", "data/b/a"}
	for i := range ordered {
		for j := range ordered {
			if got, want := walkCompare(ordered[i], ordered[j]), cmpInt(i, j); got != want {
				t.Errorf("walkCompare(%q, %q) = %d; want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
