package stack

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth/swarm"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"gopkg.in/yaml.v3"
)

// Compose renders the stack as a Compose file that Load turns back into a stack compiling to
// the same Spec (a round trip). Only what the stack carries to the Engine is rendered: fields
// that produced warnings are gone, as are builder settings the Compose file format has no
// place for (DNS resolver options, Modify functions). Configs given as data are rendered as
// `content:`, secrets as data in the x-berth-data extension (in clear text). A stack that
// does not compile is an error.
func (s *Stack) Compose() ([]byte, error) {
	if _, err := s.Compile(); err != nil {
		return nil, err
	}
	p := &types.Project{Services: types.Services{}}
	for _, svc := range s.sortedServices() {
		spec, _ := svc.CompileAt("")
		p.Services[svc.Name()] = composeService(svc.Name(), spec)
	}
	p.Networks = composeNetworks(s.networks)
	p.Volumes = composeVolumes(s.volumes)
	if len(s.secrets) > 0 {
		p.Secrets = types.Secrets{}
		for k, x := range s.secrets {
			c := composeObject(&x.object)
			if x.hasData { // the Compose schema has no content for secrets: carry it in an extension
				c.Content, c.Environment = "", secretDataVariable
				c.Extensions = types.Extensions{secretDataExtension: string(x.data)}
			}
			p.Secrets[k] = types.SecretConfig(c)
		}
	}
	if len(s.configs) > 0 {
		p.Configs = types.Configs{}
		for k, x := range s.configs {
			p.Configs[k] = types.ConfigObjConfig(composeObject(&x.object))
		}
	}
	escapeDollars(reflect.ValueOf(p))
	out, err := p.MarshalYAML()
	if err != nil {
		return nil, err
	}
	return keepHostOrder(out, s.sortedServices())
}

