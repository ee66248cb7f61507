package container

import (
	"os"
	"path"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
)

// RunFlags are the `docker run` flags the builder supports, as a CLI collects them: a
// `run` verb parses its flags into RunFlags and calls Container and RunOptions. Every value is
// checked by the builder method it maps to, so problems come back from Compile (or Run) all
// at once, with the flag's name as the path.
type RunFlags struct {
	Name        string   // --name
	Detach      bool     // -d: return once started instead of waiting for the exit
	AutoRemove  bool     // --rm
	Env         []string // -e KEY=VALUE, or KEY to take the value from this process's environment
	EnvFiles    []string // --env-file
	Labels      []string // -l KEY=VALUE
	Publish     []string // -p [IP:][HOST:]CONTAINER[/PROTO]
	Volumes     []string // -v NAME:TARGET[:ro], -v /HOST:TARGET[:ro], -v TARGET (anonymous)
	Tmpfs       []string // --tmpfs TARGET
	VolumesFrom []string // --volumes-from NAME[:ro|:rw]
	Network     string   // --network
	Aliases     []string // --network-alias
	Platform    string   // --platform
	Restart     string   // --restart
	User        string   // -u
	Workdir     string   // -w
	Hostname    string   // -h
	Entrypoint  *string  // --entrypoint (a single executable, as the Docker CLI takes it; "" clears it)
	Init        bool     // --init
	TTY         bool     // -t
	Memory      int64    // -m, in bytes (the CLI parses "256m")
	CPUs        string   // --cpus
	HealthCmd   string   // --health-cmd, run by the container's shell (CMD-SHELL)
	NoHealth    bool     // --no-healthcheck
	Health      container.HealthConfig
	StopSignal  string         // --stop-signal
	StopTimeout *time.Duration // --stop-timeout
}

// Container describes the container `docker run [FLAGS] IMAGE [ARG...]` would create.
func (f RunFlags) Container(image string, args ...string) *Container {
	c := New(image)
	if f.Name != "" {
		c.Name(f.Name)
	}
	if len(args) > 0 {
		c.Command(args...)
	}
	if f.Entrypoint != nil {
		if *f.Entrypoint == "" {
			c.Entrypoint()
		} else {
			c.Entrypoint(*f.Entrypoint)
		}
	}
	for _, kv := range f.Env {
		switch k, v, ok := strings.Cut(kv, "="); {
		case ok:
			c.Env(k, v)
		case os.Getenv(k) != "":
			c.Env(k, os.Getenv(k))
		default:
			c.EnvUnset(k)
		}
	}
	for _, name := range f.EnvFiles {
		c.EnvFile(name)
	}
	for _, kv := range f.Labels {
		k, v, _ := strings.Cut(kv, "=")
		c.Label(k, v)
	}
	for _, p := range f.Publish {
		c.Publish(p)
	}
	for _, v := range f.Volumes {
		c.VolumeFlag(v)
	}
	for _, t := range f.Tmpfs {
		c.Tmpfs(t, 0)
	}
	for _, v := range f.VolumesFrom {
		name, mode, _ := strings.Cut(v, ":")
		if mode != "" && mode != "ro" && mode != "rw" {
			c.problems.Add("volumes-from", "%q: the mode must be ro or rw", v)
		}
		c.VolumesFrom(name, mode == "ro")
	}
	f.applyScalars(c)
	return c
}

// applyScalars sets what is set of the single-valued flags.
func (f RunFlags) applyScalars(c *Container) {
	if f.Network != "" || len(f.Aliases) > 0 {
		c.Network(f.Network, f.Aliases...)
	}
	set := func(v string, apply func(string) *Container) {
		if v != "" {
			apply(v)
		}
	}
	set(f.Platform, c.Platform)
	set(f.Restart, c.Restart)
	set(f.User, c.User)
	set(f.Workdir, c.Workdir)
	set(f.Hostname, c.Hostname)
	set(f.CPUs, c.CPUs)
	set(f.StopSignal, c.StopSignal)
	if f.AutoRemove {
		c.AutoRemove(true)
	}
	if f.Init {
		c.Init(true)
	}
	if f.TTY {
		c.TTY(true)
	}
	if f.Memory != 0 {
		c.Memory(f.Memory)
	}
	if f.StopTimeout != nil {
		c.StopTimeout(*f.StopTimeout)
	}
	switch {
	case f.NoHealth && f.HealthCmd != "":
		c.problems.Add("no-healthcheck", "conflicts with --health-cmd")
	case f.NoHealth:
		c.Healthcheck(container.HealthConfig{Test: []string{"NONE"}})
	case f.HealthCmd != "":
		hc := f.Health
		hc.Test = []string{"CMD-SHELL", f.HealthCmd}
		c.Healthcheck(hc)
	}
}

// RunOptions is what Run waits for: the exit, unless Detach.
func (f RunFlags) RunOptions() RunOptions {
	if f.Detach {
		return RunOptions{}
	}
	return RunOptions{Wait: WaitExit}
}

// VolumeFlag adds a mount in `-v` syntax: "NAME:TARGET[:ro|rw]" (a named volume),
// "/HOST:TARGET[:ro|rw]" (a bind mount) or "TARGET" (an anonymous volume).
func (c *Container) VolumeFlag(spec string) *Container {
	parts := strings.Split(spec, ":")
	readOnly := false
	if n := len(parts); n == 3 || n == 2 && !path.IsAbs(parts[1]) && (parts[1] == "ro" || parts[1] == "rw") {
		switch parts[n-1] {
		case "ro":
			readOnly = true
		case "rw":
		default:
			c.problems.Add("volume", "%q: the mode %q is not ro or rw", spec, parts[n-1])
		}
		parts = parts[:n-1]
	}
	switch {
	case len(parts) == 1:
		return c.Volume("", parts[0], readOnly)
	case len(parts) != 2:
		c.problems.Add("volume", "%q is not NAME:TARGET[:ro], /HOST:TARGET[:ro] or TARGET", spec)
		return c
	case path.IsAbs(parts[0]):
		return c.Bind(parts[0], parts[1], readOnly)
	}
	return c.Volume(parts[0], parts[1], readOnly)
}
