package volume

import (
	"context"
	"fmt"
	"path"
	"slices"

	"github.com/berthdev/berth"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// DataContainerLabel marks the data-volume containers that CreateDataContainer makes.
const DataContainerLabel = berth.LabelPrefix + "volume.data-container"

// DataContainerOptions describe a data-volume container.
type DataContainerOptions struct {
	// Paths get an anonymous volume each (as `docker create -v PATH`). With neither Paths nor
	// Mounts, the image's own VOLUME paths are used.
	Paths []string
	// Mounts are named volumes (or binds) to hold, made with Named or Bind.
	Mounts []mount.Mount
	// Image is the image to create the container from; empty means HelperImage (imported when
	// missing). The container never runs, so the image needs no shell.
	Image string
	// Labels are added to the container's labels.
	Labels map[string]string
}

// CreateDataContainer creates (and never starts) a data-volume container called name, whose
// only job is to hold volumes that other containers mount with VolumesFrom(name). It returns
// the container's ID.
func CreateDataContainer(ctx context.Context, cli Engine, name string, opts DataContainerOptions) (string, error) {
	if err := checkDataContainer(name, opts); err != nil {
		return "", err
	}
	img := opts.Image
	if img == "" {
		img = HelperImage
		if err := EnsureHelperImage(ctx, cli); err != nil {
			return "", err
		}
	}
	labels := map[string]string{DataContainerLabel: "1"}
	for k, v := range opts.Labels {
		labels[k] = v
	}
	cfg := &container.Config{Image: img, Labels: labels, NetworkDisabled: true}
	if img == HelperImage {
		cfg.Cmd = []string{helperCmd}
	}
	if len(opts.Paths) > 0 {
		cfg.Volumes = map[string]struct{}{}
		for _, p := range opts.Paths {
			cfg.Volumes[path.Clean(p)] = struct{}{}
		}
	}
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name, Config: cfg,
		HostConfig: &container.HostConfig{NetworkMode: "none", Mounts: slices.Clone(opts.Mounts)},
	})
	if err != nil {
		return "", fmt.Errorf("volume: create data-volume container %q: %w", name, err)
	}
	return res.ID, nil
}

func checkDataContainer(name string, opts DataContainerOptions) error {
	var p berth.Problems
	if name == "" {
		p.Add("name", "empty; a data-volume container is found by its name")
	}
	if opts.Image == "" && len(opts.Paths) == 0 && len(opts.Mounts) == 0 {
		p.Add("paths", "none, and the helper image declares no VOLUME; give paths or mounts to hold")
	}
	for i, dir := range opts.Paths {
		if !path.IsAbs(dir) || path.Clean(dir) == "/" {
			p.Add(fmt.Sprintf("paths[%d]", i), "%q is not an absolute path below /", dir)
		}
	}
	for i, m := range opts.Mounts {
		p.AddErr(fmt.Sprintf("mounts[%d]", i), CheckMount(fmt.Sprintf("mounts[%d]", i), m))
	}
	return p.Err()
}

// VolumesFrom is the HostConfig.VolumesFrom entry that mounts every volume of container name,
// read-only when readOnly is set.
func VolumesFrom(name string, readOnly bool) string {
	if readOnly {
		return name + ":ro"
	}
	return name + ":rw"
}

// ContainerVolume returns the name of the volume that container ctr mounts at dir (for
// example a data-volume container's volume), to back up or restore it by name. A dir that is
// not a volume mount of ctr is an error matching cerrdefs.IsNotFound.
func ContainerVolume(ctx context.Context, cli client.ContainerAPIClient, ctr, dir string) (string, error) {
	info, err := cli.ContainerInspect(ctx, ctr, client.ContainerInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("volume: container %q: %w", ctr, err)
	}
	for _, m := range info.Container.Mounts {
		if m.Type == mount.TypeVolume && m.Destination == path.Clean(dir) {
			return m.Name, nil
		}
	}
	return "", fmt.Errorf("volume: container %q mounts no volume at %s: %w", ctr, dir, cerrdefs.ErrNotFound)
}
