// Package dind starts a local multi-node Docker Swarm made of Docker-in-Docker containers,
// with a registry beside them, on one bridge network of the host engine: the topology people
// build by hand with a compose file, in one call.
//
//	lab, err := dind.Start(ctx, host, dind.Options{Name: "demo", Workers: 3, Push: []string{"busybox:latest"}})
//	if err != nil { ... }
//	defer lab.Close(context.WithoutCancel(ctx))
//	// lab.Manager.Client is an Engine API client of the swarm manager;
//	// lab.Images["busybox:latest"] is "registry:5000/library/busybox:latest".
//
// A lab named NAME is made of:
//   - the bridge network NAME;
//   - the registry container NAME-registry, reachable on the network as registry:5000 and
//     from the host at a loopback port (Registry.HostAddr);
//   - the manager NAME-manager and the workers NAME-worker1..N, each a Docker-in-Docker
//     container whose dockerd trusts registry:5000 without TLS and listens on
//     tcp://0.0.0.0:2375, published on a loopback port of the host (Node.EngineHost);
//   - one volume per container for its data (NAME-manager-data, ...).
//
// All of them carry the label berth.lab=NAME, so Close, or Remove given the name alone, can
// delete everything a lab made, even after a crash. Labs with different names run side by
// side.
//
// Nothing is pulled: the node and registry images must be on the host engine. By default they
// are docker:dind and registry:2, or the local fixtures when the engine has them.
package dind

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/registry"
	"github.com/berthdev/berth/swarm"
)

// Engine is what Start needs of the host engine's client.
type Engine interface {
	client.ContainerAPIClient
	client.NetworkAPIClient
	client.VolumeAPIClient
	client.ImageAPIClient
}

// Cluster is a running lab.
type Cluster struct {
	// Name is the lab's name, the value of its berth.lab labels.
	Name string
	// Network is the name of the lab's bridge network on the host engine.
	Network string
	// Manager is the swarm's manager node.
	Manager *Node
	// Workers are the worker nodes, NAME-worker1 first.
	Workers []*Node
	// Registry is the lab registry.
	Registry Registry
	// SwarmID is the ID of the lab's swarm.
	SwarmID string
	// Privileged says whether the nodes run as privileged containers.
	Privileged bool
	// Warnings say what Start had to do differently from what was asked, such as falling back
	// from privileged containers to an explicit capability set.
	Warnings []string
	// Images maps each image pushed into the registry (Options.Push, Cluster.Push) to its
	// in-cluster reference, registry:5000/PATH:TAG.
	Images map[string]string
	// Elapsed is how long Start took.
	Elapsed time.Duration

	host Engine
	reg  *registry.Registry
}

// Nodes returns the manager followed by the workers.
func (c *Cluster) Nodes() []*Node {
	return append([]*Node{c.Manager}, c.Workers...)
}

// Start creates a lab as o says and returns once the swarm has every node ready and the
// images of o.Push are in the registry. It refuses (cerrdefs.IsConflict) when containers, a
// network or volumes of a lab with the same name exist. When it fails half-way it removes what it made.
func Start(ctx context.Context, host Engine, o Options) (*Cluster, error) {
	begin := time.Now()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	if err := checkFree(ctx, host, o.Name); err != nil {
		return nil, err
	}
	if err := checkHostPorts(o.Publish); err != nil {
		return nil, fmt.Errorf("lab %s: %w", o.Name, err)
	}
	c := &Cluster{Name: o.Name, Network: o.Name, host: host, Images: map[string]string{}}
	if err := c.start(ctx, o); err != nil {
		c.closeClients()
		cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if rmErr := Remove(cleanupCtx, host, o.Name); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("clean up lab %s: %w", o.Name, rmErr))
		}
		return nil, fmt.Errorf("lab %s: %w", o.Name, err)
	}
	c.Elapsed = time.Since(begin)
	return c, nil
}

