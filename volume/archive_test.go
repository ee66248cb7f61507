package volume

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// tEntry is one entry of a hand-made archive.
type tEntry struct {
	h    tar.Header
	body string
}

func dir(name string) tEntry {
	return tEntry{h: tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755}}
}
func file(name, body string) tEntry {
	return tEntry{h: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}, body: body}
}
func symlink(name, target string) tEntry {
	return tEntry{h: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}
func hardlink(name, target string) tEntry {
	return tEntry{h: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644}}
}

// archiveOpts change how buildArchive writes an archive, to make it hostile.
type archiveOpts struct {
	format      Format
	noManifest  bool
	editLines   func(lines [][]byte) [][]byte // change the manifest's entry lines
	afterManif  []tEntry                      // entries written after the manifest
	trailing    []byte                        // raw bytes after the tar stream (inside compression)
	editHeaders func(h *tar.Header)
	raw         []byte // raw bytes written after the entries, before the manifest
}

// rawHeader is a hand-made ustar header block, for headers tar.Writer refuses to write.
func rawHeader(name string, typeflag byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b[0:], name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typeflag
	copy(b[257:], "ustar\x0000")
	copy(b[148:], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// buildArchive writes entries and a manifest that matches them, so that the only thing wrong
// with the archive is what the test puts in.
func buildArchive(t testing.TB, entries []tEntry, o archiveOpts) []byte {
	t.Helper()
	if o.format == "" {
		o.format = FormatTarGzip
	}
	var out bytes.Buffer
	cw, closeCW, err := compressor(&out, o.format, 0)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(cw)
	var lines [][]byte
	var total int64
	write := func(e tEntry) {
		h := e.h
		h.ModTime = time.Unix(1700000000, 0)
		if o.editHeaders != nil {
			o.editHeaders(&h)
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("write %s: %v", h.Name, err)
		}
		io.WriteString(tw, e.body)
		sum := ""
		if h.Typeflag == tar.TypeReg {
			s := sha256.Sum256([]byte(e.body))
			sum = hex.EncodeToString(s[:])
			total += h.Size
		}
		lines = append(lines, entryOf(normalHeader(&h, h.Name), sum).line())
	}
	for _, e := range entries {
		write(e)
	}
	if o.raw != nil {
		tw.Flush()
		cw.Write(o.raw)
	}
	if !o.noManifest {
		if o.editLines != nil {
			lines = o.editLines(lines)
		}
		var m bytes.Buffer
		hdr, _ := json.Marshal(manifestHeader{Kind: manifestKind, Version: manifestVersion, Source: "test"})
		m.Write(append(hdr, '\n'))
		for _, l := range lines {
			m.Write(l)
		}
		tr, _ := json.Marshal(manifestTrailer{End: true, Entries: len(entries), Bytes: total})
		m.Write(append(tr, '\n'))
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Mode: 0o644, Size: int64(m.Len())})
		tw.Write(m.Bytes())
	}
	for _, e := range o.afterManif {
		write(e)
	}
	tw.Close()
	cw.Write(o.trailing)
	closeCW()
	return out.Bytes()
}

func goodEntries() []tEntry {
	return []tEntry{
		dir("data"), dir("data/sub"), file("data/sub/a.txt", "hello"), file("data/empty", ""),
		symlink("data/link", "sub/a.txt"), symlink("data/sub/up", "../empty"), hardlink("data/hard", "data/sub/a.txt"),
		dir("data/emptydir"),
	}
}

func TestEveryCompressionLevelVerifies(t *testing.T) {
	for f, levels := range map[Format][]int{FormatTarGzip: {1, 6, 9}, FormatTarZstd: {1, 2, 3, 4}} {
		for _, level := range levels {
			var out bytes.Buffer
			aw := archiveWriter{format: f, level: level, tempDir: t.TempDir()}
			if _, _, _, err := aw.write(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(engineTar(t))), nil }, &out); err != nil {
				t.Fatalf("%s level %d: %v", f, level, err)
			}
			if _, err := Verify(&out, VerifyOptions{}); err != nil {
				t.Errorf("%s level %d: %v", f, level, err)
			}
		}
	}
}

func TestVerifyAcceptsGoodArchives(t *testing.T) {
	for _, f := range []Format{FormatTarGzip, FormatTarZstd, FormatTar} {
		t.Run(string(f), func(t *testing.T) {
			sum, err := Verify(bytes.NewReader(buildArchive(t, goodEntries(), archiveOpts{format: f})), VerifyOptions{TempDir: t.TempDir()})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := Summary{Format: f, Source: "test", Entries: 8, Files: 2, Dirs: 3, Symlinks: 2, Hardlinks: 1, Bytes: 5}
			if sum != want {
				t.Errorf("summary = %+v\nwant %+v", sum, want)
			}
		})
	}
}

