package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/volume"
)

func TestBackupOptions(t *testing.T) {
	opts, err := backupOptions("x.tar.zst", "", 0, true, false)
	if err != nil || opts.Format != volume.FormatTarZstd || opts.Quiesce != volume.QuiesceStop {
		t.Errorf("backupOptions = %+v, %v", opts, err)
	}
	_, err = backupOptions("", "zip", 0, true, true)
	if !errors.Is(err, berth.ErrInvalid) || len(berth.ValidationErrors(err)) != 3 {
		t.Errorf("backupOptions with three problems = %v", err)
	}
}

// A failed write leaves no file under the archive's name.
func TestWriteAtomically(t *testing.T) {
	name := filepath.Join(t.TempDir(), "b.tar.gz")
	err := writeAtomically(name, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("engine went away")
	})
	if err == nil {
		t.Fatal("no error")
	}
	if entries, _ := os.ReadDir(filepath.Dir(name)); len(entries) != 0 {
		t.Errorf("left %v behind", entries)
	}
	if err := writeAtomically(name, func(w io.Writer) error { _, err := w.Write([]byte("ok")); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name); string(b) != "ok" {
		t.Errorf("file holds %q", b)
	}
}
