package swarm

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/berthdev/berth"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/mount"
	swarmapi "github.com/moby/moby/api/types/swarm"
)

// Service describes one swarm service as a method chain over a swarm.ServiceSpec of the Engine
// API: what `docker service create` sends, or one service of a stack. A chain never fails
// mid-way: every method records its problems, and Spec (or CompileAt) returns all of them at
// once as *berth.ValidationError values with paths named as in a Compose file
// ("deploy/placement/constraints[0]"). Modify is the escape hatch for fields the builder does
// not name; its functions run last, in order.
//
// The zero value is not usable; start with NewService.
type Service struct {
	name     string
	spec     swarmapi.ServiceSpec
	env      map[string]*string
	mode     string
	replicas *uint64
	imageSet bool // Image was called (an empty reference is reported there)
	ports    int  // port entries given, for paths ("ports[2]")
	problems []serviceProblem
	modify   []func(*swarmapi.ServiceSpec)
}

// serviceProblem is one recorded issue, at a path relative to the service.
type serviceProblem struct{ path, msg string }

// NewService starts the description of a service called name, in replicated mode with the
// engine's default replica count.
func NewService(name string) *Service {
	s := &Service{name: name, env: map[string]*string{}}
	s.spec.Name = name
	s.spec.TaskTemplate.ContainerSpec = &swarmapi.ContainerSpec{}
	if !validServiceName(name) {
		s.addf("", "service name %q is invalid: use letters, digits, '-' and '_', starting and ending with a letter or digit, at most 63 characters", name)
	}
	return s
}

var serviceNamePattern = regexp.MustCompile(`^[a-zA-Z0-9](?:[-_]*[a-zA-Z0-9]+)*$`)

// validServiceName reports whether name is accepted by swarm as a service name (a DNS label
// that may also contain '_').
func validServiceName(name string) bool {
	return len(name) <= 63 && serviceNamePattern.MatchString(name)
}

// Name returns the name given to NewService.
func (s *Service) Name() string { return s.name }

func (s *Service) addf(path, format string, args ...any) {
	s.problems = append(s.problems, serviceProblem{path: path, msg: fmt.Sprintf(format, args...)})
}

func (s *Service) container() *swarmapi.ContainerSpec { return s.spec.TaskTemplate.ContainerSpec }

// Image sets the image reference, as in `docker service create IMAGE`. It must be a valid
// reference ("registry:5000/team/app:1.2", "app@sha256:...").
func (s *Service) Image(ref string) *Service {
	s.container().Image, s.imageSet = ref, true
	if _, err := reference.ParseAnyReference(ref); err != nil || ref == "" {
		s.addf("image", "%q is not a valid image reference (NAME[:TAG][@DIGEST], e.g. registry:5000/team/app:1.2)", ref)
	}
	return s
}

// Entrypoint replaces the image's entrypoint (Compose `entrypoint`, ContainerSpec.Command).
func (s *Service) Entrypoint(args ...string) *Service {
	s.container().Command = slices.Clone(args)
	return s
}

// Command sets the arguments passed to the entrypoint (Compose `command`, ContainerSpec.Args).
func (s *Service) Command(args ...string) *Service {
	s.container().Args = slices.Clone(args)
	return s
}

// Env sets the environment variable key to value. The compiled environment is sorted, as the
// Docker CLI sorts it.
func (s *Service) Env(key, value string) *Service {
	if key == "" || strings.ContainsAny(key, "=") {
		s.addf("environment/"+key, "variable name %q is invalid: it must be non-empty and contain no '='", key)
	}
	s.env[key] = &value
	return s
}

// EnvUnset adds key without a value ("KEY" in the environment list): the task inherits nothing
// and the variable is removed from the image's environment.
func (s *Service) EnvUnset(key string) *Service {
	if key == "" || strings.ContainsAny(key, "=") {
		s.addf("environment/"+key, "variable name %q is invalid: it must be non-empty and contain no '='", key)
	}
	s.env[key] = nil
	return s
}

// Label sets a label on the service itself (Compose `deploy.labels`).
func (s *Service) Label(key, value string) *Service {
	if s.spec.Labels == nil {
		s.spec.Labels = map[string]string{}
	}
	s.spec.Labels[key] = value
	return s
}

// ContainerLabel sets a label on the service's containers (Compose `labels`).
func (s *Service) ContainerLabel(key, value string) *Service {
	c := s.container()
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	c.Labels[key] = value
	return s
}