// hostileArchives are archives that Verify and Restore must refuse, with the error each matches.
func hostileArchives(t testing.TB) map[string]struct {
	data []byte
	kind error
} {
	good := goodEntries()
	with := func(extra ...tEntry) []tEntry { return append(append([]tEntry{}, good...), extra...) }
	type hostile = struct {
		data []byte
		kind error
	}
	cases := map[string]hostile{
		"traversal":             {buildArchive(t, with(file("data/../evil", "x")), archiveOpts{}), ErrUnsafe},
		"traversal-deep":        {buildArchive(t, with(file("data/sub/../../evil", "x")), archiveOpts{}), ErrUnsafe},
		"absolute-path":         {buildArchive(t, with(file("/etc/evil", "x")), archiveOpts{}), ErrUnsafe},
		"outside-data":          {buildArchive(t, with(file("evil", "x")), archiveOpts{}), ErrUnsafe},
		"symlink-escape":        {buildArchive(t, with(symlink("data/sub/esc", "../../etc")), archiveOpts{}), ErrUnsafe},
		"symlink-absolute":      {buildArchive(t, with(symlink("data/abs", "/etc/passwd")), archiveOpts{}), ErrUnsafe},
		"symlink-dotdot-inside": {buildArchive(t, with(symlink("data/x", "sub/../../etc")), archiveOpts{}), ErrUnsafe},
		"write-through-symlink": {buildArchive(t, with(symlink("data/l", "sub"), file("data/l/f", "x")), archiveOpts{}), ErrUnsafe},
		"replace-symlink":       {buildArchive(t, with(file("data/link", "x")), archiveOpts{}), ErrUnsafe},
		"hardlink-escape":       {buildArchive(t, with(hardlink("data/h", "etc/passwd")), archiveOpts{}), ErrUnsafe},
		"hardlink-traversal":    {buildArchive(t, with(hardlink("data/h", "data/../../etc/passwd")), archiveOpts{}), ErrUnsafe},
		"hardlink-absolute":     {buildArchive(t, with(hardlink("data/h", "/etc/passwd")), archiveOpts{}), ErrUnsafe},
		"hardlink-via-symlink":  {buildArchive(t, with(hardlink("data/h", "data/link/x")), archiveOpts{}), ErrUnsafe},
		"hardlink-missing":      {buildArchive(t, with(hardlink("data/h", "data/nothing")), archiveOpts{}), ErrUnsafe},
		"hardlink-forward":      {buildArchive(t, with(hardlink("data/h", "data/later"), file("data/later", "x")), archiveOpts{}), ErrUnsafe},
		"hardlink-to-dir":       {buildArchive(t, with(hardlink("data/h", "data/sub")), archiveOpts{}), ErrUnsafe},
		"duplicate-file":        {buildArchive(t, with(file("data/sub/a.txt", "again")), archiveOpts{}), ErrUnsafe},
		"file-then-dir":         {buildArchive(t, with(dir("data/empty")), archiveOpts{}), ErrUnsafe},
		"no-parent-dir":         {buildArchive(t, with(file("data/nodir/f", "x")), archiveOpts{}), ErrUnsafe},
		"parent-is-file":        {buildArchive(t, with(file("data/empty/f", "x")), archiveOpts{}), ErrUnsafe},
		"device-node": {buildArchive(t, with(tEntry{h: tar.Header{Typeflag: tar.TypeChar, Name: "data/null", Mode: 0o666, Devmajor: 1, Devminor: 3}}),
			archiveOpts{}), ErrUnsafe},
		"huge-pax-header": {buildArchive(t, good, archiveOpts{raw: append(rawHeader("PaxHeaders/big", tar.TypeXHeader, 2<<20),
			bytes.Repeat([]byte("9 a=bcde\n"), (2<<20)/9+1)[:2<<20]...)}), ErrCorrupt},
		"huge-gnu-longname": {buildArchive(t, good, archiveOpts{raw: append(rawHeader("././@LongLink", tar.TypeGNULongName, 2<<20),
			bytes.Repeat([]byte("n"), 2<<20)...)}), ErrCorrupt},
		"huge-size-truncated": {buildArchive(t, good, archiveOpts{noManifest: true, raw: append(rawHeader("data/huge", tar.TypeReg, 1<<40),
			bytes.Repeat([]byte("z"), 4096)...)}), ErrCorrupt},
		"huge-name":         {buildArchive(t, with(file("data/"+strings.Repeat("n", 5000), "x")), archiveOpts{}), ErrUnsafe},
		"checksum-mismatch": {buildArchive(t, good, archiveOpts{editLines: editFirstFile(func(e *Entry) { e.SHA256 = strings.Repeat("0", 64) })}), ErrCorrupt},
		"owner-mismatch":    {buildArchive(t, good, archiveOpts{editLines: editFirstFile(func(e *Entry) { e.UID = 7 })}), ErrCorrupt},
		"missing-line":      {buildArchive(t, good, archiveOpts{editLines: func(l [][]byte) [][]byte { return l[:len(l)-1] }}), ErrCorrupt},
		"no-manifest":       {buildArchive(t, good, archiveOpts{noManifest: true}), ErrCorrupt},
		"after-manifest":    {buildArchive(t, good, archiveOpts{afterManif: []tEntry{file("data/late", "x")}}), ErrCorrupt},
		"trailing-garbage":  {buildArchive(t, good, archiveOpts{trailing: []byte("garbage after the end")}), ErrCorrupt},
		"no-root-first":     {buildArchive(t, good[1:], archiveOpts{}), ErrCorrupt},
		"garbage":           {bytes.Repeat([]byte("not an archive at all "), 100), ErrCorrupt},
		"empty":             {nil, ErrCorrupt},
		"gzip-garbage":      {append([]byte{0x1f, 0x8b, 8, 0}, bytes.Repeat([]byte{0xff}, 600)...), ErrCorrupt},
		"zstd-garbage":      {append([]byte{0x28, 0xb5, 0x2f, 0xfd}, bytes.Repeat([]byte{0x17}, 600)...), ErrCorrupt},
	}
	big := append(with(file("data/big", strings.Repeat("0123456789abcdef", 1<<16))), good[len(good)-1])
	for _, f := range []Format{FormatTarGzip, FormatTarZstd, FormatTar} {
		full := buildArchive(t, big, archiveOpts{format: f})
		cases["truncated-"+string(f)] = hostile{full[:len(full)/2], ErrCorrupt}
		cases["truncated-end-"+string(f)] = hostile{full[:len(full)-40], ErrCorrupt}
		flipped := bytes.Clone(full)
		flipped[len(flipped)/3] ^= 0x40
		cases["bitflip-"+string(f)] = hostile{flipped, ErrCorrupt}
	}
	return cases
}

