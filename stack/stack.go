// Package stack describes a stack of swarm services, networks, volumes, configs and secrets,
// loads one from Compose files, compiles it to exactly what `docker stack deploy` sends to the
// Engine, renders it back to Compose, and deploys it.
//
// The pipeline is the one of DESIGN.md: a builder (New, or Load from Compose files) records
// the stack; Compile turns it, without I/O, into a deterministic Spec or every problem at once
// as *berth.ValidationError values; Spec.Plan reads the live stack and returns typed actions
// (Create, Update with the version read, Remove, Noop, each with a per-field diff) after a
// preflight that reports, before any write, every problem the engine would hit later
// (*PreflightError); Plan.Apply executes exactly that plan, in dependency order and in
// parallel; Watch follows the services until they converge or fail (*swarm.ConvergeError).
// Deploy chains the three. Remove, List, Services and Tasks mirror `docker stack rm`, `ls`,
// `services` and `ps`.
//
// Redeploying an unchanged stack writes nothing: the live specs are compared with the
// compiled ones after the engine's defaults are filled in on both sides, image digests pinned
// by an earlier resolution are kept, and stacks deployed by `docker stack deploy` from the
// same files compare equal too. Secrets and configs are immutable in swarm: when their content
// changes, Apply creates a new object named "NAME-HASH12" (labelled with LabelObject and
// LabelContentHash) and points the services at it; the old one is kept so that a rollback
// (berth's or swarm's own) can return to it, and removed once the services have converged
// (Deploy with Wait) or by the next deploy. Swarm never returns a secret's data, so a secret
// created by the Docker CLI (without berth's hash label) is taken as unchanged, with a
// warning.
//
// A deploy that fails after it has written (the engine refuses a spec, a version conflict,
// the context ends, the engine goes away; with Wait, a service that does not converge) is
// undone: what it created is removed and every service it updated is put back on the spec
// read before the update; the *DeployError says what failed, what was undone and what could
// not be (DeployOptions.NoRollback keeps the partial state instead). A deploy that writes
// holds the stack's deploy lock (a swarm config, LockName): a second deploy of the same stack
// at once fails with a *LockedError before it writes. Removals that fail (Apply's prune,
// Remove) are a *LeftError naming what was left. Deploy, Apply and Remove report progress as
// typed Events.
//
// Names follow the Docker CLI: the service "api" of stack "echo" is "echo_api", networks,
// secrets and configs declared by the stack are prefixed the same way unless they are external
// or carry an explicit name, and everything the stack creates carries the label
// com.docker.stack.namespace=echo, so `docker stack ls/ps/rm` see stacks that berth deployed
// and berth sees theirs.
//
// Inside a stack, a service's Network, Secret, Config and Volume calls name the keys declared
// with Stack.Network, Stack.Secret, Stack.Config and Stack.Volume ("front", not "echo_front");
// Compile maps them to the real names and reports undeclared ones. A service without networks
// joins the stack's "default" network, as with the Docker CLI.
//
// Load reads Compose files as `docker stack deploy` does where compose-go reads them
// differently: a command or entrypoint given as a string is split with the Docker CLI's
// shell-word rules (operators such as && stay words), env_file values are taken as written,
// quotes included (the Docker CLI's parser; `docker compose` strips them), extra_hosts keep the
// order written, depends_on naming a service that is not in the file is a warning, and a
// published port range to one target publishes each port of the range to it.
//
// Compile refuses, before anything is written, what swarm refuses when it stores a service
// (swarmkit's service-spec validation: jobs with an update config, replicas with a global
// mode, negative durations, names, duplicate ports, mount and secret or config targets,
// healthcheck durations under 1ms, CPU and memory minimums, ingress ports with dnsrr) and
// what the engine refuses when it creates a task's container (unknown signals, capabilities
// and ulimits, kernel parameters that are not namespaced, a memory reservation above the
// limit): the Docker CLI finds these only after it has created the stack's networks.
//
// Plan also refuses, before any write, a field that the engine's negotiated API version cannot
// carry (Spec.CheckAPI). MergedCompose prints the merged, interpolated files as `docker stack
// config` does. Inline secret data is never printed: it shows as Redacted in MergedCompose and
// in a Spec's JSON, and plans carry no secret data.
//
// # Intended differences from docker stack deploy
//
// The conformance test (conformance_test.go) deploys real stack files with both and compares
// what the engine stores; these are the differences it expects, and the only ones:
//
//	| difference                         | docker stack deploy                 | berth                                                |
//	|------------------------------------|-------------------------------------|------------------------------------------------------|
//	| validation                         | swarm refuses after earlier writes  | Compile and the preflight refuse before any write    |
//	| .env next to the first file        | not read                            | read for interpolation (the environment wins)        |
//	| secret and config labels           | namespace label only                | also LabelObject and LabelContentHash                |
//	| changed secret or config content   | update refused by swarm             | a new object NAME-HASH12; services point at it       |
//	| unchanged service on redeploy      | updated (loses its rollback target) | not updated                                          |
//	| credential_spec.config             | config ID put in the spec           | refused (file and registry are converted)            |
//	| two files merged                   | CLI merge rules                     | Compose specification merge rules (see below)        |
//
// When several files are merged, Load follows the Compose specification's merge rules, while
// the Docker CLI sorts an overridden service's volumes by target and keeps one reference per
// secret or config source.
package stack

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
)

