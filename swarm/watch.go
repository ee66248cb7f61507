package swarm

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/events"
	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// WatchClient was the name of ServiceClient.
//
// Deprecated: use ServiceClient, the client of every service operation (Create, Update,
// Scale, Remove, Watch).
type WatchClient = ServiceClient

// WatchOptions says how long and how closely Watch follows services.
type WatchOptions struct {
	// Timeout bounds the whole watch; 0 leaves it to ctx.
	Timeout time.Duration
	// Stable is how long a service's desired tasks must stay running to count as converged.
	// 0 uses each service's UpdateConfig.Monitor, or 5 s (swarm's default) when it has none.
	// A negative value means converged as soon as the counts match.
	Stable time.Duration
	// Since ignores task failures older than this; zero means when Watch starts.
	Since time.Time
	// Interval between two looks at the services' tasks; 250 ms when 0.
	Interval time.Duration
	// LogLines is how many of a failed task's last log lines a *ConvergeError carries; 10 when 0.
	LogLines int
	// PendingGrace is how long a task may stay pending with a reason (e.g. "no suitable node",
	// transient during a start-first update or while a node comes back) before that is a
	// failure; 20 s when 0.
	PendingGrace time.Duration
	// CrashLoop is how many failures of one slot (a replica, or a node of a global service)
	// within CrashWindow make a crash loop, which is a failure even while the restart policy
	// would go on restarting; 3 when 0, never when negative. Swarm keeps 5 dead tasks per slot
	// by default, so values above 5 may never be reached.
	CrashLoop int
	// CrashWindow is the span in which CrashLoop failures count; 1 min when 0.
	CrashWindow time.Duration
}

// Phase is where a watched service stands.
type Phase string

const (
	PhaseStarting  Phase = "starting"  // desired tasks not all running (or jobs not all complete)
	PhaseUpdating  Phase = "updating"  // a rolling update is in progress
	PhaseSettling  Phase = "settling"  // all running, waiting out the stability period
	PhaseConverged Phase = "converged" // running and stable, or the job completed
	PhaseFailed    Phase = "failed"
)

// Progress is one observation of one service.
type Progress struct {
	Service   string // name
	ServiceID string
	Running   uint64
	Desired   uint64
	Completed uint64 // jobs only
	Phase     Phase
	Message   string // the latest task state or error, e.g. "preparing" or "No such image: …"
}

func (p Progress) String() string {
	s := fmt.Sprintf("%s %d/%d %s", p.Service, p.Running, p.Desired, p.Phase)
	if p.Message != "" {
		s += ": " + p.Message
	}
	return s
}

// FailureKind says why a service did not converge.
type FailureKind string

const (
	FailureRejected      FailureKind = "rejected"      // the node refused the task, e.g. "No such image"
	FailureUnschedulable FailureKind = "unschedulable" // "no suitable node (…)"
	FailureCrashed       FailureKind = "crashed"       // the container exited
	FailureRolledBack    FailureKind = "rolled back"   // the update failed and swarm rolled it back
	FailurePaused        FailureKind = "paused"        // the update failed and swarm paused it
	FailureRemoved       FailureKind = "removed"       // the service disappeared while watched
	FailureTimeout       FailureKind = "timeout"
)

// Terminal says which rule made a failure final: swarm will not fix it by itself.
type Terminal string

const (
	TerminalNoRestart     Terminal = "restart condition none"          // the restart policy never restarts a failed task
	TerminalMaxAttempts   Terminal = "restart attempts exhausted"      // the restart policy's max attempts are used up
	TerminalCrashLoop     Terminal = "crash loop"                      // a slot failed CrashLoop times within CrashWindow
	TerminalFailureAction Terminal = "update failure action"           // the update config's failure action (pause, rollback) fired
	TerminalPending       Terminal = "pending beyond the grace period" // a task stayed pending with a reason for PendingGrace
	TerminalGone          Terminal = "removed"                         // the service was removed
	TerminalDeadline      Terminal = "deadline"                        // the timeout or ctx ended the watch
)

// ErrNotConverged is matched (errors.Is) by every *ConvergeError.
var ErrNotConverged = errors.New("service did not converge")

