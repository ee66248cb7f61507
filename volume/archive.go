package volume

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Format is the container format of a backup archive.
type Format string

// The formats Backup writes; Verify and Restore recognise each by its magic bytes.
const (
	FormatTarGzip Format = "tar.gz"  // tar compressed with gzip (the default)
	FormatTarZstd Format = "tar.zst" // tar compressed with Zstandard
	FormatTar     Format = "tar"     // plain tar
)

// ParseFormat returns the Format that s names: "tar.gz" (also "tgz", "gz", "gzip"), "tar.zst"
// (also "zst", "zstd") or "tar". The empty string means FormatTarGzip.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "tar.gz", "tgz", "gz", "gzip":
		return FormatTarGzip, nil
	case "tar.zst", "tar.zstd", "zst", "zstd":
		return FormatTarZstd, nil
	case "tar":
		return FormatTar, nil
	}
	return "", berth.Invalid("format", "%q is not a backup format; accepted: tar.gz, tar.zst, tar", s)
}

// Layout of a backup archive: the volume's root directory is the entry "data/", every file of
// the volume is under it, and the last entry is the manifest, a JSON Lines file: a header line,
// one line per data entry in archive order, and a closing line with the totals. Extracting the
// archive with tar gives the same tree as the classic `tar czf b.tar.gz /data` recipe.
const (
	// DataDir is the archive directory that holds the volume's root.
	DataDir = "data"
	// ManifestName is the name of the manifest entry, the last entry of every backup archive.
	ManifestName = "berth-manifest.json"

	manifestKind    = "berth-volume-backup"
	manifestVersion = 1
	maxPathLen      = 4096
	maxManifestLine = 1 << 20
)

// Entry is one line of the manifest: one archive entry with the metadata restore preserves and
// the SHA-256 of a regular file's content.
type Entry struct {
	Path   string            `json:"path"`
	Type   string            `json:"type"` // file, dir, symlink, hardlink, fifo
	Size   int64             `json:"size"`
	Mode   string            `json:"mode"` // octal permission bits with setuid, setgid, sticky
	UID    int               `json:"uid"`
	GID    int               `json:"gid"`
	MTime  string            `json:"mtime"` // RFC 3339, UTC, with nanoseconds
	Link   string            `json:"link,omitempty"`
	SHA256 string            `json:"sha256,omitempty"`
	Xattrs map[string]string `json:"xattrs,omitempty"`
}

// manifestHeader is the manifest's first line.
type manifestHeader struct {
	Kind    string `json:"kind"`
	Version int    `json:"version"`
	Source  string `json:"source,omitempty"`
	Created string `json:"created,omitempty"`
}

// manifestTrailer is the manifest's last line.
type manifestTrailer struct {
	End     bool  `json:"end"`
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"`
}

// typeName maps tar entry types to manifest types; other types are not accepted.
var typeName = map[byte]string{
	tar.TypeReg: "file", tar.TypeDir: "dir", tar.TypeSymlink: "symlink",
	tar.TypeLink: "hardlink", tar.TypeFifo: "fifo",
}

// entryOf describes h (already renamed into the archive layout); sum is the content's SHA-256
// for regular files.
func entryOf(h *tar.Header, sum string) Entry {
	e := Entry{
		Path: strings.TrimSuffix(h.Name, "/"), Type: typeName[h.Typeflag], Size: h.Size,
		Mode: fmt.Sprintf("%04o", h.Mode&07777), UID: h.Uid, GID: h.Gid,
		MTime: h.ModTime.UTC().Format(time.RFC3339Nano), Link: h.Linkname, SHA256: sum,
	}
	for k, v := range h.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			if e.Xattrs == nil {
				e.Xattrs = map[string]string{}
			}
			e.Xattrs[strings.TrimPrefix(k, "SCHILY.xattr.")] = v
		}
	}
	return e
}