// Labels set by the Docker CLI on what a stack creates.
const (
	LabelNamespace = "com.docker.stack.namespace" // on services, containers, networks, secrets, configs, volumes
	LabelImage     = "com.docker.stack.image"     // on services: the image as written in the stack
)

// Stack is a stack being described. Methods never fail mid-chain; Compile reports every
// problem. The zero value is not usable; start with New or Load.
type Stack struct {
	name     string
	services []*swarm.Service
	networks map[string]*Network
	volumes  map[string]*Volume
	secrets  map[string]*Secret
	configs  map[string]*Config
	warnings []Warning
	problems []*berth.ValidationError
}

// Warning is something the stack contains that Compile does not carry to the Engine (a
// Compose field that `docker stack deploy` ignores, such as build or depends_on).
type Warning struct {
	Path string `json:"path"`
	Msg  string `json:"msg"`
}

// String renders the warning as "path: message".
func (w Warning) String() string { return w.Path + ": " + w.Msg }

var stackNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// New starts the description of a stack called name (the namespace of everything it creates).
func New(name string) *Stack {
	s := &Stack{
		name:     name,
		networks: map[string]*Network{},
		volumes:  map[string]*Volume{},
		secrets:  map[string]*Secret{},
		configs:  map[string]*Config{},
	}
	if !stackNamePattern.MatchString(name) {
		s.addf("", "stack name %q is invalid: use letters, digits, '_', '.' and '-', starting with a letter or digit", name)
	}
	return s
}

// Name returns the stack's name.
func (s *Stack) Name() string { return s.name }

func (s *Stack) path(parts ...string) string {
	p := "stack/" + s.name
	for _, part := range parts {
		if part != "" {
			p += "/" + part
		}
	}
	return p
}

func (s *Stack) addf(rel, format string, args ...any) {
	s.problems = append(s.problems, berth.Invalid(s.path(rel), format, args...))
}

// Warn records a warning at a path relative to the stack ("services/api/build").
func (s *Stack) Warn(rel, format string, args ...any) {
	s.warnings = append(s.warnings, Warning{Path: s.path(rel), Msg: fmt.Sprintf(format, args...)})
}

// Service adds a service called name (unprefixed: "api" becomes "STACK_api") and returns
// its builder. Adding a name twice is an error; use Lookup to find a service again.
func (s *Stack) Service(name string) *swarm.Service {
	if s.Lookup(name) != nil {
		s.addf("services/"+name, "duplicate service %q", name)
	}
	svc := swarm.NewService(name)
	s.services = append(s.services, svc)
	return svc
}

// Lookup returns the builder of the service called name, or nil.
func (s *Stack) Lookup(name string) *swarm.Service {
	for _, svc := range s.services {
		if svc.Name() == name {
			return svc
		}
	}
	return nil
}

