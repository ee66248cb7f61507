package swarm

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/berthdev/berth"
	"github.com/distribution/reference"
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

// compile builds the spec from the recorded state, on a deep copy (CloneSpec) so that Modify
// functions and callers cannot change the builder through the result.
func (s *Service) compile() swarmapi.ServiceSpec {
	spec := CloneSpec(s.spec)
	c := spec.TaskTemplate.ContainerSpec
	c.Env = compileEnv(s.env)
	slices.SortStableFunc(c.Secrets, CompareSecretRefs)
	slices.SortStableFunc(c.Configs, CompareConfigRefs)
	c.CapabilityAdd, c.CapabilityDrop = effectiveCaps(c.CapabilityAdd, c.CapabilityDrop)
	slices.SortStableFunc(spec.TaskTemplate.Networks, func(a, b swarmapi.NetworkAttachmentConfig) int { return cmp.Compare(a.Target, b.Target) })
	if e := spec.EndpointSpec; e != nil {
		slices.SortStableFunc(e.Ports, swarmapi.PortConfig.Compare)
	}
	spec.Mode = s.compileMode()
	return spec
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