// line is the canonical manifest line of e, newline included.
func (e Entry) line() []byte {
	b, _ := json.Marshal(e) // a struct of strings, numbers and a string map cannot fail
	return append(b, '\n')
}

// normalHeader returns the header berth writes for an entry: only the fields restore uses, so
// that what is written, checked and restored is the same thing.
func normalHeader(h *tar.Header, name string) *tar.Header {
	n := &tar.Header{
		Typeflag: h.Typeflag, Name: name, Linkname: h.Linkname, Size: h.Size,
		Mode: h.Mode & 07777, Uid: h.Uid, Gid: h.Gid, ModTime: h.ModTime,
		Devmajor: h.Devmajor, Devminor: h.Devminor,
	}
	if n.Typeflag == tar.TypeRegA {
		n.Typeflag = tar.TypeReg
	}
	if n.Typeflag == tar.TypeDir && !strings.HasSuffix(n.Name, "/") {
		n.Name += "/"
	}
	if n.Typeflag != tar.TypeReg {
		n.Size = 0
	}
	for k, v := range h.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			if n.PAXRecords == nil {
				n.PAXRecords = map[string]string{}
			}
			n.PAXRecords[k] = v
		}
	}
	return n
}

// ArchiveError is a backup archive that Verify or Restore refused: Entry names the archive entry
// at fault (empty when the problem is the stream itself), Reason says what is wrong. It
// matches ErrCorrupt (unreadable, truncated, checksum mismatch, no manifest) or ErrUnsafe (an
// entry that would escape the target or is of a refused kind).
type ArchiveError struct {
	Entry  string
	Reason string
	Kind   error // ErrCorrupt or ErrUnsafe
	Err    error // the underlying error, if any
}

var (
	// ErrCorrupt is matched by errors about archives that are unreadable, truncated, not
	// berth backups, or whose content does not match their manifest.
	ErrCorrupt = errors.New("volume: corrupt backup archive")
	// ErrUnsafe is matched by errors about archives with entries that would write outside the
	// target (absolute paths, "..", symlink or hardlink targets outside) or that restore
	// refuses (device nodes, unknown entry types).
	ErrUnsafe = errors.New("volume: unsafe backup archive")
)

// Error says the kind, the entry and what is wrong with it.
func (e *ArchiveError) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Entry != "" {
		fmt.Fprintf(&b, ": entry %q", e.Entry)
	}
	b.WriteString(": " + e.Reason)
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the kind (ErrCorrupt or ErrUnsafe) and the underlying error.
func (e *ArchiveError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func corrupt(entry, reason string, err error) error {
	return &ArchiveError{Entry: entry, Reason: reason, Kind: ErrCorrupt, Err: err}
}

func unsafeEntry(entry, format string, args ...any) error {
	return &ArchiveError{Entry: entry, Reason: fmt.Sprintf(format, args...), Kind: ErrUnsafe}
}

// decompress detects the format of r by its magic bytes and returns the tar stream inside it.
// The returned close function releases the decompressor.
func decompress(r io.Reader) (io.Reader, Format, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(4)
	if err != nil && len(magic) == 0 {
		return nil, "", nil, corrupt("", "empty or unreadable stream", err)
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", nil, corrupt("", "bad gzip stream", err)
		}
		return zr, FormatTarGzip, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(32<<20), zstd.WithDecoderMaxMemory(1<<40))
		if err != nil {
			return nil, "", nil, corrupt("", "bad zstd stream", err)
		}
		return zr, FormatTarZstd, zr.Close, nil
	default:
		block, _ := br.Peek(512)
		if len(block) < 512 || !bytes.HasPrefix(block[257:], []byte("ustar")) {
			return nil, "", nil, corrupt("", "not a tar, tar.gz or tar.zst stream", nil)
		}
		return br, FormatTar, func() {}, nil
	}
}

