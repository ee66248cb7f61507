package main

import (
	"errors"
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
