package swarm

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	swarmapi "github.com/moby/moby/api/types/swarm"
)

// Service modes, as Compose's deploy.mode spells them.
const (
	ModeReplicated    = "replicated"
	ModeGlobal        = "global"
	ModeReplicatedJob = "replicated-job"
	ModeGlobalJob     = "global-job"
)

var serviceModes = []string{ModeReplicated, ModeGlobal, ModeReplicatedJob, ModeGlobalJob}

// Mode sets the service mode: "replicated" (the default), "global", "replicated-job" or
// "global-job".
func (s *Service) Mode(mode string) *Service {
	if !slices.Contains(serviceModes, mode) {
		s.addf("deploy/mode", "unknown mode %q (want %s)", mode, strings.Join(serviceModes, ", "))
	}
	s.mode = mode
	return s
}

// Global runs one task on every node that satisfies the placement constraints.
func (s *Service) Global() *Service { return s.Mode(ModeGlobal) }

// Replicas sets the number of tasks of a replicated service, or the completions (and
// concurrency) of a replicated job, as the Docker CLI maps deploy.replicas. It is an error with
// a global mode.
func (s *Service) Replicas(n uint64) *Service {
	s.replicas = &n
	return s
}

func (s *Service) compileMode() swarmapi.ServiceMode {
	var m swarmapi.ServiceMode
	switch s.mode {
	case ModeGlobal:
		m.Global = &swarmapi.GlobalService{}
	case ModeGlobalJob:
		m.GlobalJob = &swarmapi.GlobalJob{}
	case ModeReplicatedJob:
		m.ReplicatedJob = &swarmapi.ReplicatedJob{MaxConcurrent: copyPtr(s.replicas), TotalCompletions: copyPtr(s.replicas)}
	default:
		m.Replicated = &swarmapi.ReplicatedService{Replicas: copyPtr(s.replicas)}
	}
	return m
}