// checkName validates an archive path: DataDir or under it, clean, relative, no "..".
func checkName(name string) error {
	switch {
	case name == "":
		return unsafeEntry(name, "empty name")
	case len(name) > maxPathLen:
		return unsafeEntry(name[:64]+"...", "name longer than %d bytes", maxPathLen)
	case strings.ContainsRune(name, 0):
		return unsafeEntry(name, "name contains a NUL byte")
	case strings.HasPrefix(name, "/"):
		return unsafeEntry(name, "absolute path")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return unsafeEntry(name, `path contains ".."`)
		}
		if part == "" || part == "." {
			return unsafeEntry(name, "path is not clean (empty or \".\" element)")
		}
	}
	if name != DataDir && !strings.HasPrefix(name, DataDir+"/") {
		return unsafeEntry(name, "outside %s/", DataDir)
	}
	return nil
}

// checkSymlink refuses a relative target that leaves DataDir and, unless absolute targets are
// allowed, any absolute target. ".." may only lead the target: "a/../.." would be resolved by
// the kernel through "a", which may itself be a symlink, so it cannot be checked by name.
func checkSymlink(name, target string, allowAbsolute bool) error {
	switch {
	case target == "":
		return unsafeEntry(name, "symlink with an empty target")
	case len(target) > maxPathLen:
		return unsafeEntry(name, "symlink target longer than %d bytes", maxPathLen)
	case strings.ContainsRune(target, 0):
		return unsafeEntry(name, "symlink target contains a NUL byte")
	case strings.HasPrefix(target, "/"):
		if allowAbsolute {
			return nil
		}
		return unsafeEntry(name, "symlink to an absolute path %q (allow with AllowAbsoluteSymlinks)", target)
	}
	up, named := 0, false
	for _, part := range strings.Split(target, "/") {
		switch {
		case part == "" || part == ".":
		case part == ".." && named:
			return unsafeEntry(name, "symlink target %q has \"..\" after a name", target)
		case part == "..":
			up++
		default:
			named = true
		}
	}
	depth := strings.Count(path.Dir(name), "/") // levels below DataDir of the link's directory
	if name == DataDir || up > depth {
		return unsafeEntry(name, "symlink target %q points outside the volume", target)
	}
	return nil
}

// checker verifies a stream of archive entries without keeping the entries: the canonical line
// of every entry goes to lines (a spool file), and is compared with the manifest at the end.
type checker struct {
	allowAbsolute bool
	symlinks      map[string]bool // paths of symlink entries: nothing may be written under them
	// nonDirs holds a keyed 64-bit hash of every non-directory entry's path (8 bytes and map
	// overhead per entry, not the path): a hardlink must name one of them, and no name may come
	// twice. The key is random, so a hostile archive cannot aim a collision.
	nonDirs map[uint64]struct{}
	// dirs holds the same kind of hash of every directory entry: an entry's parent must be an
	// earlier directory entry, so that restore (re)creates every directory on an entry's path
	// and never writes through a symlink already in the target volume.
	dirs    map[uint64]struct{}
	seed    maphash.Seed
	lines   io.Writer
	count   int
	bytes   int64
	summary Summary
	plain   *plainMapper // renames a plain archive's entries; nil for a backup
}

