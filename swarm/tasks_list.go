package swarm

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/moby/moby/client"
)

// ListTasks lists the tasks that match the engine filters (the keys of `docker service ps
// --filter` and `docker node ps --filter`: id, name, node, desired-state, service, label…),
// with service and node names, ordered by service name, slot (or node) and newest first.
// A "node" filter value may be a node's hostname or ID, as with the Docker CLI.
func ListTasks(ctx context.Context, cli TasksClient, filters client.Filters) ([]Task, error) {
	hosts, err := hostnames(ctx, cli)
	if err != nil {
		return nil, err
	}
	f := filters.Clone()
	if nodes, ok := f["node"]; ok {
		f["node"] = map[string]bool{}
		for n := range nodes {
			f["node"][nodeIDOf(hosts, n)] = true
		}
	}
	res, err := cli.TaskList(ctx, client.TaskListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	svcs, err := cli.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	names := map[string]string{}
	for _, s := range svcs.Items {
		names[s.ID] = s.Spec.Name
	}
	out := make([]Task, 0, len(res.Items))
	for _, t := range res.Items {
		out = append(out, taskFromAPI(cmp.Or(names[t.ServiceID], t.ServiceID), t, hosts))
	}
	slices.SortStableFunc(out, func(a, b Task) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Slot, b.Slot), cmp.Compare(a.Node, b.Node), b.API.CreatedAt.Compare(a.API.CreatedAt))
	})
	return out, nil
}

func nodeIDOf(hosts map[string]string, node string) string {
	for id, h := range hosts {
		if h == node {
			return id
		}
	}
	return node
}
