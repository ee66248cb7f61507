package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/swarm"
)

// The node group: `berth node ls|inspect|ps|update|promote|demote|rm`.

func init() { addGroup(newNodeCommand) }

func newNodeCommand() *cobra.Command {
	return newGroup("node", "Manage Swarm nodes",
		newNodeDemote(), newNodeInspect(), newNodeLs(), newNodePromote(), newNodePs(), newNodeRm(), newNodeUpdate())
}

const nodeTable = "{{.ID}} {{if .Self}}*{{else}} {{ end }}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}"

type nodeRow struct {
	ID            string
	Self          bool `header:""`
	Hostname      string
	Status        string
	Availability  string
	ManagerStatus string `header:"MANAGER STATUS"`
	EngineVersion string
	TLSStatus     string
}

func newNodeLs() *cobra.Command {
	var o listOptions
	cmd := engineVerb("ls [OPTIONS]", "List nodes in the swarm", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		f, err := o.filterArgs("id", "label", "membership", "name", "node.label", "role")
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		nodes, err := swarm.ListNodes(ctx, cli, f)
		if err != nil {
			return err
		}
		self := ""
		if info, err := cli.Info(ctx, client.InfoOptions{}); err == nil {
			self = info.Info.Swarm.NodeID
		}
		var rows []nodeRow
		for _, n := range nodes {
			tls := "Ready"
			if n.API.Description.TLSInfo.TrustRoot != "" {
				if sw, err := swarm.Inspect(ctx, cli); err == nil && sw.ClusterInfo.TLSInfo.TrustRoot != n.API.Description.TLSInfo.TrustRoot {
					tls = "Needs Rotation"
				}
			}
			rows = append(rows, nodeRow{ID: n.ID, Self: n.ID == self, Hostname: n.Hostname, Status: title(string(n.Status)),
				Availability: title(string(n.Availability)), ManagerStatus: n.ManagerStatus, EngineVersion: n.EngineVersion, TLSStatus: tls})
		}
		return printRows(stdout(), o, nodeTable, rows, func(r nodeRow) string { return r.ID })
	})
	addListFlags(cmd, &o, "IDs", "id, label, membership, name, node.label, role", false)
	cmd.Aliases = []string{"list"}
	return cmd
}

func newNodeInspect() *cobra.Command {
	cmd := inspectVerb("inspect [OPTIONS] self|NODE [NODE...]", "Display detailed information on one or more nodes",
		func(ctx context.Context, cli *client.Client, name string) (swarmtypes.Node, error) {
			n, err := findNode(ctx, cli, name)
			return n.API, err
		}, printNodePretty)
	cmd.ValidArgsFunction = completeNames(nodeNames)
	return cmd
}

// findNode finds a node by ID or hostname, or "self": the node of the engine berth talks to.
func findNode(ctx context.Context, cli *client.Client, name string) (swarm.Node, error) {
	if name == "self" {
		info, err := cli.Info(ctx, client.InfoOptions{})
		if err != nil {
			return swarm.Node{}, err
		}
		name = info.Info.Swarm.NodeID
	}
	return swarm.InspectNode(ctx, cli, name)
}

func printNodePretty(w io.Writer, api swarmtypes.Node) {
	n := swarm.NodeFromAPI(api)
	fmt.Fprintf(w, "ID:\t\t\t%s\nHostname:\t\t%s\nJoined at:\t\t%s\nStatus:\n State:\t\t\t%s\n Availability:\t\t%s\n Address:\t\t%s\n",
		n.ID, n.Hostname, n.API.CreatedAt, title(string(n.Status)), title(string(n.Availability)), n.Addr)
	if n.ManagerStatus != "" {
		fmt.Fprintf(w, "Manager Status:\n Address:\t\t%s\n Raft Status:\t\t%s\n Leader:\t\t%v\n", n.API.ManagerStatus.Addr, title(string(n.API.ManagerStatus.Reachability)), n.API.ManagerStatus.Leader)
	}
	fmt.Fprintf(w, "Platform:\t\t%s\nEngine Version:\t\t%s\n", n.Platform, n.EngineVersion)
	if len(n.Labels) > 0 {
		fmt.Fprintf(w, "Labels:\t\t\t%s\n", nodeLabels(n.Labels))
	}
}

