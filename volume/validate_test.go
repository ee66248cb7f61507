package volume

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/berthdev/berth"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/mount"
)

// Invalid input is refused before any engine call: the engine here is nil.
func TestValidationBeforeAnyEngineCall(t *testing.T) {
	ctx := context.Background()
	minus2 := -2
	_, err := Backup(ctx, nil, VolumeSource("bad name"), io.Discard, BackupOptions{Format: "tar.gz", Level: 12, Quiesce: 7, StopTimeout: &minus2})
	wantProblems(t, err, "level", "quiesce", "source/volume", "stop_timeout")

	_, err = Backup(ctx, nil, ContainerSource("db", "relative"), io.Discard, BackupOptions{Format: "zip"})
	wantProblems(t, err, "format", "source/path")

	_, err = Restore(ctx, nil, strings.NewReader(""), "", RestoreOptions{Mode: 9})
	wantProblems(t, err, "mode", "target")

	_, err = CreateDataContainer(ctx, nil, "", DataContainerOptions{Paths: []string{"rel"}, Mounts: []mount.Mount{Bind("rel", "/x")}})
	wantProblems(t, err, "mounts[0]/source", "name", "paths[0]")

	_, err = CreateDataContainer(ctx, nil, "dc", DataContainerOptions{})
	wantProblems(t, err, "paths")
}

func wantProblems(t *testing.T, err error, paths ...string) {
	t.Helper()
	if !errors.Is(err, berth.ErrInvalid) || !cerrdefs.IsInvalidArgument(err) {
		t.Fatalf("error %v; want one matching berth.ErrInvalid", err)
	}
	var got []string
	for _, ve := range berth.ValidationErrors(err) {
		got = append(got, ve.Path)
	}
	if strings.Join(got, " ") != strings.Join(paths, " ") {
		t.Errorf("problems at %v; want %v\n%v", got, paths, err)
	}
}
