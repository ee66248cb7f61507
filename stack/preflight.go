package stack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/berthdev/berth/swarm"
	cerrdefs "github.com/containerd/errdefs"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// ErrPreflight is matched (errors.Is) by every *PreflightError.
var ErrPreflight = errors.New("stack preflight failed")

// PreflightError lists every problem found before the first write; nothing was written.
type PreflightError struct {
	Stack    string
	Problems []string
}

func (e *PreflightError) Error() string {
	return fmt.Sprintf("stack %s cannot be deployed (nothing was written):\n  %s", e.Stack, strings.Join(e.Problems, "\n  "))
}

// Unwrap makes the error match ErrPreflight and cerrdefs.IsFailedPrecondition.
func (e *PreflightError) Unwrap() []error {
	return []error{ErrPreflight, cerrdefs.ErrFailedPrecondition}
}

// preflight checks, before any write, what would make the deploy fail on the engine: external
// objects that do not exist, images that do not resolve, constraints that match no node, host
// ports taken twice on a node, platforms no node has. Externals were checked while planning.
func (pr *planner) preflight(ctx context.Context) error {
	pr.externalVolumes(ctx)
	nodes := schedulable(pr.live.nodes)
	ports := map[string][]portDemand{}
	for _, a := range pr.plan.Actions {
		if a.Kind != KindService || a.service == nil {
			continue
		}
		eligible := pr.eligible(a.Name, a.service, nodes)
		pr.checkImage(ctx, a.Name, a.service)
		for _, p := range a.service.EndpointSpec.Ports {
			if p.PublishMode == swarmapi.PortConfigPublishModeHost && p.PublishedPort != 0 {
				key := fmt.Sprintf("%d/%s", p.PublishedPort, p.Protocol)
				ports[key] = append(ports[key], portDemand{service: a.Name, tasks: tasksOf(a.service, len(eligible)), nodes: eligible})
			}
		}
	}
	pr.checkHostPorts(ports)
	if len(pr.problems) > 0 {
		return &PreflightError{Stack: pr.plan.Stack, Problems: pr.problems}
	}
	return nil
}

func (pr *planner) externalVolumes(ctx context.Context) {
	for _, v := range pr.plan.spec.Volumes {
		if !v.External {
			continue
		}
		_, err := pr.cli.VolumeInspect(ctx, v.Name, client.VolumeInspectOptions{})
		switch {
		case err == nil:
		case cerrdefs.IsNotFound(err) && len(pr.live.nodes) <= 1:
			pr.problems = append(pr.problems, fmt.Sprintf("volume %q is declared as external, but could not be found", v.Name))
		case cerrdefs.IsNotFound(err):
			pr.plan.Warnings = append(pr.plan.Warnings, fmt.Sprintf("external volume %q is not on this node; it must exist on the nodes that run its tasks", v.Name))
		default:
			pr.problems = append(pr.problems, fmt.Sprintf("volume %q: %v", v.Name, err))
		}
	}
}

// checkImage reports an image that its registry does not resolve. With --resolve-image never
// (or changed and an unchanged image) no registry was asked and nothing is checked.
func (pr *planner) checkImage(ctx context.Context, service string, spec *swarmapi.ServiceSpec) {
	written := spec.Labels[LabelImage]
	r, ok := pr.plan.images[written]
	if !ok || r.err == nil {
		return
	}
	if pr.localImage(ctx, written) {
		// Swarm runs a task with the local image when its pull fails: fine on this node.
		if len(pr.live.nodes) > 1 {
			pr.plan.Warnings = append(pr.plan.Warnings, fmt.Sprintf("service %s: image %s is not in a registry, only on this node: the other nodes cannot run its tasks (%v)", service, written, r.err))
		} else {
			pr.plan.Warnings = append(pr.plan.Warnings, fmt.Sprintf("service %s: image %s is not in a registry; the node uses its local copy (%v)", service, written, r.err))
		}
		return
	}
	pr.problems = append(pr.problems, fmt.Sprintf("service %s: image %s cannot be resolved: %v", service, written, r.err))
}

// localImage tells whether the engine has the image, when the client can tell.
func (pr *planner) localImage(ctx context.Context, ref string) bool {
	ic, ok := pr.cli.(client.ImageAPIClient)
	if !ok {
		return false
	}
	_, err := ic.ImageInspect(ctx, ref)
	return err == nil
}

func schedulable(nodes []swarmapi.Node) []swarmapi.Node {
	var out []swarmapi.Node
	for _, n := range nodes {
		if n.Spec.Availability == swarmapi.NodeAvailabilityActive && n.Status.State == swarmapi.NodeStateReady {
			out = append(out, n)
		}
	}
	return out
}