// checkFree fails when anything labelled with the lab's name exists: a leftover volume would
// give a new node the old one's swarm state.
func checkFree(ctx context.Context, host Engine, name string) error {
	f := make(client.Filters).Add("label", LabelLab+"="+name)
	cs, err := host.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("lab %s: list containers: %w", name, err)
	}
	ns, err := host.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return fmt.Errorf("lab %s: list networks: %w", name, err)
	}
	vs, err := host.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return fmt.Errorf("lab %s: list volumes: %w", name, err)
	}
	if len(cs.Items)+len(ns.Items)+len(vs.Items) > 0 {
		return fmt.Errorf("lab %s already exists (%d containers, %d networks, %d volumes labelled %s=%s): remove it first (berth lab down --name %s): %w",
			name, len(cs.Items), len(ns.Items), len(vs.Items), LabelLab, name, name, cerrdefs.ErrConflict)
	}
	return nil
}

// start does the work of Start; Start cleans up when it fails.
func (c *Cluster) start(ctx context.Context, o Options) error {
	if _, err := c.host.NetworkCreate(ctx, c.Network, client.NetworkCreateOptions{
		Driver: "bridge",
		Labels: map[string]string{LabelLab: o.Name},
	}); err != nil {
		return fmt.Errorf("create network %s: %w", c.Network, err)
	}
	var wg sync.WaitGroup
	var regErr error
	wg.Go(func() { c.Registry, c.reg, regErr = startRegistry(ctx, c.host, o, c.Network) })
	nodeErr := c.startNodes(ctx, o)
	wg.Wait()
	if err := errors.Join(nodeErr, regErr); err != nil {
		return err
	}
	if err := c.formSwarm(ctx, o); err != nil {
		return err
	}
	_, err := c.Push(ctx, o.Push...)
	return err
}