// compileProblems reports replicas given with a global mode and a missing image; it runs when
// compiling, so the order of calls does not matter.
func (s *Service) compileProblems() []serviceProblem {
	var out []serviceProblem
	if s.replicas != nil && (s.mode == ModeGlobal || s.mode == ModeGlobalJob) {
		out = append(out, serviceProblem{path: "deploy/replicas", msg: fmt.Sprintf("replicas cannot be used with mode %q (only with replicated or replicated-job)", s.mode)})
	}
	if s.spec.TaskTemplate.ContainerSpec.Image == "" && !s.imageSet {
		out = append(out, serviceProblem{path: "image", msg: "no image: every service needs one (swarm does not build images: build, push, then name it)"})
	}
	return out
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func (s *Service) resources() *swarmapi.ResourceRequirements {
	if s.spec.TaskTemplate.Resources == nil {
		s.spec.TaskTemplate.Resources = &swarmapi.ResourceRequirements{}
	}
	return s.spec.TaskTemplate.Resources
}

// limits and reservations return the resource limits and reservations, creating them.
func (s *Service) limits() *swarmapi.Limit {
	r := s.resources()
	if r.Limits == nil {
		r.Limits = &swarmapi.Limit{}
	}
	return r.Limits
}

func (s *Service) reservations() *swarmapi.Resources {
	r := s.resources()
	if r.Reservations == nil {
		r.Reservations = &swarmapi.Resources{}
	}
	return r.Reservations
}

// nonNegative records a problem at path when n is negative and returns n.
func (s *Service) nonNegative(path string, n int64) int64 {
	if n < 0 {
		s.addf(path, "%d is negative", n)
	}
	return n
}

// LimitCPUs caps CPU use ("0.5", "2"), as Compose's deploy.resources.limits.cpus.
func (s *Service) LimitCPUs(cpus string) *Service {
	s.limits().NanoCPUs = s.nanoCPUs("deploy/resources/limits/cpus", cpus)
	return s
}

// LimitMemory caps memory in bytes.
func (s *Service) LimitMemory(bytes int64) *Service {
	s.limits().MemoryBytes = s.nonNegative("deploy/resources/limits/memory", bytes)
	return s
}

// LimitPids caps the number of processes.
func (s *Service) LimitPids(n int64) *Service {
	s.limits().Pids = s.nonNegative("deploy/resources/limits/pids", n)
	return s
}

// ReserveCPUs reserves CPU for scheduling ("0.25").
func (s *Service) ReserveCPUs(cpus string) *Service {
	s.reservations().NanoCPUs = s.nanoCPUs("deploy/resources/reservations/cpus", cpus)
	return s
}

// ReserveMemory reserves memory in bytes for scheduling.
func (s *Service) ReserveMemory(bytes int64) *Service {
	s.reservations().MemoryBytes = s.nonNegative("deploy/resources/reservations/memory", bytes)
	return s
}

func (s *Service) nanoCPUs(path, cpus string) int64 {
	n, err := ParseCPUs(cpus)
	if err != nil {
		s.addf(path, "%v", err)
	}
	return n
}

// ParseCPUs converts a decimal CPU count ("0.5", "2") to nano CPUs, exactly (no floating
// point), refusing negative values and more precision than a nano CPU.
func ParseCPUs(cpus string) (int64, error) {
	r, ok := new(big.Rat).SetString(cpus)
	if !ok || strings.ContainsAny(cpus, "/eE") {
		return 0, fmt.Errorf("%q is not a decimal number of CPUs (e.g. 0.5)", cpus)
	}
	if r.Sign() < 0 {
		return 0, fmt.Errorf("%q is negative", cpus)
	}
	nano := r.Mul(r, big.NewRat(1e9, 1))
	if !nano.IsInt() || !nano.Num().IsInt64() {
		return 0, fmt.Errorf("%q has more precision than a nano CPU or is too large", cpus)
	}
	return nano.Num().Int64(), nil
}

// FormatCPUs is the inverse of ParseCPUs.
func FormatCPUs(nano int64) string {
	return strings.TrimRight(strings.TrimRight(strconv.FormatFloat(float64(nano)/1e9, 'f', 9, 64), "0"), ".")
}

var restartConditions = []swarmapi.RestartPolicyCondition{swarmapi.RestartPolicyConditionNone, swarmapi.RestartPolicyConditionOnFailure, swarmapi.RestartPolicyConditionAny}

// RestartPolicy sets when and how tasks restart (Compose deploy.restart_policy). Condition is
// "none", "on-failure" or "any"; durations must not be negative.
func (s *Service) RestartPolicy(p swarmapi.RestartPolicy) *Service {
	if p.Condition != "" && !slices.Contains(restartConditions, p.Condition) {
		s.addf("deploy/restart_policy/condition", "unknown condition %q (want none, on-failure or any)", p.Condition)
	}
	s.checkDurationPtr("deploy/restart_policy/delay", p.Delay)
	s.checkDurationPtr("deploy/restart_policy/window", p.Window)
	p.Delay, p.Window, p.MaxAttempts = copyPtr(p.Delay), copyPtr(p.Window), copyPtr(p.MaxAttempts)
	s.spec.TaskTemplate.RestartPolicy = &p
	return s
}

// Restart maps the legacy Compose `restart` value as the Docker CLI does: "no" (nothing),
// "always" and "unless-stopped" (condition any), "on-failure[:N]" (condition on-failure, N max
// attempts).
func (s *Service) Restart(policy string) *Service {
	name, count, hasCount := strings.Cut(policy, ":")
	var attempts *uint64
	if hasCount {
		n, err := strconv.ParseUint(count, 10, 64)
		if err != nil || name != "on-failure" {
			s.addf("restart", "%q is invalid: only on-failure takes a maximum retry count (on-failure:N, N ≥ 0)", policy)
		} else if n > 0 {
			attempts = &n
		}
	}
	switch name {
	case "no", "":
		s.spec.TaskTemplate.RestartPolicy = nil
	case "always", "unless-stopped":
		s.spec.TaskTemplate.RestartPolicy = &swarmapi.RestartPolicy{Condition: swarmapi.RestartPolicyConditionAny, MaxAttempts: attempts}
	case "on-failure":
		s.spec.TaskTemplate.RestartPolicy = &swarmapi.RestartPolicy{Condition: swarmapi.RestartPolicyConditionOnFailure, MaxAttempts: attempts}
	default:
		s.addf("restart", "unknown policy %q (want no, always, on-failure[:N] or unless-stopped)", policy)
	}
	return s
}

func (s *Service) checkDurationPtr(path string, d *time.Duration) {
	if d != nil && *d < 0 {
		s.addf(path, "duration %s is negative", *d)
	}
}

func (s *Service) placement() *swarmapi.Placement {
	if s.spec.TaskTemplate.Placement == nil {
		s.spec.TaskTemplate.Placement = &swarmapi.Placement{}
	}
	return s.spec.TaskTemplate.Placement
}

// Constraint adds a placement constraint such as "node.role != manager" or
// "node.labels.zone==east"; see ParseConstraint for the accepted forms.
func (s *Service) Constraint(expr string) *Service {
	p := s.placement()
	if _, err := ParseConstraint(expr); err != nil {
		s.addf(fmt.Sprintf("deploy/placement/constraints[%d]", len(p.Constraints)), "%v", err)
	}
	p.Constraints = append(p.Constraints, expr)
	return s
}

// Spread adds a placement preference that spreads tasks over the values of a node label
// descriptor ("node.labels.zone").
func (s *Service) Spread(descriptor string) *Service {
	p := s.placement()
	if descriptor == "" {
		s.addf(fmt.Sprintf("deploy/placement/preferences[%d]/spread", len(p.Preferences)), "spread descriptor is empty (want e.g. node.labels.zone)")
	}
	p.Preferences = append(p.Preferences, swarmapi.PlacementPreference{Spread: &swarmapi.SpreadOver{SpreadDescriptor: descriptor}})
	return s
}

// MaxReplicasPerNode caps how many tasks of the service run on one node (0: no cap).
func (s *Service) MaxReplicasPerNode(n uint64) *Service {
	s.placement().MaxReplicas = n
	return s
}

// UpdateConfig sets how updates roll out (Compose deploy.update_config).
func (s *Service) UpdateConfig(c swarmapi.UpdateConfig) *Service {
	s.checkUpdate("deploy/update_config", c)
	s.spec.UpdateConfig = &c
	return s
}

// RollbackConfig sets how rollbacks roll out (Compose deploy.rollback_config).
func (s *Service) RollbackConfig(c swarmapi.UpdateConfig) *Service {
	s.checkUpdate("deploy/rollback_config", c)
	s.spec.RollbackConfig = &c
	return s
}

func (s *Service) checkUpdate(path string, c swarmapi.UpdateConfig) {
	if c.Delay < 0 {
		s.addf(path+"/delay", "duration %s is negative", c.Delay)
	}
	if c.Monitor < 0 {
		s.addf(path+"/monitor", "duration %s is negative", c.Monitor)
	}
	if c.MaxFailureRatio < 0 || c.MaxFailureRatio > 1 {
		s.addf(path+"/max_failure_ratio", "%v is not between 0 and 1", c.MaxFailureRatio)
	}
	switch c.FailureAction {
	case "", swarmapi.UpdateFailureActionPause, swarmapi.UpdateFailureActionContinue, swarmapi.UpdateFailureActionRollback:
	default:
		s.addf(path+"/failure_action", "unknown action %q (want pause, continue or rollback)", c.FailureAction)
	}
	switch c.Order {
	case "", swarmapi.UpdateOrderStopFirst, swarmapi.UpdateOrderStartFirst:
	default:
		s.addf(path+"/order", "unknown order %q (want stop-first or start-first)", c.Order)
	}
}

// GenericResource reserves value units of a discrete generic resource kind ("gpu") for
// scheduling.
func (s *Service) GenericResource(kind string, value int64) *Service {
	r := s.reservations()
	if kind == "" || value < 0 {
		s.addf("deploy/resources/reservations/generic_resources", "kind %q with value %d: want a non-empty kind and a value ≥ 0", kind, value)
	}
	r.GenericResources = append(r.GenericResources, swarmapi.GenericResource{DiscreteResourceSpec: &swarmapi.DiscreteGenericResource{Kind: kind, Value: value}})
	return s
}