// Modify registers fn to edit the compiled spec after everything else: the escape hatch for
// fields the builder does not name. Functions run in the order they were registered.
func (s *Service) Modify(fn func(*swarmapi.ServiceSpec)) *Service {
	if fn != nil {
		s.modify = append(s.modify, fn)
	}
	return s
}

// Spec returns the compiled ServiceSpec, or every recorded problem (paths start with
// "service/NAME"). The result is ready for client.ServiceCreateOptions.Spec.
func (s *Service) Spec() (swarmapi.ServiceSpec, error) {
	spec, err := s.CompileAt("service/" + s.name)
	if err != nil {
		return swarmapi.ServiceSpec{}, err
	}
	return spec, nil
}

// CompileAt is Spec with problems reported under path (a stack uses
// "stack/STACK/services/NAME"). The spec is returned even with an error, so that a caller can
// check the rest of it; it is a copy: later builder calls do not change it.
func (s *Service) CompileAt(path string) (swarmapi.ServiceSpec, error) {
	var p berth.Problems
	for _, pr := range slices.Concat(s.problems, s.compileProblems()) {
		p.Add(servicePath(path, pr.path), "%s", pr.msg)
	}
	spec := s.compile()
	for _, fn := range s.modify {
		fn(&spec)
	}
	return spec, p.Err()
}

func servicePath(base, rel string) string {
	switch {
	case rel == "":
		return base
	case base == "":
		return rel
	}
	return base + "/" + rel
}

// compile builds the spec from the recorded state; it copies maps and slices so that the
// result does not alias the builder.
func (s *Service) compile() swarmapi.ServiceSpec {
	spec := s.spec
	spec.Labels = maps.Clone(s.spec.Labels)
	c := *s.spec.TaskTemplate.ContainerSpec
	c.Labels = maps.Clone(c.Labels)
	c.Env = compileEnv(s.env)
	c.Mounts = slices.Clone(c.Mounts)
	c.Secrets = copySortedRefs(c.Secrets, CompareSecretRefs)
	c.Configs = copySortedRefs(c.Configs, CompareConfigRefs)
	c.Ulimits = slices.Clone(c.Ulimits)
	c.Sysctls = maps.Clone(c.Sysctls)
	spec.TaskTemplate.ContainerSpec = &c
	spec.TaskTemplate.Networks = slices.Clone(s.spec.TaskTemplate.Networks)
	slices.SortStableFunc(spec.TaskTemplate.Networks, func(a, b swarmapi.NetworkAttachmentConfig) int { return cmp.Compare(a.Target, b.Target) })
	if p := s.spec.TaskTemplate.Placement; p != nil {
		cp := *p
		cp.Constraints = slices.Clone(p.Constraints)
		cp.Preferences = slices.Clone(p.Preferences)
		spec.TaskTemplate.Placement = &cp
	}
	if e := s.spec.EndpointSpec; e != nil {
		ce := *e
		ce.Ports = slices.Clone(e.Ports)
		slices.SortStableFunc(ce.Ports, swarmapi.PortConfig.Compare)
		spec.EndpointSpec = &ce
	}
	spec.Mode = s.compileMode()
	copyPointers(&spec)
	return spec
}

// copyPointers replaces the pointers of spec that the builder keeps with copies, so that
// Modify functions and callers cannot change the builder through the result.
func copyPointers(spec *swarmapi.ServiceSpec) {
	t := &spec.TaskTemplate
	if r := t.Resources; r != nil {
		cr := *r
		if r.Limits != nil {
			l := *r.Limits
			cr.Limits = &l
		}
		if r.Reservations != nil {
			res := *r.Reservations
			res.GenericResources = slices.Clone(res.GenericResources)
			cr.Reservations = &res
		}
		t.Resources = &cr
	}
	t.RestartPolicy = copyPtr(t.RestartPolicy)
	if t.RestartPolicy != nil {
		t.RestartPolicy.Delay, t.RestartPolicy.Window, t.RestartPolicy.MaxAttempts = copyPtr(t.RestartPolicy.Delay), copyPtr(t.RestartPolicy.Window), copyPtr(t.RestartPolicy.MaxAttempts)
	}
	t.LogDriver = copyPtr(t.LogDriver)
	spec.UpdateConfig = copyPtr(spec.UpdateConfig)
	spec.RollbackConfig = copyPtr(spec.RollbackConfig)
	c := t.ContainerSpec
	if c.Healthcheck != nil {
		h := *c.Healthcheck
		h.Test = slices.Clone(h.Test)
		c.Healthcheck = &h
	}
	for i, n := range t.Networks {
		t.Networks[i].Aliases, t.Networks[i].DriverOpts = slices.Clone(n.Aliases), maps.Clone(n.DriverOpts)
	}
	for i, m := range c.Mounts {
		c.Mounts[i] = copyMount(m)
	}
	if ld := t.LogDriver; ld != nil {
		t.LogDriver.Options = maps.Clone(ld.Options)
	}
	if c.DNSConfig != nil {
		d := *c.DNSConfig
		d.Nameservers, d.Search, d.Options = slices.Clone(d.Nameservers), slices.Clone(d.Search), slices.Clone(d.Options)
		c.DNSConfig = &d
	}
	c.Privileges = copyPtr(c.Privileges)
	c.Init = copyPtr(c.Init)
	c.StopGracePeriod = copyPtr(c.StopGracePeriod)
	c.Command, c.Args = slices.Clone(c.Command), slices.Clone(c.Args)
	c.Hosts = slices.Clone(c.Hosts)
	c.CapabilityAdd, c.CapabilityDrop = effectiveCaps(c.CapabilityAdd, c.CapabilityDrop)
	for i, u := range c.Ulimits {
		c.Ulimits[i] = copyPtr(u)
	}
}