func newNodeRm() *cobra.Command {
	var force bool
	cmd := removeVerb("rm [OPTIONS] NODE [NODE...]", "Remove one or more nodes from the swarm", func(ctx context.Context, cli *client.Client, name string) error {
		return swarm.RemoveNode(ctx, cli, name, swarm.RemoveNodeOptions{Force: force})
	})
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force remove a node from the swarm")
	cmd.ValidArgsFunction = completeNames(nodeNames)
	return cmd
}

func nodeLabels(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

func newNodePs() *cobra.Command {
	var o listOptions
	var noResolve bool
	cmd := engineVerb("ps [OPTIONS] [NODE...]", "List tasks running on one or more nodes, defaults to current node", cobra.ArbitraryArgs, func(cmd *cobra.Command, cli *client.Client, args []string) error {
		f, err := o.filterArgs("id", "name", "label", "desired-state")
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		if len(args) == 0 {
			args = []string{"self"}
		}
		var all []swarm.Task
		for _, name := range args {
			n, err := findNode(ctx, cli, name)
			if err != nil {
				return err
			}
			tasks, err := swarm.ListTasks(ctx, cli, f.Clone().Add("node", n.ID))
			if err != nil {
				return err
			}
			all = append(all, tasks...)
		}
		rows := taskRows(o, all, time.Now(), noResolve)
		return printRows(stdout(), o, taskTable, rows, func(r taskRow) string { return r.ID })
	})
	addListFlags(cmd, &o, "task IDs", "id, name, label, desired-state", true)
	cmd.Flags().BoolVar(&noResolve, "no-resolve", false, "Do not map IDs to Names")
	cmd.ValidArgsFunction = completeNames(nodeNames)
	return cmd
}

func newNodeUpdate() *cobra.Command {
	var avail, role string
	var add, rm []string
	cmd := newVerb("update [OPTIONS] NODE", "Update a node", exactArgs(1), func(cmd *cobra.Command, args []string) error {
		u := swarm.NodeUpdate{Availability: swarmtypes.NodeAvailability(avail), Role: swarmtypes.NodeRole(role), RemoveLabels: rm}
		for _, kv := range add {
			k, v, _ := strings.Cut(kv, "=")
			if u.AddLabels == nil {
				u.AddLabels = map[string]string{}
			}
			u.AddLabels[k] = v
		}
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		n, err := swarm.UpdateNode(cmd.Context(), cli, args[0], u)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout(), n.ID)
		return nil
	})
	f := cmd.Flags()
	f.StringVar(&avail, "availability", "", `Availability of the node ("active", "pause", "drain")`)
	f.StringVar(&role, "role", "", `Role of the node ("worker", "manager")`)
	f.Var((*stringList)(&add), "label-add", "Add or update a node label (key=value)")
	f.Var((*stringList)(&rm), "label-rm", "Remove a node label if exists")
	cmd.ValidArgsFunction = completeNames(nodeNames)
	return cmd
}

func newNodePromote() *cobra.Command {
	return nodeRoleVerb("promote", swarm.RoleManager, "Promote one or more nodes to manager in the swarm")
}
func newNodeDemote() *cobra.Command {
	return nodeRoleVerb("demote", swarm.RoleWorker, "Demote one or more nodes from manager in the swarm")
}

func nodeRoleVerb(verb string, role swarmtypes.NodeRole, short string) *cobra.Command {
	cmd := engineVerb(verb+" NODE [NODE...]", short, minArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		var errs []error
		for _, node := range args {
			if _, err := swarm.UpdateNode(cmd.Context(), cli, node, swarm.NodeUpdate{Role: role}); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(stdout(), "Node %s is now a %s.\n", node, role)
		}
		return errors.Join(errs...)
	})
	cmd.ValidArgsFunction = completeNames(nodeNames)
	return cmd
}
