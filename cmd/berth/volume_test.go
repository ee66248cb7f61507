package main

import (
	"errors"
	"slices"
	"testing"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/volume"
)

func TestParseAllAcceptsFlagsAfterArguments(t *testing.T) {
	fs := newFlags("volume backup", "")
	out := fs.String("o", "", "")
	stop := fs.Bool("stop", false, "")
	pos, err := parseAll(fs, []string{"pgdata", "-o", "b.tar.gz", "--stop"})
	if err != nil || !slices.Equal(pos, []string{"pgdata"}) || *out != "b.tar.gz" || !*stop {
		t.Fatalf("parseAll = %v, %v; o=%q stop=%v", pos, err, *out, *stop)
	}
}

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
