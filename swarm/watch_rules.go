package swarm

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	swarmtypes "github.com/moby/moby/api/types/swarm"
)

// The rules by which Watch calls a failure final. A failed task alone is not: swarm restarts it
// under the service's restart policy, so Watch fails only when swarm will not (or has shown it
// cannot) fix the service by itself.

// failure reports the first terminal problem of the service: its update's failure action
// fired, a slot's failed task will not be restarted or keeps failing, or a task stayed pending
// with a reason for longer than the grace period.
func (w *watcher) failure(ctx context.Context, s swarmtypes.Service, p Progress, tasks []swarmtypes.Task) *ConvergeError {
	if e := w.updateFailure(s); e != nil {
		return e
	}
	for _, slot := range slots(tasks) {
		if e := w.slotFailure(ctx, s, p, slot); e != nil {
			return e
		}
	}
	return w.pendingFailure(s, tasks)
}

// updateFailure: a rolling update that swarm paused or rolled back, started after Since.
func (w *watcher) updateFailure(s swarmtypes.Service) *ConvergeError {
	u := s.UpdateStatus
	if u == nil || u.StartedAt == nil || u.StartedAt.Before(w.opts.Since) {
		return nil
	}
	kind := FailureRolledBack
	switch u.State {
	case swarmtypes.UpdateStateRollbackStarted, swarmtypes.UpdateStateRollbackCompleted, swarmtypes.UpdateStateRollbackPaused:
	case swarmtypes.UpdateStatePaused:
		kind = FailurePaused
	default:
		return nil
	}
	return &ConvergeError{Service: s.Spec.Name, Kind: kind, Terminal: TerminalFailureAction,
		Reason: fmt.Sprintf("update %s: %s", u.State, u.Message)}
}

// slotFailure judges one slot's tasks, newest first.
func (w *watcher) slotFailure(ctx context.Context, s swarmtypes.Service, p Progress, slot []swarmtypes.Task) *ConvergeError {
	newest := slot[0]
	failures := w.recentFailures(slot)
	if len(failures) == 0 {
		return nil
	}
	var rule Terminal
	policy := restartPolicy(s)
	switch {
	case failed(newest) && policy.Condition == swarmtypes.RestartPolicyConditionNone:
		rule = TerminalNoRestart
	case failed(newest) && policy.MaxAttempts != nil && *policy.MaxAttempts > 0 &&
		newest.DesiredState != swarmtypes.TaskStateRunning && newest.DesiredState != swarmtypes.TaskStateReady &&
		p.Running < p.Desired:
		// The orchestrator marks a failed task for shutdown and creates its replacement in one
		// transaction: a failed newest task it has handled means no replacement is coming.
		rule = TerminalMaxAttempts
	case w.opts.CrashLoop > 0 && len(failures) >= w.opts.CrashLoop:
		rule = TerminalCrashLoop
	default:
		return nil
	}
	last := failures[0]
	kind := FailureCrashed
	if last.Status.State == swarmtypes.TaskStateRejected {
		kind = FailureRejected
	}
	e := w.taskFailure(ctx, s.Spec.Name, kind, last)
	e.Terminal, e.Failures = rule, len(failures)
	return e
}

// recentFailures returns the slot's failed or rejected tasks since Since and within CrashWindow
// of the newest of them, newest first. The window is measured on the engine's timestamps, so
// a clock skew between this process and the engine does not matter.
func (w *watcher) recentFailures(slot []swarmtypes.Task) []swarmtypes.Task {
	var out []swarmtypes.Task
	for _, t := range slot {
		if !failed(t) || t.Status.Timestamp.Before(w.opts.Since) {
			continue
		}
		if len(out) > 0 && out[0].Status.Timestamp.Sub(t.Status.Timestamp) > w.opts.CrashWindow {
			break
		}
		out = append(out, t)
	}
	return out
}

// pendingFailure: a task meant to run that has been pending with a reason for PendingGrace,
// measured from when this watch first saw it so.
func (w *watcher) pendingFailure(s swarmtypes.Service, tasks []swarmtypes.Task) *ConvergeError {
	now := w.now()
	seen := map[string]bool{}
	var worst *swarmtypes.Task
	for _, t := range tasks {
		if t.Status.State != swarmtypes.TaskStatePending || t.DesiredState != swarmtypes.TaskStateRunning || t.Status.Err == "" {
			continue
		}
		seen[t.ID] = true
		first, ok := w.pendingSince[t.ID]
		if !ok {
			w.pendingSince[t.ID] = now
			first = now
		}
		if now.Sub(first) >= w.opts.PendingGrace && (worst == nil || first.Before(w.pendingSince[worst.ID])) {
			worst = &t
		}
	}
	for id := range w.pendingSince {
		if !seen[id] && hasTask(tasks, id) {
			delete(w.pendingSince, id) // no longer pending: a later wait starts afresh
		}
	}
	if worst == nil {
		return nil
	}
	d := now.Sub(w.pendingSince[worst.ID]).Round(time.Second)
	return &ConvergeError{Service: s.Spec.Name, Kind: FailureUnschedulable, Terminal: TerminalPending,
		Reason: fmt.Sprintf("%s (pending for %s)", worst.Status.Err, d), Task: worst.ID}
}

// hasTask reports whether the task id is among tasks (pendingSince holds every watched
// service's tasks; each service forgets only its own).
func hasTask(tasks []swarmtypes.Task, id string) bool {
	return slices.ContainsFunc(tasks, func(t swarmtypes.Task) bool { return t.ID == id })
}

func (w *watcher) taskFailure(ctx context.Context, service string, kind FailureKind, t swarmtypes.Task) *ConvergeError {
	reason := cmp.Or(t.Status.Err, t.Status.Message, string(t.Status.State))
	e := &ConvergeError{Service: service, Kind: kind, Reason: reason, Task: t.ID, Node: t.NodeID}
	if cs := t.Status.ContainerStatus; cs != nil && kind == FailureCrashed {
		code := cs.ExitCode
		e.ExitCode = &code
		e.Logs = w.taskLogs(ctx, t.ID)
	}
	return e
}

func failed(t swarmtypes.Task) bool {
	return t.Status.State == swarmtypes.TaskStateFailed || t.Status.State == swarmtypes.TaskStateRejected
}

// restartPolicy is the service's restart policy with swarm's defaults (condition any).
func restartPolicy(s swarmtypes.Service) swarmtypes.RestartPolicy {
	var p swarmtypes.RestartPolicy
	if s.Spec.TaskTemplate.RestartPolicy != nil {
		p = *s.Spec.TaskTemplate.RestartPolicy
	}
	if p.Condition == "" {
		p.Condition = swarmtypes.RestartPolicyConditionAny
	}
	return p
}

// slots groups tasks by slot (a replica's number, or the node of a global service's task),
// each group newest first, the groups in a stable order.
func slots(tasks []swarmtypes.Task) [][]swarmtypes.Task {
	by := map[string][]swarmtypes.Task{}
	for _, t := range tasks {
		key := fmt.Sprint(t.Slot)
		if t.Slot == 0 {
			key = "node " + t.NodeID
		}
		by[key] = append(by[key], t)
	}
	keys := slices.Sorted(maps.Keys(by))
	out := make([][]swarmtypes.Task, 0, len(keys))
	for _, k := range keys {
		g := by[k]
		slices.SortFunc(g, func(a, b swarmtypes.Task) int {
			return cmp.Or(b.Meta.CreatedAt.Compare(a.Meta.CreatedAt), b.Status.Timestamp.Compare(a.Status.Timestamp))
		})
		out = append(out, g)
	}
	return out
}
