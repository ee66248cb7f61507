package stack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthdev/berth/swarm"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// ErrRolledBack is matched (errors.Is) by the *DeployError of a deploy that failed and was
// undone completely: the stack is as it was before.
var ErrRolledBack = errors.New("deploy rolled back")

// ErrCannotUndo is the reason of a write that an undo cannot reverse (a removed network,
// secret or config: its content is gone).
var ErrCannotUndo = errors.New("cannot be undone")

// DeployError is a deploy that failed after it had written. Err is what failed (errors.As and
// errors.Is reach it: a *swarm.VersionConflictError, a *swarm.ConvergeError, the context's
// error, the engine's answer). Unless DeployOptions.NoRollback, the deploy was undone:
// Undone lists what was put back (objects it created removed, services it updated back on
// the spec read before the update, services it pruned created again) and NotUndone what
// could not be, each with its reason. With NotUndone empty the error matches ErrRolledBack;
// otherwise it matches ErrLeft.
type DeployError struct {
	Stack      string
	Err        error
	RolledBack bool // false with NoRollback: the partial state was kept
	Undone     []Ref
	NotUndone  []RefError
}

func (e *DeployError) Error() string {
	switch {
	case !e.RolledBack:
		return fmt.Sprintf("deploy stack %s failed (no rollback: what it wrote is kept): %v", e.Stack, e.Err)
	case len(e.NotUndone) == 0:
		return fmt.Sprintf("deploy stack %s failed and was rolled back (%d write(s) undone): %v", e.Stack, len(e.Undone), e.Err)
	}
	left := make([]string, len(e.NotUndone))
	for i, l := range e.NotUndone {
		left[i] = l.Error()
	}
	return fmt.Sprintf("deploy stack %s failed: %v; rollback undid %d write(s) but not %d: %s", e.Stack, e.Err, len(e.Undone), len(e.NotUndone), strings.Join(left, "; "))
}

// Unwrap returns what failed, ErrRolledBack or ErrLeft, and the reason of each write not
// undone.
func (e *DeployError) Unwrap() []error {
	out := []error{e.Err}
	switch {
	case e.RolledBack && len(e.NotUndone) == 0:
		out = append(out, ErrRolledBack)
	case len(e.NotUndone) > 0:
		out = append(out, ErrLeft)
	}
	for _, l := range e.NotUndone {
		out = append(out, l)
	}
	return out
}

// undoTimeout bounds an undo; it runs on a context of its own, as the deploy's may be done.
const undoTimeout = 2 * time.Minute

// undo reverses what the apply sent, also the writes whose answer never came: first the
// services (their tasks hold the rest), then secrets and configs, then networks.
func (ap *applier) undo(ctx context.Context) (undone []Ref, failed []RefError) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	ap.mu.Lock()
	started := append([]Action(nil), ap.started...)
	ap.mu.Unlock()
	lost := ap.lostAnswers()
	if lost {
		// a write whose answer was lost may still be carried out by the engine: let it
		// settle, so that it is undone rather than raced
		select {
		case <-ctx.Done():
		case <-time.After(settle):
		}
	}
	for _, kinds := range [][]Kind{{KindService}, {KindSecret, KindConfig}, {KindNetwork}} {
		for i := len(started) - 1; i >= 0; i-- {
			a := started[i]
			if a.Kind != kinds[0] && (len(kinds) == 1 || a.Kind != kinds[1]) {
				continue
			}
			ref, did, err := ap.undoOne(ctx, a)
			switch {
			case err != nil:
				failed = append(failed, RefError{Ref: ref, Err: err})
			case did:
				undone = append(undone, ref)
			}
		}
	}
	if lost {
		swept, errs := ap.sweep(ctx, undone)
		undone, failed = append(undone, swept...), append(failed, errs...)
	}
	return undone, failed
}

// lostAnswers tells whether a write failed without an answer that says it did nothing.
func (ap *applier) lostAnswers() bool {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	for _, a := range ap.started {
		if err := ap.errs[actionKey(a)]; err != nil && !madeNothing(err) {
			return true
		}
	}
	return false
}

// madeNothing tells whether a failed write's error is the engine's answer (it refused: nothing
// was done), rather than a lost answer (a cancelled or broken request, which the engine may
// still carry out).
func madeNothing(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return cerrdefs.IsInvalidArgument(err) || cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) ||
		cerrdefs.IsFailedPrecondition(err) || cerrdefs.IsUnavailable(err) || cerrdefs.IsInternal(err) ||
		cerrdefs.IsPermissionDenied(err) || cerrdefs.IsNotImplemented(err)
}

