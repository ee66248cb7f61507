package stack

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client/pkg/versions"
)

// Spec is a compiled stack: what `docker stack deploy` would send to the Engine, with names
// prefixed and labels set. It is deterministic (every list sorted) and marshals to JSON.
// Secret and config IDs are not known yet: references carry names only, resolved by Deploy.
type Spec struct {
	Stack    string        `json:"stack"`
	Services []ServiceSpec `json:"services"`
	Networks []NetworkSpec `json:"networks,omitempty"`
	Volumes  []VolumeSpec  `json:"volumes,omitempty"`
	Secrets  []SecretSpec  `json:"secrets,omitempty"`
	Configs  []ConfigSpec  `json:"configs,omitempty"`
	Warnings []Warning     `json:"warnings,omitempty"`
}

// ServiceSpec is one compiled service; Key is its name inside the stack ("api").
type ServiceSpec struct {
	Key  string               `json:"key"`
	Spec swarmapi.ServiceSpec `json:"spec"`
}

// NetworkSpec is a network the stack's services use. External networks are not created;
// Deploy checks that they exist. Options is the Engine API's create request (an API type, not
// the client's options, so that the compiled Spec marshals the same across client versions);
// its Driver is empty when the stack names none (Deploy then uses overlay, as the Docker CLI
// does).
type NetworkSpec struct {
	Key      string                `json:"key"`
	Name     string                `json:"name"`
	External bool                  `json:"external,omitempty"`
	Options  network.CreateRequest `json:"options"`
}

