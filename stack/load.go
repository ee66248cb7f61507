package stack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	swarmapi "github.com/moby/moby/api/types/swarm"
)

// Load reads Compose files (merged in order, as `docker stack deploy -c a.yml -c b.yml`) into
// a stack called name, with the whole Compose specification of compose-go: interpolation of
// ${VAR:-default} from the environment and the .env file next to the first file (which
// `docker stack deploy` does not read; the process environment wins over it), env_file (read
// with the Docker CLI's parser: values as written, quotes included, where `docker compose`
// strips them), extends, relative paths resolved against the first file's directory. Where
// compose-go and the Docker CLI read a file differently, Load reads it as the CLI does (see
// the package doc). A file named "-" is read from standard input, its relative paths
// resolved against the working directory. Fields that `docker stack deploy` ignores become
// warnings. A file that does not parse is an error; values that
// parse but are invalid are recorded and reported by Compile, all at once. A missing file is
// an fs.ErrNotExist error; a file that breaks the Compose specification matches
// berth.ErrInvalid.
func Load(ctx context.Context, name string, files ...string) (*Stack, error) {
	if len(files) == 0 {
		return nil, berth.Invalid("stack/"+name, "no Compose file given")
	}
	opts, err := projectOptions(name, files)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", name, err)
	}
	project, fixes, err := loadProject(ctx, name, opts)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("stack %s: load %v: %w", name, files, err)
	case err != nil: // the files do not parse or break the Compose specification
		return nil, fmt.Errorf("stack %s: load %v: %w: %w", name, files, berth.ErrInvalid, err)
	}
	return fromProject(name, project, fixes), nil
}

// loadProject runs compose-go in its two steps: the merged, interpolated model (a YAML tree),
// which fixModel adjusts to the Docker CLI's reading, then the binding to compose-go's types.
// Environments are not resolved by compose-go: fromProject does it with the CLI's rules. A
// panic of compose-go on malformed input (it has some, found by FuzzCompose) is an error.
func loadProject(ctx context.Context, stackName string, opts *cli.ProjectOptions) (p *types.Project, fixes *modelFixes, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("compose-go failed on this input: %v", r)
		}
	}()
	m, err := readModel(ctx, opts, true)
	if err != nil {
		return nil, nil, err
	}
	fixes = fixModel(stackName, m.dict)
	fixes.problems = append(fixes.problems, duplicateTargets(stackName, m.files)...)
	p, err = loader.ModelToProject(m.dict, loader.ToOptions(m.details, m.options), *m.details)
	return p, fixes, err
}

func projectOptions(name string, files []string) (*cli.ProjectOptions, error) {
	return cli.NewProjectOptions(files,
		cli.WithName(loader.NormalizeProjectName(name)),
		cli.WithOsEnv,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithResolvedPaths(true),
	)
}

// model is the merged, interpolated model of Compose files (compose-go's YAML tree), with
// what it was read from and the loader options it was read with.
type model struct {
	dict    map[string]any
	details *types.ConfigDetails
	options []func(*loader.Options)
	files   parsedFiles
}

// readModel reads the model of the files, normalised (default network, names) or not.
func readModel(ctx context.Context, opts *cli.ProjectOptions, normalize bool) (*model, error) {
	wd, err := opts.GetWorkingDir()
	if err != nil {
		return nil, err
	}
	details, err := opts.ReadConfigFiles(ctx, wd, opts)
	if err != nil {
		return nil, err
	}
	details.Environment = opts.Environment
	m := &model{details: details, files: parseFiles(details.ConfigFiles)}
	fast := m.files.seeAll() // load_casts.go, load_passes.go: the same model, faster
	m.options = []func(*loader.Options){func(o *loader.Options) {
		o.SetProjectName(opts.Name, true)
		o.ResolvePaths = true
		o.Profiles = []string{"*"} // docker stack deploy ignores profiles: deploy every service
		o.SkipResolveEnvironment = true
		o.SkipNormalization = !normalize
	}}
	if fast {
		m.options = append(m.options, withOwnPasses, withNeededCasts(m.files))
	}
	m.dict, err = loader.LoadModelWithContext(ctx, *details, m.options...)
	if err == nil && fast {
		m.dict, err = finishModel(m.dict, details, m.options, opts.Name, normalize)
	}
	return m, err
}

