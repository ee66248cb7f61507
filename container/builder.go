package container

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
	"github.com/berthdev/berth/volume"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Container describes one container as `docker run` takes it: a method chain over the Engine
// API's create request (container.Config, container.HostConfig, network.NetworkingConfig and
// the platform). A chain never fails mid-way: every method records its problems, and Compile
// returns all of them at once, with paths named after the Docker CLI's flags ("publish[1]",
// "restart"). Modify is the escape hatch for fields the builder does not name; its functions
// run last, in order.
//
// The zero value is not usable; start with New.
type Container struct {
	name     string
	cfg      container.Config
	host     container.HostConfig
	network  string
	aliases  []string
	platform *ocispec.Platform
	env      map[string]*string
	envOrder []string
	ports    int
	problems berth.Problems
	modify   []func(*Spec)
}

// Spec is a compiled container: everything ContainerCreate sends.
type Spec struct {
	Name       string
	Config     container.Config
	HostConfig container.HostConfig
	Networking network.NetworkingConfig
	Platform   *ocispec.Platform
}

// CreateOptions is the request for client.ContainerCreate. The pointers point into a copy of s.
func (s Spec) CreateOptions() client.ContainerCreateOptions {
	cfg, host, nw := s.Config, s.HostConfig, s.Networking
	return client.ContainerCreateOptions{Name: s.Name, Config: &cfg, HostConfig: &host, NetworkingConfig: &nw, Platform: s.Platform}
}

// New starts the description of a container of image ref (as in `docker run IMAGE`).
func New(ref string) *Container {
	c := &Container{env: map[string]*string{}}
	c.cfg.Image = ref
	if _, err := reference.ParseAnyReference(ref); err != nil || ref == "" {
		c.problems.Add("image", "%q is not a valid image reference (NAME[:TAG][@DIGEST], e.g. registry:5000/team/app:1.2)", ref)
	}
	return c
}

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Name names the container (`--name`): letters, digits, '_', '.' and '-', starting with a
// letter or digit, as the engine accepts them.
func (c *Container) Name(name string) *Container {
	c.name = name
	if !namePattern.MatchString(name) {
		c.problems.Add("name", "%q is not a valid container name: use letters, digits, '_', '.' and '-', starting with a letter or digit", name)
	}
	return c
}

// Command sets the arguments passed to the entrypoint (the words after IMAGE in `docker run`).
func (c *Container) Command(args ...string) *Container {
	c.cfg.Cmd = slices.Clone(args)
	return c
}

// Entrypoint replaces the image's entrypoint (`--entrypoint`, here with arguments). With no
// arguments it clears the image's entrypoint, as `--entrypoint ""` does.
func (c *Container) Entrypoint(args ...string) *Container {
	c.cfg.Entrypoint = slices.Clone(args)
	if len(args) == 0 {
		c.cfg.Entrypoint = []string{""}
	}
	return c
}

// Env sets variable key to value (`-e KEY=VALUE`). The compiled environment keeps the order of
// first mention, as the Docker CLI keeps the order of its flags; a later value replaces an
// earlier one.
func (c *Container) Env(key, value string) *Container {
	c.setEnv("env/"+key, key, &value)
	return c
}

// EnvUnset removes key from the image's environment (`-e KEY` where KEY is not set locally).
func (c *Container) EnvUnset(key string) *Container {
	c.setEnv("env/"+key, key, nil)
	return c
}

func (c *Container) setEnv(p, key string, value *string) {
	if key == "" || strings.ContainsAny(key, "= \t\n") {
		c.problems.Add(p, "variable name %q is invalid: it must be non-empty and contain no '=' or white space", key)
		return
	}
	if _, seen := c.env[key]; !seen {
		c.envOrder = append(c.envOrder, key)
	}
	c.env[key] = value
}

// Label sets a label on the container (`--label`).
func (c *Container) Label(key, value string) *Container {
	if key == "" {
		c.problems.Add("label", "empty label name (value %q)", value)
	}
	if c.cfg.Labels == nil {
		c.cfg.Labels = map[string]string{}
	}
	c.cfg.Labels[key] = value
	return c
}

// Hostname sets the container's host name (`--hostname`).
func (c *Container) Hostname(h string) *Container { c.cfg.Hostname = h; return c }

// User sets the user (and group) the process runs as (`--user NAME|UID[:GROUP|GID]`).
func (c *Container) User(u string) *Container { c.cfg.User = u; return c }

// Workdir sets the process's working directory (`--workdir`); it must be absolute.
func (c *Container) Workdir(dir string) *Container {
	if !path.IsAbs(dir) {
		c.problems.Add("workdir", "%q is not an absolute path", dir)
	}
	c.cfg.WorkingDir = dir
	return c
}

// TTY allocates a pseudo terminal (`-t`): output is then one stream, not stdout and stderr.
func (c *Container) TTY(on bool) *Container { c.cfg.Tty = on; return c }

// AutoRemove removes the container when it exits (`--rm`).
func (c *Container) AutoRemove(on bool) *Container { c.host.AutoRemove = on; return c }

