package volume

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// VerifyOptions tune Verify (and the verification Restore runs before it writes).
type VerifyOptions struct {
	// AllowAbsoluteSymlinks accepts symlinks whose target is an absolute path. They cannot be
	// checked against the volume (they resolve in the namespace of whatever container mounts
	// it), so they are refused by default.
	AllowAbsoluteSymlinks bool
	// TempDir is where verification spools the manifest lines it computes (one short line per
	// entry); empty means os.TempDir().
	TempDir string
	// Plain reads an archive without berth's layout and manifest, made by any tar (see
	// plain.go): its entries are checked for safety as a backup's are, but with no manifest
	// there are no checksums to verify. Summary.Plain says so.
	Plain bool
	// StripComponents drops this many leading path elements from every entry's name, as GNU
	// tar's --strip-components does (entries with no more elements are skipped); 3 restores
	// the members "var/lib/mysql/..." of `tar cvzf b.tar.gz /var/lib/mysql` at the volume's
	// root. A positive value implies Plain.
	StripComponents int
}

// Verify reads a whole backup archive from r (tar.gz, tar.zst or tar, detected by content) and
// checks it without restoring anything: it is readable to the end, every entry stays inside the
// volume (no absolute paths, no "..", no symlink or hardlink target outside, nothing written
// through a symlink), every entry is of a kind restore writes, and the manifest matches every
// entry's size, mode, owner, link target and SHA-256; every entry's directory is an earlier
// entry, a hardlink names an earlier file of the archive, and no name comes twice. Memory does not grow with the archive's size: per entry it
// keeps a 64-bit hash (for the hardlink and duplicate checks), per symlink its path. A refused
// archive returns an *ArchiveError matching ErrCorrupt or ErrUnsafe.
//
// With opts.Plain (or StripComponents) it reads an archive any tar made instead, without a
// manifest: the same checks run on every entry, but there is nothing to compare sizes, owners
// and checksums with, and the Summary says so (Plain).
func Verify(r io.Reader, opts VerifyOptions) (Summary, error) {
	return verifyStream(r, opts)
}

func verifyStream(r io.Reader, opts VerifyOptions) (Summary, error) {
	if err := opts.validate(); err != nil {
		return Summary{}, err
	}
	stream, format, release, err := decompress(r)
	if err != nil {
		return Summary{}, err
	}
	defer release()
	spool, err := os.CreateTemp(opts.TempDir, "berth-verify-*")
	if err != nil {
		return Summary{}, fmt.Errorf("volume: verify: spool file: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	lines := bufio.NewWriterSize(spool, 64<<10)
	c := &checker{allowAbsolute: opts.AllowAbsoluteSymlinks, symlinks: map[string]bool{}, lines: lines, plain: plainMapperFor(opts)}
	c.summary.Format, c.summary.Plain = format, c.plain != nil
	if err := c.entries(tar.NewReader(stream), lines, spool); err != nil {
		return Summary{}, err
	}
	if err := trailingZeros(stream); err != nil {
		return Summary{}, err
	}
	return c.summary, nil
}

// entries checks every entry of tr up to and including the manifest (a plain archive: to its
// end).
func (c *checker) entries(tr *tar.Reader, lines *bufio.Writer, spool *os.File) error {
	buf := make([]byte, 256<<10)
	last := ""
	for {
		h, err := tr.Next()
		switch {
		case errors.Is(err, io.EOF) && c.plain != nil && c.count > 0:
			return nil
		case errors.Is(err, io.EOF) && c.plain != nil:
			return corrupt("", fmt.Sprintf("the archive has no entries (after stripping %d path elements)", c.plain.strip), nil)
		case errors.Is(err, io.EOF):
			return corrupt("", fmt.Sprintf("archive ends after %d entries without a manifest (truncated, or not a berth backup: read a plain tar archive with Plain or StripComponents)", c.count), nil)
		case err != nil:
			return corrupt(last, "unreadable archive after this entry (truncated or damaged)", err)
		}
		if c.plain == nil && h.Name == ManifestName {
			return c.manifest(tr, lines, spool)
		}
		headers, err := c.mapped(h)
		if err != nil {
			return err
		}
		for _, mh := range headers {
			if err := c.header(mh); err != nil {
				return err
			}
			last = mh.Name
			sum := ""
			if mh.Typeflag == tar.TypeReg {
				hash := sha256.New()
				if _, err := io.CopyBuffer(hash, tr, buf); err != nil {
					return corrupt(mh.Name, "content is truncated or unreadable", err)
				}
				sum = hex.EncodeToString(hash.Sum(nil))
			}
			if err := c.record(mh, sum); err != nil {
				return err
			}
		}
	}
}

// mapped returns h as the backup layout has it: itself in a backup; in a plain archive, its
// renamed header after the directories it needs, or nothing (skipped, counted).
func (c *checker) mapped(h *tar.Header) ([]*tar.Header, error) {
	if c.plain == nil {
		return []*tar.Header{h}, nil
	}
	headers, err := c.plain.next(h)
	if len(headers) == 0 && err == nil {
		c.summary.Skipped++
	}
	return headers, err
}

// manifest compares the manifest entry with the spooled lines and checks that nothing follows.
func (c *checker) manifest(tr *tar.Reader, lines *bufio.Writer, spool *os.File) error {
	if c.count == 0 {
		return corrupt(ManifestName, "manifest before any data entry", nil)
	}
	if err := lines.Flush(); err != nil {
		return fmt.Errorf("volume: verify: spool: %w", err)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("volume: verify: spool: %w", err)
	}
	if err := c.compareManifest(tr, bufio.NewReaderSize(spool, 64<<10)); err != nil {
		var ae *ArchiveError
		if !errors.As(err, &ae) {
			return corrupt(ManifestName, "unreadable manifest (truncated?)", err)
		}
		return err
	}
	h, err := tr.Next()
	switch {
	case err == nil:
		return corrupt(h.Name, "entry after the manifest", nil)
	case !errors.Is(err, io.EOF):
		return corrupt(ManifestName, "unreadable archive after the manifest", err)
	}
	return nil
}

// trailingZeros reads what follows the tar end marker to the end of the stream (so that a
// compressed stream's own checksum is checked) and refuses anything but zero padding.
func trailingZeros(r io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return corrupt("", "data after the end of the archive", nil)
			}
		}
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return corrupt("", "damaged stream after the end of the archive", err)
		}
	}
}
