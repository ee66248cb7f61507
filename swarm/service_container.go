package swarm

import (
	"fmt"
	"net/netip"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	swarmapi "github.com/moby/moby/api/types/swarm"
)

// Hostname sets the containers' hostname.
func (s *Service) Hostname(h string) *Service { s.container().Hostname = h; return s }

// User sets the user (and group) the command runs as: "uid", "name", "uid:gid".
func (s *Service) User(u string) *Service { s.container().User = u; return s }

// WorkingDir sets the working directory of the command; it must be absolute.
func (s *Service) WorkingDir(dir string) *Service {
	if dir != "" && !path.IsAbs(dir) {
		s.addf("working_dir", "%q is not an absolute path", dir)
	}
	s.container().Dir = dir
	return s
}

// ExtraHost adds "ip host" to the containers' /etc/hosts (Compose `extra_hosts: [host:ip]`).
// ip must be an IP address.
func (s *Service) ExtraHost(host, ip string) *Service {
	c := s.container()
	i := len(c.Hosts)
	if _, err := netip.ParseAddr(ip); err != nil {
		s.addf(fmt.Sprintf("extra_hosts[%d]", i), "%q is not an IP address (want HOST:IP, e.g. db:10.0.0.5)", ip)
	}
	if host == "" {
		s.addf(fmt.Sprintf("extra_hosts[%d]", i), "host name is empty (want HOST:IP)")
	}
	c.Hosts = append(c.Hosts, ip+" "+host)
	return s
}

// DNS adds name servers; each must be an IP address.
func (s *Service) DNS(servers ...string) *Service {
	d := s.dnsConfig()
	for _, srv := range servers {
		addr, err := netip.ParseAddr(srv)
		if err != nil {
			s.addf(fmt.Sprintf("dns[%d]", len(d.Nameservers)), "%q is not an IP address", srv)
		}
		d.Nameservers = append(d.Nameservers, addr)
	}
	return s
}

// DNSSearch adds DNS search domains.
func (s *Service) DNSSearch(domains ...string) *Service {
	d := s.dnsConfig()
	d.Search = append(d.Search, domains...)
	return s
}

// DNSOption adds resolver options ("ndots:2").
func (s *Service) DNSOption(opts ...string) *Service {
	d := s.dnsConfig()
	d.Options = append(d.Options, opts...)
	return s
}

func (s *Service) dnsConfig() *swarmapi.DNSConfig {
	c := s.container()
	if c.DNSConfig == nil {
		c.DNSConfig = &swarmapi.DNSConfig{}
	}
	return c.DNSConfig
}

// Healthcheck sets the containers' health check. Test follows the Engine's forms: ["CMD",
// args...], ["CMD-SHELL", command], or ["NONE"]; durations must not be negative.
func (s *Service) Healthcheck(hc container.HealthConfig) *Service {
	if len(hc.Test) > 0 && !slices.Contains([]string{"CMD", "CMD-SHELL", "NONE"}, hc.Test[0]) {
		s.addf("healthcheck/test", "test must start with CMD, CMD-SHELL or NONE, got %q", hc.Test[0])
	}
	for name, d := range map[string]time.Duration{"interval": hc.Interval, "timeout": hc.Timeout, "start_period": hc.StartPeriod, "start_interval": hc.StartInterval} {
		if d < 0 {
			s.addf("healthcheck/"+name, "duration %s is negative", d)
		}
	}
	if hc.Retries < 0 {
		s.addf("healthcheck/retries", "%d is negative", hc.Retries)
	}
	hc.Test = slices.Clone(hc.Test)
	s.container().Healthcheck = &hc
	return s
}

// NoHealthcheck disables any health check the image defines (Compose `healthcheck: {disable: true}`).
func (s *Service) NoHealthcheck() *Service {
	s.container().Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
	return s
}

// StopGracePeriod sets how long to wait after the stop signal before killing; not negative.
func (s *Service) StopGracePeriod(d time.Duration) *Service {
	if d < 0 {
		s.addf("stop_grace_period", "duration %s is negative", d)
	}
	s.container().StopGracePeriod = &d
	return s
}

// StopSignal sets the signal that stops the containers ("SIGTERM", "SIGQUIT").
func (s *Service) StopSignal(sig string) *Service { s.container().StopSignal = sig; return s }

// TTY allocates a pseudo-terminal.
func (s *Service) TTY(on bool) *Service { s.container().TTY = on; return s }

// StdinOpen keeps stdin open.
func (s *Service) StdinOpen(on bool) *Service { s.container().OpenStdin = on; return s }

// ReadOnly mounts the containers' root file system read-only.
func (s *Service) ReadOnly(on bool) *Service { s.container().ReadOnly = on; return s }

