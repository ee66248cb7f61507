package volume

import (
	"path"

	"github.com/berthdev/berth"
	"github.com/moby/moby/api/types/mount"
)

// MountOption adjusts a mount spec.
type MountOption func(*mount.Mount)

// ReadOnly mounts read-only.
func ReadOnly() MountOption { return func(m *mount.Mount) { m.ReadOnly = true } }

// NoCopy keeps the engine from copying the image's files at the target into a new, empty
// volume (named volumes only).
func NoCopy() MountOption {
	return func(m *mount.Mount) {
		if m.VolumeOptions == nil {
			m.VolumeOptions = &mount.VolumeOptions{}
		}
		m.VolumeOptions.NoCopy = true
	}
}

// Named is the mount spec of named volume name at target, as swarm service specs
// (ContainerSpec.Mounts) and container host configs (HostConfig.Mounts) take it.
func Named(name, target string, opts ...MountOption) mount.Mount {
	m := mount.Mount{Type: mount.TypeVolume, Source: name, Target: target}
	for _, o := range opts {
		o(&m)
	}
	return m
}

// Bind is the mount spec of host path source at target.
func Bind(source, target string, opts ...MountOption) mount.Mount {
	m := mount.Mount{Type: mount.TypeBind, Source: source, Target: target}
	for _, o := range opts {
		o(&m)
	}
	return m
}

// MountAt is the mount spec of b's volume at target.
func (b *Builder) MountAt(target string, opts ...MountOption) mount.Mount {
	return Named(b.spec.Name, target, opts...)
}

// CheckMount validates a mount spec made by Named or Bind: the fields the engine would refuse,
// reported before any request, as *berth.ValidationError values under path.
func CheckMount(p string, m mount.Mount) error {
	var probs berth.Problems
	if !path.IsAbs(m.Target) {
		probs.Add(p+"/target", "%q is not an absolute path", m.Target)
	}
	switch m.Type {
	case mount.TypeVolume:
		if m.Source != "" {
			probs.AddErr(p+"/source", checkVolumeName(p+"/source", m.Source))
		}
	case mount.TypeBind:
		if !path.IsAbs(m.Source) {
			probs.Add(p+"/source", "%q is not an absolute host path", m.Source)
		}
		if m.VolumeOptions != nil {
			probs.Add(p+"/volume_options", "set on a bind mount; only volume mounts take them")
		}
	default:
		probs.Add(p+"/type", "%q; accepted: volume, bind", m.Type)
	}
	return probs.Err()
}