// ConvergeError says which service failed to converge and why, in the task's own words.
type ConvergeError struct {
	Service  string
	Kind     FailureKind
	Reason   string // the task's error or the update status message
	Task     string // task ID, when a task failed
	Node     string // node ID of that task
	ExitCode *int   // a crashed container's exit code
	Logs     []string
	Terminal Terminal // the rule that made the failure final
	Failures int      // failures of the task's slot seen within CrashWindow
}

func (e *ConvergeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "service %s %s: %s", e.Service, e.Kind, e.Reason)
	switch e.Terminal {
	case TerminalCrashLoop, TerminalMaxAttempts, TerminalNoRestart:
		fmt.Fprintf(&b, " (%s after %d failure(s))", e.Terminal, e.Failures)
	}
	if e.ExitCode != nil {
		fmt.Fprintf(&b, " (exit code %d)", *e.ExitCode)
	}
	if len(e.Logs) > 0 {
		b.WriteString("\nlast log lines:\n  " + strings.Join(e.Logs, "\n  "))
	}
	return b.String()
}

func (e *ConvergeError) Unwrap() error { return ErrNotConverged }

// Watch follows the named services (names or IDs) until every one has converged (its desired
// tasks running and stable, or its job completed), one fails, or the deadline passes. It yields
// a Progress whenever a service's state changes; a failure or the deadline ends the sequence
// with a *ConvergeError carrying the last observed reason. All services are followed together
// with one task listing per look. Looks happen every Interval and, when cli also serves engine
// events (client.SystemAPIClient), at once on each event of a watched service (an update, a
// rollback); task state changes have no events of their own, hence the interval.
func Watch(ctx context.Context, cli ServiceClient, services []string, opts WatchOptions) iter.Seq2[Progress, error] {
	return func(yield func(Progress, error) bool) {
		if opts.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
			defer cancel()
		}
		w := newWatcher(cli, opts)
		ids, err := w.resolve(ctx, services)
		if err != nil {
			yield(Progress{}, err)
			return
		}
		ticker := time.NewTicker(w.opts.Interval)
		defer ticker.Stop()
		evCtx, stopEvents := context.WithCancel(ctx) // ends the event stream when Watch returns
		defer stopEvents()
		events := serviceEvents(evCtx, cli, ids)
		for {
			done, changed, err := w.look(ctx, ids)
			for _, p := range changed {
				if !yield(p, nil) {
					return
				}
			}
			if err != nil {
				yield(w.last[failedService(err)], err)
				return
			}
			if done {
				return
			}
			select {
			case <-ctx.Done():
				yield(Progress{}, w.timeout(ctx, ids))
				return
			case <-ticker.C:
			case <-events:
			}
		}
	}
}

// serviceEvents returns a channel that receives on each engine event of the services ids, or nil
// (never receives) when cli serves no events or the subscription fails.
func serviceEvents(ctx context.Context, cli ServiceClient, ids []string) <-chan events.Message {
	src, ok := cli.(interface {
		Events(context.Context, client.EventsListOptions) client.EventsResult
	})
	if !ok {
		return nil
	}
	filters := make(client.Filters).Add("type", string(events.ServiceEventType)).Add("service", ids...)
	return src.Events(ctx, client.EventsListOptions{Filters: filters}).Messages
}

func (o WatchOptions) withDefaults() WatchOptions {
	if o.Interval <= 0 {
		o.Interval = 250 * time.Millisecond
	}
	if o.Since.IsZero() {
		// The engine stamps task states with its own clock; allow for a little skew.
		o.Since = time.Now().Add(-time.Second)
	}
	if o.LogLines == 0 {
		o.LogLines = 10
	}
	if o.PendingGrace <= 0 {
		o.PendingGrace = 20 * time.Second
	}
	if o.CrashLoop == 0 {
		o.CrashLoop = 3
	}
	if o.CrashWindow <= 0 {
		o.CrashWindow = time.Minute
	}
	return o
}

func failedService(err error) string {
	var ce *ConvergeError
	if errors.As(err, &ce) {
		return ce.Service
	}
	return ""
}

type watcher struct {
	cli          ServiceClient
	opts         WatchOptions
	now          func() time.Time
	names        map[string]string // ID → name
	last         map[string]Progress
	stableSince  map[string]time.Time
	pendingSince map[string]time.Time // task ID → when first seen pending with a reason
}

