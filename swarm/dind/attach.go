package dind

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/registry"
	"github.com/berthdev/berth/swarm"
)

// List returns the names of the labs that have containers on the host engine, sorted.
func List(ctx context.Context, host client.ContainerAPIClient) ([]string, error) {
	res, err := host.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", LabelLab)})
	if err != nil {
		return nil, fmt.Errorf("list lab containers: %w", err)
	}
	var names []string
	for _, c := range res.Items {
		names = append(names, c.Labels[LabelLab])
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Attach returns the running lab of that name, as Start returned it, for a program that did
// not start it (after `berth lab up`). Cluster.Images is empty: what was pushed before is not
// recorded. A lab with no containers fails with cerrdefs.IsNotFound; one whose nodes are
// stopped fails when their dockerd does not answer within a few seconds.
func Attach(ctx context.Context, host Engine, name string) (*Cluster, error) {
	res, err := host.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", LabelLab+"="+name)})
	if err != nil {
		return nil, fmt.Errorf("lab %s: list containers: %w", name, err)
	}
	if len(res.Items) == 0 {
		return nil, fmt.Errorf("lab %s: no container labelled %s=%s: %w", name, LabelLab, name, cerrdefs.ErrNotFound)
	}
	c := &Cluster{Name: name, Network: name, host: host, Images: map[string]string{}}
	if err := c.attach(ctx, res.Items); err != nil {
		c.closeClients()
		return nil, fmt.Errorf("lab %s: %w", name, err)
	}
	return c, nil
}

func (c *Cluster) attach(ctx context.Context, items []container.Summary) error {
	slices.SortFunc(items, func(a, b container.Summary) int { return cmp.Compare(workerIndex(a), workerIndex(b)) })
	for _, ct := range items {
		name := strings.TrimPrefix(ct.Names[0], "/")
		switch ct.Labels[LabelRole] {
		case "registry":
			r, err := registry.Open(ctx, c.host, name)
			if err != nil {
				return err
			}
			c.reg, c.Registry = r, fromRegistry(r)
		case "manager":
			c.Manager = &Node{Name: name, ContainerID: ct.ID, Role: swarm.RoleManager}
		case "worker":
			c.Workers = append(c.Workers, &Node{Name: name, ContainerID: ct.ID, Role: swarm.RoleWorker})
		}
	}
	if c.Manager == nil {
		return errors.New("no manager container")
	}
	insp, err := c.host.ContainerInspect(ctx, c.Manager.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	c.Privileged = insp.Container.HostConfig != nil && insp.Container.HostConfig.Privileged
	for _, n := range c.Nodes() {
		if err := c.connectNode(ctx, n, 5*time.Second); err != nil {
			return err
		}
		info, err := n.Client.Info(ctx, client.InfoOptions{})
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		n.NodeID = info.Info.Swarm.NodeID
	}
	sw, err := swarm.Inspect(ctx, c.Manager.Client)
	c.SwarmID = sw.ID
	return err
}

// workerIndex orders the manager and the registry first, then worker1, worker2, ..., worker10.
func workerIndex(c container.Summary) int {
	i := strings.LastIndex(c.Names[0], "-worker")
	if i < 0 {
		return 0
	}
	n, _ := strconv.Atoi(c.Names[0][i+len("-worker"):])
	return n
}
