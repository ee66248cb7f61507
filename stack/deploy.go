package stack

import (
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/berthdev/berth/swarm"
	"github.com/moby/moby/client"
)

// Image resolution policies, as `docker stack deploy --resolve-image` names them.
const (
	ResolveAlways  = "always"  // ask the registry for each image's digest and pin it
	ResolveChanged = "changed" // ask only for images that changed since the last deploy
	ResolveNever   = "never"   // send image references as written
)

// DeployOptions are the options of Deploy, as `docker stack deploy` names them.
type DeployOptions struct {
	// Prune removes services, networks, secrets and configs of the stack that the spec lacks.
	Prune bool
	// ResolveImage is ResolveAlways (the default when empty), ResolveChanged or ResolveNever.
	ResolveImage string
	// EncodedRegistryAuth is used to query registries and sent with service creates and
	// updates (base64 JSON auth config).
	EncodedRegistryAuth string
	// RegistryAuth, when set, returns the encoded auth for one image's registry, used and
	// sent per service (--with-registry-auth); it takes precedence over EncodedRegistryAuth.
	RegistryAuth func(image string) string
	// Progress, when set, receives one line per action ("Creating service echo_api") and, with
	// Wait, one per change of a service's state.
	Progress func(line string)
	// Wait makes Deploy watch the services it created or updated until they converge, fail,
	// or Watch.Timeout passes.
	Wait bool
	// Watch says how the services are watched with Wait.
	Watch swarm.WatchOptions
	// SkipPreflight deploys without the checks of the plan's preflight (the engine then
	// reports what they would have found, later).
	SkipPreflight bool
}

// DeployResult is what Deploy did: the plan it made and what applying it wrote.
type DeployResult struct {
	Plan *Plan
	Result
}

// Deploy plans the stack, applies the plan and, with Wait, watches the services it created or
// updated until they converge. Problems found by the plan's preflight are returned before
// any write, as a *PreflightError. An unchanged stack is not written to at all.
func Deploy(ctx context.Context, cli Client, spec *Spec, opts DeployOptions) (*DeployResult, error) {
	plan, err := spec.Plan(ctx, cli, PlanOptions{Prune: opts.Prune, ResolveImage: opts.ResolveImage,
		EncodedRegistryAuth: opts.EncodedRegistryAuth, RegistryAuth: opts.RegistryAuth, SkipPreflight: opts.SkipPreflight})
	if err != nil {
		return nil, err
	}
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			opts.Progress(fmt.Sprintf(format, args...))
		}
	}
	res, err := plan.Apply(ctx, cli, ApplyOptions{Progress: func(a Action) { progress("%s", a.Verb()) }})
	out := &DeployResult{Plan: plan, Result: *res}
	out.Warnings = append(slices.Clone(plan.Warnings), out.Warnings...)
	if err != nil || !opts.Wait || len(res.Services()) == 0 {
		return out, err
	}
	for ev, err := range Watch(ctx, cli, spec.Stack, res.Services(), opts.Watch) {
		if err != nil {
			return out, fmt.Errorf("deploy stack %s: %w", spec.Stack, err)
		}
		progress("%s", ev)
	}
	return out, nil
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

// Event is one observation of one service of a stack while it is watched.
type Event struct {
	Stack string
	swarm.Progress
}

// Watch follows services of a stack (IDs or names; all the stack's services when none are
// given) concurrently until every one has converged, one fails (a *swarm.ConvergeError with
// the task's own reason: "No such image", "no suitable node", a crash with its exit code and
// last log lines, a rollback) or opts.Timeout passes.
func Watch(ctx context.Context, cli WatchClient, stack string, services []string, opts swarm.WatchOptions) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if len(services) == 0 {
			list, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", LabelNamespace+"="+stack)})
			if err != nil {
				yield(Event{Stack: stack}, fmt.Errorf("list services of stack %s: %w", stack, err))
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
			if !yield(Event{Stack: stack, Progress: p}, err) || err != nil {
				return
			}
		}
	}
}