// Init runs an init process (tini, `docker-init`) as PID 1 that reaps zombies and forwards
// signals (`--init`).
func (c *Container) Init(on bool) *Container { c.host.Init = &on; return c }

// StopSignal sets the signal Stop sends first (`--stop-signal`).
func (c *Container) StopSignal(sig string) *Container { c.cfg.StopSignal = sig; return c }

// StopTimeout sets how long Stop waits after the signal before killing (`--stop-timeout`),
// rounded down to whole seconds as the engine keeps it.
func (c *Container) StopTimeout(d time.Duration) *Container {
	if d < 0 {
		c.problems.Add("stop-timeout", "duration %s is negative", d)
	}
	secs := int(d / time.Second)
	c.cfg.StopTimeout = &secs
	return c
}

// Restart sets the restart policy (`--restart`): "no", "always", "unless-stopped" or
// "on-failure[:MAX-RETRIES]".
func (c *Container) Restart(policy string) *Container {
	name, count, hasCount := strings.Cut(policy, ":")
	rp := container.RestartPolicy{Name: container.RestartPolicyMode(name)}
	switch rp.Name {
	case container.RestartPolicyDisabled, container.RestartPolicyAlways, container.RestartPolicyUnlessStopped:
		if hasCount {
			c.problems.Add("restart", "%q: only on-failure takes a maximum retry count", policy)
		}
	case container.RestartPolicyOnFailure:
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				c.problems.Add("restart", "%q: the maximum retry count must be a number ≥ 0", policy)
			}
			rp.MaximumRetryCount = n
		}
	default:
		c.problems.Add("restart", "%q is not a restart policy; accepted: no, always, unless-stopped, on-failure[:MAX-RETRIES]", policy)
	}
	c.host.RestartPolicy = rp
	return c
}

// Platform selects the image's platform (`--platform os[/arch[/variant]]`, e.g. linux/amd64).
func (c *Container) Platform(p string) *Container {
	parts := strings.Split(p, "/")
	if len(parts) > 3 || slices.Contains(parts, "") {
		c.problems.Add("platform", "%q is not a platform; want os[/arch[/variant]], e.g. linux/amd64", p)
		return c
	}
	pl := &ocispec.Platform{OS: parts[0]}
	if len(parts) > 1 {
		pl.Architecture = parts[1]
	}
	if len(parts) > 2 {
		pl.Variant = parts[2]
	}
	c.platform = pl
	return c
}

// Memory limits the container's memory to bytes (`--memory`); 0 means no limit.
func (c *Container) Memory(bytes int64) *Container {
	if bytes < 0 {
		c.problems.Add("memory", "%d is negative", bytes)
	}
	c.host.Memory = bytes
	return c
}

// CPUs limits the container to a decimal number of CPUs (`--cpus 0.5`).
func (c *Container) CPUs(cpus string) *Container {
	n, err := swarm.ParseCPUs(cpus)
	if err != nil {
		c.problems.Add("cpus", "%v", err)
	}
	c.host.NanoCPUs = n
	return c
}

// PidsLimit limits the number of processes (`--pids-limit`); 0 or -1 means no limit.
func (c *Container) PidsLimit(n int64) *Container {
	if n < -1 {
		c.problems.Add("pids-limit", "%d: want -1, 0 (no limit) or a positive count", n)
	}
	c.host.PidsLimit = &n
	return c
}

// Healthcheck sets the health check (`--health-cmd`, `--health-interval`, ...). Test follows
// the Engine's forms: ["CMD", args...], ["CMD-SHELL", command], or ["NONE"] (`--no-healthcheck`).
func (c *Container) Healthcheck(hc container.HealthConfig) *Container {
	if len(hc.Test) == 0 || !slices.Contains([]string{"CMD", "CMD-SHELL", "NONE"}, hc.Test[0]) {
		c.problems.Add("health-cmd", "test %q must start with CMD, CMD-SHELL or NONE", hc.Test)
	}
	for name, d := range map[string]time.Duration{"interval": hc.Interval, "timeout": hc.Timeout, "start-period": hc.StartPeriod, "start-interval": hc.StartInterval} {
		if d != 0 && d < time.Millisecond {
			c.problems.Add("health-"+name, "duration %s: want 0 (the default) or at least 1ms", d)
		}
	}
	if hc.Retries < 0 {
		c.problems.Add("health-retries", "%d is negative", hc.Retries)
	}
	hc.Test = slices.Clone(hc.Test)
	c.cfg.Healthcheck = &hc
	return c
}

// Modify registers fn to edit the compiled spec after everything else: the escape hatch for
// fields the builder does not name. Functions run in the order they were registered.
func (c *Container) Modify(fn func(*Spec)) *Container {
	if fn != nil {
		c.modify = append(c.modify, fn)
	}
	return c
}