// startNodes starts the manager (probing privileged mode), then the workers in parallel, and
// connects to every dockerd.
func (c *Cluster) startNodes(ctx context.Context, o Options) error {
	c.Manager = &Node{Name: o.Name + "-manager", Role: swarm.RoleManager}
	id, privileged, warning, err := startFirstNode(ctx, c.host, o, c.Network, c.Manager.Name)
	if err != nil {
		return err
	}
	c.Manager.ContainerID, c.Privileged = id, privileged
	if warning != "" {
		c.Warnings = append(c.Warnings, warning)
	}
	for i := range o.Workers {
		c.Workers = append(c.Workers, &Node{Name: fmt.Sprintf("%s-worker%d", o.Name, i+1), Role: swarm.RoleWorker})
	}
	errs := make([]error, len(c.Workers)+1)
	var wg sync.WaitGroup
	for i, n := range c.Nodes() {
		wg.Go(func() {
			if n.ContainerID == "" {
				if n.ContainerID, errs[i] = startNode(ctx, c.host, o, c.Network, n.Name, n.Role, privileged); errs[i] != nil {
					return
				}
			}
			errs[i] = c.connectNode(ctx, n, o.ReadyTimeout)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Cluster) connectNode(ctx context.Context, n *Node, timeout time.Duration) error {
	hostAddr, addr, err := published(ctx, c.host, n.Name, c.Network, port2375)
	if err != nil {
		return err
	}
	n.Addr, n.EngineHost = addr, "tcp://"+hostAddr
	if n.Published, err = publishedPorts(ctx, c.host, n.Name); err != nil {
		return err
	}
	n.Client, err = connect(ctx, n.EngineHost, timeout)
	if err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	return nil
}

// formSwarm inits the swarm on the manager, joins the workers and waits until every node is
// ready.
func (c *Cluster) formSwarm(ctx context.Context, o Options) error {
	spec := o.Swarm
	spec.AdvertiseAddr, spec.ListenAddr = c.Manager.Addr.String(), ""
	res, err := swarm.Init(ctx, c.Manager.Client, spec)
	if err != nil {
		return fmt.Errorf("node %s: %w", c.Manager.Name, err)
	}
	c.SwarmID, c.Manager.NodeID = res.Swarm.ID, res.NodeID
	errs := make([]error, len(c.Workers))
	var wg sync.WaitGroup
	for i, w := range c.Workers {
		wg.Go(func() {
			errs[i] = swarm.Join(ctx, w.Client, swarm.JoinOptions{
				Token:         res.Swarm.JoinTokens.Worker,
				Managers:      []string{c.Manager.Addr.String() + ":2377"},
				AdvertiseAddr: w.Addr.String(),
			})
			if errs[i] != nil {
				errs[i] = fmt.Errorf("node %s: %w", w.Name, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return c.waitReady(ctx, o.ReadyTimeout)
}

// waitReady waits until the manager lists every lab node as ready, and records node IDs.
func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		nodes, err := swarm.Nodes(ctx, c.Manager.Client, swarm.NodeFilter{})
		if err == nil && c.recordReady(nodes) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("swarm nodes not all ready within %s: %w", timeout, errors.Join(ctx.Err(), err))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Cluster) recordReady(nodes []swarm.Node) bool {
	byHost := map[string]swarm.Node{}
	for _, n := range nodes {
		byHost[n.Hostname] = n
	}
	for _, n := range c.Nodes() {
		sn, ok := byHost[n.Name]
		if !ok || sn.Status != "ready" {
			return false
		}
		n.NodeID = sn.ID
	}
	return true
}

// Push pushes images of the host engine into the lab registry and returns their in-cluster
// references (registry:5000/PATH:TAG), also recorded in c.Images.
func (c *Cluster) Push(ctx context.Context, images ...string) ([]string, error) {
	refs := make([]string, 0, len(images))
	if c.reg == nil && len(images) > 0 {
		return nil, fmt.Errorf("lab %s has no registry container to push to: %w", c.Name, cerrdefs.ErrNotFound)
	}
	for _, img := range images {
		ref, err := push(ctx, c.host, c.reg, img)
		if err != nil {
			return refs, err
		}
		c.Images[img] = ref
		refs = append(refs, ref)
	}
	return refs, nil
}

// Node returns the lab node with the given container name (NAME-worker2) or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes() {
		if n != nil && n.Name == name {
			return n
		}
	}
	return nil
}

// Close closes the node clients and removes every container, network and volume of the lab
// (see Remove). It can be called more than once.
func (c *Cluster) Close(ctx context.Context) error {
	c.closeClients()
	return Remove(ctx, c.host, c.Name)
}

// Detach closes the node clients and leaves the lab running, for Attach or `berth lab down`
// to find later.
func (c *Cluster) Detach() { c.closeClients() }

func (c *Cluster) closeClients() {
	for _, n := range c.Nodes() {
		if n != nil && n.Client != nil {
			n.Client.Close()
		}
	}
}

// Remove deletes every container, network and volume labelled berth.lab=name on the host
// engine: what Start made for the lab of that name, whoever started it. A lab that does not
// exist is not an error.
func Remove(ctx context.Context, host Engine, name string) error {
	f := make(client.Filters).Add("label", LabelLab+"="+name)
	cs, err := host.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("lab %s: list containers: %w", name, err)
	}
	errs := make([]error, len(cs.Items))
	var wg sync.WaitGroup
	for i, ct := range cs.Items {
		wg.Go(func() {
			_, err := host.ContainerRemove(ctx, ct.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !cerrdefs.IsNotFound(err) {
				errs[i] = fmt.Errorf("remove container %s: %w", ct.Names, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	ns, err := host.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return fmt.Errorf("lab %s: list networks: %w", name, err)
	}
	for _, n := range ns.Items {
		if _, err := host.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	vs, err := host.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("lab %s: list volumes: %w", name, err))...)
	}
	for _, v := range vs.Items {
		if _, err := host.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
		}
	}
	return errors.Join(errs...)
}
