package stack

import (
	"cmp"
	"context"
	"errors"
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
	// Timeout bounds the wait for the stack's networks to be gone; 1 minute when 0.
	Timeout time.Duration
	// Progress, when set, receives one line per object removed ("Removing service echo_api").
	Progress func(line string)
	// Detach returns once the removals are sent, without waiting for the networks to be gone.
	Detach bool
}

// ErrNoStack is returned (wrapped, also matching cerrdefs.IsNotFound) by Remove for a stack
// that has nothing.
var ErrNoStack = fmt.Errorf("nothing found in stack: %w", cerrdefs.ErrNotFound)

// Remove deletes everything the stack owns, as `docker stack rm` does: services, then
// secrets and configs, then networks; it then waits until the networks are gone (the engine
// removes them once the services' tasks have stopped), so that the stack can be deployed
// again at once.
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
	var nets []string
	for _, n := range l.networks {
		if inStack(n.Labels, name) {
			nets = append(nets, n.ID)
			p.Actions = append(p.Actions, Action{Op: OpRemove, Kind: KindNetwork, Name: n.Name, ID: n.ID})
		}
	}
	if len(p.Actions) == 0 {
		return fmt.Errorf("remove stack %s: %w", name, ErrNoStack)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	res, err := p.Apply(ctx, cli, ApplyOptions{Progress: func(a Action) {
		if opts.Progress != nil {
			opts.Progress(a.Verb())
		}
	}})
	if err != nil {
		return fmt.Errorf("remove stack %s: %w", name, err)
	}
	if opts.Detach {
		return nil
	}
	if err := waitNetworksGone(ctx, cli, nets); err != nil {
		return fmt.Errorf("remove stack %s: %w", name, errors.Join(append([]error{err}, warnings(res)...)...))
	}
	return nil
}

func warnings(res *Result) []error {
	var out []error
	for _, w := range res.Warnings {
		out = append(out, errors.New(w))
	}
	return out
}

func waitNetworksGone(ctx context.Context, cli client.NetworkAPIClient, ids []string) error {
	for _, id := range ids {
		for {
			_, err := cli.NetworkInspect(ctx, id, client.NetworkInspectOptions{})
			if cerrdefs.IsNotFound(err) {
				break
			}
			if err == nil {
				_, err = cli.NetworkRemove(ctx, id, client.NetworkRemoveOptions{})
				if err == nil || cerrdefs.IsNotFound(err) {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("network %s still there: %w", id, context.Cause(ctx))
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}