// Compile returns the create request, or every recorded problem. The spec is returned even with
// an error, so that a caller can look at the rest of it; it is a copy: later builder calls do
// not change it.
func (c *Container) Compile() (Spec, error) {
	s := Spec{Name: c.name, Config: c.cfg, HostConfig: c.host, Platform: c.platform}
	s.Config.Cmd, s.Config.Entrypoint = slices.Clone(c.cfg.Cmd), slices.Clone(c.cfg.Entrypoint)
	s.Config.Labels = maps.Clone(c.cfg.Labels)
	s.Config.ExposedPorts = maps.Clone(c.cfg.ExposedPorts)
	s.Config.Env = c.compileEnv()
	if h := c.cfg.Healthcheck; h != nil {
		cp := *h
		cp.Test = slices.Clone(h.Test)
		s.Config.Healthcheck = &cp
	}
	s.HostConfig.PortBindings = maps.Clone(c.host.PortBindings)
	s.HostConfig.Mounts = slices.Clone(c.host.Mounts)
	s.HostConfig.VolumesFrom = slices.Clone(c.host.VolumesFrom)
	if v := c.host.Init; v != nil {
		s.HostConfig.Init = new(*v)
	}
	if v := c.host.PidsLimit; v != nil {
		s.HostConfig.PidsLimit = new(*v)
	}
	if v := c.cfg.StopTimeout; v != nil {
		s.Config.StopTimeout = new(*v)
	}
	if c.platform != nil {
		p := *c.platform
		s.Platform = &p
	}
	if c.network != "" {
		s.HostConfig.NetworkMode = container.NetworkMode(c.network)
		s.Networking.EndpointsConfig = map[string]*network.EndpointSettings{c.network: {Aliases: slices.Clone(c.aliases)}}
	}
	var p berth.Problems
	p.AddErr("", c.problems.Err())
	if c.host.AutoRemove && !c.host.RestartPolicy.IsNone() {
		p.Add("restart", "%q conflicts with AutoRemove (--rm): a removed container cannot restart", c.host.RestartPolicy.Name)
	}
	for _, fn := range c.modify {
		fn(&s)
	}
	return s, p.Err()
}

func (c *Container) compileEnv() []string {
	var out []string
	for _, k := range c.envOrder {
		if v := c.env[k]; v != nil {
			out = append(out, k+"="+*v)
		} else {
			out = append(out, k)
		}
	}
	return out
}

// Network attaches the container to one network at creation (`--network NAME` with
// `--network-alias`); "host", "none" and "bridge" name the engine's own. A container joins
// further networks after creation, with network.Connect.
func (c *Container) Network(name string, aliases ...string) *Container {
	if c.network != "" && c.network != name {
		c.problems.Add("network", "%q: the container already joins %q at creation; connect it to more with network.Connect", name, c.network)
	}
	if name == "" {
		c.problems.Add("network", "empty network name")
	}
	c.network, c.aliases = name, append(c.aliases, aliases...)
	return c
}

// Mount adds a mount as the Engine API describes it (`--mount`). A volume or bind mount is
// checked by volume.CheckMount; a tmpfs needs an absolute target and no source. Mounts keep
// their order; their option pointers are shared with the compiled spec.
func (c *Container) Mount(m mount.Mount) *Container {
	p := fmt.Sprintf("mount[%d]", len(c.host.Mounts))
	switch m.Type {
	case mount.TypeTmpfs:
		if !path.IsAbs(m.Target) {
			c.problems.Add(p+"/target", "%q is not an absolute path", m.Target)
		}
		if m.Source != "" {
			c.problems.Add(p+"/source", "a tmpfs takes no source, got %q", m.Source)
		}
	default:
		c.problems.AddErr(p, volume.CheckMount(p, m))
	}
	for _, other := range c.host.Mounts {
		if path.Clean(other.Target) == path.Clean(m.Target) {
			c.problems.Add(p+"/target", "%q is already a mount target", m.Target)
		}
	}
	c.host.Mounts = append(c.host.Mounts, m)
	return c
}

// Volume mounts the named volume source at target (`-v NAME:TARGET[:ro]`); an empty source is
// an anonymous volume.
func (c *Container) Volume(source, target string, readOnly bool) *Container {
	return c.Mount(volume.Named(source, target, readOnlyOption(readOnly)...))
}

// Bind mounts the absolute host path source at target (`-v /HOST:TARGET[:ro]`).
func (c *Container) Bind(source, target string, readOnly bool) *Container {
	return c.Mount(volume.Bind(source, target, readOnlyOption(readOnly)...))
}

func readOnlyOption(on bool) []volume.MountOption {
	if on {
		return []volume.MountOption{volume.ReadOnly()}
	}
	return nil
}

// Tmpfs mounts a tmpfs at target (`--tmpfs`), limited to sizeBytes when it is positive.
func (c *Container) Tmpfs(target string, sizeBytes int64) *Container {
	m := mount.Mount{Type: mount.TypeTmpfs, Target: target}
	if sizeBytes > 0 {
		m.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: sizeBytes}
	}
	return c.Mount(m)
}

// VolumesFrom mounts every volume of container name at the same paths (`--volumes-from
// NAME[:ro]`): the data-volume container pattern.
func (c *Container) VolumesFrom(name string, readOnly bool) *Container {
	if !namePattern.MatchString(name) {
		c.problems.Add("volumes-from", "%q is not a container name or ID", name)
	}
	c.host.VolumesFrom = append(c.host.VolumesFrom, volume.VolumesFrom(name, readOnly))
	return c
}
