package ingress

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/events"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
)

// Client is the part of the Engine API client that discovery uses.
type Client interface {
	ServiceList(ctx context.Context, options client.ServiceListOptions) (client.ServiceListResult, error)
	TaskList(ctx context.Context, options client.TaskListOptions) (client.TaskListResult, error)
	NetworkInspect(ctx context.Context, network string, options client.NetworkInspectOptions) (client.NetworkInspectResult, error)
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
}

// BuildSnapshot computes the routes and endpoints of services and tasks (pure): the services
// with routing labels attached to one of the networks (network ID → name), and their tasks
// whose desired and current states are both running, at their address on that network. A task
// that swarm is stopping (desired state shutdown) is not an endpoint even while it still runs.
// Two routes with the same hosts and path are a problem: the first by name is kept.
func BuildSnapshot(services []swarmapi.Service, tasks []swarmapi.Task, networks map[string]string) Snapshot {
	snap := Snapshot{Endpoints: map[string][]Endpoint{}}
	services = slices.Clone(services)
	slices.SortFunc(services, func(a, b swarmapi.Service) int { return cmp.Compare(a.Spec.Name, b.Spec.Name) })
	byID := map[string]string{}    // service ID → name, of the routed ones
	netOf := map[string]string{}   // service ID → the shared network it is reached on
	claimed := map[string]string{} // hosts+path → route name
	for _, svc := range services {
		name := svc.Spec.Name
		var env []string
		if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
			env = cs.Env
		}
		routes, err := ParseService(name, svc.Spec.Labels, env)
		if err != nil {
			snap.Problems = append(snap.Problems, flatten(err)...)
		}
		if len(routes) == 0 {
			continue
		}
		nid := sharedNetwork(svc, networks)
		if nid == "" {
			snap.Problems = append(snap.Problems, berth.Invalid("service/"+name+"/networks",
				"has routing labels but is on none of the proxy's networks (%s): attach it to one", names(networks)))
			continue
		}
		for _, r := range routes {
			key := fmt.Sprint(r.Hosts, " ", r.PathPrefix)
			if other, dup := claimed[key]; dup {
				snap.Problems = append(snap.Problems, berth.Invalid("service/"+name+"/labels",
					"route %s matches the same hosts %v and path %s as route %s, which is kept", r.Name, r.Hosts, r.PathPrefix, other))
				continue
			}
			claimed[key] = r.Name
			snap.Routes = append(snap.Routes, r)
		}
		byID[svc.ID] = name
		netOf[svc.ID] = nid
	}
	for _, t := range tasks {
		name, ok := byID[t.ServiceID]
		if !ok || t.DesiredState != swarmapi.TaskStateRunning || t.Status.State != swarmapi.TaskStateRunning {
			continue
		}
		for _, na := range t.NetworksAttachments {
			if na.Network.ID != netOf[t.ServiceID] || len(na.Addresses) == 0 {
				continue
			}
			snap.Endpoints[name] = append(snap.Endpoints[name], Endpoint{
				Task: t.ID, Name: taskName(name, t), Node: t.NodeID, Addr: na.Addresses[0].Addr(),
			})
		}
	}
	for _, eps := range snap.Endpoints {
		slices.SortFunc(eps, func(a, b Endpoint) int { return cmp.Compare(a.Name, b.Name) })
	}
	return snap
}

// taskName is the name docker gives the task's container, without the ID's tail.
func taskName(service string, t swarmapi.Task) string {
	mid := strconv.Itoa(t.Slot)
	if t.Slot == 0 {
		mid = t.NodeID
	}
	return service + "." + mid + "." + t.ID[:min(len(t.ID), 12)]
}

func sharedNetwork(svc swarmapi.Service, networks map[string]string) string {
	for _, n := range svc.Spec.TaskTemplate.Networks {
		if _, ok := networks[n.Target]; ok {
			return n.Target
		}
	}
	return ""
}

func names(networks map[string]string) string {
	var ns []string
	for _, n := range networks {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return fmt.Sprint(ns)
}

// flatten splits joined errors, so each problem is a line of its own.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Discover reads the routed services and their tasks once.
func Discover(ctx context.Context, cli Client, networks []string) (Snapshot, error) {
	d := &discovery{cli: cli, networks: networks}
	if err := d.readServices(ctx); err != nil {
		return Snapshot{}, err
	}
	return d.readTasks(ctx)
}

// discovery keeps the last read of services between task reads.
type discovery struct {
	cli      Client
	networks []string
	nets     map[string]string // ID → name
	services []swarmapi.Service
}

func (d *discovery) readServices(ctx context.Context) error {
	nets := map[string]string{}
	for _, n := range d.networks {
		res, err := d.cli.NetworkInspect(ctx, n, client.NetworkInspectOptions{})
		if err != nil {
			return fmt.Errorf("ingress: network %s: %w", n, err)
		}
		nets[res.Network.ID] = res.Network.Name
	}
	res, err := d.cli.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return fmt.Errorf("ingress: list services: %w", err)
	}
	d.nets, d.services = nets, res.Items
	return nil
}

// readTasks reads the tasks of the services that have routes, and builds the snapshot.
func (d *discovery) readTasks(ctx context.Context) (Snapshot, error) {
	snap := BuildSnapshot(d.services, nil, d.nets)
	f := make(client.Filters).Add("desired-state", "running")
	routed := false
	for _, svc := range d.services {
		if slices.ContainsFunc(snap.Routes, func(r Route) bool { return r.Service == svc.Spec.Name }) {
			f.Add("service", svc.ID)
			routed = true
		}
	}
	if !routed {
		return snap, nil
	}
	res, err := d.cli.TaskList(ctx, client.TaskListOptions{Filters: f})
	if err != nil {
		return Snapshot{}, fmt.Errorf("ingress: list tasks: %w", err)
	}
	return BuildSnapshot(d.services, res.Items, d.nets), nil
}

// Watch sends a snapshot to update at once and whenever it changes, until ctx ends: services
// are read again on every service or network event of the engine (never on a timer), their
// tasks every interval besides. A failed read or a lost event stream is logged through onErr
// and retried; Watch returns only ctx's error.
func Watch(ctx context.Context, cli Client, networks []string, interval time.Duration, update func(Snapshot), onErr func(error)) error {
	d := &discovery{cli: cli, networks: networks}
	var last *Snapshot
	send := func(s Snapshot) {
		if last == nil || !reflect.DeepEqual(*last, s) {
			last = &s
			update(s)
		}
	}
	for ctx.Err() == nil {
		err := d.follow(ctx, interval, send)
		if ctx.Err() != nil {
			break
		}
		onErr(err)
		sleep(ctx, time.Second)
	}
	return ctx.Err()
}

// follow subscribes to events, then reads (so no change falls between the two), and keeps
// reading on events and ticks until the stream or a read fails.
func (d *discovery) follow(ctx context.Context, interval time.Duration, send func(Snapshot)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ev := d.cli.Events(ctx, client.EventsListOptions{Filters: make(client.Filters).
		Add("type", string(events.ServiceEventType), string(events.NetworkEventType))})
	if err := d.readServices(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		snap, err := d.readTasks(ctx)
		if err != nil {
			return err
		}
		send(snap)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-ev.Err:
			return fmt.Errorf("ingress: engine events: %w", cmp.Or(err, errors.New("stream ended")))
		case <-ev.Messages:
			if err := d.readServices(ctx); err != nil {
				return err
			}
		case <-tick.C:
		}
	}
}
