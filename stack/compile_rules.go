package stack

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	swarmapi "github.com/moby/moby/api/types/swarm"
)

// The rules below are those swarm applies when it stores a service (swarmkit's
// manager/controlapi validateServiceSpec) and those the engine applies when it creates a
// task's container (a spec whose tasks can never start is bad input too). The builder checks
// what one call can see (a negative duration, a port out of range); these rules need the
// whole compiled spec. Compile reports them all before anything is written, where swarm would
// refuse the first one after the stack's networks, secrets and configs were created.

const (
	minDuration     = time.Millisecond // swarmkit: healthcheck durations, when set
	minNanoCPUs     = 1e6              // swarmkit: 0.001 CPU
	minMemoryBytes  = 4 << 20          // swarmkit: 4 MiB
	maxSecretBytes  = 500 << 10        // swarmkit: api/validation MaxSecretSize
	maxConfigBytes  = 1000 << 10       // swarmkit: api/validation MaxConfigSize
	maxObjectName   = 64
	capabilityAll   = "ALL"
	capabilityIdent = "CAP_"
)

// objectNamePattern is swarmkit's rule for secret and config names.
var objectNamePattern = regexp.MustCompile(`^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$`)

// capabilities are the Linux capabilities the engine knows (moby's caps.GetAllCapabilities).
var capabilities = []string{
	"AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE",
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER",
	"KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN",
	"NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP",
	"SETUID", "SYSLOG", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE",
	"SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG",
	"WAKE_ALARM",
}

// ulimitNames are the names the engine's ulimit parser (go-units) accepts.
var ulimitNames = []string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
	"nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}

// namespacedSysctls are the kernel parameters a container may set (runc refuses the others:
// they are not in a separate kernel namespace).
var namespacedSysctls = []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}

// signals are the names the engine's signal parser accepts (with or without SIG).
var signals = []string{"ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT",
	"IO", "IOT", "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS",
	"TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ"}

// checkService applies the rules to one compiled, scoped service spec.
func (c *compiler) checkService(base string, spec swarmapi.ServiceSpec) {
	add := func(rel, format string, args ...any) { c.problems.Add(base+"/"+rel, format, args...) }
	isJob := spec.Mode.ReplicatedJob != nil || spec.Mode.GlobalJob != nil
	if isJob && spec.UpdateConfig != nil {
		add("deploy/update_config", "jobs (mode replicated-job or global-job) may not have an update config: swarm refuses it; remove update_config")
	}
	cs := spec.TaskTemplate.ContainerSpec
	if cs == nil {
		return
	}
	if r := spec.TaskTemplate.Resources; r != nil {
		if r.Limits != nil {
			checkResources(add, "deploy/resources/limits", r.Limits.NanoCPUs, r.Limits.MemoryBytes)
		}
		if r.Reservations != nil {
			checkResources(add, "deploy/resources/reservations", r.Reservations.NanoCPUs, r.Reservations.MemoryBytes)
			if r.Limits != nil && r.Limits.MemoryBytes != 0 && r.Reservations.MemoryBytes > r.Limits.MemoryBytes {
				add("deploy/resources/reservations/memory", "%d bytes is above the memory limit %d: the engine cannot create the task's container", r.Reservations.MemoryBytes, r.Limits.MemoryBytes)
			}
		}
	}
	checkHealth(add, cs.Healthcheck)
	if e := spec.EndpointSpec; e != nil && e.Mode == swarmapi.ResolutionModeDNSRR {
		for i, p := range e.Ports {
			if p.PublishMode == swarmapi.PortConfigPublishModeIngress || p.PublishMode == "" {
				add(fmt.Sprintf("ports[%d]/mode", i), "port %d is published in ingress mode, which endpoint_mode dnsrr cannot use: publish it with mode host, or use endpoint_mode vip", p.TargetPort)
			}
		}
	}
	if cs.StopSignal != "" && !validSignal(cs.StopSignal) {
		add("stop_signal", "%q is not a signal (want a name such as SIGTERM or TERM, SIGRTMIN+N, or a number 1-64)", cs.StopSignal)
	}
	for _, cp := range slices.Concat(cs.CapabilityAdd, cs.CapabilityDrop) {
		if !validCapability(cp) {
			field := "cap_add"
			if slices.Contains(cs.CapabilityDrop, cp) {
				field = "cap_drop"
			}
			add(field, "unknown capability %q (want a Linux capability such as NET_ADMIN or CAP_NET_ADMIN, or ALL)", cp)
		}
	}
	for _, u := range cs.Ulimits {
		if !slices.Contains(ulimitNames, u.Name) {
			add("ulimits/"+u.Name, "unknown ulimit %q (want one of %s)", u.Name, strings.Join(ulimitNames, ", "))
		}
	}
	hostNet := slices.ContainsFunc(spec.TaskTemplate.Networks, func(n swarmapi.NetworkAttachmentConfig) bool { return n.Target == "host" })
	for k := range cs.Sysctls {
		if msg := checkSysctl(k, hostNet); msg != "" {
			add("sysctls/"+k, "%s", msg)
		}
	}
	for i, m := range cs.Mounts {
		if m.BindOptions != nil && m.BindOptions.Propagation != "" && !slices.Contains([]string{"private", "rprivate", "shared", "rshared", "slave", "rslave"}, string(m.BindOptions.Propagation)) {
			add(fmt.Sprintf("volumes[%d]/bind/propagation", i), "unknown propagation %q (want private, rprivate, shared, rshared, slave or rslave)", m.BindOptions.Propagation)
		}
	}
	if p := cs.Privileges; p != nil && p.CredentialSpec != nil {
		checkCredentialSpec(add, p.CredentialSpec)
	}
}