func newWatcher(cli ServiceClient, opts WatchOptions) *watcher {
	return &watcher{cli: cli, opts: opts.withDefaults(), now: time.Now, last: map[string]Progress{},
		stableSince: map[string]time.Time{}, pendingSince: map[string]time.Time{}}
}

func (w *watcher) resolve(ctx context.Context, services []string) ([]string, error) {
	w.names = map[string]string{}
	var ids []string
	for _, s := range services {
		res, err := w.cli.ServiceInspect(ctx, s, client.ServiceInspectOptions{})
		if err != nil {
			return nil, fmt.Errorf("watch service %s: %w", s, err)
		}
		w.names[res.Service.ID] = res.Service.Spec.Name
		ids = append(ids, res.Service.ID)
	}
	return ids, nil
}

// look observes every service once. It returns whether all have converged, the progress of
// those that changed, and a *ConvergeError when one failed.
func (w *watcher) look(ctx context.Context, ids []string) (bool, []Progress, error) {
	svcs, err := w.cli.ServiceList(ctx, client.ServiceListOptions{Filters: make(client.Filters).Add("id", ids...), Status: true})
	if err != nil {
		return false, nil, w.ctxErr(ctx, ids, fmt.Errorf("list services: %w", err))
	}
	tasks, err := w.cli.TaskList(ctx, client.TaskListOptions{Filters: make(client.Filters).Add("service", ids...)})
	if err != nil {
		return false, nil, w.ctxErr(ctx, ids, fmt.Errorf("list tasks: %w", err))
	}
	byService := map[string][]swarmtypes.Task{}
	for _, t := range tasks.Items {
		byService[t.ServiceID] = append(byService[t.ServiceID], t)
	}
	found := map[string]swarmtypes.Service{}
	for _, s := range svcs.Items {
		found[s.ID] = s
	}
	all := true
	var changed []Progress
	for _, id := range ids {
		s, ok := found[id]
		if !ok {
			return false, changed, &ConvergeError{Service: w.names[id], Kind: FailureRemoved, Reason: "the service was removed while being watched", Terminal: TerminalGone}
		}
		p, ferr := w.observe(ctx, s, byService[id])
		if p != w.last[id] {
			w.last[id] = p
			changed = append(changed, p)
		}
		if ferr != nil {
			return false, changed, ferr
		}
		all = all && p.Phase == PhaseConverged
	}
	return all, changed, nil
}

// ctxErr turns an API error caused by the deadline into the timeout error.
func (w *watcher) ctxErr(ctx context.Context, ids []string, err error) error {
	if ctx.Err() != nil {
		return w.timeout(ctx, ids)
	}
	return err
}

func (w *watcher) observe(ctx context.Context, s swarmtypes.Service, tasks []swarmtypes.Task) (Progress, error) {
	p := Progress{Service: s.Spec.Name, ServiceID: s.ID}
	if s.ServiceStatus != nil {
		p.Running, p.Desired, p.Completed = s.ServiceStatus.RunningTasks, s.ServiceStatus.DesiredTasks, s.ServiceStatus.CompletedTasks
	}
	if s.Spec.Mode.ReplicatedJob == nil && s.Spec.Mode.GlobalJob == nil {
		// The engine's count lags when a node is lost: it still counts the lost node's tasks
		// while their replacements start. Only tasks meant to run and running count.
		p.Running = min(p.Running, runningTasks(tasks))
	}
	p.Message = latestMessage(tasks)
	if err := w.failure(ctx, s, p, tasks); err != nil {
		p.Phase, p.Message = PhaseFailed, err.Reason
		return p, err
	}
	p.Phase = w.phase(s, p)
	return p, nil
}

