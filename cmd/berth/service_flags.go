package main

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/spf13/pflag"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
)

// serviceSpecFlags are the flags `service create` and `service update` share: the same names
// as the Docker CLI's. create takes each list flag as NAME; update as NAME-add and NAME-rm.
// apply changes a spec by the flags that were given, so create (on a fresh spec) and update
// (on the live one) share one mapping.
type serviceSpecFlags struct {
	update bool
	lists  map[string]*listPair

	hostname, user, workdir, stopSignal, endpointMode, isolation, logDriver, entrypoint string
	healthCmd                                                                           string
	healthRetries                                                                       int
	healthInterval, healthTimeout, healthStart, stopGrace                               time.Duration
	noHealthcheck, init, readOnly, tty                                                  bool
	limitCPU, reserveCPU, limitMemory, reserveMemory                                    string
	limitPids                                                                           int64
	restartCondition                                                                    string
	restartDelay, restartWindow                                                         time.Duration
	restartMax, maxPerNode, maxConcurrent                                               uint64
	updateCfg, rollbackCfg                                                              updateFlags
	logOpts                                                                             keyValues
	envFiles                                                                            stringList
	registryAuth, noResolve, quiet, detach                                              bool
}

type listPair struct{ add, rm stringList }

type updateFlags struct {
	parallelism          uint64
	delay, monitor       time.Duration
	failureAction, order string
	maxFailureRatio      float32
}

// listFlags are the list flags: name, shorthand on create, what it holds.
var listFlags = []struct{ name, short, kind, usage string }{
	{"env", "e", "list", "Set environment variables"},
	{"label", "l", "list", "Service labels"},
	{"container-label", "", "list", "Container labels"},
	{"constraint", "", "list", "Placement constraints"},
	{"publish", "p", "port", "Publish a port as a node port"},
	{"network", "", "network", "Network attachments"},
	{"mount", "", "mount", "Attach a filesystem mount to the service"},
	{"secret", "", "secret", "Specify secrets to expose to the service"},
	{"config", "", "config", "Specify configurations to expose to the service"},
	{"dns", "", "list", "Set custom DNS servers"},
	{"dns-option", "", "list", "Set DNS options"},
	{"dns-search", "", "list", "Set custom DNS search domains"},
	{"host", "", "list", `Set one or more custom host-to-IP mappings ("host:ip")`},
	{"group", "", "list", "Set one or more supplementary user groups for the container"},
	{"sysctl", "", "list", "Sysctl options"},
	{"ulimit", "", "ulimit", "Ulimit options"},
	{"placement-pref", "", "pref", "Add a placement preference"},
	{"generic-resource", "", "list", "User defined resources"},
}

