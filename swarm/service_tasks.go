package swarm

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// TasksClient is what Tasks needs of an engine client (a manager's).
type TasksClient interface {
	client.ServiceAPIClient
	client.TaskAPIClient
	client.NodeAPIClient
}

// Task is one task of a service, with the columns of `docker service ps`.
type Task struct {
	ID           string
	Name         string // SERVICE.SLOT, or SERVICE.NODEID for a global service
	Service      string
	ServiceID    string
	Slot         int
	NodeID       string
	Node         string // the node's hostname; empty while the task is not assigned
	Image        string
	DesiredState swarmapi.TaskState
	State        swarmapi.TaskState
	Message      string    // the state's message, e.g. "started"
	Err          string    // why the task failed or cannot be placed, e.g. "No such image: …"
	Since        time.Time // when the task reached State
	ExitCode     *int      // of a container that exited
	API          swarmapi.Task
}

// TasksOptions configures Tasks.
type TasksOptions struct {
	// History also lists tasks that swarm has shut down (replaced, failed, scaled away), as
	// `docker service ps` does; without it only the tasks swarm wants running (or complete,
	// for jobs) are listed.
	History bool
}

// Tasks lists the tasks of a service (name or ID), ordered by slot (or node) and, within one,
// newest first. The node of each task is given by hostname as well as by ID.
func Tasks(ctx context.Context, cli TasksClient, service string, opts TasksOptions) ([]Task, error) {
	svc, err := inspectService(ctx, cli, service)
	if err != nil {
		return nil, err
	}
	res, err := cli.TaskList(ctx, client.TaskListOptions{Filters: make(client.Filters).Add("service", svc.ID)})
	if err != nil {
		return nil, fmt.Errorf("tasks of service %s: %w", svc.Spec.Name, err)
	}
	hosts, err := hostnames(ctx, cli)
	if err != nil {
		return nil, fmt.Errorf("tasks of service %s: %w", svc.Spec.Name, err)
	}
	var out []Task
	for _, t := range res.Items {
		if !opts.History && t.DesiredState != swarmapi.TaskStateRunning && t.DesiredState != swarmapi.TaskStateComplete {
			continue
		}
		out = append(out, taskFromAPI(svc.Spec.Name, t, hosts))
	}
	slices.SortStableFunc(out, func(a, b Task) int {
		return cmp.Or(cmp.Compare(a.Slot, b.Slot), cmp.Compare(a.Node, b.Node), b.API.CreatedAt.Compare(a.API.CreatedAt))
	})
	return out, nil
}

func hostnames(ctx context.Context, cli client.NodeAPIClient) (map[string]string, error) {
	nodes, err := cli.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	out := make(map[string]string, len(nodes.Items))
	for _, n := range nodes.Items {
		out[n.ID] = n.Description.Hostname
	}
	return out, nil
}

func taskFromAPI(service string, t swarmapi.Task, hosts map[string]string) Task {
	name := fmt.Sprintf("%s.%d", service, t.Slot)
	if t.Slot == 0 {
		name = service + "." + t.NodeID
	}
	out := Task{
		ID: t.ID, Name: name, Service: service, ServiceID: t.ServiceID, Slot: t.Slot,
		NodeID: t.NodeID, Node: hosts[t.NodeID], DesiredState: t.DesiredState,
		State: t.Status.State, Message: t.Status.Message, Err: t.Status.Err, Since: t.Status.Timestamp, API: t,
	}
	if c := t.Spec.ContainerSpec; c != nil {
		out.Image = c.Image
	}
	if cs := t.Status.ContainerStatus; cs != nil && (t.Status.State == swarmapi.TaskStateFailed || t.Status.State == swarmapi.TaskStateComplete || t.Status.State == swarmapi.TaskStateShutdown) {
		code := cs.ExitCode
		out.ExitCode = &code
	}
	return out
}

// Placement counts the tasks in the list that are running, per node hostname.
func Placement(tasks []Task) map[string]int {
	out := map[string]int{}
	for _, t := range tasks {
		if t.State == swarmapi.TaskStateRunning {
			out[t.Node]++
		}
	}
	return out
}