func (w *watcher) phase(s swarmtypes.Service, p Progress) Phase {
	mode := s.Spec.Mode
	switch {
	case mode.ReplicatedJob != nil:
		total := uint64(1)
		if mode.ReplicatedJob.TotalCompletions != nil {
			total = *mode.ReplicatedJob.TotalCompletions
		} else if mode.ReplicatedJob.MaxConcurrent != nil {
			total = *mode.ReplicatedJob.MaxConcurrent
		}
		return jobPhase(p.Completed >= total)
	case mode.GlobalJob != nil:
		return jobPhase(p.Completed > 0 && p.Completed >= p.Desired)
	}
	if s.UpdateStatus != nil && s.UpdateStatus.State == swarmtypes.UpdateStateUpdating {
		delete(w.stableSince, s.ID)
		return PhaseUpdating
	}
	if p.Running != p.Desired {
		delete(w.stableSince, s.ID)
		return PhaseStarting
	}
	if p.Desired == 0 {
		return PhaseConverged // scaled to zero: nothing to keep stable
	}
	since, ok := w.stableSince[s.ID]
	if !ok {
		since = w.now()
		w.stableSince[s.ID] = since
	}
	if w.now().Sub(since) >= w.stable(s) {
		return PhaseConverged
	}
	return PhaseSettling
}

func jobPhase(done bool) Phase {
	if done {
		return PhaseConverged
	}
	return PhaseStarting
}

func (w *watcher) stable(s swarmtypes.Service) time.Duration {
	switch {
	case w.opts.Stable < 0:
		return 0
	case w.opts.Stable > 0:
		return w.opts.Stable
	case s.Spec.UpdateConfig != nil && s.Spec.UpdateConfig.Monitor > 0:
		return s.Spec.UpdateConfig.Monitor
	default:
		return 5 * time.Second
	}
}

// taskLogs returns the last log lines of a task, or nothing when the engine cannot give them.
func (w *watcher) taskLogs(ctx context.Context, taskID string) []string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	rc, err := w.cli.TaskLogs(ctx, taskID, client.TaskLogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(w.opts.LogLines)})
	if err != nil {
		return nil
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil && !cerrdefs.IsNotFound(err) && out.Len() == 0 {
		return nil
	}
	var lines []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > w.opts.LogLines {
		lines = lines[len(lines)-w.opts.LogLines:]
	}
	return lines
}

// runningTasks counts the tasks that are meant to run and do.
func runningTasks(tasks []swarmtypes.Task) uint64 {
	var n uint64
	for _, t := range tasks {
		if t.DesiredState == swarmtypes.TaskStateRunning && t.Status.State == swarmtypes.TaskStateRunning {
			n++
		}
	}
	return n
}

// sortedTasks orders tasks newest state first.
func sortedTasks(tasks []swarmtypes.Task) []swarmtypes.Task {
	out := slices.Clone(tasks)
	slices.SortFunc(out, func(a, b swarmtypes.Task) int { return b.Status.Timestamp.Compare(a.Status.Timestamp) })
	return out
}

// latestMessage is the newest task's error, else its state.
func latestMessage(tasks []swarmtypes.Task) string {
	for _, t := range sortedTasks(tasks) {
		if t.DesiredState == swarmtypes.TaskStateRunning || t.DesiredState == swarmtypes.TaskStateComplete {
			return cmp.Or(t.Status.Err, string(t.Status.State))
		}
	}
	return ""
}

func (w *watcher) timeout(ctx context.Context, ids []string) error {
	var reasons []string
	service := ""
	for _, id := range ids {
		p := w.last[id]
		if p.Phase == PhaseConverged {
			continue
		}
		if service == "" {
			service = cmp.Or(p.Service, w.names[id])
		}
		reasons = append(reasons, fmt.Sprintf("%s %d/%d %s", cmp.Or(p.Service, w.names[id]), p.Running, p.Desired, cmp.Or(p.Message, string(p.Phase))))
	}
	return &ConvergeError{Service: service, Kind: FailureTimeout, Terminal: TerminalDeadline,
		Reason: fmt.Sprintf("%v; last observed: %s", context.Cause(ctx), strings.Join(reasons, "; "))}
}

// Wait runs Watch to the end and returns the last progress of each service, in the order given.
func Wait(ctx context.Context, cli ServiceClient, services []string, opts WatchOptions) ([]Progress, error) {
	last := map[string]Progress{}
	var order []string
	for p, err := range Watch(ctx, cli, services, opts) {
		if err != nil {
			return collect(last, order), err
		}
		if _, ok := last[p.ServiceID]; !ok {
			order = append(order, p.ServiceID)
		}
		last[p.ServiceID] = p
	}
	return collect(last, order), nil
}

func collect(last map[string]Progress, order []string) []Progress {
	out := make([]Progress, 0, len(order))
	for _, id := range order {
		out = append(out, last[id])
	}
	return out
}
