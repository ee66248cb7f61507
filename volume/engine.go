package volume

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/msgstream"
	swarmsvc "github.com/berthdev/berth/swarm"
)

// Engine is the part of the Engine API client that backup, restore and data-volume containers
// use. *client.Client implements it.
type Engine interface {
	VolumeCreate(ctx context.Context, options client.VolumeCreateOptions) (client.VolumeCreateResult, error)
	VolumeInspect(ctx context.Context, volumeID string, options client.VolumeInspectOptions) (client.VolumeInspectResult, error)
	VolumeRemove(ctx context.Context, volumeID string, options client.VolumeRemoveOptions) (client.VolumeRemoveResult, error)

	ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerInspect(ctx context.Context, container string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerRemove(ctx context.Context, container string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerStart(ctx context.Context, container string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerStop(ctx context.Context, container string, options client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerPause(ctx context.Context, container string, options client.ContainerPauseOptions) (client.ContainerPauseResult, error)
	ContainerUnpause(ctx context.Context, container string, options client.ContainerUnpauseOptions) (client.ContainerUnpauseResult, error)
	CopyFromContainer(ctx context.Context, container string, options client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)
	CopyToContainer(ctx context.Context, container string, options client.CopyToContainerOptions) (client.CopyToContainerResult, error)

	// swarm.ServiceClient scales the services that mount a volume to 0 for a backup.
	swarmsvc.ServiceClient

	ImageInspect(ctx context.Context, image string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageImport(ctx context.Context, source client.ImageImportSource, ref string, options client.ImageImportOptions) (client.ImageImportResult, error)
}

var _ Engine = (*client.Client)(nil)

const (
	// HelperImage is the tiny image berth imports (from an empty root filesystem, never pulled)
	// to create the never-started containers that mount volumes for the archive API.
	HelperImage = "berth/volume-helper:1"
	// HelperLabel marks the containers berth creates to reach volumes; they are removed after
	// use and never started.
	HelperLabel = berth.LabelPrefix + "volume.helper"
	// helperMount is where a helper container mounts the volume it reaches.
	helperMount = "/" + DataDir
	// helperCmd is never run: a helper container is only created.
	helperCmd = "/berth-helper-never-runs"
)

// EnsureHelperImage imports HelperImage when the engine does not have it: an image with an
// empty root filesystem, made from a tar archive sent with the request, so nothing is pulled.
func EnsureHelperImage(ctx context.Context, cli Engine) error {
	_, err := cli.ImageInspect(ctx, HelperImage)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("volume: inspect helper image %s: %w", HelperImage, err)
	}
	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 01777, ModTime: time.Unix(0, 0)})
	tw.Close()
	resp, err := cli.ImageImport(ctx, client.ImageImportSource{Source: &rootfs, SourceName: "-"}, HelperImage,
		client.ImageImportOptions{Message: "berth volume helper: empty root filesystem", Changes: []string{`CMD ["` + helperCmd + `"]`}})
	if err != nil {
		return fmt.Errorf("volume: import helper image %s: %w", HelperImage, err)
	}
	defer resp.Close()
	return jsonStreamError(resp, "import helper image "+HelperImage)
}

// jsonStreamError reads an Engine JSON message stream to its end and returns the first error it
// reports.
func jsonStreamError(r io.Reader, what string) error {
	for _, err := range msgstream.Decode(r) {
		if err != nil {
			return fmt.Errorf("volume: %s: %w", what, err)
		}
	}
	return nil
}

// helper is a created, never-started container that mounts one volume at /data.
type helper struct {
	cli Engine
	id  string
}

// newHelper creates a helper container mounting volume name at helperMount.
func newHelper(ctx context.Context, cli Engine, name string, readOnly bool) (*helper, error) {
	if err := EnsureHelperImage(ctx, cli); err != nil {
		return nil, err
	}
	helperName := "berth-volume-helper-" + randomHex(6)
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: helperName,
		Config: &container.Config{
			Image: HelperImage, Cmd: []string{helperCmd}, NetworkDisabled: true,
			Labels: map[string]string{HelperLabel: name},
		},
		HostConfig: &container.HostConfig{
			NetworkMode: "none",
			Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: name, Target: helperMount, ReadOnly: readOnly,
				VolumeOptions: &mount.VolumeOptions{NoCopy: true}}},
		},
	})
	if err != nil {
		// The engine may have created it before the answer was lost (a cancelled ctx, a
		// dropped connection): remove it by its name so that nothing is left.
		(&helper{cli: cli, id: helperName}).remove(ctx)
		return nil, fmt.Errorf("volume: create helper container for volume %q: %w", name, err)
	}
	return &helper{cli: cli, id: res.ID}, nil
}

// remove deletes the helper container, even when ctx is already cancelled.
func (h *helper) remove(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := h.cli.ContainerRemove(ctx, h.id, client.ContainerRemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("volume: remove helper container %.12s: %w", h.id, err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