// settle is how long an undo lets writes whose answers were lost complete on the engine
// before it looks.
const settle = time.Second

// sweep removes what a create whose answer was lost made after all: every object of the stack
// that the plan did not read, that the undo did not put back, is this deploy's (the deploy
// lock keeps other berth deploys out).
func (ap *applier) sweep(ctx context.Context, undone []Ref) (swept []Ref, failed []RefError) {
	known := map[string]bool{}
	for _, s := range ap.plan.liveServices {
		known[s.ID] = true
	}
	for _, m := range []map[string]string{ap.plan.netIDs, ap.plan.names} {
		for _, id := range m {
			known[id] = true
		}
	}
	for _, r := range undone {
		known[r.ID] = true
	}
	l, err := readLive(ctx, ap.cli, ap.plan.Stack)
	if err != nil {
		return nil, []RefError{{Ref: Ref{Name: ap.plan.Stack}, Err: fmt.Errorf("look for objects of lost creates: %w", err)}}
	}
	var extra []Ref
	for _, s := range l.services {
		extra = append(extra, Ref{Kind: KindService, Name: s.Spec.Name, ID: s.ID})
	}
	for _, s := range l.secrets {
		if inStack(s.Spec.Labels, ap.plan.Stack) {
			extra = append(extra, Ref{Kind: KindSecret, Name: s.Spec.Name, ID: s.ID})
		}
	}
	for _, c := range l.configs {
		if inStack(c.Spec.Labels, ap.plan.Stack) {
			extra = append(extra, Ref{Kind: KindConfig, Name: c.Spec.Name, ID: c.ID})
		}
	}
	for _, n := range l.networks {
		if inStack(n.Labels, ap.plan.Stack) {
			extra = append(extra, Ref{Kind: KindNetwork, Name: n.Name, ID: n.ID})
		}
	}
	for _, r := range extra {
		if known[r.ID] {
			continue
		}
		if err := removeObject(ctx, ap.cli, r, undoPatience(r.Kind)); err != nil {
			failed = append(failed, RefError{Ref: r, Err: errors.Unwrap(err)})
			continue
		}
		ap.undoEvent(Action{Op: OpRemove, Kind: r.Kind, Name: r.Name, ID: r.ID, Reason: "created by the failed deploy, its answer lost"})
		swept = append(swept, r)
	}
	return swept, failed
}

// undoOne reverses one write; did is false when there was nothing to reverse (the write never
// took effect).
func (ap *applier) undoOne(ctx context.Context, a Action) (ref Ref, did bool, err error) {
	ref = Ref{Kind: a.Kind, Name: a.Name, ID: a.ID}
	switch {
	case a.Op == OpCreate:
		if ref.ID = ap.writtenID(ctx, a); ref.ID == "" {
			return ref, false, nil
		}
		if err := removeObject(ctx, ap.cli, ref, undoPatience(a.Kind)); err != nil {
			return ref, false, errors.Unwrap(err)
		}
		ap.undoEvent(Action{Op: OpRemove, Kind: a.Kind, Name: a.Name, ID: ref.ID, Reason: "created by the failed deploy"})
		return ref, true, nil
	case a.Op == OpUpdate && a.Kind == KindService:
		return ap.undoServiceUpdate(ctx, a, ref)
	case a.Op == OpUpdate:
		return ap.undoRelabel(ctx, a, ref)
	case a.Kind == KindService && ap.recorded(ap.res.Removed, a):
		old, ok := ap.liveService(a.ID)
		if !ok {
			return ref, false, fmt.Errorf("spec not read: %w", ErrCannotUndo)
		}
		r, err := ap.cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: old.Spec})
		if err != nil {
			return ref, false, fmt.Errorf("create again: %w", err)
		}
		ref.ID = r.ID
		ap.undoEvent(Action{Op: OpCreate, Kind: a.Kind, Name: a.Name, ID: r.ID, Reason: "pruned by the failed deploy"})
		return ref, true, nil
	case ap.recorded(ap.res.Removed, a):
		return ref, false, fmt.Errorf("removed: %w", ErrCannotUndo)
	}
	return ref, false, nil
}