// eligible returns the nodes that satisfy the service's constraints and platforms, and
// reports a service that no node can run.
func (pr *planner) eligible(service string, spec *swarmapi.ServiceSpec, nodes []swarmapi.Node) []string {
	var constraints []swarm.Constraint
	var platforms []swarmapi.Platform
	if p := spec.TaskTemplate.Placement; p != nil {
		platforms = p.Platforms
		for _, expr := range p.Constraints {
			c, err := swarm.ParseConstraint(expr)
			if err != nil {
				pr.problems = append(pr.problems, fmt.Sprintf("service %s: %v", service, err))
				return nil
			}
			constraints = append(constraints, c)
		}
	}
	var out, byConstraint []string
	for _, n := range nodes {
		if !slices.ContainsFunc(constraints, func(c swarm.Constraint) bool { return !matches(c, n) }) {
			byConstraint = append(byConstraint, n.ID)
			if platformMatches(platforms, n.Description.Platform) {
				out = append(out, n.ID)
			}
		}
	}
	switch {
	case len(nodes) == 0:
		pr.problems = append(pr.problems, fmt.Sprintf("service %s: the swarm has no active, ready node", service))
	case len(byConstraint) == 0:
		pr.problems = append(pr.problems, fmt.Sprintf("service %s: no node satisfies the placement constraints %s (%d active nodes)", service, strings.Join(spec.TaskTemplate.Placement.Constraints, ", "), len(nodes)))
	case len(out) == 0:
		pr.problems = append(pr.problems, fmt.Sprintf("service %s: image platforms %v match no eligible node's platform", service, platforms))
	}
	return out
}

// matches evaluates one constraint against a node, as swarm's scheduler does.
func matches(c swarm.Constraint, n swarmapi.Node) bool {
	key := strings.ToLower(c.Key)
	var have string
	var ok = true
	switch {
	case key == "node.id":
		have = n.ID
	case key == "node.hostname":
		have = n.Description.Hostname
	case key == "node.role":
		have = string(n.Spec.Role)
	case key == "node.platform.os":
		have = n.Description.Platform.OS
	case key == "node.platform.arch":
		have = n.Description.Platform.Architecture
	case strings.HasPrefix(key, "node.labels."):
		have, ok = n.Spec.Labels[c.Key[len("node.labels."):]]
	case strings.HasPrefix(key, "engine.labels."):
		have, ok = n.Description.Engine.Labels[c.Key[len("engine.labels."):]]
	}
	equal := ok && strings.EqualFold(have, c.Value)
	if c.Op == "==" {
		return equal
	}
	return !equal
}

var archAliases = map[string]string{"x86_64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm"}

func normArch(a string) string {
	a = strings.ToLower(a)
	if n, ok := archAliases[a]; ok {
		return n
	}
	return a
}

func platformMatches(platforms []swarmapi.Platform, node swarmapi.Platform) bool {
	if len(platforms) == 0 {
		return true
	}
	for _, p := range platforms {
		osOK := p.OS == "" || strings.EqualFold(p.OS, node.OS)
		archOK := p.Architecture == "" || normArch(p.Architecture) == normArch(node.Architecture)
		if osOK && archOK {
			return true
		}
	}
	return false
}

type portDemand struct {
	service string
	tasks   int
	nodes   []string
}

// tasksOf is how many tasks of the service run at once: its replicas, or one per eligible
// node for global services.
func tasksOf(spec *swarmapi.ServiceSpec, eligible int) int {
	switch m := spec.Mode; {
	case m.Replicated != nil && m.Replicated.Replicas != nil:
		return int(*m.Replicated.Replicas)
	case m.Replicated != nil:
		return 1
	case m.ReplicatedJob != nil && m.ReplicatedJob.MaxConcurrent != nil:
		return int(*m.ReplicatedJob.MaxConcurrent)
	case m.ReplicatedJob != nil:
		return 1
	}
	return eligible
}

// checkHostPorts reports a host-mode port that more tasks want than there are nodes to give
// it: two tasks can never publish the same host port on one node.
func (pr *planner) checkHostPorts(ports map[string][]portDemand) {
	for _, port := range slices.Sorted(maps.Keys(ports)) {
		demands := ports[port]
		total := 0
		var nodes, services []string
		for _, d := range demands {
			total += d.tasks
			services = append(services, fmt.Sprintf("%s (%d)", d.service, d.tasks))
			for _, n := range d.nodes {
				if !slices.Contains(nodes, n) {
					nodes = append(nodes, n)
				}
			}
		}
		if total > len(nodes) {
			pr.problems = append(pr.problems, fmt.Sprintf("host port %s is published in host mode by %d tasks of %s but only %d nodes can run them: a port is taken once per node", port, total, strings.Join(services, ", "), len(nodes)))
		}
	}
}

// predefinedNetworkIDs returns, for the predefined networks the stack attaches services to
// (host, bridge), the ID swarm stores in a service's spec, which is not the ID of the node's
// local network of that name that the network list shows.
func predefinedNetworkIDs(ctx context.Context, cli client.NetworkAPIClient, spec *Spec) map[string]string {
	out := map[string]string{}
	for _, n := range spec.Networks {
		if !n.External || userDefined(n.Name) {
			continue
		}
		if r, err := cli.NetworkInspect(ctx, n.Name, client.NetworkInspectOptions{Scope: "swarm"}); err == nil {
			out[r.Network.ID] = n.Name
		}
	}
	return out
}