// FromProject converts a compose-go project into a stack called name.
// Environments are taken as compose-go resolved them, unless the project was loaded with
// SkipResolveEnvironment (then they are resolved with the Docker CLI's rules, as Load does).
func FromProject(name string, p *types.Project) *Stack { return fromProject(name, p, nil) }

func fromProject(name string, p *types.Project, fixes *modelFixes) *Stack {
	st := New(name)
	if fixes == nil {
		fixes = &modelFixes{}
	}
	st.problems = append(st.problems, fixes.problems...)
	st.warnings = append(st.warnings, fixes.warnings...)
	l := &projectLoader{st: st, project: p, fixes: fixes}
	for _, key := range slices.Sorted(maps.Keys(p.Networks)) {
		l.network(key, p.Networks[key])
	}
	for _, key := range slices.Sorted(maps.Keys(p.Volumes)) {
		l.volume(key, p.Volumes[key])
	}
	for _, key := range slices.Sorted(maps.Keys(p.Secrets)) {
		x := p.Secrets[key]
		l.secret(key, types.FileObjectConfig(x))
	}
	for _, key := range slices.Sorted(maps.Keys(p.Configs)) {
		x := p.Configs[key]
		l.config(key, types.FileObjectConfig(x))
	}
	for _, key := range slices.Sorted(maps.Keys(p.Services)) {
		l.service(p.Services[key])
	}
	for _, key := range slices.Sorted(maps.Keys(p.Jobs)) {
		st.Warn("jobs/"+key, "ignored by docker stack deploy (a service with deploy.mode replicated-job runs to completion)")
	}
	for _, key := range slices.Sorted(maps.Keys(p.Models)) {
		st.Warn("models/"+key, "ignored by docker stack deploy")
	}
	return st
}

type projectLoader struct {
	st      *Stack
	project *types.Project
	fixes   *modelFixes
}

func (l *projectLoader) lookupEnv(k string) (string, bool) {
	v, ok := l.project.Environment[k]
	return v, ok
}

// explicitName returns name when it is not the one compose-go derives from the key.
func (l *projectLoader) explicitName(key, name string, external bool) string {
	switch {
	case name == "":
		return ""
	case external && name == key:
		return ""
	case !external && (name == l.project.Name+"_"+key || name == l.st.Scope(key)):
		return ""
	}
	return name
}

func (l *projectLoader) network(key string, c types.NetworkConfig) {
	n := l.st.Network(key)
	if c.External {
		n.External()
	}
	if name := l.explicitName(key, c.Name, bool(c.External)); name != "" {
		n.Named(name)
	}
	n.Driver(c.Driver)
	for _, k := range slices.Sorted(maps.Keys(c.DriverOpts)) {
		n.Option(k, c.DriverOpts[k])
	}
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		n.Label(k, c.Labels[k])
	}
	if c.Internal {
		n.Internal()
	}
	if c.Attachable {
		n.Attachable()
	}
	n.IPAMDriver(c.Ipam.Driver)
	for i, pool := range c.Ipam.Config {
		if pool == nil {
			continue
		}
		n.Subnet(pool.Subnet)
		if pool.Gateway != "" || pool.IPRange != "" || len(pool.AuxiliaryAddresses) > 0 {
			l.st.Warn(fmt.Sprintf("networks/%s/ipam/config[%d]", key, i), "gateway, ip_range and aux_addresses are ignored by docker stack deploy")
		}
	}
	if len(c.Ipam.Options) > 0 {
		l.st.Warn("networks/"+key+"/ipam/options", "ignored by docker stack deploy")
	}
	if c.EnableIPv4 != nil || c.EnableIPv6 != nil {
		l.st.Warn("networks/"+key, "enable_ipv4 and enable_ipv6 are ignored by docker stack deploy")
	}
}

func (l *projectLoader) volume(key string, c types.VolumeConfig) {
	v := l.st.Volume(key)
	if c.External {
		v.External()
	}
	if name := l.explicitName(key, c.Name, bool(c.External)); name != "" {
		v.Named(name)
	}
	v.Driver(c.Driver)
	for _, k := range slices.Sorted(maps.Keys(c.DriverOpts)) {
		v.Option(k, c.DriverOpts[k])
	}
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		v.Label(k, c.Labels[k])
	}
}