// Services returns the names of the stack's services, sorted.
func (s *Stack) Services() []string {
	var out []string
	for _, svc := range s.services {
		out = append(out, svc.Name())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Network declares (or returns the declaration of) the network called key in the stack.
// Services refer to it by key; it is created as STACK_key unless it is External or Named.
func (s *Stack) Network(key string) *Network {
	if n, ok := s.networks[key]; ok {
		return n
	}
	n := &Network{stack: s, key: key}
	s.networks[key] = n
	return n
}

// Network is a network declared by a stack (Compose top-level `networks`).
type Network struct {
	stack      *Stack
	key        string
	name       string
	external   bool
	driver     string
	driverOpts map[string]string
	labels     map[string]string
	internal   bool
	attachable bool
	ipamDriver string
	subnets    []string
}

// External marks the network as created outside the stack: it is not created, and it must
// exist, swarm scoped, when the stack is deployed.
func (n *Network) External() *Network { n.external = true; return n }

// Named sets the network's real name instead of STACK_key (Compose `name:`).
func (n *Network) Named(name string) *Network { n.name = name; return n }

// Driver sets the network driver (default overlay).
func (n *Network) Driver(d string) *Network { n.driver = d; return n }

// Option sets a driver option (Compose driver_opts).
func (n *Network) Option(k, v string) *Network { n.driverOpts = set(n.driverOpts, k, v); return n }

// Label sets a label on the network.
func (n *Network) Label(k, v string) *Network { n.labels = set(n.labels, k, v); return n }

// Internal restricts external access to the network.
func (n *Network) Internal() *Network { n.internal = true; return n }

// Attachable lets standalone containers attach to the network.
func (n *Network) Attachable() *Network { n.attachable = true; return n }

// IPAMDriver sets the IP address management driver.
func (n *Network) IPAMDriver(d string) *Network { n.ipamDriver = d; return n }

// Subnet adds an IPAM subnet in CIDR notation ("10.20.0.0/24").
func (n *Network) Subnet(cidr string) *Network {
	if _, err := netip.ParsePrefix(cidr); err != nil {
		n.stack.addf(fmt.Sprintf("networks/%s/ipam/config[%d]/subnet", n.key, len(n.subnets)), "%q is not a subnet in CIDR notation (e.g. 10.20.0.0/24)", cidr)
	}
	n.subnets = append(n.subnets, cidr)
	return n
}

// Volume declares (or returns the declaration of) the named volume key.
func (s *Stack) Volume(key string) *Volume {
	if v, ok := s.volumes[key]; ok {
		return v
	}
	v := &Volume{key: key}
	s.volumes[key] = v
	return v
}

// Volume is a named volume declared by a stack (Compose top-level `volumes`). Swarm creates it
// on each node that runs a task mounting it, with the driver, options and labels given here.
type Volume struct {
	key        string
	name       string
	external   bool
	driver     string
	driverOpts map[string]string
	labels     map[string]string
}

// External marks the volume as existing outside the stack: mounts use its name as is and
// carry no driver configuration.
func (v *Volume) External() *Volume { v.external = true; return v }

// Named sets the volume's real name instead of STACK_key.
func (v *Volume) Named(name string) *Volume { v.name = name; return v }

// Driver sets the volume driver.
func (v *Volume) Driver(d string) *Volume { v.driver = d; return v }

// Option sets a driver option.
func (v *Volume) Option(k, val string) *Volume { v.driverOpts = set(v.driverOpts, k, val); return v }

// Label sets a label on the volume.
func (v *Volume) Label(k, val string) *Volume { v.labels = set(v.labels, k, val); return v }

// Secret declares (or returns the declaration of) the secret key.
func (s *Stack) Secret(key string) *Secret {
	if v, ok := s.secrets[key]; ok {
		return v
	}
	v := &Secret{object{key: key}}
	s.secrets[key] = v
	return v
}

// Config declares (or returns the declaration of) the config key.
func (s *Stack) Config(key string) *Config {
	if v, ok := s.configs[key]; ok {
		return v
	}
	v := &Config{object{key: key}}
	s.configs[key] = v
	return v
}

// object is what secrets and configs share.
type object struct {
	key            string
	name           string
	external       bool
	file           string
	data           []byte
	hasData        bool
	labels         map[string]string
	driver         string
	driverOpts     map[string]string
	templateDriver string
}

// Secret is a secret declared by a stack (Compose top-level `secrets`).
type Secret struct{ object }

// File takes the secret's content from a file, read when the stack is deployed.
func (x *Secret) File(path string) *Secret { x.file = path; return x }

// Data sets the secret's content.
func (x *Secret) Data(b []byte) *Secret { x.data, x.hasData = slices.Clone(b), true; return x }

// External marks the secret as created outside the stack.
func (x *Secret) External() *Secret { x.external = true; return x }

// Named sets the secret's real name instead of STACK_key.
func (x *Secret) Named(name string) *Secret { x.name = name; return x }

// Label sets a label on the secret.
func (x *Secret) Label(k, v string) *Secret { x.labels = set(x.labels, k, v); return x }

// Driver sets a secret store driver and its options (then no file or data is needed).
func (x *Secret) Driver(name string, opts map[string]string) *Secret {
	x.driver, x.driverOpts = name, maps.Clone(opts)
	return x
}

// TemplateDriver sets the templating driver ("golang").
func (x *Secret) TemplateDriver(name string) *Secret { x.templateDriver = name; return x }

// Config is a config declared by a stack (Compose top-level `configs`).
type Config struct{ object }

// File takes the config's content from a file, read when the stack is deployed.
func (x *Config) File(path string) *Config { x.file = path; return x }

// Data sets the config's content.
func (x *Config) Data(b []byte) *Config { x.data, x.hasData = slices.Clone(b), true; return x }

// External marks the config as created outside the stack.
func (x *Config) External() *Config { x.external = true; return x }

// Named sets the config's real name instead of STACK_key.
func (x *Config) Named(name string) *Config { x.name = name; return x }

// Label sets a label on the config.
func (x *Config) Label(k, v string) *Config { x.labels = set(x.labels, k, v); return x }

// TemplateDriver sets the templating driver ("golang").
func (x *Config) TemplateDriver(name string) *Config { x.templateDriver = name; return x }

func set(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}