// header checks one entry's header (not its content).
func (c *checker) header(h *tar.Header) error {
	name := strings.TrimSuffix(h.Name, "/")
	if h.Typeflag == tar.TypeRegA {
		h.Typeflag = tar.TypeReg
	}
	if c.count == 0 && (name != DataDir || h.Typeflag != tar.TypeDir) {
		return corrupt(name, "first entry must be the directory "+DataDir+"/ (not a berth backup: read a plain tar archive with Plain or StripComponents)", nil)
	}
	if err := checkName(name); err != nil {
		return err
	}
	if _, ok := typeName[h.Typeflag]; !ok {
		return unsafeEntry(name, "entry type %q is not restored (files, directories, symlinks, hardlinks and FIFOs are)", string(h.Typeflag))
	}
	if c.symlinks[name] {
		return unsafeEntry(name, "entry replaces an earlier symlink")
	}
	for i := strings.IndexByte(name, '/'); i >= 0; i = next(name, i) {
		if c.symlinks[name[:i]] {
			return unsafeEntry(name, "path goes through the symlink %q", name[:i])
		}
	}
	if h.Size < 0 || h.Uid < 0 || h.Gid < 0 {
		return corrupt(name, "negative size or owner", nil)
	}
	if err := c.once(name, h.Typeflag); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeSymlink:
		if err := checkSymlink(name, h.Linkname, c.allowAbsolute); err != nil {
			return err
		}
		c.symlinks[name] = true
	case tar.TypeLink:
		if err := checkName(h.Linkname); err != nil {
			return unsafeEntry(name, "hardlink target %q is outside the volume", h.Linkname)
		}
		if h.Linkname == name {
			return unsafeEntry(name, "hardlink to itself")
		}
		for i := strings.IndexByte(h.Linkname, '/'); i >= 0; i = next(h.Linkname, i) {
			if c.symlinks[h.Linkname[:i]] {
				return unsafeEntry(name, "hardlink target goes through the symlink %q", h.Linkname[:i])
			}
		}
		if _, ok := c.nonDirs[maphash.String(c.seed, h.Linkname)]; !ok {
			return unsafeEntry(name, "hardlink target %q is not an earlier file of the archive", h.Linkname)
		}
	}
	return nil
}

// once refuses a second entry of the same name (where the first is not a directory) and
// remembers non-directories as possible hardlink targets.
func (c *checker) once(name string, typ byte) error {
	if c.nonDirs == nil {
		c.nonDirs, c.dirs, c.seed = map[uint64]struct{}{}, map[uint64]struct{}{}, maphash.MakeSeed()
	}
	key := maphash.String(c.seed, name)
	if _, dup := c.nonDirs[key]; dup {
		return unsafeEntry(name, "a second entry of this name")
	}
	if name != DataDir {
		if _, ok := c.dirs[maphash.String(c.seed, path.Dir(name))]; !ok {
			return unsafeEntry(name, "its directory %q is not an earlier entry of the archive", path.Dir(name))
		}
	}
	if typ == tar.TypeDir {
		c.dirs[key] = struct{}{}
	} else {
		c.nonDirs[key] = struct{}{}
	}
	return nil
}