func (l *projectLoader) fileObject(kind, key string, c types.FileObjectConfig, o *object) {
	o.external = bool(c.External)
	o.name = l.explicitName(key, c.Name, o.external)
	o.file = c.File
	switch {
	case c.Content != "":
		o.data, o.hasData = []byte(c.Content), true
	case c.Extensions[secretDataExtension] != nil:
		o.data, o.hasData = []byte(fmt.Sprint(c.Extensions[secretDataExtension])), true
	case c.Environment != "":
		v, ok := l.project.Environment[c.Environment]
		if !ok {
			l.st.addf(kind+"/"+key+"/environment", "variable %q is not set", c.Environment)
		}
		o.data, o.hasData = []byte(v), true
	}
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		o.labels = set(o.labels, k, c.Labels[k])
	}
	o.templateDriver = c.TemplateDriver
}

func (l *projectLoader) secret(key string, c types.FileObjectConfig) {
	x := l.st.Secret(key)
	l.fileObject("secrets", key, c, &x.object)
	if c.Driver != "" {
		x.Driver(c.Driver, c.DriverOpts)
	}
}

func (l *projectLoader) config(key string, c types.FileObjectConfig) {
	x := l.st.Config(key)
	l.fileObject("configs", key, c, &x.object)
	if c.Driver != "" {
		l.st.Warn("configs/"+key+"/driver", "configs take no driver; ignored by docker stack deploy")
	}
}

