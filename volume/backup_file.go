package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// BackupFile is Backup into the file name, which appears only when the backup is complete: the
// archive is written to a temporary file beside it (same directory, so the same disk) and
// renamed into place after it is synced. On any failure (a full disk, a cancelled ctx, the
// engine gone) the partial file is removed, the error names the file, and what Backup stopped
// or paused has been started again. An existing file under name is replaced only on success.
func BackupFile(ctx context.Context, cli Engine, src Source, name string, opts BackupOptions) (BackupResult, error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".partial-*")
	if err != nil {
		return BackupResult{}, fmt.Errorf("volume: backup %s to %s: %w", src, name, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	res, err := Backup(ctx, cli, src, namedWriter{tmp, name}, opts)
	if err == nil {
		err = errors.Join(tmp.Sync(), tmp.Close())
		if err == nil {
			err = os.Rename(tmp.Name(), name)
		}
		if err != nil {
			err = fmt.Errorf("volume: backup %s to %s: %w", src, name, err)
		}
	}
	done = err == nil
	return res, err
}

// namedWriter makes write errors name the archive's file rather than its temporary name, and
// keeps the error itself (errors.Is(err, syscall.ENOSPC) holds for a full disk).
type namedWriter struct {
	f    io.Writer
	name string
}

func (w namedWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		err = fmt.Errorf("write %s: %w", w.name, err)
	}
	return n, err
}
