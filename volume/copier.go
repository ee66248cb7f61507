package volume

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxResumes bounds how often a backup reads the source again after the engine's stream was
// cut short by a file changing under it.
const maxResumes = 8

// copier copies the engine's archive of the source into the backup archive under DataDir,
// hashing regular files and writing manifest lines. When the engine's stream is cut short (the
// engine's tar writer gives up at a file that shrank or vanished while read), it pads the file
// being copied, records it as changed, and reads the source again from the entry after it.
type copier struct {
	tw      *tar.Writer
	lines   io.Writer
	buf     []byte
	sum     Summary
	skipped []string
	changed []string
	last    string // archive name of the last entry written; "" before the first
}

// errCut marks an engine stream that ended before the end of its archive.
var errCut = errors.New("the engine's archive stream ended early")

func (c *copier) run(open func() (io.ReadCloser, error)) error {
	for attempt := 0; ; attempt++ {
		rc, err := open()
		if err != nil {
			return err
		}
		cr := &countingReader{r: rc}
		err = c.pass(tar.NewReader(cr), cr)
		rc.Close()
		if err == nil || !errors.Is(err, errCut) || c.last == "" {
			return err
		}
		if attempt == maxResumes {
			return fmt.Errorf("%w, %d times; the source keeps changing (stop or pause its users)", err, attempt+1)
		}
	}
}

// pass copies the entries of one engine stream that come after c.last in walk order.
func (c *copier) pass(tr *tar.Reader, cr *countingReader) error {
	base, end := "", int64(0) // end: where the last entry's content and padding end
	for {
		h, err := tr.Next()
		switch {
		case errors.Is(err, io.EOF):
			if cr.n-end < 1024 { // no end-of-archive marker: the engine stopped writing
				return fmt.Errorf("read from the engine: %w", errCut)
			}
			return nil
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("read from the engine: %w", errCut)
		case err != nil:
			return fmt.Errorf("read from the engine: %w", err)
		}
		end = cr.n // just after the header; the content and its padding follow
		if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA {
			end += (h.Size + 511) / 512 * 512
		}
		raw := strings.TrimSuffix(h.Name, "/")
		if base == "" {
			base = raw
		}
		if raw != base && !strings.HasPrefix(raw, base+"/") {
			return fmt.Errorf("engine sent %q outside %q", h.Name, base)
		}
		if err := c.entry(h, rebase(raw, base), base, tr); err != nil {
			return err
		}
	}
}

// entry copies one engine entry, unless an earlier pass wrote it already.
func (c *copier) entry(h *tar.Header, name, base string, r io.Reader) error {
	if c.last != "" && walkCompare(name, c.last) <= 0 {
		return nil
	}
	nh := normalHeader(h, name)
	if nh.Typeflag == tar.TypeLink {
		nh.Linkname = rebase(nh.Linkname, base)
	}
	if _, ok := typeName[nh.Typeflag]; !ok {
		c.skipped = append(c.skipped, name)
		c.last = name
		return nil
	}
	digest, cut, err := copyEntry(c.tw, nh, r, c.buf)
	if err != nil {
		return err
	}
	e := entryOf(nh, digest)
	if _, err := c.lines.Write(e.line()); err != nil {
		return fmt.Errorf("manifest spool: %w", err)
	}
	c.sum.add(e)
	c.last = name
	if cut {
		c.changed = append(c.changed, name)
		return fmt.Errorf("read %s: %w", name, errCut)
	}
	return nil
}

// rebase renames base, the first element of an engine archive path, to DataDir.
func rebase(name, base string) string {
	if name == base || strings.HasPrefix(name, base+"/") {
		return DataDir + strings.TrimPrefix(name, base)
	}
	return name
}

// walkCompare orders archive paths as the engine walks a tree: a directory before its
// contents, names within a directory in byte order.
func walkCompare(a, b string) int {
	for {
		ah, at, aok := strings.Cut(a, "/")
		bh, bt, bok := strings.Cut(b, "/")
		if c := strings.Compare(ah, bh); c != 0 {
			return c
		}
		switch {
		case !aok && !bok:
			return 0
		case !aok:
			return -1
		case !bok:
			return 1
		}
		a, b = at, bt
	}
}

// readError marks an error that came from the engine's stream, not from the backup's writer.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }

// Unwrap keeps the cause matchable: errors.Is(err, context.Canceled) for a cancelled read.
func (e readError) Unwrap() error { return e.err }

type sourceReader struct{ r io.Reader }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = readError{err}
	}
	return n, err
}

// copyEntry writes header h and, for a regular file, its content from r, returning the
// content's SHA-256. When the engine's stream ends inside the content, the rest is written as
// zeros (and hashed so) and cut is true; errors of the writer are returned as they are.
func copyEntry(tw *tar.Writer, h *tar.Header, r io.Reader, buf []byte) (digest string, cut bool, err error) {
	if err := tw.WriteHeader(h); err != nil {
		return "", false, fmt.Errorf("write %s: %w", h.Name, err)
	}
	if h.Typeflag != tar.TypeReg {
		return "", false, nil
	}
	hash := sha256.New()
	out := io.MultiWriter(tw, hash)
	n, err := io.CopyBuffer(out, io.LimitReader(sourceReader{r}, h.Size), buf)
	var re readError
	switch {
	case errors.As(err, &re) && errors.Is(re.err, io.ErrUnexpectedEOF):
		cut = true
	case err != nil:
		return "", false, fmt.Errorf("copy %s: %w", h.Name, err)
	case n < h.Size:
		cut = true
	}
	if cut {
		clear(buf)
		for rest := h.Size - n; rest > 0; {
			k := min(rest, int64(len(buf)))
			if _, err := out.Write(buf[:k]); err != nil {
				return "", false, fmt.Errorf("copy %s: %w", h.Name, err)
			}
			rest -= k
		}
	}
	return hex.EncodeToString(hash.Sum(nil)), cut, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