func editFirstFile(edit func(*Entry)) func([][]byte) [][]byte {
	return func(lines [][]byte) [][]byte {
		for i, l := range lines {
			var e Entry
			json.Unmarshal(l, &e)
			if e.Type == "file" && e.Size > 0 {
				edit(&e)
				lines[i] = e.line()
				break
			}
		}
		return lines
	}
}

func TestVerifyRefusesHostileArchives(t *testing.T) {
	for name, c := range hostileArchives(t) {
		t.Run(name, func(t *testing.T) {
			_, err := Verify(bytes.NewReader(c.data), VerifyOptions{TempDir: t.TempDir()})
			if err == nil {
				t.Fatal("Verify accepted a hostile archive")
			}
			var ae *ArchiveError
			if !errors.As(err, &ae) || !errors.Is(err, c.kind) {
				t.Fatalf("error %v (%T); want an *ArchiveError matching %v", err, err, c.kind)
			}
			t.Log(err)
		})
	}
}

func TestAbsoluteSymlinkAllowedByOption(t *testing.T) {
	data := buildArchive(t, append(goodEntries(), symlink("data/abs", "/etc/passwd")), archiveOpts{})
	if _, err := Verify(bytes.NewReader(data), VerifyOptions{AllowAbsoluteSymlinks: true}); err != nil {
		t.Fatalf("Verify with AllowAbsoluteSymlinks: %v", err)
	}
}

func TestCheckSymlink(t *testing.T) {
	for _, c := range []struct {
		name, target string
		ok           bool
	}{
		{"data/a", "b", true}, {"data/a", "./b/c", true}, {"data/a", "..", false}, {"data/x/a", "..", true},
		{"data/x/a", "../..", false}, {"data/x/y/a", "../../b", true}, {"data/x/a", "b/../c", false},
		{"data/a", "/abs", false}, {"data", "x", false}, {"data/a", "", false},
	} {
		err := checkSymlink(c.name, c.target, false)
		if (err == nil) != c.ok {
			t.Errorf("checkSymlink(%q, %q) = %v; want ok=%v", c.name, c.target, err, c.ok)
		}
	}
}

func TestParseSourceAndFormat(t *testing.T) {
	if s, err := ParseSource("db:/var/lib/db"); err != nil || s.Container != "db" || s.Path != "/var/lib/db" {
		t.Errorf("ParseSource container = %+v, %v", s, err)
	}
	for _, bad := range []string{"", "x", "c:relative", "c:/", "bad name"} {
		if _, err := ParseSource(bad); err == nil {
			t.Errorf("ParseSource(%q) accepted", bad)
		}
	}
	if _, err := ParseFormat("zip"); err == nil {
		t.Error("ParseFormat(zip) accepted")
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(buildArchive(f, goodEntries(), archiveOpts{format: FormatTar}))
	f.Add(buildArchive(f, goodEntries(), archiveOpts{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		sum, err := Verify(bytes.NewReader(data), VerifyOptions{TempDir: t.TempDir()})
		if err == nil && sum.Entries == 0 {
			t.Fatal("accepted an archive without entries")
		}
	})
}