func copySortedRefs[T any](list []*T, cmpFn func(a, b *T) int) []*T {
	if list == nil {
		return nil
	}
	out := make([]*T, len(list))
	for i, v := range list {
		cp := *v
		out[i] = &cp
	}
	slices.SortStableFunc(out, cmpFn)
	return out
}

func compileEnv(env map[string]*string) []string {
	if len(env) == 0 {
		return nil
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		if v == nil {
			out = append(out, k)
		} else {
			out = append(out, k+"="+*v)
		}
	}
	slices.Sort(out)
	return out
}

// effectiveCaps normalises capabilities as the Docker CLI does ("net_admin" → "CAP_NET_ADMIN"):
// ALL trumps the others, a capability both added and dropped is added, and both lists sort.
func effectiveCaps(add, drop []string) (capAdd, capDrop []string) {
	addSet, dropSet := capabilitySet(add), capabilitySet(drop)
	if addSet["ALL"] {
		addSet = map[string]bool{"ALL": true}
	}
	if dropSet["ALL"] {
		dropSet = map[string]bool{"ALL": true}
	}
	for c := range dropSet {
		if !addSet[c] {
			capDrop = append(capDrop, c)
		}
	}
	for c := range addSet {
		capAdd = append(capAdd, c)
	}
	slices.Sort(capAdd)
	slices.Sort(capDrop)
	return capAdd, capDrop
}

func capabilitySet(caps []string) map[string]bool {
	out := map[string]bool{}
	for _, c := range caps {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c != "ALL" && c != "RESET" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out[c] = true
	}
	return out
}

func copyMount(m mount.Mount) mount.Mount {
	m.BindOptions = copyPtr(m.BindOptions)
	m.TmpfsOptions = copyPtr(m.TmpfsOptions)
	if v := m.VolumeOptions; v != nil {
		cv := *v
		cv.Labels = maps.Clone(v.Labels)
		if v.DriverConfig != nil {
			d := *v.DriverConfig
			d.Options = maps.Clone(d.Options)
			cv.DriverConfig = &d
		}
		m.VolumeOptions = &cv
	}
	return m
}

// CompareSecretRefs orders secret references as the Docker CLI does, by secret name, and then
// by target file, where the Docker CLI leaves the order to chance.
func CompareSecretRefs(a, b *swarmapi.SecretReference) int {
	return cmp.Or(cmp.Compare(a.SecretName, b.SecretName), cmp.Compare(refTarget(a.File), refTarget(b.File)))
}

// CompareConfigRefs orders config references like CompareSecretRefs.
func CompareConfigRefs(a, b *swarmapi.ConfigReference) int {
	var fa, fb *swarmapi.SecretReferenceFileTarget
	if a.File != nil {
		fa = (*swarmapi.SecretReferenceFileTarget)(a.File)
	}
	if b.File != nil {
		fb = (*swarmapi.SecretReferenceFileTarget)(b.File)
	}
	return cmp.Or(cmp.Compare(a.ConfigName, b.ConfigName), cmp.Compare(refTarget(fa), refTarget(fb)))
}

func refTarget(f *swarmapi.SecretReferenceFileTarget) string {
	if f == nil {
		return ""
	}
	return f.Name
}
