package swarm

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// fakeCluster serves one service and its tasks as recorded at one moment; the table tests of
// Watch's state machine replace them between looks. It is a fake for the engine-free unit
// tests only; the integration tests in watch_test.go run the same rules on a real swarm.
type fakeCluster struct {
	client.ServiceAPIClient // nil: only the calls below are served
	client.TaskAPIClient
	svc   swarmtypes.Service
	tasks []swarmtypes.Task
	logs  string
}

func (f *fakeCluster) ServiceInspect(context.Context, string, client.ServiceInspectOptions) (client.ServiceInspectResult, error) {
	return client.ServiceInspectResult{Service: f.svc}, nil
}

func (f *fakeCluster) ServiceList(context.Context, client.ServiceListOptions) (client.ServiceListResult, error) {
	return client.ServiceListResult{Items: []swarmtypes.Service{f.svc}}, nil
}

func (f *fakeCluster) TaskList(context.Context, client.TaskListOptions) (client.TaskListResult, error) {
	return client.TaskListResult{Items: f.tasks}, nil
}

func (f *fakeCluster) TaskLogs(context.Context, string, client.TaskLogsOptions) (client.TaskLogsResult, error) {
	// One frame of the engine's multiplexed stream: stream 1 (stdout), 3 zero bytes, the size.
	b := bytes.NewBuffer([]byte{1, 0, 0, 0})
	binary.Write(b, binary.BigEndian, uint32(len(f.logs)))
	b.WriteString(f.logs)
	return io.NopCloser(b), nil
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// tk is a task of slot (0: the global service's task on node) whose state dates from at.
type tk struct {
	id      string
	slot    int
	node    string
	state   swarmtypes.TaskState
	desired swarmtypes.TaskState
	at      time.Duration
	exit    int
	err     string
}

func (t tk) task() swarmtypes.Task {
	desired := t.desired
	if desired == "" {
		desired = swarmtypes.TaskStateRunning
		if failed(swarmtypes.Task{Status: swarmtypes.TaskStatus{State: t.state}}) {
			desired = swarmtypes.TaskStateShutdown // handled by the orchestrator
		}
	}
	at := t0.Add(t.at)
	out := swarmtypes.Task{ID: t.id, ServiceID: "svc1", Slot: t.slot, NodeID: t.node, DesiredState: desired,
		Status: swarmtypes.TaskStatus{State: t.state, Timestamp: at, Err: t.err}}
	out.Meta.CreatedAt = at
	if t.state == swarmtypes.TaskStateFailed {
		out.Status.ContainerStatus = &swarmtypes.ContainerStatus{ExitCode: t.exit}
	}
	return out
}

// look is one recorded moment: the cluster's state at a time, and what Watch must conclude.
type look struct {
	at       time.Duration
	running  uint64
	update   *swarmtypes.UpdateStatus
	tasks    []tk
	kind     FailureKind // "" : no failure yet
	terminal Terminal
	reason   string // a substring of the error's text
}

func TestWatchRules(t *testing.T) {
	fail := func(id string, slot int, at time.Duration) tk {
		return tk{id: id, slot: slot, state: swarmtypes.TaskStateFailed, at: at, exit: 2, err: "task: non-zero exit (2)"}
	}
	run := func(id string, slot int, at time.Duration) tk {
		return tk{id: id, slot: slot, state: swarmtypes.TaskStateRunning, at: at}
	}
	pending := func(id string, at time.Duration) tk {
		return tk{id: id, slot: 1, state: swarmtypes.TaskStatePending, at: at, err: "no suitable node (1 node not available for new tasks)"}
	}
	started := func(at time.Duration) *time.Time { v := t0.Add(at); return &v }
	s := time.Second
	cases := []struct {
		name    string
		policy  *swarmtypes.RestartPolicy
		global  bool
		opts    WatchOptions
		looks   []look
		desired uint64
	}{
		{name: "condition none: the first failure is final",
			policy: &swarmtypes.RestartPolicy{Condition: swarmtypes.RestartPolicyConditionNone},
			looks: []look{
				{at: 0, tasks: []tk{{id: "a", slot: 1, state: swarmtypes.TaskStateStarting}}},
				{at: 2 * s, tasks: []tk{fail("a", 1, s)}, kind: FailureCrashed, terminal: TerminalNoRestart, reason: "exit code 2"},
			}},
		{name: "on-failure: a task that fails once and recovers converges",
			policy: &swarmtypes.RestartPolicy{Condition: swarmtypes.RestartPolicyConditionOnFailure},
			looks: []look{
				{at: s, tasks: []tk{fail("a", 1, s)}},
				{at: 3 * s, running: 1, tasks: []tk{fail("a", 1, s), run("b", 1, 2*s)}},
				{at: 4 * s, running: 1, tasks: []tk{fail("a", 1, s), run("b", 1, 2*s)}},
			}},
		{name: "crash loop: three failures of a slot within the window",
			looks: []look{
				{at: s, tasks: []tk{fail("a", 1, s)}},
				{at: 3 * s, tasks: []tk{fail("a", 1, s), fail("b", 1, 3*s)}},
				{at: 6 * s, tasks: []tk{fail("a", 1, s), fail("b", 1, 3*s), fail("c", 1, 5*s), {id: "d", slot: 1, state: swarmtypes.TaskStateReady, at: 6 * s}},
					kind: FailureCrashed, terminal: TerminalCrashLoop, reason: "crash loop after 3 failure(s)"},
			}},
		{name: "failures spread wider than the window are no crash loop",
			looks: []look{
				{at: 100 * s, running: 1, tasks: []tk{fail("a", 1, 0), fail("b", 1, 40*s), fail("c", 1, 80*s), run("d", 1, 90*s)}},
			}},
		{name: "crash loop in another slot of a replicated service counts apart",
			desired: 2,
			looks: []look{
				{at: 10 * s, running: 1, tasks: []tk{fail("a", 1, s), fail("b", 1, 3*s), run("c", 1, 5*s), fail("d", 2, 6*s), run("e", 2, 8*s)}},
			}},
		{name: "global service: a slot is a node",
			global: true, desired: 2,
			looks: []look{
				{at: 10 * s, running: 2, tasks: []tk{
					{id: "a", node: "n1", state: swarmtypes.TaskStateFailed, at: s},
					{id: "b", node: "n1", state: swarmtypes.TaskStateFailed, at: 2 * s},
					{id: "c", node: "n2", state: swarmtypes.TaskStateFailed, at: 3 * s},
					{id: "d", node: "n1", state: swarmtypes.TaskStateRunning, at: 4 * s},
					{id: "e", node: "n2", state: swarmtypes.TaskStateRunning, at: 5 * s}}},
				{at: 11 * s, running: 1, tasks: []tk{
					{id: "a", node: "n1", state: swarmtypes.TaskStateFailed, at: s},
					{id: "b", node: "n1", state: swarmtypes.TaskStateFailed, at: 2 * s},
					{id: "d", node: "n1", state: swarmtypes.TaskStateFailed, at: 11 * s},
					{id: "e", node: "n2", state: swarmtypes.TaskStateRunning, at: 5 * s}},
					kind: FailureCrashed, terminal: TerminalCrashLoop},
			}},
		{name: "crash loop detection off",
			opts: WatchOptions{CrashLoop: -1},
			looks: []look{
				{at: 6 * s, tasks: []tk{fail("a", 1, s), fail("b", 1, 3*s), fail("c", 1, 5*s), fail("d", 1, 6*s)}},
			}},
		{name: "rejected tasks (no such image) loop too",
			looks: []look{
				{at: 6 * s, tasks: []tk{
					{id: "a", slot: 1, state: swarmtypes.TaskStateRejected, at: s, err: "No such image: x:1"},
					{id: "b", slot: 1, state: swarmtypes.TaskStateRejected, at: 3 * s, err: "No such image: x:1"},
					{id: "c", slot: 1, state: swarmtypes.TaskStateRejected, at: 5 * s, err: "No such image: x:1"}},
					kind: FailureRejected, terminal: TerminalCrashLoop, reason: "No such image: x:1"},
			}},
		{name: "failures from before the watch do not count",
			opts: WatchOptions{Since: t0.Add(10 * time.Second), Stable: -1},
			looks: []look{
				{at: 12 * s, running: 1, tasks: []tk{fail("a", 1, s), fail("b", 1, 3*s), fail("c", 1, 5*s), run("d", 1, 6*s)}, kind: "converged"},
			}},
		{name: "max attempts: final once swarm stops replacing the task",
			policy: &swarmtypes.RestartPolicy{Condition: swarmtypes.RestartPolicyConditionOnFailure, MaxAttempts: new(uint64(1))},
			opts:   WatchOptions{CrashLoop: 10},
			looks: []look{
				{at: s, tasks: []tk{{id: "a", slot: 1, state: swarmtypes.TaskStateFailed, desired: swarmtypes.TaskStateRunning, at: s}}},
				{at: 2 * s, tasks: []tk{fail("a", 1, s), {id: "b", slot: 1, state: swarmtypes.TaskStateReady, desired: swarmtypes.TaskStateReady, at: 2 * s}}},
				{at: 4 * s, tasks: []tk{fail("a", 1, s), fail("b", 1, 3*s)}, kind: FailureCrashed, terminal: TerminalMaxAttempts, reason: "after 2 failure(s)"},
			}},
		{name: "update failure action pause",
			looks: []look{
				{at: 5 * s, running: 1, update: &swarmtypes.UpdateStatus{State: swarmtypes.UpdateStatePaused, StartedAt: started(s), Message: "update paused due to failure or early termination of task x"},
					tasks: []tk{run("a", 1, 0)}, kind: FailurePaused, terminal: TerminalFailureAction, reason: "update paused due to failure"},
			}},
		{name: "update failure action rollback",
			looks: []look{
				{at: 5 * s, running: 1, update: &swarmtypes.UpdateStatus{State: swarmtypes.UpdateStateRollbackStarted, StartedAt: started(s), Message: "update rolled back due to failure"},
					tasks: []tk{run("a", 1, 0)}, kind: FailureRolledBack, terminal: TerminalFailureAction, reason: "rollback_started"},
			}},
		{name: "a paused update from before the watch is not this watch's failure",
			opts: WatchOptions{Since: t0.Add(10 * time.Second), Stable: -1},
			looks: []look{
				{at: 12 * s, running: 1, update: &swarmtypes.UpdateStatus{State: swarmtypes.UpdateStatePaused, StartedAt: started(s)},
					tasks: []tk{run("a", 1, 0)}, kind: "converged"},
			}},
		{name: "a lost node's tasks counted running by the engine while their replacements start",
			opts: WatchOptions{Stable: -1},
			looks: []look{
				{at: 10 * s, running: 1, tasks: []tk{{id: "a", slot: 1, state: swarmtypes.TaskStateRunning, desired: swarmtypes.TaskStateShutdown, at: s},
					{id: "b", slot: 1, state: swarmtypes.TaskStateStarting, at: 9 * s}}},
				{at: 12 * s, running: 1, tasks: []tk{{id: "a", slot: 1, state: swarmtypes.TaskStateRunning, desired: swarmtypes.TaskStateShutdown, at: s},
					run("b", 1, 11*s)}, kind: "converged"},
			}},
		{name: "no suitable node fails only after the grace period, with the reason",
			looks: []look{
				{at: 0, tasks: []tk{pending("a", 0)}},
				{at: 10 * s, tasks: []tk{pending("a", 0)}},
				{at: 20 * s, tasks: []tk{pending("a", 0)}, kind: FailureUnschedulable, terminal: TerminalPending, reason: "no suitable node (1 node not available for new tasks) (pending for 20s)"},
			}},
		{name: "a pending task that gets placed within the grace period converges",
			opts: WatchOptions{Stable: -1},
			looks: []look{
				{at: 0, tasks: []tk{pending("a", 0)}},
				{at: 15 * s, running: 1, tasks: []tk{run("a", 1, 15*s)}, kind: "converged"},
			}},
		{name: "the grace period starts afresh when a task is pending again",
			opts: WatchOptions{PendingGrace: 10 * time.Second},
			looks: []look{
				{at: 0, tasks: []tk{pending("a", 0)}},
				{at: 8 * s, running: 1, tasks: []tk{run("a", 1, 8*s)}},
				{at: 9 * s, tasks: []tk{pending("a", 9*s)}},
				{at: 18 * s, tasks: []tk{pending("a", 9*s)}},
				{at: 19 * s, tasks: []tk{pending("a", 9*s)}, kind: FailureUnschedulable, terminal: TerminalPending},
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			desired := max(c.desired, 1)
			f := &fakeCluster{logs: "booting\nfatal: config missing\n"}
			f.svc = swarmtypes.Service{ID: "svc1"}
			f.svc.Spec.Name = "web"
			f.svc.Spec.TaskTemplate.RestartPolicy = c.policy
			if c.global {
				f.svc.Spec.Mode.Global = &swarmtypes.GlobalService{}
			} else {
				f.svc.Spec.Mode.Replicated = &swarmtypes.ReplicatedService{Replicas: &desired}
			}
			opts := c.opts
			if opts.Since.IsZero() {
				opts.Since = t0
			}
			w := newWatcher(f, opts)
			now := t0
			w.now = func() time.Time { return now }
			ctx := context.Background()
			if _, err := w.resolve(ctx, []string{"web"}); err != nil {
				t.Fatal(err)
			}
			for i, l := range c.looks {
				now = t0.Add(l.at)
				f.svc.UpdateStatus = l.update
				f.svc.ServiceStatus = &swarmtypes.ServiceStatus{RunningTasks: l.running, DesiredTasks: desired}
				f.tasks = nil
				for _, x := range l.tasks {
					f.tasks = append(f.tasks, x.task())
				}
				done, _, err := w.look(ctx, []string{"svc1"})
				switch {
				case l.kind == "converged":
					if !done || err != nil {
						t.Fatalf("look %d (at %s): want converged, got done=%v err=%v", i, l.at, done, err)
					}
				case l.kind == "":
					if err != nil || done {
						t.Fatalf("look %d (at %s): want no verdict yet, got done=%v err=%v", i, l.at, done, err)
					}
				default:
					ce, ok := err.(*ConvergeError)
					if !ok || ce.Kind != l.kind || ce.Terminal != l.terminal || !strings.Contains(ce.Error(), l.reason) {
						t.Fatalf("look %d (at %s): want %s by %q containing %q, got %v", i, l.at, l.kind, l.terminal, l.reason, err)
					}
					if ce.Kind == FailureCrashed && (ce.ExitCode == nil || len(ce.Logs) != 2 || ce.Logs[1] != "fatal: config missing") {
						t.Errorf("crash without exit code or logs: %+v", ce)
					}
					if i != len(c.looks)-1 {
						t.Fatalf("table error: failure before the last look")
					}
				}
			}
		})
	}
}