// Init runs an init process as PID 1 that forwards signals and reaps processes.
func (s *Service) Init(on bool) *Service { s.container().Init = &on; return s }

// CapAdd adds kernel capabilities ("NET_ADMIN" or "CAP_NET_ADMIN", or "ALL").
func (s *Service) CapAdd(caps ...string) *Service {
	s.container().CapabilityAdd = append(s.container().CapabilityAdd, caps...)
	return s
}

// CapDrop drops kernel capabilities.
func (s *Service) CapDrop(caps ...string) *Service {
	s.container().CapabilityDrop = append(s.container().CapabilityDrop, caps...)
	return s
}

// Sysctl sets a namespaced kernel parameter ("net.core.somaxconn").
func (s *Service) Sysctl(key, value string) *Service {
	c := s.container()
	if c.Sysctls == nil {
		c.Sysctls = map[string]string{}
	}
	c.Sysctls[key] = value
	return s
}

// Ulimit sets a resource limit ("nofile"); soft must not exceed hard and neither may be
// negative. Ulimits compile sorted by name.
func (s *Service) Ulimit(name string, soft, hard int64) *Service {
	p := "ulimits/" + name
	switch {
	case soft < 0 || hard < 0:
		s.addf(p, "limits must not be negative (soft %d, hard %d)", soft, hard)
	case soft > hard:
		s.addf(p, "soft limit %d is above the hard limit %d", soft, hard)
	}
	c := s.container()
	c.Ulimits = slices.DeleteFunc(c.Ulimits, func(u *container.Ulimit) bool { return u.Name == name })
	c.Ulimits = append(c.Ulimits, &container.Ulimit{Name: name, Soft: soft, Hard: hard})
	slices.SortFunc(c.Ulimits, func(a, b *container.Ulimit) int { return strings.Compare(a.Name, b.Name) })
	return s
}

// Logging sets the log driver and its options.
func (s *Service) Logging(driver string, opts map[string]string) *Service {
	s.spec.TaskTemplate.LogDriver = &swarmapi.Driver{Name: driver, Options: copyStringMap(opts)}
	return s
}

// Secret mounts the secret called name at target (a file name under /run/secrets, or an
// absolute path; empty means name), owned by root with mode 0444 as the Docker CLI does.
// Use SecretRef for owner and mode.
func (s *Service) Secret(name, target string) *Service {
	return s.SecretRef(swarmapi.SecretReference{SecretName: name, File: &swarmapi.SecretReferenceFileTarget{Name: target}})
}

// SecretRef adds a secret reference. Empty file fields get the Docker CLI's defaults: target
// name = secret name, UID and GID "0", mode 0444. SecretID may stay empty: it is resolved
// from the name when the service is deployed.
func (s *Service) SecretRef(ref swarmapi.SecretReference) *Service {
	c := s.container()
	i := len(c.Secrets)
	if ref.SecretName == "" && ref.SecretID == "" {
		s.addf(fmt.Sprintf("secrets[%d]", i), "secret name is empty")
	}
	f := fileDefaults(ref.SecretName, ref.File)
	ref.File = &swarmapi.SecretReferenceFileTarget{Name: f.Name, UID: f.UID, GID: f.GID, Mode: f.Mode}
	for _, other := range c.Secrets {
		if other.File != nil && other.File.Name == f.Name {
			s.addf(fmt.Sprintf("secrets[%d]/target", i), "target %q is already used by secret %q", f.Name, other.SecretName)
		}
	}
	c.Secrets = append(c.Secrets, &ref)
	return s
}

// Config mounts the config called name at target (relative names go to the root directory,
// as the Engine does; empty means name), owned by root with mode 0444.
func (s *Service) Config(name, target string) *Service {
	return s.ConfigRef(swarmapi.ConfigReference{ConfigName: name, File: &swarmapi.ConfigReferenceFileTarget{Name: target}})
}

// ConfigRef adds a config reference with the same defaults as SecretRef.
func (s *Service) ConfigRef(ref swarmapi.ConfigReference) *Service {
	c := s.container()
	i := len(c.Configs)
	if ref.ConfigName == "" && ref.ConfigID == "" {
		s.addf(fmt.Sprintf("configs[%d]", i), "config name is empty")
	}
	if ref.Runtime == nil {
		var f swarmapi.SecretReferenceFileTarget
		if ref.File != nil {
			f = swarmapi.SecretReferenceFileTarget(*ref.File)
		}
		f = fileDefaults(ref.ConfigName, &f)
		cf := swarmapi.ConfigReferenceFileTarget(f)
		ref.File = &cf
		for _, other := range c.Configs {
			if other.File != nil && other.File.Name == f.Name {
				s.addf(fmt.Sprintf("configs[%d]/target", i), "target %q is already used by config %q", f.Name, other.ConfigName)
			}
		}
	}
	c.Configs = append(c.Configs, &ref)
	return s
}

