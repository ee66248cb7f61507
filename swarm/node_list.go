package swarm

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/moby/moby/client"
)

// ListNodes lists the nodes matching the engine filters, the keys of `docker node ls
// --filter`: id, label, membership, name, node.label, role; sorted by hostname.
func ListNodes(ctx context.Context, cli client.NodeAPIClient, filters client.Filters) ([]Node, error) {
	res, err := cli.NodeList(ctx, client.NodeListOptions{Filters: filters})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	out := make([]Node, 0, len(res.Items))
	for _, n := range res.Items {
		out = append(out, NodeFromAPI(n))
	}
	slices.SortFunc(out, func(a, b Node) int { return cmp.Compare(a.Hostname, b.Hostname) })
	return out, nil
}