func (f *serviceSpecFlags) register(fs *pflag.FlagSet) {
	f.lists = map[string]*listPair{}
	f.logOpts = keyValues{}
	for _, l := range listFlags {
		p := &listPair{}
		f.lists[l.name] = p
		switch {
		case !f.update:
			fs.VarP(typed{&p.add, l.kind}, l.name, l.short, l.usage)
		default:
			fs.Var(typed{&p.add, l.kind}, l.name+"-add", "Add or update: "+l.usage)
			rmKind := "list"
			if l.name == "publish" || l.name == "placement-pref" {
				rmKind = l.kind
			}
			fs.Var(typed{&p.rm, rmKind}, l.name+"-rm", "Remove: "+l.usage)
		}
	}
	caps := &listPair{}
	f.lists["cap"] = caps
	fs.Var(&caps.add, "cap-add", "Add Linux capabilities")
	fs.Var(&caps.rm, "cap-drop", "Drop Linux capabilities")
	if !f.update {
		fs.Var(&f.envFiles, "env-file", "Read in a file of environment variables")
	}
	fs.StringVar(&f.hostname, "hostname", "", "Container hostname")
	fs.StringVarP(&f.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	fs.StringVarP(&f.workdir, "workdir", "w", "", "Working directory inside the container")
	fs.StringVar(&f.stopSignal, "stop-signal", "", "Signal to stop the container")
	fs.DurationVar(&f.stopGrace, "stop-grace-period", 0, "Time to wait before force killing a container (ns|us|ms|s|m|h) (default 10s)")
	fs.StringVar(&f.endpointMode, "endpoint-mode", "vip", "Endpoint mode (vip or dnsrr)")
	fs.StringVar(&f.isolation, "isolation", "", "Service container isolation mode")
	fs.Var(typed{(*stringValue)(&f.entrypoint), "command"}, "entrypoint", "Overwrite the default ENTRYPOINT of the image")
	fs.StringVar(&f.healthCmd, "health-cmd", "", "Command to run to check health")
	fs.DurationVar(&f.healthInterval, "health-interval", 0, "Time between running the check (ms|s|m|h)")
	fs.IntVar(&f.healthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	fs.DurationVar(&f.healthStart, "health-start-period", 0, "Start period for the container to initialize before counting retries towards unstable (ms|s|m|h)")
	fs.DurationVar(&f.healthTimeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h)")
	fs.BoolVar(&f.noHealthcheck, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
	fs.BoolVar(&f.init, "init", false, "Use an init inside each service container to forward signals and reap processes")
	fs.BoolVar(&f.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	fs.BoolVarP(&f.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fs.Var(typed{(*stringValue)(&f.limitCPU), "decimal"}, "limit-cpu", "Limit CPUs")
	fs.Var(typed{(*stringValue)(&f.limitMemory), "bytes"}, "limit-memory", "Limit Memory")
	fs.Int64Var(&f.limitPids, "limit-pids", 0, "Limit maximum number of processes (default 0 = unlimited)")
	fs.Var(typed{(*stringValue)(&f.reserveCPU), "decimal"}, "reserve-cpu", "Reserve CPUs")
	fs.Var(typed{(*stringValue)(&f.reserveMemory), "bytes"}, "reserve-memory", "Reserve Memory")
	fs.StringVar(&f.restartCondition, "restart-condition", "", `Restart when condition is met ("none", "on-failure", "any") (default "any")`)
	fs.DurationVar(&f.restartDelay, "restart-delay", 0, "Delay between restart attempts (ns|us|ms|s|m|h) (default 5s)")
	fs.Uint64Var(&f.restartMax, "restart-max-attempts", 0, "Maximum number of restarts before giving up")
	fs.DurationVar(&f.restartWindow, "restart-window", 0, "Window used to evaluate the restart policy (ns|us|ms|s|m|h)")
	fs.Uint64Var(&f.maxConcurrent, "max-concurrent", 0, "Number of job tasks to run concurrently (default equal to --replicas)")
	fs.Uint64Var(&f.maxPerNode, "replicas-max-per-node", 0, "Maximum number of tasks per node (default 0 = unlimited)")
	f.updateCfg.register(fs, "update")
	f.rollbackCfg.register(fs, "rollback")
	fs.StringVar(&f.logDriver, "log-driver", "", "Logging driver for service")
	fs.Var(f.logOpts, "log-opt", "Logging driver options")
	fs.BoolVar(&f.registryAuth, "with-registry-auth", false, "Send registry authentication details to swarm agents")
	fs.BoolVar(&f.noResolve, "no-resolve-image", false, "Do not query the registry to resolve image digest and supported platforms")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "Suppress progress output")
	fs.BoolVarP(&f.detach, "detach", "d", false, "Exit immediately instead of waiting for the service to converge")
}

func (u *updateFlags) register(fs *pflag.FlagSet, kind string) {
	fs.Uint64Var(&u.parallelism, kind+"-parallelism", 1, "Maximum number of tasks updated simultaneously (0 to update all at once)")
	fs.DurationVar(&u.delay, kind+"-delay", 0, "Delay between updates (ns|us|ms|s|m|h)")
	fs.DurationVar(&u.monitor, kind+"-monitor", 5*time.Second, "Duration after each task update to monitor for failure (ns|us|ms|s|m|h)")
	fs.StringVar(&u.failureAction, kind+"-failure-action", "pause", `Action on `+kind+` failure ("pause", "continue"`+map[bool]string{true: `, "rollback"`}[kind == "update"]+`)`)
	fs.StringVar(&u.order, kind+"-order", "stop-first", kind+` order ("start-first", "stop-first")`)
	fs.Float32Var(&u.maxFailureRatio, kind+"-max-failure-ratio", 0, "Failure rate to tolerate during an "+kind)
}

type stringValue string

func (s *stringValue) String() string     { return string(*s) }
func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }
func (s *stringValue) Type() string       { return "string" }

// apply changes spec by the flags set in fs; problems name the flag ("service update/mount-add[0]").
func (f *serviceSpecFlags) apply(fs *pflag.FlagSet, spec *swarmtypes.ServiceSpec, verb string) error {
	if spec.TaskTemplate.ContainerSpec == nil {
		return berth.Invalid(verb, "%s has no container spec", spec.Name)
	}
	var p berth.Problems
	c := spec.TaskTemplate.ContainerSpec
	set := fs.Changed
	if !f.update {
		createDefaults(spec, f.init)
	}
	if set("hostname") {
		c.Hostname = f.hostname
	}
	if set("user") {
		c.User = f.user
	}
	if set("workdir") {
		c.Dir = f.workdir
	}
	if set("stop-signal") {
		c.StopSignal = f.stopSignal
	}
	if set("stop-grace-period") {
		d := f.stopGrace
		c.StopGracePeriod = &d
	}
	if set("entrypoint") {
		c.Command = strings.Fields(f.entrypoint)
	}
	if set("init") {
		v := f.init
		c.Init = &v
	}
	if set("read-only") {
		c.ReadOnly = f.readOnly
	}
	if set("tty") {
		c.TTY = f.tty
	}
	if set("isolation") {
		c.Isolation = container.Isolation(f.isolation)
	}
	if set("endpoint-mode") {
		if spec.EndpointSpec == nil {
			spec.EndpointSpec = &swarmtypes.EndpointSpec{}
		}
		spec.EndpointSpec.Mode = swarmtypes.ResolutionMode(f.endpointMode)
	}
	f.applyHealth(set, c, &p, verb)
	f.applyResources(set, spec, &p, verb)
	f.applyPolicies(set, spec)
	if set("log-driver") || set("log-opt") {
		if spec.TaskTemplate.LogDriver == nil {
			spec.TaskTemplate.LogDriver = &swarmtypes.Driver{}
		}
		if set("log-driver") {
			spec.TaskTemplate.LogDriver.Name = f.logDriver
		}
		if len(f.logOpts) > 0 {
			if spec.TaskTemplate.LogDriver.Options == nil {
				spec.TaskTemplate.LogDriver.Options = map[string]string{}
			}
			maps.Copy(spec.TaskTemplate.LogDriver.Options, f.logOpts)
		}
	}
	if set("max-concurrent") {
		if spec.Mode.ReplicatedJob == nil {
			p.Add(verb+"/max-concurrent", "only a replicated-job service runs tasks concurrently up to a maximum")
		} else {
			n := f.maxConcurrent
			spec.Mode.ReplicatedJob.MaxConcurrent = &n
		}
	}
	if set("replicas-max-per-node") {
		placement(spec).MaxReplicas = f.maxPerNode
	}
	for i, file := range f.envFiles {
		lines, err := readEnvFile(file)
		p.AddErr(fmt.Sprintf("%s/env-file[%d]", verb, i), err)
		f.lists["env"].add = append(lines, f.lists["env"].add...)
	}
	f.applyLists(spec, &p, verb)
	return p.Err()
}

func (f *serviceSpecFlags) applyHealth(set func(string) bool, c *swarmtypes.ContainerSpec, p *berth.Problems, verb string) {
	if f.noHealthcheck {
		if set("health-cmd") {
			p.Add(verb+"/no-healthcheck", "--no-healthcheck conflicts with --health-* options")
		}
		c.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
		return
	}
	if !(set("health-cmd") || set("health-interval") || set("health-retries") || set("health-start-period") || set("health-timeout")) {
		return
	}
	if c.Healthcheck == nil {
		c.Healthcheck = &container.HealthConfig{}
	}
	h := c.Healthcheck
	if set("health-cmd") {
		h.Test = []string{"CMD-SHELL", f.healthCmd}
		if f.healthCmd == "" {
			h.Test = nil
		}
	}
	for name, d := range map[string]time.Duration{"health-interval": f.healthInterval, "health-timeout": f.healthTimeout, "health-start-period": f.healthStart} {
		if d < 0 {
			p.Add(verb+"/"+name, "%s is negative", d)
		}
	}
	if set("health-interval") {
		h.Interval = f.healthInterval
	}
	if set("health-timeout") {
		h.Timeout = f.healthTimeout
	}
	if set("health-start-period") {
		h.StartPeriod = f.healthStart
	}
	if set("health-retries") {
		h.Retries = f.healthRetries
	}
}

func (f *serviceSpecFlags) applyResources(set func(string) bool, spec *swarmtypes.ServiceSpec, p *berth.Problems, verb string) {
	res := func() *swarmtypes.ResourceRequirements {
		if spec.TaskTemplate.Resources == nil {
			spec.TaskTemplate.Resources = &swarmtypes.ResourceRequirements{}
		}
		return spec.TaskTemplate.Resources
	}
	limits := func() *swarmtypes.Limit {
		if res().Limits == nil {
			res().Limits = &swarmtypes.Limit{}
		}
		return res().Limits
	}
	reserve := func() *swarmtypes.Resources {
		if res().Reservations == nil {
			res().Reservations = &swarmtypes.Resources{}
		}
		return res().Reservations
	}
	cpus := func(name, v string) int64 {
		n, err := swarm.ParseCPUs(v)
		p.AddErr(verb+"/"+name, err)
		return n
	}
	mem := func(name, v string) int64 {
		n, err := units.RAMInBytes(v)
		if err != nil {
			p.Add(verb+"/"+name, "%q is not a size (bytes, or with k, m, g)", v)
		}
		return n
	}
	if set("limit-cpu") {
		limits().NanoCPUs = cpus("limit-cpu", f.limitCPU)
	}
	if set("limit-memory") {
		limits().MemoryBytes = mem("limit-memory", f.limitMemory)
	}
	if set("limit-pids") {
		limits().Pids = f.limitPids
	}
	if set("reserve-cpu") {
		reserve().NanoCPUs = cpus("reserve-cpu", f.reserveCPU)
	}
	if set("reserve-memory") {
		reserve().MemoryBytes = mem("reserve-memory", f.reserveMemory)
	}
	if pair := f.lists["generic-resource"]; len(pair.add)+len(pair.rm) > 0 {
		var out []swarmtypes.GenericResource
		for _, g := range reserve().GenericResources {
			kind := ""
			switch {
			case g.DiscreteResourceSpec != nil:
				kind = g.DiscreteResourceSpec.Kind
			case g.NamedResourceSpec != nil:
				kind = g.NamedResourceSpec.Kind
			}
			if !slices.Contains(pair.rm, kind) {
				out = append(out, g)
			}
		}
		for i, s := range pair.add {
			k, v, ok := strings.Cut(s, "=")
			if !ok || k == "" {
				p.Add(fmt.Sprintf("%s/generic-resource[%d]", verb, i), "%q: want KIND=VALUE", s)
				continue
			}
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				out = append(out, swarmtypes.GenericResource{DiscreteResourceSpec: &swarmtypes.DiscreteGenericResource{Kind: k, Value: n}})
			} else {
				out = append(out, swarmtypes.GenericResource{NamedResourceSpec: &swarmtypes.NamedGenericResource{Kind: k, Value: v}})
			}
		}
		reserve().GenericResources = out
	}
}

func (f *serviceSpecFlags) applyPolicies(set func(string) bool, spec *swarmtypes.ServiceSpec) {
	if set("restart-condition") || set("restart-delay") || set("restart-max-attempts") || set("restart-window") {
		if spec.TaskTemplate.RestartPolicy == nil {
			spec.TaskTemplate.RestartPolicy = &swarmtypes.RestartPolicy{}
		}
		r := spec.TaskTemplate.RestartPolicy
		if set("restart-condition") {
			r.Condition = swarmtypes.RestartPolicyCondition(f.restartCondition)
		}
		if set("restart-delay") {
			d := f.restartDelay
			r.Delay = &d
		}
		if set("restart-max-attempts") {
			n := f.restartMax
			r.MaxAttempts = &n
		}
		if set("restart-window") {
			d := f.restartWindow
			r.Window = &d
		}
	}
	for _, kind := range []string{"update", "rollback"} {
		cfg, dst := &f.updateCfg, &spec.UpdateConfig
		if kind == "rollback" {
			cfg, dst = &f.rollbackCfg, &spec.RollbackConfig
		}
		changed := set
		if !f.update && cfg.changed(set, kind) {
			// create sends a config whole, the flags' defaults filling it, as the Docker CLI does
			changed = func(string) bool { return true }
		}
		cfg.apply(changed, kind, dst)
	}
}

func (u *updateFlags) changed(set func(string) bool, kind string) bool {
	return set(kind+"-parallelism") || set(kind+"-delay") || set(kind+"-monitor") || set(kind+"-failure-action") || set(kind+"-order") || set(kind+"-max-failure-ratio")
}

func (u *updateFlags) apply(set func(string) bool, kind string, dst **swarmtypes.UpdateConfig) {
	if !u.changed(set, kind) {
		return
	}
	if *dst == nil {
		*dst = &swarmtypes.UpdateConfig{}
	}
	c := *dst
	if set(kind + "-parallelism") {
		c.Parallelism = u.parallelism
	}
	if set(kind + "-delay") {
		c.Delay = u.delay
	}
	if set(kind + "-monitor") {
		c.Monitor = u.monitor
	}
	if set(kind + "-failure-action") {
		c.FailureAction = swarmtypes.FailureAction(u.failureAction)
	}
	if set(kind + "-order") {
		c.Order = swarmtypes.UpdateOrder(u.order)
	}
	if set(kind + "-max-failure-ratio") {
		c.MaxFailureRatio = u.maxFailureRatio
	}
}

// createDefaults fills in what `docker service create` always sends, so a service berth
// creates has the spec docker's would.
func createDefaults(spec *swarmtypes.ServiceSpec, init bool) {
	c := spec.TaskTemplate.ContainerSpec
	c.Init = &init
	if c.DNSConfig == nil {
		c.DNSConfig = &swarmtypes.DNSConfig{}
	}
	t := &spec.TaskTemplate
	if t.Resources == nil {
		t.Resources = &swarmtypes.ResourceRequirements{}
	}
	if t.Resources.Limits == nil {
		t.Resources.Limits = &swarmtypes.Limit{}
	}
	if t.Resources.Reservations == nil {
		t.Resources.Reservations = &swarmtypes.Resources{}
	}
	placement(spec)
	if spec.EndpointSpec == nil {
		spec.EndpointSpec = &swarmtypes.EndpointSpec{Mode: swarmtypes.ResolutionModeVIP}
	}
}

func placement(spec *swarmtypes.ServiceSpec) *swarmtypes.Placement {
	if spec.TaskTemplate.Placement == nil {
		spec.TaskTemplate.Placement = &swarmtypes.Placement{}
	}
	return spec.TaskTemplate.Placement
}

// readEnvFile reads KEY=VALUE lines (KEY alone takes this shell's value), skipping blank
// lines and # comments, as `docker service create --env-file` does.
func readEnvFile(name string) ([]string, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out, sc.Err()
}
