package volume

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/berthdev/berth"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
)

// validName is the engine's rule for volume names.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

func checkVolumeName(path, name string) error {
	if !validName.MatchString(name) {
		return berth.Invalid(path, "%q is not a volume name; want [a-zA-Z0-9][a-zA-Z0-9_.-]+ (two characters or more)", name)
	}
	return nil
}

// Builder describes a named volume: driver, driver options and labels. Methods record problems
// instead of failing; Compile reports them all.
type Builder struct {
	spec     client.VolumeCreateOptions
	problems berth.Problems
}

// New starts the description of the volume called name. An empty name lets the engine choose
// one (an anonymous volume).
func New(name string) *Builder {
	b := &Builder{spec: client.VolumeCreateOptions{Name: name}}
	if name != "" {
		b.problems.AddErr("volume/name", checkVolumeName("volume/name", name))
	}
	return b
}

// Driver sets the volume driver ("local" when never called).
func (b *Builder) Driver(name string) *Builder {
	if strings.TrimSpace(name) == "" {
		b.problems.Add("volume/driver", "empty; want a driver name such as \"local\"")
	}
	b.spec.Driver = name
	return b
}

// Option sets the driver option key to value (for the local driver: type, device, o).
func (b *Builder) Option(key, value string) *Builder {
	if key == "" {
		b.problems.Add("volume/options", "empty key (value %q)", value)
	}
	if b.spec.DriverOpts == nil {
		b.spec.DriverOpts = map[string]string{}
	}
	b.spec.DriverOpts[key] = value
	return b
}

// Label sets the label key to value.
func (b *Builder) Label(key, value string) *Builder {
	if key == "" {
		b.problems.Add("volume/labels", "empty key (value %q)", value)
	}
	if b.spec.Labels == nil {
		b.spec.Labels = map[string]string{}
	}
	b.spec.Labels[key] = value
	return b
}

// Compile returns the Engine API create request, or every problem recorded (matching
// berth.ErrInvalid). It does no I/O.
func (b *Builder) Compile() (client.VolumeCreateOptions, error) {
	if err := b.problems.Err(); err != nil {
		return client.VolumeCreateOptions{}, err
	}
	spec := b.spec
	spec.DriverOpts = maps.Clone(spec.DriverOpts)
	spec.Labels = maps.Clone(spec.Labels)
	return spec, nil
}

// named returns a copy of b with the name set (restore creates its target this way).
func (b *Builder) named(name string) *Builder {
	c := &Builder{spec: b.spec, problems: b.problems}
	c.spec.Name = name
	return c
}

// Create compiles b and creates the volume. As with `docker volume create`, creating a volume
// that exists with the same driver returns the existing volume.
func (b *Builder) Create(ctx context.Context, cli VolumeCreator) (volume.Volume, error) {
	spec, err := b.Compile()
	if err != nil {
		return volume.Volume{}, err
	}
	res, err := cli.VolumeCreate(ctx, spec)
	if err != nil {
		return volume.Volume{}, fmt.Errorf("volume: create %q: %w", spec.Name, err)
	}
	return res.Volume, nil
}

// VolumeCreator is the part of the Engine API client that Builder.Create uses.
type VolumeCreator interface {
	VolumeCreate(ctx context.Context, options client.VolumeCreateOptions) (client.VolumeCreateResult, error)
}

// Inspect returns the volume called name; a missing volume is an error matching
// cerrdefs.IsNotFound.
func Inspect(ctx context.Context, cli client.VolumeAPIClient, name string) (volume.Volume, error) {
	res, err := cli.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
	if err != nil {
		return volume.Volume{}, fmt.Errorf("volume: inspect %q: %w", name, err)
	}
	return res.Volume, nil
}

// ListOptions filter List.
type ListOptions struct {
	Labels map[string]string // only volumes with every label (an empty value: the key only)
	Driver string            // only volumes of this driver
}

// List returns the volumes matching opts, sorted by name.
func List(ctx context.Context, cli client.VolumeAPIClient, opts ListOptions) ([]volume.Volume, error) {
	f := client.Filters{}
	for _, k := range slices.Sorted(maps.Keys(opts.Labels)) {
		if v := opts.Labels[k]; v != "" {
			f.Add("label", k+"="+v)
		} else {
			f.Add("label", k)
		}
	}
	if opts.Driver != "" {
		f.Add("driver", opts.Driver)
	}
	res, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("volume: list: %w", err)
	}
	slices.SortFunc(res.Items, func(a, b volume.Volume) int { return strings.Compare(a.Name, b.Name) })
	return res.Items, nil
}

// RemoveOptions configures Remove.
type RemoveOptions struct {
	// Force removes a volume that is in use, where the driver allows (`docker volume rm -f`).
	Force bool
}

// Remove deletes the volume called name. A volume in use by a container (even a stopped one)
// is an error matching cerrdefs.IsConflict unless opts.Force. A missing volume is an error
// matching cerrdefs.IsNotFound.
func Remove(ctx context.Context, cli client.VolumeAPIClient, name string, opts RemoveOptions) error {
	if _, err := cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: opts.Force}); err != nil {
		return fmt.Errorf("volume: remove %q: %w", name, err)
	}
	return nil
}
