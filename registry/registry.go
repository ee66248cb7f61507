// Package registry runs a local image registry as a container, pushes images into it, and
// reads it through the registry HTTP API v2 (catalog, tags, manifest digests).
//
// A local registry has two addresses: the one the host pushes to (127.0.0.1:PORT, which every
// engine trusts without TLS) and the one swarm nodes or containers on its network pull from
// (NAME:5000). Push returns both references.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
)

// DefaultImage is the registry image Start runs when Options.Image is empty.
const DefaultImage = "registry:2"

// Label marks every container and volume Start creates; its value is the registry's name.
const Label = berth.LabelPrefix + "registry"

// containerPort is the port the registry listens on inside its container.
const containerPort = 5000

// Engine is what this package needs of an engine client.
type Engine interface {
	client.ContainerAPIClient
	client.ImageAPIClient
	client.VolumeAPIClient
}

// Options describes a local registry.
type Options struct {
	Name     string   // container name; "registry" when empty
	Image    string   // DefaultImage when empty; must already be on the engine or pullable
	HostIP   string   // address the port is published on; "127.0.0.1" when empty
	HostPort int      // host port; 0 picks a free one (kept across restarts)
	Network  string   // also attach the registry to this network
	Aliases  []string // its names on Network besides Name, e.g. "registry"
	Volume   string   // named volume holding the images; NAME-data when empty
	Labels   map[string]string
}

// Registry is a running local registry.
type Registry struct {
	Name        string
	ContainerID string
	Volume      string
	HostAddr    string // "127.0.0.1:PORT": what the host's engine pushes to
	ClusterAddr string // "NAME:5000" (or the first alias): what containers on Network pull from
	API         *API   // the HTTP API v2 at HostAddr

	cli Engine
}

func (o *Options) setDefaults() {
	if o.Name == "" {
		o.Name = "registry"
	}
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.HostIP == "" {
		o.HostIP = "127.0.0.1"
	}
	if o.Volume == "" {
		o.Volume = o.Name + "-data"
	}
}

func (o Options) validate() error {
	var p berth.Problems
	if _, err := netip.ParseAddr(o.HostIP); err != nil {
		p.Add("registry/hostIP", "%q is not an IP address (want e.g. 127.0.0.1)", o.HostIP)
	}
	if o.HostPort < 0 || o.HostPort > 65535 {
		p.Add("registry/hostPort", "%d is out of range (want 0 for any free port, or 1-65535)", o.HostPort)
	}
	return p.Err()
}

// PortInUseError says the requested host port is already taken. It matches cerrdefs.ErrConflict.
type PortInUseError struct {
	Addr string
	Err  error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("registry: host port %s is already in use: %v", e.Addr, e.Err)
}

func (e *PortInUseError) Unwrap() []error { return []error{cerrdefs.ErrConflict, e.Err} }

// Start creates the registry's volume (unless it exists: its images survive) and container and
// waits until the registry answers on its host port. When a step fails, whatever Start created
// is removed again, except a volume that already held images.
func Start(ctx context.Context, cli Engine, opts Options) (*Registry, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.HostPort != 0 {
		if err := portFree(opts.HostIP, opts.HostPort); err != nil {
			return nil, err
		}
	} else {
		// Bind a fixed port rather than letting the engine pick one: an engine-picked port
		// changes when the container restarts, and every pushed reference names the port.
		port, err := freePort(opts.HostIP)
		if err != nil {
			return nil, err
		}
		opts.HostPort = port
	}
	createdVolume, err := ensureVolume(ctx, cli, opts)
	if err != nil {
		return nil, err
	}
	r, err := startContainer(ctx, cli, opts)
	if err != nil {
		if createdVolume {
			cli.VolumeRemove(context.WithoutCancel(ctx), opts.Volume, client.VolumeRemoveOptions{})
		}
		return nil, err
	}
	return r, nil
}

func portFree(ip string, port int) error {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return &PortInUseError{Addr: addr, Err: err}
	}
	return l.Close()
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("registry: find a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func ensureVolume(ctx context.Context, cli Engine, opts Options) (created bool, err error) {
	if _, err := cli.VolumeInspect(ctx, opts.Volume, client.VolumeInspectOptions{}); err == nil {
		return false, nil
	} else if !cerrdefs.IsNotFound(err) {
		return false, fmt.Errorf("registry %s: inspect volume %s: %w", opts.Name, opts.Volume, err)
	}
	labels := map[string]string{Label: opts.Name}
	if _, err := cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: opts.Volume, Labels: labels}); err != nil {
		return false, fmt.Errorf("registry %s: create volume %s: %w", opts.Name, opts.Volume, err)
	}
	return true, nil
}

