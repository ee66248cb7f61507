package stack

import (
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/berthdev/berth/swarm"
	"github.com/moby/moby/client"
)

// DeployOptions are the options of Deploy, as `docker stack deploy` names them: the plan's
// (Prune, ResolveImage, registry auth, SkipPreflight) and how to apply and wait.
type DeployOptions struct {
	PlanOptions
	// Progress, when set, receives the deploy's events: each action before it is written
	// (EventAction), each write undone after a failure, once undone (EventUndo) and, with
	// Wait, each change of a service's state (EventProgress).
	Progress func(Event)
	// Wait makes Deploy watch the services it created or updated until they converge, fail,
	// or Watch.Timeout passes; the secrets and configs the deploy replaced, and the pruned
	// networks, secrets and configs, are removed once the services have converged.
	Wait bool
	// Watch says how the services are watched with Wait.
	Watch swarm.WatchOptions
	// NoRollback keeps what a failed deploy wrote (`--no-rollback`). By default a deploy that
	// fails part way, or whose services do not converge under Wait, is undone (see
	// DeployError).
	NoRollback bool
}

// DeployResult is what Deploy did: the plan it made and what applying it wrote.
type DeployResult struct {
	Plan *Plan
	Result
}

// Deploy plans the stack, applies the plan and, with Wait, watches the services it created or
// updated until they converge. Problems found by the plan's preflight are returned before
// any write, as a *PreflightError. An unchanged stack is not written to at all. A deploy that
// fails after it has written (the engine refuses a spec, a *swarm.VersionConflictError, the
// context ends, the engine goes away; with Wait, a *swarm.ConvergeError) is undone unless
// opts.NoRollback, and the error is a *DeployError saying what failed, what was undone and
// what could not be. A concurrent deploy of the same stack fails with a *LockedError before
// it writes. Removals that fail after the rest succeeded are a *LeftError, not undone.
func Deploy(ctx context.Context, cli Client, spec *Spec, opts DeployOptions) (*DeployResult, error) {
	plan, err := spec.Plan(ctx, cli, opts.PlanOptions)
	if err != nil {
		return nil, err
	}
	out := &DeployResult{Plan: plan}
	out.Warnings = slices.Clone(plan.Warnings)
	if !plan.HasChanges() {
		return out, nil
	}
	unlock, err := lock(ctx, cli, spec.Stack)
	if err != nil {
		return out, fmt.Errorf("deploy stack %s: %w", spec.Stack, err)
	}
	ap := newApplier(plan, cli, ApplyOptions{Progress: opts.Progress})
	err = ap.deploy(ctx, opts)
	if uerr := unlock(); uerr != nil {
		err = joinErr(err, uerr)
	}
	out.Result = *ap.res
	out.Warnings = append(slices.Clone(plan.Warnings), ap.res.Warnings...)
	return out, err
}

func joinErr(err, more error) error {
	if err == nil {
		return more
	}
	return fmt.Errorf("%w; %w", err, more)
}

// deploy applies, waits and, on a failure before the final removals, undoes.
func (ap *applier) deploy(ctx context.Context, opts DeployOptions) error {
	steps := stepsAll
	if opts.Wait {
		steps = stepsAll[:stepRemovals]
	}
	step, err := ap.run(ctx, steps, false)
	if err == nil && opts.Wait {
		if err = ap.watch(ctx, opts.Watch); err == nil {
			_, err = ap.run(ctx, []int{stepRemovals}, true)
			return err
		}
		step = stepServices
	}
	if err == nil || step == stepRemovals {
		return err
	}
	de := &DeployError{Stack: ap.plan.Stack, Err: err}
	if !opts.NoRollback {
		de.RolledBack = true
		de.Undone, de.NotUndone = ap.undo(ctx)
	}
	return de
}

// watch follows the services the apply created or updated until they converge.
func (ap *applier) watch(ctx context.Context, opts swarm.WatchOptions) error {
	ids := ap.res.Services()
	if len(ids) == 0 {
		return nil
	}
	for ev, err := range Watch(ctx, ap.cli, ap.plan.Stack, ids, opts) {
		if err != nil {
			return fmt.Errorf("deploy stack %s: %w", ap.plan.Stack, err)
		}
		if ap.opts.Progress != nil {
			ap.opts.Progress(ev)
		}
	}
	return nil
}

// Verb describes the action as the Docker CLI prints it: "Creating service echo_api".
func (a Action) Verb() string {
	verb := map[Op]string{OpCreate: "Creating", OpUpdate: "Updating", OpRemove: "Removing", OpNoop: "Keeping"}[a.Op]
	s := fmt.Sprintf("%s %s %s", verb, a.Kind, a.Name)
	if a.Reason != "" {
		s += " (" + a.Reason + ")"
	}
	return s
}

// WatchClient is what Watch needs of an Engine API client.
type WatchClient = swarm.ServiceClient

// EventType says what an Event reports.
type EventType string

// Types of events of Deploy, Apply, Remove and Watch.
const (
	EventAction   EventType = "action"   // Action is about to be written
	EventUndo     EventType = "undo"     // Action has undone a write of a failed deploy
	EventProgress EventType = "progress" // Progress is a watched service's new state
)

// Event is one step of a deploy, apply or removal of a stack, or one observation of one of
// its services while it is watched (the shape of swarm.Watch's events, with the stack's
// actions).
type Event struct {
	Stack  string
	Type   EventType
	Action Action // EventAction, EventUndo
	swarm.Progress
}

// String renders the event on one line, as the Docker CLI prints a deploy: "Creating service
// echo_api", "Rolled back: Removing network echo_back (created by the failed deploy)",
// "echo_api 2/3 starting".
func (e Event) String() string {
	switch e.Type {
	case EventAction:
		return e.Action.Verb()
	case EventUndo:
		return "Rolled back: " + e.Action.Verb()
	}
	return e.Progress.String()
}

// Watch follows services of a stack (IDs or names; all the stack's services when none are
// given) concurrently until every one has converged, one fails (a *swarm.ConvergeError with
// the task's own reason: "No such image", "no suitable node", a crash with its exit code and
// last log lines, a rollback) or opts.Timeout passes. Its events are EventProgress.
func Watch(ctx context.Context, cli WatchClient, stack string, services []string, opts swarm.WatchOptions) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if len(services) == 0 {
			list, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", LabelNamespace+"="+stack)})
			if err != nil {
				yield(Event{Stack: stack, Type: EventProgress}, fmt.Errorf("list services of stack %s: %w", stack, err))
				return
			}
			for _, s := range list.Items {
				services = append(services, s.ID)
			}
			if len(services) == 0 {
				return
			}
		}
		for p, err := range swarm.Watch(ctx, cli, services, opts) {
			if !yield(Event{Stack: stack, Type: EventProgress, Progress: p}, err) || err != nil {
				return
			}
		}
	}
}
