package main

import (
	"context"
	"fmt"
	"strings"

	networktypes "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/network"
)

// The network group: the Docker CLI's `network create|ls|inspect|rm|connect|disconnect` over
// package network.

func init() { addGroup(newNetworkCommand) }

func newNetworkCommand() *cobra.Command {
	return newGroup("network", "Manage networks",
		newNetworkCreate(), newNetworkLs(), newNetworkInspect(), newNetworkRm(), newNetworkConnect(), newNetworkDisconnect())
}

func newNetworkCreate() *cobra.Command {
	var o network.CreateOptions
	var labels, opts, subnets, gateways, ranges []string
	cmd := engineVerb("create [OPTIONS] NETWORK", "Create a network", exactArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		o.Labels, o.Options = keyMap(labels), keyMap(opts)
		if len(gateways) > len(subnets) || len(ranges) > len(subnets) {
			return usageFail(cmd, 125, "every --gateway and --ip-range needs a --subnet before it")
		}
		for i, s := range subnets {
			sn := network.Subnet{Subnet: s}
			if i < len(gateways) {
				sn.Gateway = gateways[i]
			}
			if i < len(ranges) {
				sn.IPRange = ranges[i]
			}
			o.Subnets = append(o.Subnets, sn)
		}
		id, err := network.Create(cmd.Context(), cli, args[0], o)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout(), id)
		return nil
	})
	f := cmd.Flags()
	f.StringVarP(&o.Driver, "driver", "d", "bridge", "Driver to manage the Network")
	f.BoolVar(&o.Attachable, "attachable", false, "Enable manual container attachment")
	f.BoolVar(&o.Internal, "internal", false, "Restrict external access to the network")
	f.BoolVar(&o.IPv6, "ipv6", false, "Enable or disable IPv6 networking")
	f.StringArrayVar(&labels, "label", nil, "Set metadata on a network")
	f.StringArrayVarP(&opts, "opt", "o", nil, "Set driver specific options")
	f.StringArrayVar(&subnets, "subnet", nil, "Subnet in CIDR format that represents a network segment")
	f.StringArrayVar(&gateways, "gateway", nil, "IPv4 or IPv6 Gateway for the master subnet")
	f.StringArrayVar(&ranges, "ip-range", nil, "Allocate container ip from a sub-range")
	return cmd
}

// keyMap turns KEY=VALUE flags into a map (a KEY alone has an empty value).
func keyMap(kvs []string) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// networkRow is a line of `network ls`, with the Docker CLI's column names.
type networkRow struct {
	ID, Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt string
}

func newNetworkLs() *cobra.Command {
	var o listOptions
	cmd := engineVerb("ls [OPTIONS]", "List networks", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		f, err := o.filterArgs("driver", "id", "label", "name", "scope", "type", "dangling")
		if err != nil {
			return err
		}
		list, err := network.List(cmd.Context(), cli, network.ListOptions{Filters: f})
		if err != nil {
			return err
		}
		rows := make([]networkRow, 0, len(list))
		for _, n := range list {
			rows = append(rows, networkRow{ID: o.trunc(n.ID), Name: n.Name, Driver: n.Driver, Scope: n.Scope,
				IPv6: fmt.Sprint(n.EnableIPv6), Internal: fmt.Sprint(n.Internal), Labels: nodeLabels(n.Labels),
				CreatedAt: n.Created.Format("2006-01-02 15:04:05.999999999 -0700 MST")})
		}
		return printRows(stdout(), o, "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", rows, func(r networkRow) string { return r.ID })
	})
	addListFlags(cmd, &o, "network IDs", "driver, id, label, name, scope, type, dangling", true)
	cmd.Aliases = []string{"list"}
	return cmd
}

func newNetworkInspect() *cobra.Command {
	cmd := inspectVerb("inspect [OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks",
		func(ctx context.Context, cli *client.Client, name string) (networktypes.Inspect, error) {
			return network.Inspect(ctx, cli, name)
		}, nil)
	cmd.ValidArgsFunction = completeNames(networkNames)
	return cmd
}

func newNetworkRm() *cobra.Command {
	cmd := removeVerb("rm NETWORK [NETWORK...]", "Remove one or more networks", func(ctx context.Context, cli *client.Client, name string) error {
		return network.Remove(ctx, cli, name)
	})
	cmd.ValidArgsFunction = completeNames(networkNames)
	return cmd
}

func newNetworkConnect() *cobra.Command {
	var o network.ConnectOptions
	cmd := engineVerb("connect [OPTIONS] NETWORK CONTAINER", "Connect a container to a network", exactArgs(2), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		return network.Connect(cmd.Context(), cli, args[0], args[1], o)
	})
	cmd.Flags().StringArrayVar(&o.Aliases, "alias", nil, "Add network-scoped alias for the container")
	cmd.Flags().StringVar(&o.IPv4, "ip", "", "IPv4 address (e.g., \"172.30.100.104\")")
	cmd.ValidArgsFunction = completeNames(networkNames)
	return cmd
}

func newNetworkDisconnect() *cobra.Command {
	var force bool
	cmd := engineVerb("disconnect [OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network", exactArgs(2), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		return network.Disconnect(cmd.Context(), cli, args[0], args[1], force)
	})
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the container to disconnect from a network")
	cmd.ValidArgsFunction = completeNames(networkNames)
	return cmd
}