func (l *projectLoader) service(c types.ServiceConfig) {
	svc := l.st.Service(c.Name)
	base := "services/" + c.Name
	l.warnIgnored(base, c)
	if c.Provider != nil {
		l.st.addf(base+"/provider", "services run by a provider (%s) cannot be deployed to swarm", c.Provider.Type)
	}
	if c.Image != "" { // a missing image is reported by Compile
		svc.Image(c.Image)
	}
	if c.Entrypoint != nil {
		svc.Entrypoint(c.Entrypoint...)
	}
	if c.Command != nil {
		svc.Command(c.Command...)
	}
	env := c.Environment
	if l.fixes.resolveEnv { // loaded by Load: compose-go did not resolve the environment
		var err error
		if env, err = serviceEnvironment(c, l.lookupEnv); err != nil {
			l.st.addf(base+"/env_file", "%v", err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if v := env[k]; v != nil {
			svc.Env(k, *v)
		} else {
			svc.EnvUnset(k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		svc.ContainerLabel(k, c.Labels[k])
	}
	if c.Hostname != "" {
		svc.Hostname(c.Hostname)
	}
	if c.User != "" {
		svc.User(c.User)
	}
	if c.WorkingDir != "" {
		svc.WorkingDir(c.WorkingDir)
	}
	if hosts, ok := l.fixes.extraHosts[c.Name]; ok {
		for _, h := range hosts { // the order written, as the Docker CLI keeps it
			svc.ExtraHost(h[0], h[1])
		}
	} else {
		for _, host := range slices.Sorted(maps.Keys(c.ExtraHosts)) {
			for _, ip := range c.ExtraHosts[host] {
				svc.ExtraHost(host, ip)
			}
		}
	}
	if len(c.DNS) > 0 {
		svc.DNS(c.DNS...)
	}
	if len(c.DNSSearch) > 0 {
		svc.DNSSearch(c.DNSSearch...)
	}
	l.healthcheck(svc, base, c.HealthCheck)
	if c.StopGracePeriod != nil {
		svc.StopGracePeriod(time.Duration(*c.StopGracePeriod))
	}
	if c.StopSignal != "" {
		svc.StopSignal(c.StopSignal)
	}
	svc.TTY(c.Tty).StdinOpen(c.StdinOpen).ReadOnly(c.ReadOnly)
	if c.Init != nil {
		svc.Init(*c.Init)
	}
	if len(c.CapAdd) > 0 {
		svc.CapAdd(c.CapAdd...)
	}
	if len(c.CapDrop) > 0 {
		svc.CapDrop(c.CapDrop...)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Sysctls)) {
		svc.Sysctl(k, c.Sysctls[k])
	}
	for _, k := range slices.Sorted(maps.Keys(c.Ulimits)) {
		u := c.Ulimits[k]
		if u.Single != 0 {
			svc.Ulimit(k, int64(u.Single), int64(u.Single))
		} else {
			svc.Ulimit(k, int64(u.Soft), int64(u.Hard))
		}
	}
	if c.Logging != nil {
		svc.Logging(c.Logging.Driver, c.Logging.Options)
	}
	if c.OomScoreAdj != 0 {
		svc.OomScoreAdj(c.OomScoreAdj)
	}
	if c.Isolation != "" {
		svc.Isolation(c.Isolation)
	}
	l.credentialSpec(svc, base, c.CredentialSpec)
	for _, s := range c.Secrets {
		if s.Target == "/run/secrets/"+s.Source { // compose-go's default; the Docker CLI sends the bare name
			s.Target = ""
		}
		svc.SecretRef(swarmapi.SecretReference{SecretName: s.Source, File: &swarmapi.SecretReferenceFileTarget{Name: s.Target, UID: s.UID, GID: s.GID, Mode: fileMode(s.Mode)}})
	}
	for _, s := range c.Configs {
		svc.ConfigRef(swarmapi.ConfigReference{ConfigName: s.Source, File: &swarmapi.ConfigReferenceFileTarget{Name: s.Target, UID: s.UID, GID: s.GID, Mode: fileMode(s.Mode)}})
	}
	for i, v := range c.Volumes {
		l.mount(svc, fmt.Sprintf("%s/volumes[%d]", base, i), v)
	}
	l.networks(svc, base, c.Networks)
	for i, p := range c.Ports {
		l.port(svc, fmt.Sprintf("%s/ports[%d]", base, i), p)
	}
	if c.Deploy != nil {
		l.deploy(svc, base+"/deploy", c.Deploy)
	}
	if (c.Deploy == nil || c.Deploy.RestartPolicy == nil) && c.Restart != "" {
		svc.Restart(c.Restart)
	}
}

func fileMode(m *types.FileMode) os.FileMode {
	if m == nil {
		return 0
	}
	return os.FileMode(*m)
}

func (l *projectLoader) healthcheck(svc *swarm.Service, base string, h *types.HealthCheckConfig) {
	if h == nil {
		return
	}
	if h.Disable {
		if len(h.Test) > 0 && !slices.Equal(h.Test, []string{"NONE"}) {
			l.st.addf(base+"/healthcheck", "test and disable cannot be set at the same time")
		}
		svc.NoHealthcheck()
		return
	}
	hc := container.HealthConfig{Test: h.Test}
	hc.Timeout, hc.Interval = duration(h.Timeout), duration(h.Interval)
	hc.StartPeriod, hc.StartInterval = duration(h.StartPeriod), duration(h.StartInterval)
	if h.Retries != nil {
		hc.Retries = int(*h.Retries)
	}
	svc.Healthcheck(hc)
}

func duration(d *types.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

func durationPtr(d *types.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	v := time.Duration(*d)
	return &v
}

func (l *projectLoader) mount(svc *swarm.Service, path string, v types.ServiceVolumeConfig) {
	m := mount.Mount{Type: mount.Type(v.Type), Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly, Consistency: mount.Consistency(v.Consistency)}
	switch v.Type {
	case types.VolumeTypeVolume:
		if v.Volume != nil && v.Volume.NoCopy && v.Source != "" {
			m.VolumeOptions = &mount.VolumeOptions{NoCopy: true}
		}
		if v.Volume != nil && (v.Volume.Subpath != "" || len(v.Volume.Labels) > 0) {
			l.st.Warn(path+"/volume", "subpath and labels are ignored by docker stack deploy")
		}
	case types.VolumeTypeBind:
		if v.Bind != nil && v.Bind.Propagation != "" {
			m.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(v.Bind.Propagation)}
		}
		if v.Bind != nil && (v.Bind.SELinux != "" || v.Bind.Recursive != "") {
			l.st.Warn(path+"/bind", "selinux and recursive are ignored by docker stack deploy")
		}
	case types.VolumeTypeTmpfs:
		if v.Tmpfs != nil && v.Tmpfs.Size != 0 {
			m.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: int64(v.Tmpfs.Size)}
		}
		if v.Tmpfs != nil && v.Tmpfs.Mode != 0 {
			l.st.Warn(path+"/tmpfs/mode", "ignored by docker stack deploy")
		}
	}
	svc.Mount(m)
}

func (l *projectLoader) networks(svc *swarm.Service, base string, nets map[string]*types.ServiceNetworkConfig) {
	if len(nets) == 1 && nets["default"] == nil {
		if _, ok := nets["default"]; ok {
			return // compose-go's implicit default network: Compile adds it
		}
	}
	for _, key := range slices.Sorted(maps.Keys(nets)) {
		n := nets[key]
		att := swarmapi.NetworkAttachmentConfig{Target: key}
		if n != nil {
			att.Aliases, att.DriverOpts = slices.Clone(n.Aliases), maps.Clone(n.DriverOpts)
			if n.Ipv4Address != "" || n.Ipv6Address != "" || n.MacAddress != "" || len(n.LinkLocalIPs) > 0 || n.Priority != 0 || n.GatewayPriority != 0 || n.InterfaceName != "" {
				l.st.Warn(base+"/networks/"+key, "only aliases and driver_opts are used by docker stack deploy; other settings are ignored")
			}
		}
		svc.NetworkRef(att)
	}
}

// port publishes one Compose port. A published range to one target ("19000-19001:9000", as
// compose-go leaves the short syntax) publishes each port of the range to that target, as the
// Docker CLI does.
func (l *projectLoader) port(svc *swarm.Service, path string, p types.ServicePortConfig) {
	pc := swarmapi.PortConfig{Protocol: network.IPProtocol(p.Protocol), TargetPort: p.Target, PublishMode: swarmapi.PortConfigPublishMode(p.Mode)}
	if p.HostIP != "" || p.Name != "" || p.AppProtocol != "" {
		l.st.Warn(path, "host_ip, name and app_protocol are ignored by docker stack deploy")
	}
	if p.Published == "" {
		svc.PublishPort(pc)
		return
	}
	first, last, isRange := strings.Cut(p.Published, "-")
	if !isRange {
		last = first
	}
	lo, err1 := strconv.ParseUint(first, 10, 16)
	hi, err2 := strconv.ParseUint(last, 10, 16)
	if err1 != nil || err2 != nil || hi < lo {
		l.st.addf(path+"/published", "%q is not a port or a range of ports (0-65535, e.g. 8080 or 8080-8081)", p.Published)
		svc.PublishPort(pc)
		return
	}
	for n := lo; n <= hi; n++ {
		pc.PublishedPort = uint32(n)
		svc.PublishPort(pc)
	}
}

// credentialSpec converts credential_spec as the Docker CLI does, for file and registry. A
// spec read from a swarm config (which the CLI points at the config's ID, and swarm wants as a
// runtime config reference) is refused: an intended difference, see the package doc.
func (l *projectLoader) credentialSpec(svc *swarm.Service, base string, c *types.CredentialSpecConfig) {
	if c == nil || c.Config == "" && c.File == "" && c.Registry == "" {
		return
	}
	if c.Config != "" {
		l.st.addf(base+"/credential_spec/config", "a credential spec from a config (%q) is not supported by berth; use file or registry", c.Config)
	}
	cs := swarmapi.CredentialSpec{Config: c.Config, File: c.File, Registry: c.Registry}
	svc.Modify(func(s *swarmapi.ServiceSpec) {
		p := s.TaskTemplate.ContainerSpec.Privileges
		if p == nil {
			p = &swarmapi.Privileges{}
			s.TaskTemplate.ContainerSpec.Privileges = p
		}
		p.CredentialSpec = &cs
	})
}

func (l *projectLoader) deploy(svc *swarm.Service, base string, d *types.DeployConfig) {
	if d.Mode != "" {
		svc.Mode(d.Mode)
	}
	if d.Replicas != nil {
		if *d.Replicas < 0 {
			l.st.addf(base+"/replicas", "%d is negative", *d.Replicas)
		} else {
			svc.Replicas(uint64(*d.Replicas))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(d.Labels)) {
		svc.Label(k, d.Labels[k])
	}
	l.resources(svc, base+"/resources", d.Resources)
	if r := d.RestartPolicy; r != nil {
		svc.RestartPolicy(swarmapi.RestartPolicy{Condition: swarmapi.RestartPolicyCondition(r.Condition), Delay: durationPtr(r.Delay), MaxAttempts: r.MaxAttempts, Window: durationPtr(r.Window)})
	}
	for _, c := range d.Placement.Constraints {
		svc.Constraint(c)
	}
	for _, p := range d.Placement.Preferences {
		svc.Spread(p.Spread)
	}
	if d.Placement.MaxReplicas != 0 {
		svc.MaxReplicasPerNode(d.Placement.MaxReplicas)
	}
	if d.UpdateConfig != nil {
		svc.UpdateConfig(updateConfig(d.UpdateConfig))
	}
	if d.RollbackConfig != nil {
		svc.RollbackConfig(updateConfig(d.RollbackConfig))
	}
	if d.EndpointMode != "" {
		svc.EndpointMode(d.EndpointMode)
	}
}

// updateConfig maps Compose's update_config; parallelism defaults to 1 as in the Docker CLI.
func updateConfig(u *types.UpdateConfig) swarmapi.UpdateConfig {
	c := swarmapi.UpdateConfig{Parallelism: 1, Delay: time.Duration(u.Delay), FailureAction: swarmapi.FailureAction(u.FailureAction),
		Monitor: time.Duration(u.Monitor), MaxFailureRatio: u.MaxFailureRatio, Order: swarmapi.UpdateOrder(u.Order)}
	if u.Parallelism != nil {
		c.Parallelism = *u.Parallelism
	}
	return c
}

func (l *projectLoader) resources(svc *swarm.Service, base string, r types.Resources) {
	if lim := r.Limits; lim != nil {
		if lim.NanoCPUs != 0 {
			svc.LimitCPUs(cpus(lim.NanoCPUs))
		}
		if lim.MemoryBytes != 0 {
			svc.LimitMemory(int64(lim.MemoryBytes))
		}
		if lim.Pids != 0 {
			svc.LimitPids(lim.Pids)
		}
		if len(lim.Devices) > 0 || len(lim.GenericResources) > 0 {
			l.st.Warn(base+"/limits", "devices and generic_resources in limits are ignored by docker stack deploy")
		}
		svc.Modify(ensureLimits)
	}
	if res := r.Reservations; res != nil {
		if res.NanoCPUs != 0 {
			svc.ReserveCPUs(cpus(res.NanoCPUs))
		}
		if res.MemoryBytes != 0 {
			svc.ReserveMemory(int64(res.MemoryBytes))
		}
		if len(res.Devices) > 0 {
			l.st.Warn(base+"/reservations/devices", "ignored by docker stack deploy")
		}
		for _, g := range res.GenericResources {
			if g.DiscreteResourceSpec != nil {
				svc.GenericResource(g.DiscreteResourceSpec.Kind, g.DiscreteResourceSpec.Value)
			}
		}
		svc.Modify(ensureReservations)
	}
}

// ensureLimits and ensureReservations keep an empty limits or reservations block present, as
// the Docker CLI sends it.
func ensureLimits(s *swarmapi.ServiceSpec) {
	if s.TaskTemplate.Resources == nil {
		s.TaskTemplate.Resources = &swarmapi.ResourceRequirements{}
	}
	if s.TaskTemplate.Resources.Limits == nil {
		s.TaskTemplate.Resources.Limits = &swarmapi.Limit{}
	}
}

func ensureReservations(s *swarmapi.ServiceSpec) {
	if s.TaskTemplate.Resources == nil {
		s.TaskTemplate.Resources = &swarmapi.ResourceRequirements{}
	}
	if s.TaskTemplate.Resources.Reservations == nil {
		s.TaskTemplate.Resources.Reservations = &swarmapi.Resources{}
	}
}

// cpus formats compose-go's float32 CPU count with the shortest decimal that round-trips, so
// that "0.3" stays 0.3 and converts to exactly 300000000 nano CPUs.
func cpus(n types.NanoCPUs) string { return strconv.FormatFloat(float64(n), 'f', -1, 32) }