// undoServiceUpdate puts the service back on the spec the plan read. The one update path
// (swarm.Replace) sends nothing when the spec is that one already: the update never took
// effect, or swarm rolled it back itself.
func (ap *applier) undoServiceUpdate(ctx context.Context, a Action, ref Ref) (Ref, bool, error) {
	old, ok := ap.liveService(a.ID)
	if !ok {
		return ref, false, fmt.Errorf("spec not read: %w", ErrCannotUndo)
	}
	res, err := swarm.Replace(ctx, ap.cli, a.ID, swarm.RawSpec(old.Spec), swarm.UpdateOptions{})
	if err != nil {
		return ref, false, err
	}
	if !res.Changed && !ap.recorded(ap.res.Updated, a) {
		return ref, false, nil // the update never took effect
	}
	ap.undoEvent(Action{Op: OpUpdate, Kind: a.Kind, Name: a.Name, ID: a.ID, Reason: "back to the spec read before the deploy"})
	return ref, true, nil
}

// undoRelabel gives a secret or config back the labels the plan read.
func (ap *applier) undoRelabel(ctx context.Context, a Action, ref Ref) (Ref, bool, error) {
	if a.prev == nil {
		return ref, false, fmt.Errorf("labels not read: %w", ErrCannotUndo)
	}
	var err error
	if a.Kind == KindSecret {
		var cur client.SecretInspectResult
		if cur, err = ap.cli.SecretInspect(ctx, a.ID, client.SecretInspectOptions{}); err == nil {
			spec := *a.secret
			spec.Annotations = *a.prev
			_, err = ap.cli.SecretUpdate(ctx, a.ID, client.SecretUpdateOptions{Version: cur.Secret.Version, Spec: spec})
		}
	} else {
		var cur client.ConfigInspectResult
		if cur, err = ap.cli.ConfigInspect(ctx, a.ID, client.ConfigInspectOptions{}); err == nil {
			spec := *a.config
			spec.Annotations = *a.prev
			_, err = ap.cli.ConfigUpdate(ctx, a.ID, client.ConfigUpdateOptions{Version: cur.Config.Version, Spec: spec})
		}
	}
	if err != nil {
		return ref, false, err
	}
	ap.undoEvent(Action{Op: OpUpdate, Kind: a.Kind, Name: a.Name, ID: a.ID, Reason: "labels read before the deploy"})
	return ref, true, nil
}

// undoPatience is how long an undo tries to remove an object the engine says is in use: a
// network until the removed services' tasks have left it.
func undoPatience(k Kind) time.Duration {
	if k == KindNetwork {
		return time.Minute
	}
	return 10 * time.Second
}

func (ap *applier) undoEvent(a Action) {
	if ap.opts.Progress != nil {
		ap.opts.Progress(Event{Stack: ap.plan.Stack, Type: EventUndo, Action: a})
	}
}

func (ap *applier) recorded(list []Ref, a Action) bool {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	for _, r := range list {
		if r.Kind == a.Kind && r.Name == a.Name {
			return true
		}
	}
	return false
}

// writtenID returns the ID of the object a create made: the one its answer gave, else, when
// the answer never came (the context ended, the connection broke), the object of that name
// in the stack, as the deploy lock keeps other berth deploys out. A create the engine refused
// as a conflict made nothing.
func (ap *applier) writtenID(ctx context.Context, a Action) string {
	ap.mu.Lock()
	for _, r := range ap.res.Created {
		if r.Kind == a.Kind && r.Name == a.Name {
			ap.mu.Unlock()
			return r.ID
		}
	}
	err := ap.errs[actionKey(a)]
	ap.mu.Unlock()
	if err == nil || madeNothing(err) {
		return ""
	}
	var labels map[string]string
	var id string
	switch a.Kind {
	case KindService:
		r, err := ap.cli.ServiceInspect(ctx, a.Name, client.ServiceInspectOptions{})
		if err == nil {
			id, labels = r.Service.ID, r.Service.Spec.Labels
		}
	case KindNetwork:
		r, err := ap.cli.NetworkInspect(ctx, a.Name, client.NetworkInspectOptions{})
		if err == nil {
			id, labels = r.Network.ID, r.Network.Labels
		}
	case KindSecret:
		r, err := ap.cli.SecretInspect(ctx, a.Name, client.SecretInspectOptions{})
		if err == nil {
			id, labels = r.Secret.ID, r.Secret.Spec.Labels
		}
	case KindConfig:
		r, err := ap.cli.ConfigInspect(ctx, a.Name, client.ConfigInspectOptions{})
		if err == nil {
			id, labels = r.Config.ID, r.Config.Spec.Labels
		}
	}
	if !inStack(labels, ap.plan.Stack) {
		return ""
	}
	return id
}
