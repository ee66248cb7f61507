package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	swarmtypes "github.com/moby/moby/api/types/swarm"
)

// parseMountCSV parses --mount with every key the Docker CLI accepts:
// type=volume|bind|tmpfs|npipe|cluster|image, source|src, target|dst|destination, readonly|ro,
// consistency, bind-propagation, bind-nonrecursive, bind-recursive, volume-driver,
// volume-label, volume-nocopy, volume-opt, volume-subpath, tmpfs-size, tmpfs-mode, image-subpath.
func parseMountCSV(s string) (mount.Mount, error) {
	fields, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		return mount.Mount{}, fmt.Errorf("%q: %v", s, err)
	}
	m := mount.Mount{Type: mount.TypeVolume}
	vol := func() *mount.VolumeOptions {
		if m.VolumeOptions == nil {
			// with a driver config always, as the Docker CLI sends volume options
			m.VolumeOptions = &mount.VolumeOptions{DriverConfig: &mount.Driver{}}
		}
		return m.VolumeOptions
	}
	bind := func() *mount.BindOptions {
		if m.BindOptions == nil {
			m.BindOptions = &mount.BindOptions{}
		}
		return m.BindOptions
	}
	tmpfs := func() *mount.TmpfsOptions {
		if m.TmpfsOptions == nil {
			m.TmpfsOptions = &mount.TmpfsOptions{}
		}
		return m.TmpfsOptions
	}
	for _, field := range fields {
		k, v, hasValue := strings.Cut(field, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		boolValue := func() (bool, error) {
			if !hasValue {
				return true, nil
			}
			b, err := strconv.ParseBool(v)
			if err != nil {
				return false, fmt.Errorf("%s=%q: want true or false", k, v)
			}
			return b, nil
		}
		switch k {
		case "type":
			m.Type = mount.Type(strings.ToLower(v))
		case "source", "src":
			m.Source = v
		case "target", "dst", "destination":
			m.Target = v
		case "readonly", "ro":
			if m.ReadOnly, err = boolValue(); err != nil {
				return m, err
			}
		case "consistency":
			m.Consistency = mount.Consistency(strings.ToLower(v))
		case "bind-propagation":
			bind().Propagation = mount.Propagation(strings.ToLower(v))
		case "bind-nonrecursive":
			if bind().NonRecursive, err = boolValue(); err != nil {
				return m, err
			}
		case "bind-recursive":
			switch v {
			case "enabled":
			case "disabled":
				bind().NonRecursive = true
			case "writable":
				bind().ReadOnlyNonRecursive = true
			case "readonly":
				bind().ReadOnlyForceRecursive = true
			default:
				return m, fmt.Errorf("bind-recursive=%q: want enabled, disabled, writable or readonly", v)
			}
		case "volume-nocopy":
			if vol().NoCopy, err = boolValue(); err != nil {
				return m, err
			}
		case "volume-label":
			lk, lv, _ := strings.Cut(v, "=")
			if vol().Labels == nil {
				vol().Labels = map[string]string{}
			}
			vol().Labels[lk] = lv
		case "volume-driver":
			vol().DriverConfig.Name = v
		case "volume-opt":
			if vol().DriverConfig.Options == nil {
				vol().DriverConfig.Options = map[string]string{}
			}
			ok, ov, _ := strings.Cut(v, "=")
			vol().DriverConfig.Options[ok] = ov
		case "volume-subpath":
			vol().Subpath = v
		case "image-subpath":
			if m.ImageOptions == nil {
				m.ImageOptions = &mount.ImageOptions{}
			}
			m.ImageOptions.Subpath = v
		case "tmpfs-size":
			n, err := units.RAMInBytes(v)
			if err != nil {
				return m, fmt.Errorf("tmpfs-size=%q is not a size (bytes, or with k, m, g)", v)
			}
			tmpfs().SizeBytes = n
		case "tmpfs-mode":
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil {
				return m, fmt.Errorf("tmpfs-mode=%q is not an octal file mode", v)
			}
			tmpfs().Mode = os.FileMode(n)
		default:
			return m, fmt.Errorf("%q is not a mount field: use type, source, target, readonly, consistency, bind-propagation, bind-nonrecursive, bind-recursive, volume-driver, volume-label, volume-nocopy, volume-opt, volume-subpath, tmpfs-size, tmpfs-mode or image-subpath", k)
		}
	}
	if m.Target == "" {
		return m, fmt.Errorf("%q: target is required", s)
	}
	if m.VolumeOptions != nil && m.Type != mount.TypeVolume || m.BindOptions != nil && m.Type != mount.TypeBind || m.TmpfsOptions != nil && m.Type != mount.TypeTmpfs {
		return m, fmt.Errorf("%q: options of another mount type than %s", s, m.Type)
	}
	return m, nil
}

// parsePortCSV parses the long --publish syntax: published=8080,target=80,protocol=tcp,mode=host.
func parsePortCSV(s string) (swarmtypes.PortConfig, error) {
	pc := swarmtypes.PortConfig{Protocol: network.TCP, PublishMode: swarmtypes.PortConfigPublishModeIngress}
	for _, field := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(field, "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "published":
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return pc, fmt.Errorf("published=%q is not a port number", v)
			}
			pc.PublishedPort = uint32(n)
		case "target":
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return pc, fmt.Errorf("target=%q is not a port number", v)
			}
			pc.TargetPort = uint32(n)
		case "protocol":
			pc.Protocol = network.IPProtocol(v)
		case "mode":
			pc.PublishMode = swarmtypes.PortConfigPublishMode(v)
		default:
			return pc, fmt.Errorf("%q is not a port field: use published, target, protocol or mode", k)
		}
	}
	return pc, nil
}