func checkResources(add func(string, string, ...any), path string, nanoCPUs, memory int64) {
	if nanoCPUs != 0 && nanoCPUs < minNanoCPUs {
		add(path+"/cpus", "%g CPUs is below swarm's minimum of 0.001", float64(nanoCPUs)/1e9)
	}
	if memory != 0 && memory < minMemoryBytes {
		add(path+"/memory", "%d bytes is below swarm's minimum of 4 MiB", memory)
	}
}

func checkHealth(add func(string, string, ...any), h *container.HealthConfig) {
	if h == nil {
		return
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start_period", h.StartPeriod}, {"start_interval", h.StartInterval}} {
		if d.d > 0 && d.d < minDuration {
			add("healthcheck/"+d.name, "%s is below swarm's minimum of 1ms (0 means the default)", d.d)
		}
	}
}

func validSignal(s string) bool {
	if n, err := strconv.Atoi(s); err == nil {
		return n >= 1 && n <= 64
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if slices.Contains(signals, name) || name == "RTMIN" || name == "RTMAX" {
		return true
	}
	for _, pre := range []string{"RTMIN+", "RTMAX-"} {
		if rest, ok := strings.CutPrefix(name, pre); ok {
			n, err := strconv.Atoi(rest)
			return err == nil && n >= 1 && n <= 15
		}
	}
	return false
}

func validCapability(c string) bool {
	c = strings.ToUpper(c)
	return c == capabilityAll || slices.Contains(capabilities, strings.TrimPrefix(c, capabilityIdent))
}

func checkSysctl(k string, hostNet bool) string {
	switch {
	case slices.Contains(namespacedSysctls, k), strings.HasPrefix(k, "fs.mqueue."):
		return ""
	case strings.HasPrefix(k, "net.") && hostNet:
		return fmt.Sprintf("%q cannot be set on the host network: it would change the host's", k)
	case strings.HasPrefix(k, "net."):
		return ""
	}
	return fmt.Sprintf("%q is not a namespaced kernel parameter (want net.*, fs.mqueue.*, kernel.msg*, kernel.sem or kernel.shm*): the task's container could never start", k)
}

func checkCredentialSpec(add func(string, string, ...any), cs *swarmapi.CredentialSpec) {
	var set []string
	for _, f := range []struct{ name, v string }{{"config", cs.Config}, {"file", cs.File}, {"registry", cs.Registry}} {
		if f.v != "" {
			set = append(set, f.name)
		}
	}
	if len(set) > 1 {
		add("credential_spec", "give one of config, file and registry, not %s", strings.Join(set, " and "))
	}
}

// checkObjectName applies swarm's rule for secret and config names.
func (c *compiler) checkObjectName(path, kind, name string) {
	if len(name) > maxObjectName || !objectNamePattern.MatchString(name) {
		c.problems.Add(path, "%s name %q is invalid: swarm wants at most %d letters, digits, '-', '_' and '.', starting and ending with a letter or digit", kind, name, maxObjectName)
	}
}

// checkObjectSize applies swarm's size limit to inline data (data from files is checked when
// the file is read).
func (c *compiler) checkObjectSize(path, kind string, data []byte, max int) {
	if len(data) > max {
		c.problems.Add(path, "%s data has %d bytes; swarm allows at most %d", kind, len(data), max)
	}
}