func startContainer(ctx context.Context, cli Engine, opts Options) (*Registry, error) {
	port := network.MustParsePort(strconv.Itoa(containerPort) + "/tcp")
	hostIP := netip.MustParseAddr(opts.HostIP)
	labels := map[string]string{Label: opts.Name}
	for k, v := range opts.Labels {
		labels[k] = v
	}
	hostPort := strconv.Itoa(opts.HostPort)
	create := client.ContainerCreateOptions{
		Name: opts.Name,
		Config: &container.Config{Image: opts.Image, Labels: labels,
			ExposedPorts: network.PortSet{port: {}}},
		HostConfig: &container.HostConfig{
			PortBindings:  network.PortMap{port: {{HostIP: hostIP, HostPort: hostPort}}},
			Mounts:        []mount.Mount{{Type: mount.TypeVolume, Source: opts.Volume, Target: "/var/lib/registry"}},
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		},
	}
	if opts.Network != "" {
		create.NetworkingConfig = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			opts.Network: {Aliases: opts.Aliases},
		}}
	}
	res, err := cli.ContainerCreate(ctx, create)
	if err != nil {
		return nil, fmt.Errorf("registry %s: create container from %s: %w", opts.Name, opts.Image, err)
	}
	r := &Registry{Name: opts.Name, ContainerID: res.ID, Volume: opts.Volume, cli: cli}
	cleanup := func() {
		cli.ContainerRemove(context.WithoutCancel(ctx), res.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		cleanup()
		if cerrdefs.IsConflict(err) {
			return nil, &PortInUseError{Addr: net.JoinHostPort(opts.HostIP, hostPort), Err: err}
		}
		return nil, fmt.Errorf("registry %s: start container: %w", opts.Name, err)
	}
	if err := r.locate(ctx, opts); err != nil {
		cleanup()
		return nil, err
	}
	if err := r.API.WaitReady(ctx, 30*time.Second); err != nil {
		cleanup()
		return nil, err
	}
	return r, nil
}

// locate fills in the addresses from the running container.
func (r *Registry) locate(ctx context.Context, opts Options) error {
	res, err := r.cli.ContainerInspect(ctx, r.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("registry %s: inspect container: %w", r.Name, err)
	}
	c := res.Container
	port := network.MustParsePort(strconv.Itoa(containerPort) + "/tcp")
	if c.NetworkSettings == nil || len(c.NetworkSettings.Ports[port]) == 0 {
		return fmt.Errorf("registry %s: the engine published no host port for %s", r.Name, port)
	}
	b := c.NetworkSettings.Ports[port][0]
	host := opts.HostIP
	r.HostAddr = net.JoinHostPort(host, b.HostPort)
	inCluster := r.Name
	if len(opts.Aliases) > 0 {
		inCluster = opts.Aliases[0]
	}
	r.ClusterAddr = net.JoinHostPort(inCluster, strconv.Itoa(containerPort))
	r.API = NewAPI("http://" + r.HostAddr)
	return nil
}

// Open finds the registry container name started earlier by Start and returns it running.
func Open(ctx context.Context, cli Engine, name string) (*Registry, error) {
	res, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", name, err)
	}
	c := res.Container
	if c.Config == nil || c.Config.Labels[Label] == "" {
		return nil, fmt.Errorf("registry %s: container was not started by berth (no %s label): %w", name, Label, cerrdefs.ErrNotFound)
	}
	r := &Registry{Name: c.Config.Labels[Label], ContainerID: c.ID, cli: cli}
	for _, m := range c.Mounts {
		if m.Destination == "/var/lib/registry" {
			r.Volume = m.Name
		}
	}
	var aliases []string
	for _, ep := range c.NetworkSettings.Networks {
		for _, a := range ep.Aliases {
			if a != r.Name && len(a) != 12 { // skip the short container ID alias
				aliases = append(aliases, a)
			}
		}
	}
	ip := "127.0.0.1"
	port := network.MustParsePort(strconv.Itoa(containerPort) + "/tcp")
	if bs := c.HostConfig.PortBindings[port]; len(bs) > 0 && bs[0].HostIP.IsValid() {
		ip = bs[0].HostIP.String()
	}
	if err := r.locate(ctx, Options{HostIP: ip, Aliases: aliases}); err != nil {
		return nil, err
	}
	return r, nil
}

// Stop stops the registry container; Start it again with Restart. Its images stay in its volume.
func (r *Registry) Stop(ctx context.Context) error {
	if _, err := r.cli.ContainerStop(ctx, r.ContainerID, client.ContainerStopOptions{}); err != nil {
		return fmt.Errorf("registry %s: stop: %w", r.Name, err)
	}
	return nil
}

// Restart starts a stopped registry again and waits until it answers.
func (r *Registry) Restart(ctx context.Context) error {
	if _, err := r.cli.ContainerStart(ctx, r.ContainerID, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("registry %s: start: %w", r.Name, err)
	}
	return r.API.WaitReady(ctx, 30*time.Second)
}

// RemoveOptions says what Remove deletes besides the container.
type RemoveOptions struct {
	KeepVolume bool // keep the images for a later Start with the same Volume
}

// Remove deletes the registry container and, unless KeepVolume, its volume. Objects already
// gone are not an error.
func (r *Registry) Remove(ctx context.Context, opts RemoveOptions) error {
	var errs []error
	_, err := r.cli.ContainerRemove(ctx, r.ContainerID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("registry %s: remove container: %w", r.Name, err))
	}
	if !opts.KeepVolume && r.Volume != "" {
		if _, err := r.cli.VolumeRemove(ctx, r.Volume, client.VolumeRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("registry %s: remove volume %s: %w", r.Name, r.Volume, err))
		}
	}
	return errors.Join(errs...)
}
