package swarm

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/berthdev/berth"
	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Node is one node of a swarm, with the columns of `docker node ls` and a little more.
type Node struct {
	ID           string
	Hostname     string
	Role         swarmtypes.NodeRole
	Availability swarmtypes.NodeAvailability
	Status       swarmtypes.NodeState // ready, down, disconnected, unknown
	// StatusMessage says why a node is not ready, when the engine knows.
	StatusMessage string
	// Addr is the node's address as the managers see it.
	Addr string
	// ManagerStatus is "Leader", "Reachable", "Unreachable" or "Unknown" for managers, as in
	// `docker node ls`, and "" for workers.
	ManagerStatus string
	EngineVersion string
	// Platform is "OS/ARCHITECTURE", such as "linux/x86_64".
	Platform string
	// Labels are the node's labels (node.labels.KEY in placement constraints).
	Labels map[string]string
	// EngineLabels are the engine's own labels (engine.labels.KEY in constraints).
	EngineLabels map[string]string
	// Version is the node object's version, which an update must name.
	Version swarmtypes.Version
	// API is the node as the Engine API returned it.
	API swarmtypes.Node
}

// NodeFromAPI summarises an Engine API node.
func NodeFromAPI(n swarmtypes.Node) Node {
	out := Node{
		ID:            n.ID,
		Hostname:      n.Description.Hostname,
		Role:          n.Spec.Role,
		Availability:  n.Spec.Availability,
		Status:        n.Status.State,
		StatusMessage: n.Status.Message,
		Addr:          n.Status.Addr,
		EngineVersion: n.Description.Engine.EngineVersion,
		Labels:        maps.Clone(n.Spec.Labels),
		EngineLabels:  maps.Clone(n.Description.Engine.Labels),
		Version:       n.Version,
		API:           n,
	}
	if pl := n.Description.Platform; pl.OS != "" || pl.Architecture != "" {
		out.Platform = pl.OS + "/" + pl.Architecture
	}
	if m := n.ManagerStatus; m != nil {
		switch {
		case m.Leader:
			out.ManagerStatus = "Leader"
		case m.Reachability == "":
			out.ManagerStatus = "Unknown"
		default:
			r := string(m.Reachability)
			out.ManagerStatus = strings.ToUpper(r[:1]) + r[1:]
		}
	}
	return out
}

// NodeFilter narrows Nodes. The zero value lists every node.
type NodeFilter struct {
	// Role keeps the nodes of one role (RoleWorker or RoleManager).
	Role swarmtypes.NodeRole
	// Labels keeps the nodes that carry every one of these node labels, each "KEY" or
	// "KEY=VALUE".
	Labels []string
}

// Nodes lists the nodes of the swarm that the manager behind cli belongs to, sorted by
// hostname then ID.
func Nodes(ctx context.Context, cli client.NodeAPIClient, f NodeFilter) ([]Node, error) {
	filters := make(client.Filters)
	if f.Role != "" {
		if err := checkRole("nodes/role", f.Role); err != nil {
			return nil, err
		}
		filters.Add("role", string(f.Role))
	}
	if len(f.Labels) > 0 {
		filters.Add("node.label", f.Labels...)
	}
	res, err := cli.NodeList(ctx, client.NodeListOptions{Filters: filters})
	if err != nil {
		return nil, fmt.Errorf("node list: %w", err)
	}
	nodes := make([]Node, len(res.Items))
	for i, n := range res.Items {
		nodes[i] = NodeFromAPI(n)
	}
	slices.SortFunc(nodes, func(a, b Node) int {
		return cmp.Or(cmp.Compare(a.Hostname, b.Hostname), cmp.Compare(a.ID, b.ID))
	})
	return nodes, nil
}

// InspectNode returns one node, named by ID, ID prefix or hostname.
func InspectNode(ctx context.Context, cli client.NodeAPIClient, node string) (Node, error) {
	res, err := cli.NodeInspect(ctx, node, client.NodeInspectOptions{})
	if err != nil {
		return Node{}, fmt.Errorf("node inspect %s: %w", node, err)
	}
	return NodeFromAPI(res.Node), nil
}

// NodeUpdate is a change to a node. Empty fields keep what the node has.
type NodeUpdate struct {
	// Role promotes (RoleManager) or demotes (RoleWorker) the node.
	Role swarmtypes.NodeRole
	// Availability: active takes new tasks, pause keeps its tasks but takes no new ones,
	// drain moves its tasks to other nodes.
	Availability swarmtypes.NodeAvailability
	// AddLabels sets these node labels, replacing the values of existing keys.
	AddLabels map[string]string
	// RemoveLabels removes these label keys; a key that is not there is not an error.
	RemoveLabels []string
}