func fileDefaults(name string, f *swarmapi.SecretReferenceFileTarget) swarmapi.SecretReferenceFileTarget {
	var out swarmapi.SecretReferenceFileTarget
	if f != nil {
		out = *f
	}
	if out.Name == "" {
		out.Name = name
	}
	if out.UID == "" {
		out.UID = "0"
	}
	if out.GID == "" {
		out.GID = "0"
	}
	if out.Mode == 0 {
		out.Mode = os.FileMode(0o444)
	}
	return out
}

// Volume mounts the named volume source at target; an empty source is an anonymous volume.
func (s *Service) Volume(source, target string, readOnly bool) *Service {
	return s.Mount(mount.Mount{Type: mount.TypeVolume, Source: source, Target: target, ReadOnly: readOnly})
}

// Bind mounts the host path source at target. source must be absolute (a stack resolves
// relative paths against its Compose file's directory before calling Bind).
func (s *Service) Bind(source, target string, readOnly bool) *Service {
	return s.Mount(mount.Mount{Type: mount.TypeBind, Source: source, Target: target, ReadOnly: readOnly})
}

// Tmpfs mounts a tmpfs at target, limited to sizeBytes when it is positive.
func (s *Service) Tmpfs(target string, sizeBytes int64) *Service {
	m := mount.Mount{Type: mount.TypeTmpfs, Target: target}
	if sizeBytes > 0 {
		m.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: sizeBytes}
	}
	return s.Mount(m)
}

// Mount adds a mount as the Engine API describes it. Mounts keep the order they were added in,
// as the Docker CLI keeps them. The target must be an absolute path; a bind needs an absolute
// source; a tmpfs takes no source; options must match the type.
func (s *Service) Mount(m mount.Mount) *Service {
	c := s.container()
	p := fmt.Sprintf("volumes[%d]", len(c.Mounts))
	for _, msg := range checkServiceMount(m) {
		s.addf(p, "%s", msg)
	}
	for _, other := range c.Mounts {
		if path.Clean(other.Target) == path.Clean(m.Target) {
			s.addf(p+"/target", "%q is already a mount target", m.Target)
		}
	}
	c.Mounts = append(c.Mounts, m)
	return s
}

func checkServiceMount(m mount.Mount) []string {
	var msgs []string
	add := func(format string, args ...any) { msgs = append(msgs, fmt.Sprintf(format, args...)) }
	if !path.IsAbs(m.Target) {
		add("target %q is not an absolute path", m.Target)
	}
	switch m.Type {
	case mount.TypeVolume:
		if m.BindOptions != nil || m.TmpfsOptions != nil {
			add("bind or tmpfs options are incompatible with type volume")
		}
	case mount.TypeBind:
		if !path.IsAbs(m.Source) {
			add("bind source %q is not an absolute path", m.Source)
		}
		if m.VolumeOptions != nil || m.TmpfsOptions != nil {
			add("volume or tmpfs options are incompatible with type bind")
		}
	case mount.TypeTmpfs:
		if m.Source != "" {
			add("tmpfs takes no source, got %q", m.Source)
		}
		if m.VolumeOptions != nil || m.BindOptions != nil {
			add("volume or bind options are incompatible with type tmpfs")
		}
		if m.TmpfsOptions != nil && m.TmpfsOptions.SizeBytes < 0 {
			add("tmpfs size %d is negative", m.TmpfsOptions.SizeBytes)
		}
	case mount.TypeNamedPipe, mount.TypeCluster, mount.TypeImage:
	default:
		add("mount type %q is unknown (want volume, bind, tmpfs, npipe, cluster or image)", m.Type)
	}
	return msgs
}

func copyStringMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// OomScoreAdj tunes the containers' OOM killer preference (-1000 to 1000; needs API 1.46).
func (s *Service) OomScoreAdj(n int64) *Service {
	if n < -1000 || n > 1000 {
		s.addf("oom_score_adj", "%d is out of range (-1000 to 1000)", n)
	}
	s.container().OomScoreAdj = n
	return s
}

// Isolation sets the isolation technology ("default", "process", "hyperv"; Windows only).
func (s *Service) Isolation(iso string) *Service {
	switch container.Isolation(iso) {
	case "", container.IsolationDefault, container.IsolationProcess, container.IsolationHyperV:
	default:
		s.addf("isolation", "unknown isolation %q (want default, process or hyperv)", iso)
	}
	s.container().Isolation = container.Isolation(iso)
	return s
}