// keepHostOrder writes each service's extra_hosts as a list in the spec's order: compose-go
// holds them in a map and would render them sorted, and the order is kept by Load (as by the
// Docker CLI), so the round trip would change the spec.
func keepHostOrder(out []byte, services []*swarm.Service) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil || len(doc.Content) == 0 {
		return out, err
	}
	svcs := mappingValue(doc.Content[0], "services")
	changed := false
	for _, svc := range services {
		spec, _ := svc.CompileAt("")
		hosts := spec.TaskTemplate.ContainerSpec.Hosts
		node := mappingValue(svcs, svc.Name())
		if len(hosts) < 2 || node == nil {
			continue
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, h := range hosts {
			if f := strings.Fields(h); len(f) >= 2 {
				for _, name := range f[1:] {
					seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name + ":" + f[0], Style: yaml.DoubleQuotedStyle})
				}
			}
		}
		setMappingValue(node, "extra_hosts", seq)
		changed = true
	}
	if !changed {
		return out, nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setMappingValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

// secretDataExtension carries a secret's data in a rendered Compose file: secrets have no
// `content:` in the Compose schema and need `file` or `environment`, so the secret names the
// variable secretDataVariable and Load takes the data from the extension instead.
const (
	secretDataExtension = "x-berth-data"
	secretDataVariable  = "BERTH_SECRET_DATA"
)

func composeNetworks(nets map[string]*Network) types.Networks {
	if len(nets) == 0 {
		return nil
	}
	out := types.Networks{}
	for k, n := range nets {
		c := types.NetworkConfig{Name: n.name, Driver: n.driver, DriverOpts: maps.Clone(n.driverOpts), External: types.External(n.external),
			Internal: n.internal, Attachable: n.attachable, Labels: maps.Clone(n.labels)}
		c.Ipam.Driver = n.ipamDriver
		for _, sn := range n.subnets {
			c.Ipam.Config = append(c.Ipam.Config, &types.IPAMPool{Subnet: sn})
		}
		out[k] = c
	}
	return out
}

func composeVolumes(vols map[string]*Volume) types.Volumes {
	if len(vols) == 0 {
		return nil
	}
	out := types.Volumes{}
	for k, v := range vols {
		out[k] = types.VolumeConfig{Name: v.name, Driver: v.driver, DriverOpts: maps.Clone(v.driverOpts), External: types.External(v.external), Labels: maps.Clone(v.labels)}
	}
	return out
}

func composeObject(o *object) types.FileObjectConfig {
	c := types.FileObjectConfig{Name: o.name, File: o.file, External: types.External(o.external), Labels: maps.Clone(o.labels),
		Driver: o.driver, DriverOpts: maps.Clone(o.driverOpts), TemplateDriver: o.templateDriver}
	if o.hasData {
		c.Content = string(o.data)
	}
	return c
}

// composeService renders one unscoped service spec (as the builder compiles it, before the
// stack prefixes names) as a Compose service.
func composeService(name string, spec swarmapi.ServiceSpec) types.ServiceConfig {
	cs := spec.TaskTemplate.ContainerSpec
	c := types.ServiceConfig{Name: name}
	c.Image, c.Entrypoint, c.Command = cs.Image, cs.Command, cs.Args
	c.Environment = composeEnv(cs.Env)
	c.Labels = maps.Clone(cs.Labels)
	c.Hostname, c.User, c.WorkingDir = cs.Hostname, cs.User, cs.Dir
	c.ExtraHosts = composeHosts(cs.Hosts)
	if d := cs.DNSConfig; d != nil {
		for _, ns := range d.Nameservers {
			c.DNS = append(c.DNS, ns.String())
		}
		c.DNSSearch = d.Search // resolver options are not rendered: docker stack deploy ignores dns_opt
	}
	c.HealthCheck = composeHealth(cs.Healthcheck)
	if cs.StopGracePeriod != nil {
		d := types.Duration(*cs.StopGracePeriod)
		c.StopGracePeriod = &d
	}
	c.StopSignal, c.Tty, c.StdinOpen, c.ReadOnly, c.Init = cs.StopSignal, cs.TTY, cs.OpenStdin, cs.ReadOnly, cs.Init
	c.CapAdd, c.CapDrop = cs.CapabilityAdd, cs.CapabilityDrop
	c.Sysctls = maps.Clone(cs.Sysctls)
	c.Ulimits = composeUlimits(cs.Ulimits)
	if ld := spec.TaskTemplate.LogDriver; ld != nil {
		c.Logging = &types.LoggingConfig{Driver: ld.Name, Options: maps.Clone(ld.Options)}
	}
	c.OomScoreAdj, c.Isolation = cs.OomScoreAdj, string(cs.Isolation)
	if p := cs.Privileges; p != nil && p.CredentialSpec != nil {
		c.CredentialSpec = &types.CredentialSpecConfig{Config: p.CredentialSpec.Config, File: p.CredentialSpec.File, Registry: p.CredentialSpec.Registry}
	}
	for _, r := range cs.Secrets {
		c.Secrets = append(c.Secrets, types.ServiceSecretConfig(fileRef(r.SecretName, r.File.Name, r.File.UID, r.File.GID, uint32(r.File.Mode))))
	}
	for _, r := range cs.Configs {
		if r.File != nil {
			c.Configs = append(c.Configs, types.ServiceConfigObjConfig(fileRef(r.ConfigName, r.File.Name, r.File.UID, r.File.GID, uint32(r.File.Mode))))
		}
	}
	for _, m := range cs.Mounts {
		c.Volumes = append(c.Volumes, composeMount(m))
	}
	for _, n := range spec.TaskTemplate.Networks {
		if c.Networks == nil {
			c.Networks = map[string]*types.ServiceNetworkConfig{}
		}
		c.Networks[n.Target] = &types.ServiceNetworkConfig{Aliases: n.Aliases, DriverOpts: maps.Clone(n.DriverOpts)}
	}
	if e := spec.EndpointSpec; e != nil {
		for _, p := range e.Ports {
			pc := types.ServicePortConfig{Mode: string(p.PublishMode), Target: p.TargetPort, Protocol: string(p.Protocol)}
			if p.PublishedPort != 0 {
				pc.Published = strconv.FormatUint(uint64(p.PublishedPort), 10)
			}
			c.Ports = append(c.Ports, pc)
		}
	}
	c.Deploy = composeDeploy(spec)
	return c
}

func fileRef(source, target, uid, gid string, mode uint32) types.FileReferenceConfig {
	m := types.FileMode(mode)
	return types.FileReferenceConfig{Source: source, Target: target, UID: uid, GID: gid, Mode: &m}
}

func composeEnv(env []string) types.MappingWithEquals {
	if len(env) == 0 {
		return nil
	}
	out := types.MappingWithEquals{}
	for _, e := range env {
		if k, v, ok := strings.Cut(e, "="); ok {
			out[k] = &v
		} else {
			out[e] = nil
		}
	}
	return out
}

func composeHosts(hosts []string) types.HostsList {
	if len(hosts) == 0 {
		return nil
	}
	out := types.HostsList{}
	for _, h := range hosts {
		fields := strings.Fields(h)
		if len(fields) < 2 {
			continue
		}
		for _, name := range fields[1:] {
			out[name] = append(out[name], fields[0])
		}
	}
	return out
}

func composeHealth(h *container.HealthConfig) *types.HealthCheckConfig {
	if h == nil {
		return nil
	}
	if slices.Equal(h.Test, []string{"NONE"}) {
		return &types.HealthCheckConfig{Disable: true}
	}
	c := &types.HealthCheckConfig{Test: h.Test, Timeout: durationOrNil(h.Timeout), Interval: durationOrNil(h.Interval),
		StartPeriod: durationOrNil(h.StartPeriod), StartInterval: durationOrNil(h.StartInterval)}
	if h.Retries != 0 {
		r := uint64(h.Retries)
		c.Retries = &r
	}
	return c
}

func durationOrNil(d time.Duration) *types.Duration {
	if d == 0 {
		return nil
	}
	v := types.Duration(d)
	return &v
}

func composeUlimits(list []*container.Ulimit) map[string]*types.UlimitsConfig {
	if len(list) == 0 {
		return nil
	}
	out := map[string]*types.UlimitsConfig{}
	for _, u := range list {
		if u.Soft == u.Hard && u.Soft != 0 {
			out[u.Name] = &types.UlimitsConfig{Single: int(u.Soft)}
		} else {
			out[u.Name] = &types.UlimitsConfig{Soft: int(u.Soft), Hard: int(u.Hard)}
		}
	}
	return out
}

func composeMount(m mount.Mount) types.ServiceVolumeConfig {
	v := types.ServiceVolumeConfig{Type: string(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly, Consistency: string(m.Consistency)}
	if m.VolumeOptions != nil && m.VolumeOptions.NoCopy {
		v.Volume = &types.ServiceVolumeVolume{NoCopy: true}
	}
	if m.BindOptions != nil && m.BindOptions.Propagation != "" {
		v.Bind = &types.ServiceVolumeBind{Propagation: string(m.BindOptions.Propagation)}
	}
	if m.TmpfsOptions != nil && m.TmpfsOptions.SizeBytes != 0 {
		v.Tmpfs = &types.ServiceVolumeTmpfs{Size: types.UnitBytes(m.TmpfsOptions.SizeBytes)}
	}
	return v
}

func composeDeploy(spec swarmapi.ServiceSpec) *types.DeployConfig {
	d := &types.DeployConfig{Labels: maps.Clone(spec.Labels)}
	switch m := spec.Mode; {
	case m.Global != nil:
		d.Mode = "global"
	case m.GlobalJob != nil:
		d.Mode = "global-job"
	case m.ReplicatedJob != nil:
		d.Mode = "replicated-job"
		d.Replicas = intPtr(m.ReplicatedJob.TotalCompletions)
	case m.Replicated != nil:
		d.Replicas = intPtr(m.Replicated.Replicas)
	}
	t := spec.TaskTemplate
	if r := t.Resources; r != nil {
		d.Resources = composeResources(r)
	}
	if r := t.RestartPolicy; r != nil {
		d.RestartPolicy = &types.RestartPolicy{Condition: string(r.Condition), Delay: durationPtrOf(r.Delay), MaxAttempts: r.MaxAttempts, Window: durationPtrOf(r.Window)}
	}
	if p := t.Placement; p != nil {
		d.Placement.Constraints = p.Constraints
		for _, pref := range p.Preferences {
			if pref.Spread != nil {
				d.Placement.Preferences = append(d.Placement.Preferences, types.PlacementPreferences{Spread: pref.Spread.SpreadDescriptor})
			}
		}
		d.Placement.MaxReplicas = p.MaxReplicas
	}
	d.UpdateConfig, d.RollbackConfig = composeUpdate(spec.UpdateConfig), composeUpdate(spec.RollbackConfig)
	if e := spec.EndpointSpec; e != nil {
		d.EndpointMode = string(e.Mode)
	}
	return d
}

func intPtr(p *uint64) *int {
	if p == nil {
		return nil
	}
	v := int(*p)
	return &v
}

func durationPtrOf(d *time.Duration) *types.Duration {
	if d == nil {
		return nil
	}
	v := types.Duration(*d)
	return &v
}

func composeResources(r *swarmapi.ResourceRequirements) types.Resources {
	var out types.Resources
	if l := r.Limits; l != nil {
		out.Limits = &types.Resource{NanoCPUs: nanoCPUs(l.NanoCPUs), MemoryBytes: types.UnitBytes(l.MemoryBytes), Pids: l.Pids}
	}
	if res := r.Reservations; res != nil {
		out.Reservations = &types.Resource{NanoCPUs: nanoCPUs(res.NanoCPUs), MemoryBytes: types.UnitBytes(res.MemoryBytes)}
		for _, g := range res.GenericResources {
			if g.DiscreteResourceSpec != nil {
				out.Reservations.GenericResources = append(out.Reservations.GenericResources, types.GenericResource{
					DiscreteResourceSpec: &types.DiscreteGenericResource{Kind: g.DiscreteResourceSpec.Kind, Value: g.DiscreteResourceSpec.Value}})
			}
		}
	}
	return out
}

// nanoCPUs converts to compose-go's float32 CPU count. Values that float32 cannot carry to
// the exact nano CPU are rare (more than 7 significant digits) and round to the nearest.
func nanoCPUs(n int64) types.NanoCPUs {
	f, _ := strconv.ParseFloat(fmt.Sprintf("%d.%09d", n/1e9, n%1e9), 32)
	return types.NanoCPUs(f)
}

func composeUpdate(u *swarmapi.UpdateConfig) *types.UpdateConfig {
	if u == nil {
		return nil
	}
	p := u.Parallelism
	return &types.UpdateConfig{Parallelism: &p, Delay: types.Duration(u.Delay), FailureAction: string(u.FailureAction),
		Monitor: types.Duration(u.Monitor), MaxFailureRatio: u.MaxFailureRatio, Order: string(u.Order)}
}