// Validate reports every invalid field of u as *berth.ValidationError values.
func (u NodeUpdate) Validate() error {
	var p berth.Problems
	if u.Role != "" {
		p.AddErr("node/role", checkRole("node/role", u.Role))
	}
	checkAvailability(&p, "node/availability", u.Availability)
	for _, k := range slices.Sorted(maps.Keys(u.AddLabels)) {
		checkLabelKey(&p, "node/labels/"+k, k)
		if slices.Contains(u.RemoveLabels, k) {
			p.Add("node/labels/"+k, "both added and removed: give the key in one of AddLabels and RemoveLabels")
		}
	}
	for i, k := range u.RemoveLabels {
		checkLabelKey(&p, fmt.Sprintf("node/remove_labels[%d]", i), k)
	}
	return p.Err()
}

func checkLabelKey(p *berth.Problems, path, k string) {
	if k == "" || strings.ContainsAny(k, "= \t\n") {
		p.Add(path, "%q is not a label key: use a non-empty key without '=' or spaces, such as zone or com.example.rack", k)
	}
}

// apply changes spec as u says and reports whether anything changed.
func (u NodeUpdate) apply(spec *swarmtypes.NodeSpec) bool {
	before := *spec
	before.Labels = maps.Clone(spec.Labels)
	if u.Role != "" {
		spec.Role = u.Role
	}
	if u.Availability != "" {
		spec.Availability = u.Availability
	}
	if len(u.AddLabels) > 0 && spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	maps.Copy(spec.Labels, u.AddLabels)
	for _, k := range u.RemoveLabels {
		delete(spec.Labels, k)
	}
	return before.Role != spec.Role || before.Availability != spec.Availability || !maps.Equal(before.Labels, spec.Labels)
}

// UpdateNode changes a node (named by ID, ID prefix or hostname) as u says and returns it as
// it is afterwards. A change that would leave the node as it is makes no write. The write names
// the version just read, so a concurrent change of the same node in between makes the engine
// fail the update ("update out of sequence"); it is never overwritten.
func UpdateNode(ctx context.Context, cli client.NodeAPIClient, node string, u NodeUpdate) (Node, error) {
	if err := u.Validate(); err != nil {
		return Node{}, err
	}
	cur, err := InspectNode(ctx, cli, node)
	if err != nil {
		return Node{}, err
	}
	spec := cur.API.Spec
	if !u.apply(&spec) {
		return cur, nil
	}
	if _, err := cli.NodeUpdate(ctx, cur.ID, client.NodeUpdateOptions{Version: cur.Version, Spec: spec}); err != nil {
		return Node{}, fmt.Errorf("node update %s: %w", node, err)
	}
	return InspectNode(ctx, cli, cur.ID)
}

// SetAvailability sets a node's availability: active, pause or drain.
func SetAvailability(ctx context.Context, cli client.NodeAPIClient, node string, a swarmtypes.NodeAvailability) (Node, error) {
	if a == "" {
		return Node{}, berth.Invalid("node/availability", "empty: use active, pause or drain")
	}
	return UpdateNode(ctx, cli, node, NodeUpdate{Availability: a})
}

// Promote makes a worker a manager.
func Promote(ctx context.Context, cli client.NodeAPIClient, node string) (Node, error) {
	return UpdateNode(ctx, cli, node, NodeUpdate{Role: RoleManager})
}

// Demote makes a manager a worker. The engine refuses to demote the last manager.
func Demote(ctx context.Context, cli client.NodeAPIClient, node string) (Node, error) {
	return UpdateNode(ctx, cli, node, NodeUpdate{Role: RoleWorker})
}

// AddNodeLabels sets labels on a node.
func AddNodeLabels(ctx context.Context, cli client.NodeAPIClient, node string, labels map[string]string) (Node, error) {
	return UpdateNode(ctx, cli, node, NodeUpdate{AddLabels: labels})
}

// RemoveNodeLabels removes label keys from a node.
func RemoveNodeLabels(ctx context.Context, cli client.NodeAPIClient, node string, keys ...string) (Node, error) {
	return UpdateNode(ctx, cli, node, NodeUpdate{RemoveLabels: keys})
}

// RemoveNodeOptions configures RemoveNode.
type RemoveNodeOptions struct {
	// Force removes a node that is still up (it keeps running its containers, outside the
	// swarm) or a manager.
	Force bool
}

// RemoveNode removes a node from the swarm. Without Force the node must be down (it left, or
// its engine stopped) and a worker.
func RemoveNode(ctx context.Context, cli client.NodeAPIClient, node string, o RemoveNodeOptions) error {
	if _, err := cli.NodeRemove(ctx, node, client.NodeRemoveOptions{Force: o.Force}); err != nil {
		return fmt.Errorf("node rm %s: %w", node, err)
	}
	return nil
}
