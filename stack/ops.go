package stack

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Summary is one stack as `docker stack ls` lists it.
type Summary struct {
	Name     string `json:"name"`
	Services int    `json:"services"`
}

// List returns the stacks of the swarm, sorted by name: the namespaces found on services, as
// `docker stack ls` finds them (stacks deployed by the Docker CLI included).
func List(ctx context.Context, cli client.ServiceAPIClient) ([]Summary, error) {
	svcs, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", LabelNamespace)})
	if err != nil {
		return nil, fmt.Errorf("list stacks: %w", err)
	}
	count := map[string]int{}
	for _, s := range svcs.Items {
		count[s.Spec.Labels[LabelNamespace]]++
	}
	var out []Summary
	for name, n := range count {
		out = append(out, Summary{Name: name, Services: n})
	}
	slices.SortFunc(out, func(a, b Summary) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func stackFilter(name string) client.Filters {
	return client.Filters{}.Add("label", LabelNamespace+"="+name)
}

// Services returns the services of a stack with their running and desired task counts
// (`docker stack services`), sorted by name.
func Services(ctx context.Context, cli client.ServiceAPIClient, name string) ([]swarmapi.Service, error) {
	svcs, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: stackFilter(name), Status: true})
	if err != nil {
		return nil, fmt.Errorf("list services of stack %s: %w", name, err)
	}
	slices.SortFunc(svcs.Items, func(a, b swarmapi.Service) int { return cmp.Compare(a.Spec.Name, b.Spec.Name) })
	return svcs.Items, nil
}

// Tasks returns the tasks of a stack's services (`docker stack ps`), sorted by service
// name, slot and newest first.
func Tasks(ctx context.Context, cli interface {
	client.ServiceAPIClient
	client.TaskAPIClient
}, name string) ([]swarmapi.Task, error) {
	tasks, err := cli.TaskList(ctx, client.TaskListOptions{Filters: stackFilter(name)})
	if err != nil {
		return nil, fmt.Errorf("list tasks of stack %s: %w", name, err)
	}
	slices.SortFunc(tasks.Items, func(a, b swarmapi.Task) int {
		return cmp.Or(cmp.Compare(a.ServiceID, b.ServiceID), cmp.Compare(a.Slot, b.Slot), cmp.Compare(a.NodeID, b.NodeID),
			b.Status.Timestamp.Compare(a.Status.Timestamp))
	})
	return tasks.Items, nil
}

// RemoveOptions are the options of Remove.
type RemoveOptions struct {
	// Wait makes Remove return only once the stack's networks are gone (the engine removes them
	// once the services' tasks have stopped), so that the stack can be deployed again at once,
	// or Timeout passes. Without it a network still in use after 10 s is left (LeftError).
	Wait bool
	// Timeout bounds the wait for the networks with Wait; 1 minute when 0.
	Timeout time.Duration
	// Progress, when set, receives an EventAction before each removal ("Removing service
	// echo_api").
	Progress func(Event)
}

// ErrNoStack is returned (wrapped, also matching cerrdefs.IsNotFound) by Remove for a stack
// that has nothing.
var ErrNoStack = fmt.Errorf("nothing found in stack: %w", cerrdefs.ErrNotFound)

// Remove deletes everything the stack owns, as `docker stack rm` does: services, then
// secrets and configs, then networks. Every removal is tried; what is still there at the end
// (a removal the engine refused, with Wait a network still there after Timeout) is listed in
// a *LeftError (errors.Is(err, ErrLeft)).
func Remove(ctx context.Context, cli Client, name string, opts RemoveOptions) error {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	l, err := readLive(ctx, cli, name)
	if err != nil {
		return fmt.Errorf("remove stack %s: %w", name, err)
	}
	p := &Plan{Stack: name}
	for _, s := range l.services {
		p.Actions = append(p.Actions, Action{Op: OpRemove, Kind: KindService, Name: s.Spec.Name, ID: s.ID})
	}
	for _, s := range l.secrets {
		if inStack(s.Spec.Labels, name) {
			p.Actions = append(p.Actions, Action{Op: OpRemove, Kind: KindSecret, Name: s.Spec.Name, ID: s.ID})
		}
	}
	for _, c := range l.configs {
		if inStack(c.Spec.Labels, name) {
			p.Actions = append(p.Actions, Action{Op: OpRemove, Kind: KindConfig, Name: c.Spec.Name, ID: c.ID})
		}
	}
	var nets []Action
	for _, n := range l.networks {
		if inStack(n.Labels, name) {
			nets = append(nets, Action{Op: OpRemove, Kind: KindNetwork, Name: n.Name, ID: n.ID})
		}
	}
	if len(p.Actions)+len(nets) == 0 {
		return fmt.Errorf("remove stack %s: %w", name, ErrNoStack)
	}
	ap := newApplier(p, cli, ApplyOptions{Progress: opts.Progress})
	ap.keepGoing = true
	var svcs, objs []Action
	for _, a := range p.Actions {
		if a.Kind == KindService {
			svcs = append(svcs, a)
		} else {
			objs = append(objs, a)
		}
	}
	errs := ap.parallel(ctx, svcs, ap.remove)
	errs = append(errs, ap.parallel(ctx, objs, ap.remove)...)
	if opts.Wait {
		wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
		errs = append(errs, ap.parallel(wctx, nets, func(ctx context.Context, a Action) error {
			return waitNetworkGone(ctx, cli, Ref{Kind: a.Kind, Name: a.Name, ID: a.ID})
		})...)
	} else {
		errs = append(errs, ap.parallel(ctx, nets, ap.remove)...)
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove stack %s: %w", name, leftError(name, errs))
	}
	return nil
}

// waitNetworkGone removes the network until the engine no longer has it: removal is refused
// while tasks of removed services still use it, and a removed network can stay visible for
// a moment.
func waitNetworkGone(ctx context.Context, cli client.NetworkAPIClient, r Ref) error {
	for {
		_, err := cli.NetworkInspect(ctx, r.ID, client.NetworkInspectOptions{})
		if cerrdefs.IsNotFound(err) {
			return nil
		}
		if err == nil {
			if _, err = cli.NetworkRemove(ctx, r.ID, client.NetworkRemoveOptions{}); cerrdefs.IsNotFound(err) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return RefError{Ref: r, Err: fmt.Errorf("still there: %w (last: %v)", context.Cause(ctx), err)}
		case <-time.After(250 * time.Millisecond):
		}
	}
}