// VolumeSpec is a named volume of the stack: swarm creates it on the nodes from the mounts'
// options; it is listed for plans and rendering.
type VolumeSpec struct {
	Key        string            `json:"key"`
	Name       string            `json:"name"`
	External   bool              `json:"external,omitempty"`
	Driver     string            `json:"driver,omitempty"`
	DriverOpts map[string]string `json:"driver_opts,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// SecretSpec is a secret of the stack. When File is set, Deploy reads the data from it.
type SecretSpec struct {
	Key      string              `json:"key"`
	External bool                `json:"external,omitempty"`
	File     string              `json:"file,omitempty"`
	Spec     swarmapi.SecretSpec `json:"spec"`
}

// MarshalJSON writes the secret with its data as Redacted: a compiled stack's JSON is for
// reading (stack config --format json, plans), and berth never prints a secret's data.
func (s SecretSpec) MarshalJSON() ([]byte, error) {
	type plain SecretSpec
	type redactedSpec struct {
		plain
		Spec any `json:"spec"`
	}
	spec := s.Spec
	if len(spec.Data) == 0 {
		return json.Marshal(redactedSpec{plain(s), spec})
	}
	spec.Data = nil
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	m["Data"] = Redacted
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<redacted>", not "\u003credacted\u003e"
	err = enc.Encode(redactedSpec{plain(s), m})
	return bytes.TrimSpace(b.Bytes()), err
}

// ConfigSpec is a config of the stack. When File is set, Deploy reads the data from it.
type ConfigSpec struct {
	Key      string              `json:"key"`
	External bool                `json:"external,omitempty"`
	File     string              `json:"file,omitempty"`
	Spec     swarmapi.ConfigSpec `json:"spec"`
}

// Scope returns the name of a stack object: "STACK_name".
func (s *Stack) Scope(name string) string { return s.name + "_" + name }

// Compile checks the whole stack and returns its Spec, or every problem, sorted, as joined
// *berth.ValidationError values (errors.Is(err, berth.ErrInvalid)). It does no I/O.
func (s *Stack) Compile() (*Spec, error) { return s.CompileFor("") }

// CompileFor is Compile for an engine that speaks API version apiVersion ("1.41"): a field
// that version cannot carry is a problem naming the field and both versions. An empty
// version checks nothing.
func (s *Stack) CompileFor(apiVersion string) (*Spec, error) {
	c := &compiler{stack: s}
	for _, p := range s.problems {
		c.problems.AddErr(p.Path, p)
	}
	spec := &Spec{Stack: s.name, Warnings: slices.Clone(s.warnings)}
	used := map[string]bool{}
	for _, svc := range s.sortedServices() {
		svcSpec, err := svc.CompileAt(s.path("services", svc.Name()))
		ss, ok := c.service(svc.Name(), svcSpec, err, used)
		if ok {
			c.checkService(s.path("services", svc.Name()), ss.Spec)
			c.checkVersion(svc.Name(), ss.Spec, apiVersion)
			spec.Services = append(spec.Services, ss)
		}
	}
	spec.Networks = c.networks(used)
	spec.Volumes = c.volumes()
	spec.Secrets, spec.Configs = c.secrets(), c.configs()
	if err := c.problems.Err(); err != nil {
		return nil, err
	}
	return spec, nil
}

type compiler struct {
	stack    *Stack
	problems berth.Problems
}

func (s *Stack) sortedServices() []*swarm.Service {
	out := slices.Clone(s.services)
	slices.SortStableFunc(out, func(a, b *swarm.Service) int { return cmp.Compare(a.Name(), b.Name()) })
	return out
}

var serviceNamePattern = regexp.MustCompile(`^[a-zA-Z0-9](?:[-_]*[a-zA-Z0-9]+)*$`)

// service scopes one compiled service spec into the stack.
func (c *compiler) service(key string, spec swarmapi.ServiceSpec, err error, used map[string]bool) (ServiceSpec, bool) {
	c.problems.AddErr(c.stack.path("services", key), err)
	s := c.stack
	base := s.path("services", key)
	spec.Name = s.Scope(key)
	if !validServiceName(spec.Name) {
		c.problems.Add(base, "service name %q is invalid: swarm wants at most 63 letters, digits, '-' and '_'", spec.Name)
	}
	spec.Labels = s.addLabel(spec.Labels)
	spec.Labels[LabelImage] = spec.TaskTemplate.ContainerSpec.Image
	cs := spec.TaskTemplate.ContainerSpec
	cs.Labels = s.addLabel(cs.Labels)
	if cs.Privileges == nil {
		cs.Privileges = &swarmapi.Privileges{}
	}
	if spec.TaskTemplate.Placement == nil {
		spec.TaskTemplate.Placement = &swarmapi.Placement{}
	}
	if spec.TaskTemplate.Resources == nil {
		spec.TaskTemplate.Resources = &swarmapi.ResourceRequirements{}
	}
	if spec.EndpointSpec == nil {
		spec.EndpointSpec = &swarmapi.EndpointSpec{}
	}
	spec.TaskTemplate.Networks = c.serviceNetworks(base, key, spec.TaskTemplate.Networks, used)
	cs.Mounts = c.mounts(base, cs.Mounts)
	cs.Secrets = c.secretRefs(base, cs.Secrets)
	cs.Configs = c.configRefs(base, cs.Configs)
	return ServiceSpec{Key: key, Spec: spec}, err == nil
}

func validServiceName(name string) bool {
	return len(name) <= 63 && serviceNamePattern.MatchString(name)
}

func (s *Stack) addLabel(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	out[LabelNamespace] = s.name
	return out
}

// serviceNetworks maps network keys to real names, adds the service name as an alias on
// user-defined networks and attaches services without networks to "default".
func (c *compiler) serviceNetworks(base, key string, nets []swarmapi.NetworkAttachmentConfig, used map[string]bool) []swarmapi.NetworkAttachmentConfig {
	if len(nets) == 0 {
		nets = []swarmapi.NetworkAttachmentConfig{{Target: "default"}}
	}
	out := make([]swarmapi.NetworkAttachmentConfig, 0, len(nets))
	for _, n := range nets {
		decl, ok := c.stack.networks[n.Target]
		if !ok && n.Target != "default" {
			c.problems.Add(base+"/networks/"+n.Target, "network %q is not declared in the stack (declare it with Network(%q), external if it exists already)", n.Target, n.Target)
			continue
		}
		used[n.Target] = true
		n.Target = c.stack.networkName(n.Target, decl)
		n.Aliases = slices.Clone(n.Aliases)
		if userDefined(n.Target) {
			n.Aliases = append(n.Aliases, key)
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b swarmapi.NetworkAttachmentConfig) int { return cmp.Compare(a.Target, b.Target) })
	return out
}

func (s *Stack) networkName(key string, n *Network) string {
	if n != nil && n.name != "" {
		return n.name
	}
	if n != nil && n.external {
		return key
	}
	return s.Scope(key)
}

// userDefined mirrors container.NetworkMode.IsUserDefined: not default, bridge, host, none
// or container:.
func userDefined(name string) bool {
	switch name {
	case "default", "bridge", "host", "none":
		return false
	}
	return len(name) < 10 || name[:10] != "container:"
}

func (c *compiler) mounts(base string, mounts []mount.Mount) []mount.Mount {
	for i, m := range mounts {
		if m.Type != mount.TypeVolume || m.Source == "" {
			continue
		}
		v, ok := c.stack.volumes[m.Source]
		if !ok {
			c.problems.Add(fmt.Sprintf("%s/volumes[%d]/source", base, i), "volume %q is not declared in the stack (declare it with Volume(%q), or use a bind mount for a host path)", m.Source, m.Source)
			continue
		}
		opts := &mount.VolumeOptions{}
		if m.VolumeOptions != nil {
			*opts = *m.VolumeOptions
		}
		m.Source = c.stack.volumeName(m.Source, v)
		if !v.external {
			opts.Labels = c.stack.addLabel(v.labels)
			if v.driver != "" || v.driverOpts != nil {
				opts.DriverConfig = &mount.Driver{Name: v.driver, Options: maps.Clone(v.driverOpts)}
			}
		}
		m.VolumeOptions = opts
		mounts[i] = m
	}
	return mounts
}

func (s *Stack) volumeName(key string, v *Volume) string {
	switch {
	case v.name != "":
		return v.name
	case v.external:
		return key
	}
	return s.Scope(key)
}

func (s *Stack) objectName(o *object) string {
	switch {
	case o.name != "":
		return o.name
	case o.external:
		return o.key
	}
	return s.Scope(o.key)
}

func (c *compiler) secretRefs(base string, refs []*swarmapi.SecretReference) []*swarmapi.SecretReference {
	for i, r := range refs {
		if r.SecretID != "" {
			continue
		}
		x, ok := c.stack.secrets[r.SecretName]
		if !ok {
			c.problems.Add(fmt.Sprintf("%s/secrets[%d]", base, i), "secret %q is not declared in the stack (declare it with Secret(%q))", r.SecretName, r.SecretName)
			continue
		}
		r.SecretName = c.stack.objectName(&x.object)
	}
	slices.SortStableFunc(refs, swarm.CompareSecretRefs)
	return refs
}

func (c *compiler) configRefs(base string, refs []*swarmapi.ConfigReference) []*swarmapi.ConfigReference {
	for i, r := range refs {
		if r.ConfigID != "" {
			continue
		}
		x, ok := c.stack.configs[r.ConfigName]
		if !ok {
			c.problems.Add(fmt.Sprintf("%s/configs[%d]", base, i), "config %q is not declared in the stack (declare it with Config(%q))", r.ConfigName, r.ConfigName)
			continue
		}
		r.ConfigName = c.stack.objectName(&x.object)
	}
	slices.SortStableFunc(refs, swarm.CompareConfigRefs)
	return refs
}

// networks compiles the networks used by services, as the Docker CLI creates only those.
func (c *compiler) networks(used map[string]bool) []NetworkSpec {
	var out []NetworkSpec
	for _, key := range slices.Sorted(maps.Keys(used)) {
		n := c.stack.networks[key]
		if n == nil {
			n = &Network{stack: c.stack, key: key}
		}
		ns := NetworkSpec{Key: key, Name: c.stack.networkName(key, n), External: n.external}
		if !n.external {
			ns.Options = c.networkOptions(ns.Name, n)
		}
		out = append(out, ns)
	}
	slices.SortFunc(out, func(a, b NetworkSpec) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func (c *compiler) networkOptions(name string, n *Network) network.CreateRequest {
	o := network.CreateRequest{
		Name:       name,
		Labels:     c.stack.addLabel(n.labels),
		Driver:     n.driver,
		Options:    maps.Clone(n.driverOpts),
		Internal:   n.internal,
		Attachable: n.attachable,
	}
	if n.ipamDriver != "" || len(n.subnets) > 0 {
		o.IPAM = &network.IPAM{Driver: n.ipamDriver}
		for _, sn := range n.subnets {
			p, _ := netip.ParsePrefix(sn)
			o.IPAM.Config = append(o.IPAM.Config, network.IPAMConfig{Subnet: p})
		}
	}
	return o
}

func (c *compiler) volumes() []VolumeSpec {
	var out []VolumeSpec
	for _, key := range slices.Sorted(maps.Keys(c.stack.volumes)) {
		v := c.stack.volumes[key]
		vs := VolumeSpec{Key: key, Name: c.stack.volumeName(key, v), External: v.external}
		if !v.external {
			vs.Driver, vs.DriverOpts, vs.Labels = v.driver, maps.Clone(v.driverOpts), c.stack.addLabel(v.labels)
		}
		out = append(out, vs)
	}
	return out
}

func (c *compiler) object(kind string, o *object) (swarmapi.Annotations, bool) {
	if o.external {
		return swarmapi.Annotations{Name: c.stack.objectName(o)}, true
	}
	if o.file == "" && !o.hasData && o.driver == "" {
		c.problems.Add(c.stack.path(kind, o.key), "%s %q has no content: give a file, data, a driver, or mark it external", kind[:len(kind)-1], o.key)
		return swarmapi.Annotations{}, false
	}
	if o.file != "" && o.hasData {
		c.problems.Add(c.stack.path(kind, o.key), "%s %q has both a file and data: give one", kind[:len(kind)-1], o.key)
	}
	return swarmapi.Annotations{Name: c.stack.objectName(o), Labels: c.stack.addLabel(o.labels)}, true
}

func (c *compiler) secrets() []SecretSpec {
	var out []SecretSpec
	for _, key := range slices.Sorted(maps.Keys(c.stack.secrets)) {
		x := c.stack.secrets[key]
		ann, ok := c.object("secrets", &x.object)
		if !ok {
			continue
		}
		ss := SecretSpec{Key: key, External: x.external, Spec: swarmapi.SecretSpec{Annotations: ann}}
		if !x.external {
			c.checkObjectName(c.stack.path("secrets", key), "secret", ann.Name)
			c.checkObjectSize(c.stack.path("secrets", key), "secret", x.data, maxSecretBytes)
			ss.File = x.file
			ss.Spec.Data = slices.Clone(x.data)
			if x.driver != "" {
				ss.File, ss.Spec.Data = "", []byte{}
				ss.Spec.Driver = &swarmapi.Driver{Name: x.driver, Options: maps.Clone(x.driverOpts)}
			}
			if x.templateDriver != "" {
				ss.Spec.Templating = &swarmapi.Driver{Name: x.templateDriver}
			}
		}
		out = append(out, ss)
	}
	return out
}

func (c *compiler) configs() []ConfigSpec {
	var out []ConfigSpec
	for _, key := range slices.Sorted(maps.Keys(c.stack.configs)) {
		x := c.stack.configs[key]
		ann, ok := c.object("configs", &x.object)
		if !ok {
			continue
		}
		cs := ConfigSpec{Key: key, External: x.external, Spec: swarmapi.ConfigSpec{Annotations: ann}}
		if !x.external {
			c.checkObjectName(c.stack.path("configs", key), "config", ann.Name)
			c.checkObjectSize(c.stack.path("configs", key), "config", x.data, maxConfigBytes)
			cs.File = x.file
			cs.Spec.Data = slices.Clone(x.data)
			if x.templateDriver != "" {
				cs.Spec.Templating = &swarmapi.Driver{Name: x.templateDriver}
			}
		}
		out = append(out, cs)
	}
	return out
}

// minVersions names fields that need a newer API than 1.41 or older engines, with the
// version that brought them (the Engine API's version history).
var minVersions = []struct {
	path, version string
	set           func(swarmapi.ServiceSpec) bool
}{
	{"healthcheck/start_interval", "1.44", func(s swarmapi.ServiceSpec) bool {
		h := s.TaskTemplate.ContainerSpec.Healthcheck
		return h != nil && h.StartInterval != 0
	}},
	{"oom_score_adj", "1.46", func(s swarmapi.ServiceSpec) bool { return s.TaskTemplate.ContainerSpec.OomScoreAdj != 0 }},
	{"volumes/volume/subpath", "1.45", anyMount(func(m mount.Mount) bool { return m.VolumeOptions != nil && m.VolumeOptions.Subpath != "" })},
	{"volumes/tmpfs/options", "1.46", anyMount(func(m mount.Mount) bool { return m.TmpfsOptions != nil && len(m.TmpfsOptions.Options) > 0 })},
	{"volumes/type (cluster)", "1.42", anyMount(func(m mount.Mount) bool { return m.Type == mount.TypeCluster })},
	{"volumes/bind/create_host_path", "1.42", anyMount(func(m mount.Mount) bool { return m.BindOptions != nil && m.BindOptions.CreateMountpoint })},
	{"volumes/bind/read_only_non_recursive", "1.44", anyMount(func(m mount.Mount) bool {
		return m.BindOptions != nil && (m.BindOptions.ReadOnlyNonRecursive || m.BindOptions.ReadOnlyForceRecursive)
	})},
	{"cap_add", "1.41", func(s swarmapi.ServiceSpec) bool { return len(s.TaskTemplate.ContainerSpec.CapabilityAdd) > 0 }},
	{"cap_drop", "1.41", func(s swarmapi.ServiceSpec) bool { return len(s.TaskTemplate.ContainerSpec.CapabilityDrop) > 0 }},
	{"ulimits", "1.41", func(s swarmapi.ServiceSpec) bool { return len(s.TaskTemplate.ContainerSpec.Ulimits) > 0 }},
	{"deploy/mode", "1.41", func(s swarmapi.ServiceSpec) bool { return s.Mode.ReplicatedJob != nil || s.Mode.GlobalJob != nil }},
	{"deploy/resources/limits/pids", "1.41", func(s swarmapi.ServiceSpec) bool {
		r := s.TaskTemplate.Resources
		return r != nil && r.Limits != nil && r.Limits.Pids != 0
	}},
	{"sysctls", "1.40", func(s swarmapi.ServiceSpec) bool { return len(s.TaskTemplate.ContainerSpec.Sysctls) > 0 }},
	{"deploy/placement/max_replicas_per_node", "1.40", func(s swarmapi.ServiceSpec) bool {
		p := s.TaskTemplate.Placement
		return p != nil && p.MaxReplicas != 0
	}},
}

func anyMount(f func(mount.Mount) bool) func(swarmapi.ServiceSpec) bool {
	return func(s swarmapi.ServiceSpec) bool { return slices.ContainsFunc(s.TaskTemplate.ContainerSpec.Mounts, f) }
}

func (c *compiler) checkVersion(key string, spec swarmapi.ServiceSpec, apiVersion string) {
	versionProblems(&c.problems, c.stack.path("services", key), spec, apiVersion)
}

// versionProblems adds a problem for each field of spec that API version apiVersion cannot
// carry (an engine of that version would drop it silently). An empty version checks nothing.
func versionProblems(p *berth.Problems, base string, spec swarmapi.ServiceSpec, apiVersion string) {
	if apiVersion == "" {
		return
	}
	for _, mv := range minVersions {
		if versions.LessThan(apiVersion, mv.version) && mv.set(spec) {
			p.Add(base+"/"+mv.path, "needs Engine API %s or newer; the engine speaks %s", mv.version, apiVersion)
		}
	}
}

// CheckAPI reports, as *berth.ValidationError values, every field of the compiled stack that
// an engine speaking API version apiVersion cannot carry, naming the field and both versions.
// Plan runs it with the client's negotiated version before it reads or writes anything.
func (spec *Spec) CheckAPI(apiVersion string) error {
	var p berth.Problems
	for _, s := range spec.Services {
		versionProblems(&p, "stack/"+spec.Stack+"/services/"+s.Key, s.Spec, apiVersion)
	}
	return p.Err()
}