// next returns the index of the next '/' in s after i, or -1.
func next(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// record appends the entry's canonical line once its content has been read.
func (c *checker) record(h *tar.Header, sum string) error {
	e := entryOf(normalHeader(h, h.Name), sum)
	if _, err := c.lines.Write(e.line()); err != nil {
		return fmt.Errorf("volume: spool manifest lines: %w", err)
	}
	c.count++
	c.summary.add(e)
	return nil
}

// compareManifest reads the manifest from m and compares it, line by line, with the lines the
// checker computed (read back from computed).
func (c *checker) compareManifest(m io.Reader, computed io.Reader) error {
	ms := bufio.NewScanner(m)
	ms.Buffer(make([]byte, 64<<10), maxManifestLine)
	cs := bufio.NewScanner(computed)
	cs.Buffer(make([]byte, 64<<10), maxManifestLine)
	var hdr manifestHeader
	if !ms.Scan() || json.Unmarshal(ms.Bytes(), &hdr) != nil || hdr.Kind != manifestKind {
		return corrupt(ManifestName, "no manifest header line", ms.Err())
	}
	if hdr.Version != manifestVersion {
		return corrupt(ManifestName, fmt.Sprintf("manifest version %d; this berth reads version %d", hdr.Version, manifestVersion), nil)
	}
	c.summary.Source, c.summary.Created = hdr.Source, hdr.Created
	for i := 0; i < c.count; i++ {
		if !cs.Scan() {
			return fmt.Errorf("volume: read back manifest lines: %w", cmpOr(cs.Err(), io.ErrUnexpectedEOF))
		}
		if !ms.Scan() {
			return corrupt(ManifestName, fmt.Sprintf("manifest lists %d entries, the archive has %d", i, c.count), ms.Err())
		}
		if !bytes.Equal(ms.Bytes(), cs.Bytes()) {
			return mismatch(ms.Bytes(), cs.Bytes())
		}
	}
	var tr manifestTrailer
	if !ms.Scan() || json.Unmarshal(ms.Bytes(), &tr) != nil || !tr.End {
		return corrupt(ManifestName, "manifest lists entries the archive does not have, or has no closing line", ms.Err())
	}
	if tr.Entries != c.count || tr.Bytes != c.summary.Bytes {
		return corrupt(ManifestName, fmt.Sprintf("manifest totals %d entries, %d bytes; the archive has %d, %d", tr.Entries, tr.Bytes, c.count, c.summary.Bytes), nil)
	}
	if ms.Scan() {
		return corrupt(ManifestName, "data after the manifest's closing line", nil)
	}
	return nil
}

// mismatch describes the first difference between a manifest line and the archive's entry.
func mismatch(want, got []byte) error {
	var w, g Entry
	if json.Unmarshal(want, &w) != nil || json.Unmarshal(got, &g) != nil {
		return corrupt(ManifestName, "manifest line is not an entry", nil)
	}
	name := g.Path
	switch {
	case w.Path == "":
		return corrupt(name, "the manifest ends before this entry", nil)
	case w.Path != g.Path:
		return corrupt(name, fmt.Sprintf("manifest lists %q here", w.Path), nil)
	case w.SHA256 != g.SHA256:
		return corrupt(name, "content does not match its SHA-256 in the manifest", nil)
	case w.Size != g.Size:
		return corrupt(name, fmt.Sprintf("size %d, manifest says %d", g.Size, w.Size), nil)
	case w.Type != g.Type || w.Link != g.Link:
		return corrupt(name, "type or link target differs from the manifest", nil)
	case w.Mode != g.Mode || w.UID != g.UID || w.GID != g.GID:
		return corrupt(name, fmt.Sprintf("mode %s owner %d:%d, manifest says %s %d:%d", g.Mode, g.UID, g.GID, w.Mode, w.UID, w.GID), nil)
	case !maps.Equal(w.Xattrs, g.Xattrs):
		return corrupt(name, "extended attributes differ from the manifest", nil)
	}
	return corrupt(name, "metadata differs from the manifest", nil)
}

func cmpOr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Summary describes a backup archive: its format, what the manifest's header says, and totals.
type Summary struct {
	Format    Format
	Source    string // the source named at backup time
	Created   string // when the backup was taken (RFC 3339)
	Entries   int    // data entries, the volume's root included
	Files     int
	Dirs      int
	Symlinks  int
	Hardlinks int
	Bytes     int64 // content bytes of regular files
	// Plain is set for an archive read without a manifest (VerifyOptions.Plain): its entries
	// were checked for safety, but there were no sizes, owners or checksums to compare with.
	Plain bool
	// Skipped counts a plain archive's entries that StripComponents left without a name.
	Skipped int
}

func (s *Summary) add(e Entry) {
	s.Entries++
	switch e.Type {
	case "file":
		s.Files++
		s.Bytes += e.Size
	case "dir":
		s.Dirs++
	case "symlink":
		s.Symlinks++
	case "hardlink":
		s.Hardlinks++
	}
}

// String is a one-line description, as the CLI prints it; for a plain archive it says that
// there was no manifest to verify against.
func (s Summary) String() string {
	line := fmt.Sprintf("%s: %d entries (%d files, %d dirs, %d symlinks, %d hardlinks), %s of file data",
		s.Format, s.Entries, s.Files, s.Dirs, s.Symlinks, s.Hardlinks, humanBytes(s.Bytes))
	if s.Plain {
		line += fmt.Sprintf("; plain archive without a manifest: no checksums to verify, only that it reads to its end and every entry is safe (%d entries skipped by strip-components)", s.Skipped)
	}
	return line
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
