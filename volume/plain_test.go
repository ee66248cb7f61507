package volume

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/berth"
)

// busyboxRecipe is what `tar cvzf /tmp/mysql-backup.tar.gz /var/lib/mysql` writes: no entries
// for var/ and var/lib/, the data directory owned by mysql.
func busyboxRecipe() []tEntry {
	root := dir("var/lib/mysql")
	root.h.Uid, root.h.Gid, root.h.Mode = 999, 999, 0o700
	return []tEntry{root, file("var/lib/mysql/ibdata1", "innodb"), dir("var/lib/mysql/ch03"),
		file("var/lib/mysql/ch03/user.frm", "frm"), hardlink("var/lib/mysql/ch03/user.bak", "var/lib/mysql/ch03/user.frm"),
		symlink("var/lib/mysql/ch03/latest", "user.frm")}
}

// plainNames verifies a plain archive and returns the names restore would write.
func plainNames(t *testing.T, data []byte, opts VerifyOptions) (Summary, []string) {
	t.Helper()
	sum, err := Verify(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	stream, _, release, err := decompress(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var out bytes.Buffer
	if err := dataEntries(tar.NewReader(stream), &out, plainMapperFor(opts)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for tr := tar.NewReader(&out); ; {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return sum, names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name == "data/" && opts.StripComponents == 3 && (h.Uid != 999 || h.Mode != 0o700) {
			t.Errorf("the root did not take the stripped directory's owner and mode: %d %o", h.Uid, h.Mode)
		}
	}
}

func TestPlainArchiveStripComponents(t *testing.T) {
	data := buildArchive(t, busyboxRecipe(), archiveOpts{noManifest: true})
	if _, err := Verify(bytes.NewReader(data), VerifyOptions{}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "Plain") {
		t.Fatalf("without Plain: %v", err)
	}
	sum, names := plainNames(t, data, VerifyOptions{StripComponents: 3})
	want := []string{"data/", "data/ibdata1", "data/ch03/", "data/ch03/user.frm", "data/ch03/user.bak", "data/ch03/latest"}
	if !slices.Equal(names, want) {
		t.Errorf("names %q\nwant  %q", names, want)
	}
	if !sum.Plain || sum.Entries != 6 || sum.Files != 2 || sum.Hardlinks != 1 || sum.Symlinks != 1 || sum.Skipped != 0 {
		t.Errorf("summary %+v", sum)
	}
	if !strings.Contains(sum.String(), "no checksums to verify") {
		t.Errorf("the summary does not say there was nothing to verify against: %s", sum)
	}
}

// Without stripping, the tree lands under the volume's root as tar would extract it there, with
// the directories the archive does not list made up; a leading "/" or "./" is dropped.
func TestPlainArchiveAsIs(t *testing.T) {
	entries := append(busyboxRecipe(), file("/abs/file", "x"), file("./dot/file", "y"))
	data := buildArchive(t, entries, archiveOpts{noManifest: true, format: FormatTar})
	_, names := plainNames(t, data, VerifyOptions{Plain: true})
	want := []string{"data/", "data/var/", "data/var/lib/", "data/var/lib/mysql/", "data/var/lib/mysql/ibdata1", "data/var/lib/mysql/ch03/",
		"data/var/lib/mysql/ch03/user.frm", "data/var/lib/mysql/ch03/user.bak", "data/var/lib/mysql/ch03/latest",
		"data/abs/", "data/abs/file", "data/dot/", "data/dot/file"}
	if !slices.Equal(names, want) {
		t.Errorf("names %q\nwant  %q", names, want)
	}
	// Entries shallower than the stripped prefix are skipped, and counted; the directory that
	// strips to nothing (var/lib/mysql/ch03/) is the root.
	sum, names := plainNames(t, data, VerifyOptions{StripComponents: 4})
	if !slices.Equal(names, []string{"data/", "data/user.frm", "data/user.bak", "data/latest"}) || sum.Skipped != 4 {
		t.Errorf("strip 4: %q, skipped %d", names, sum.Skipped)
	}
}

func TestPlainArchiveSafety(t *testing.T) {
	for name, c := range map[string]struct {
		entries []tEntry
		strip   int
	}{
		"dotdot":            {[]tEntry{dir("a"), file("a/../../x", "x")}, 0},
		"symlink-escapes":   {[]tEntry{dir("a"), symlink("a/l", "../../etc")}, 1},
		"through-symlink":   {[]tEntry{dir("a"), symlink("a/l", "."), file("a/l/f", "x")}, 0},
		"absolute-symlink":  {[]tEntry{symlink("l", "/etc/passwd")}, 0},
		"device":            {[]tEntry{{h: tar.Header{Typeflag: tar.TypeChar, Name: "null", Mode: 0o666, Devmajor: 1, Devminor: 3}}}, 0},
		"hardlink-stripped": {[]tEntry{dir("a"), file("a/f", "x"), hardlink("a/b/h", "a")}, 1},
		"hardlink-forward":  {[]tEntry{hardlink("h", "f"), file("f", "x")}, 0},
		"duplicate-file":    {[]tEntry{file("f", "x"), file("./f", "y")}, 0},
	} {
		t.Run(name, func(t *testing.T) {
			data := buildArchive(t, c.entries, archiveOpts{noManifest: true})
			_, err := Verify(bytes.NewReader(data), VerifyOptions{Plain: true, StripComponents: c.strip})
			if !errors.Is(err, ErrUnsafe) {
				t.Fatalf("want ErrUnsafe, got %v", err)
			}
			t.Log(err)
		})
	}
	data := buildArchive(t, []tEntry{file("only-a-file", "x")}, archiveOpts{noManifest: true})
	if _, err := Verify(bytes.NewReader(data), VerifyOptions{StripComponents: 1}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("nothing left after stripping: %v", err)
	}
	if _, err := Verify(bytes.NewReader(data), VerifyOptions{StripComponents: -1}); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("negative StripComponents: %v", err)
	}
	full := buildArchive(t, busyboxRecipe(), archiveOpts{noManifest: true})
	if _, err := Verify(bytes.NewReader(full[:len(full)-30]), VerifyOptions{Plain: true}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a truncated plain tar.gz: %v", err)
	}
}

func FuzzVerifyPlain(f *testing.F) {
	f.Add(buildArchive(f, busyboxRecipe(), archiveOpts{noManifest: true, format: FormatTar}), 3)
	f.Add(buildArchive(f, busyboxRecipe(), archiveOpts{noManifest: true}), 0)
	f.Fuzz(func(t *testing.T, data []byte, strip int) {
		if strip < 0 || strip > 8 {
			return
		}
		sum, err := Verify(bytes.NewReader(data), VerifyOptions{TempDir: t.TempDir(), StripComponents: strip, Plain: true})
		if err == nil && (sum.Entries == 0 || !sum.Plain) {
			t.Fatalf("accepted %+v", sum)
		}
	})
}
