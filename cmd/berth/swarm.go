package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/swarm"
	"github.com/berthdev/berth/swarm/dind"
)

// The swarm group: `berth lab up|down`, `berth swarm init|join|leave|join-token` and
// `berth node ls|update|promote|demote|rm`, with the Docker CLI's flags where they exist.

func init() {
	register(command{path: "lab up", usage: "start a local swarm of Docker-in-Docker nodes and a registry", run: labUp})
	register(command{path: "lab ls", usage: "list the labs on this engine, or show one lab's nodes", run: labList})
	register(command{path: "lab down", usage: "remove a lab: its containers, network and volumes", run: labDown})
	register(command{path: "swarm init", usage: "make this engine the first manager of a new swarm", run: swarmInit})
	register(command{path: "swarm join", usage: "join this engine to a swarm as a worker or a manager", run: swarmJoin})
	register(command{path: "swarm leave", usage: "make this engine leave its swarm", run: swarmLeave})
	register(command{path: "swarm join-token", usage: "show or rotate the worker or manager join token", run: swarmJoinToken})
	register(command{path: "node ls", usage: "list the nodes of the swarm", run: nodeList})
	register(command{path: "node update", usage: "change a node's availability, role or labels", run: nodeUpdate})
	register(command{path: "node promote", usage: "make workers managers", run: nodePromoteDemote(swarm.RoleManager)})
	register(command{path: "node demote", usage: "make managers workers", run: nodePromoteDemote(swarm.RoleWorker)})
	register(command{path: "node rm", usage: "remove nodes from the swarm", run: nodeRemove})
}

func labUp(ctx context.Context, args []string) error {
	fs := newSwarmFlags("lab up", "[OPTIONS]")
	var o dind.Options
	var push stringList
	fs.StringVar(&o.Name, "name", dind.DefaultName, "lab name: prefix of its containers, network and volumes")
	fs.IntVar(&o.Workers, "workers", 3, "number of worker nodes")
	fs.StringVar(&o.Image, "image", "", "Docker-in-Docker node image (default docker:dind, or the local fixture)")
	fs.StringVar(&o.RegistryImage, "registry-image", "", "registry image (default registry:2, or the local fixture)")
	fs.Var(&push, "push", "image of this engine to push into the lab registry (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("lab up takes no arguments, got %q", fs.Args())
	}
	o.Push = push
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if err := labFixtures(ctx, cli, &o); err != nil {
		return err
	}
	lab, err := dind.Start(ctx, cli, o)
	if err != nil {
		return err
	}
	for _, w := range lab.Warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	printLab(os.Stdout, lab)
	return nil
}

func printLab(w io.Writer, lab *dind.Cluster) {
	if lab.Elapsed > 0 {
		fmt.Fprintf(w, "lab %s up in %s (swarm %s, network %s)\n\n", lab.Name, lab.Elapsed.Round(time.Millisecond), lab.SwarmID, lab.Network)
	} else {
		fmt.Fprintf(w, "lab %s (swarm %s, network %s)\n\n", lab.Name, lab.SwarmID, lab.Network)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tADDRESS\tENGINE (from this host)\tNODE ID")
	for _, n := range lab.Nodes() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Name, n.Role, n.Addr, n.EngineHost, n.NodeID)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nregistry %s: %s from this host, %s from the nodes\n", lab.Registry.Container, lab.Registry.HostAddr, lab.Registry.ClusterAddr)
	for img, ref := range lab.Images {
		fmt.Fprintf(w, "pushed %s as %s\n", img, ref)
	}
	fmt.Fprintf(w, "\nreach the manager with:\n  export DOCKER_HOST=%s\n", lab.Manager.EngineHost)
	fmt.Fprintf(w, "push an image with:\n  docker tag IMAGE %s/IMAGE && docker push %s/IMAGE  # then use %s/IMAGE in services\n",
		lab.Registry.HostAddr, lab.Registry.HostAddr, lab.Registry.ClusterAddr)
	fmt.Fprintf(w, "remove it with:\n  berth lab down --name %s\n", lab.Name)
}

func labList(ctx context.Context, args []string) error {
	fs := newSwarmFlags("lab ls", "[NAME]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if fs.NArg() == 1 {
		lab, err := dind.Attach(ctx, cli, fs.Arg(0))
		if err != nil {
			return err
		}
		defer lab.Detach()
		printLab(os.Stdout, lab)
		return nil
	}
	names, err := dind.List(ctx, cli)
	if err != nil {
		return err
	}
	for _, n := range names {
		fmt.Println(n)
	}
	return nil
}

func labDown(ctx context.Context, args []string) error {
	fs := newSwarmFlags("lab down", "[OPTIONS]")
	name := fs.String("name", dind.DefaultName, "lab name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if err := dind.Remove(ctx, cli, *name); err != nil {
		return err
	}
	fmt.Printf("lab %s removed\n", *name)
	return nil
}

func swarmInit(ctx context.Context, args []string) error {
	fs := newSwarmFlags("swarm init", "[OPTIONS]")
	var o swarm.InitOptions
	var pools stringList
	var avail string
	fs.StringVar(&o.AdvertiseAddr, "advertise-addr", "", "advertised address (IP[:PORT] or INTERFACE[:PORT])")
	fs.StringVar(&o.ListenAddr, "listen-addr", swarm.DefaultListenAddr, "listen address (IP[:PORT] or INTERFACE[:PORT])")
	fs.StringVar(&o.DataPathAddr, "data-path-addr", "", "address or interface for data path (overlay) traffic")
	fs.Func("data-path-port", "UDP port of data path traffic, 1024 to 49151 (default 4789)", swarmUint32(&o.DataPathPort))
	fs.Var(&pools, "default-addr-pool", "CIDR range overlay networks take their subnets from (repeatable)")
	fs.Func("default-addr-pool-mask-length", "prefix length of each overlay subnet (default 24)", swarmUint32(&o.SubnetSize))
	fs.StringVar(&avail, "availability", "", "availability of this node: active, pause or drain")
	fs.BoolVar(&o.AutoLock, "autolock", false, "lock the managers' keys; a restarted manager needs the unlock key")
	fs.BoolVar(&o.ForceNewCluster, "force-new-cluster", false, "make a new cluster from this node's state")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.DefaultAddrPool, o.Availability = pools, swarmtypes.NodeAvailability(avail)
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	res, err := swarm.Init(ctx, cli, o)
	if err != nil {
		return err
	}
	fmt.Printf("Swarm initialized: current node (%s) is now a manager.\n\n", res.NodeID)
	fmt.Printf("To add a worker to this swarm, run the following command:\n\n    berth swarm join --token %s %s\n\n", res.Swarm.JoinTokens.Worker, swarmManagerAddr(ctx, cli))
	fmt.Println("To add a manager to this swarm, run 'berth swarm join-token manager' and follow the instructions.")
	return nil
}

func swarmUint32(dst *uint32) func(string) error {
	return func(s string) error {
		var n uint32
		if _, err := fmt.Sscan(s, &n); err != nil {
			return fmt.Errorf("%q is not a non-negative number", s)
		}
		*dst = n
		return nil
	}
}

func swarmJoin(ctx context.Context, args []string) error {
	fs := newSwarmFlags("swarm join", "[OPTIONS] HOST:PORT")
	var o swarm.JoinOptions
	var avail string
	fs.StringVar(&o.Token, "token", "", "join token (worker or manager)")
	fs.StringVar(&o.AdvertiseAddr, "advertise-addr", "", "advertised address (IP[:PORT] or INTERFACE[:PORT])")
	fs.StringVar(&o.ListenAddr, "listen-addr", swarm.DefaultListenAddr, "listen address (IP[:PORT] or INTERFACE[:PORT])")
	fs.StringVar(&o.DataPathAddr, "data-path-addr", "", "address or interface for data path (overlay) traffic")
	fs.StringVar(&avail, "availability", "", "availability of this node: active, pause or drain")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Managers, o.Availability = fs.Args(), swarmtypes.NodeAvailability(avail)
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if err := swarm.Join(ctx, cli, o); err != nil {
		return err
	}
	fmt.Println("This node joined a swarm.")
	return nil
}

func swarmLeave(ctx context.Context, args []string) error {
	fs := newSwarmFlags("swarm leave", "[OPTIONS]")
	force := fs.Bool("force", false, "leave even as a manager or when the managers cannot be reached")
	fs.BoolVar(force, "f", false, "shorthand for --force")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if err := swarm.Leave(ctx, cli, swarm.LeaveOptions{Force: *force}); err != nil {
		return err
	}
	fmt.Println("Node left the swarm.")
	return nil
}

func swarmJoinToken(ctx context.Context, args []string) error {
	fs := newSwarmFlags("swarm join-token", "[OPTIONS] (worker|manager)")
	quiet := fs.Bool("q", false, "print the token only")
	rotate := fs.Bool("rotate", false, "replace the token with a new one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return berth.Invalid("join-token", "give one role: worker or manager")
	}
	role := swarmtypes.NodeRole(fs.Arg(0))
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if *rotate {
		if _, err := swarm.RotateJoinTokens(ctx, cli, role); err != nil {
			return err
		}
		if !*quiet {
			fmt.Printf("Successfully rotated %s join token.\n\n", role)
		}
	}
	token, err := swarm.JoinToken(ctx, cli, role)
	if err != nil {
		return err
	}
	if *quiet {
		fmt.Println(token)
		return nil
	}
	fmt.Printf("To add a %s to this swarm, run the following command:\n\n    berth swarm join --token %s %s\n", role, token, swarmManagerAddr(ctx, cli))
	return nil
}

// swarmManagerAddr returns the leader's address as the other nodes reach it, or a
// placeholder when the node list does not say.
func swarmManagerAddr(ctx context.Context, cli client.NodeAPIClient) string {
	nodes, err := swarm.Nodes(ctx, cli, swarm.NodeFilter{Role: swarm.RoleManager})
	if err != nil {
		return "MANAGER-ADDR:2377"
	}
	for _, n := range nodes {
		if n.ManagerStatus == "Leader" && n.API.ManagerStatus.Addr != "" {
			return n.API.ManagerStatus.Addr
		}
	}
	return "MANAGER-ADDR:2377"
}

func nodeList(ctx context.Context, args []string) error {
	fs := newSwarmFlags("node ls", "[OPTIONS]")
	quiet := fs.Bool("q", false, "print IDs only")
	var filters stringList
	fs.Var(&filters, "filter", "role=worker|manager or node.label=KEY[=VALUE] (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var f swarm.NodeFilter
	for _, s := range filters {
		k, v, _ := strings.Cut(s, "=")
		switch k {
		case "role":
			f.Role = swarmtypes.NodeRole(v)
		case "node.label":
			f.Labels = append(f.Labels, v)
		default:
			return berth.Invalid("node ls/filter", "%q is not a filter: use role=worker, role=manager or node.label=KEY[=VALUE]", s)
		}
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	nodes, err := swarm.Nodes(ctx, cli, f)
	if err != nil {
		return err
	}
	printNodes(os.Stdout, nodes, *quiet)
	return nil
}

func printNodes(w io.Writer, nodes []swarm.Node, quiet bool) {
	if quiet {
		for _, n := range nodes {
			fmt.Fprintln(w, n.ID)
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "ID\tHOSTNAME\tSTATUS\tAVAILABILITY\tMANAGER STATUS\tENGINE VERSION\tPLATFORM\tLABELS")
	for _, n := range nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.Hostname, swarmTitle(string(n.Status)), swarmTitle(string(n.Availability)),
			n.ManagerStatus, n.EngineVersion, n.Platform, swarmLabels(n.Labels))
	}
	tw.Flush()
}

func swarmTitle(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func swarmLabels(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

func nodeUpdate(ctx context.Context, args []string) error {
	fs := newSwarmFlags("node update", "[OPTIONS] NODE")
	var u swarm.NodeUpdate
	var avail, role string
	var add, rm stringList
	fs.StringVar(&avail, "availability", "", "active, pause or drain")
	fs.StringVar(&role, "role", "", "worker or manager")
	fs.Var(&add, "label-add", "add or change a node label KEY=VALUE (repeatable)")
	fs.Var(&rm, "label-rm", "remove a node label KEY (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return berth.Invalid("node update", "give one node: ID or hostname")
	}
	u.Availability, u.Role, u.RemoveLabels = swarmtypes.NodeAvailability(avail), swarmtypes.NodeRole(role), rm
	for _, kv := range add {
		k, v, _ := strings.Cut(kv, "=")
		if u.AddLabels == nil {
			u.AddLabels = map[string]string{}
		}
		u.AddLabels[k] = v
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	n, err := swarm.UpdateNode(ctx, cli, fs.Arg(0), u)
	if err != nil {
		return err
	}
	fmt.Println(n.ID)
	return nil
}

func nodePromoteDemote(role swarmtypes.NodeRole) func(context.Context, []string) error {
	verb := map[swarmtypes.NodeRole]string{swarm.RoleManager: "promote", swarm.RoleWorker: "demote"}[role]
	return func(ctx context.Context, args []string) error {
		fs := newSwarmFlags("node "+verb, "NODE [NODE...]")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			return berth.Invalid("node "+verb, "give at least one node: ID or hostname")
		}
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		var errs []error
		for _, node := range fs.Args() {
			if _, err := swarm.UpdateNode(ctx, cli, node, swarm.NodeUpdate{Role: role}); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Printf("Node %s is now a %s.\n", node, role)
		}
		return errors.Join(errs...)
	}
}

func nodeRemove(ctx context.Context, args []string) error {
	fs := newSwarmFlags("node rm", "[OPTIONS] NODE [NODE...]")
	force := fs.Bool("force", false, "remove nodes that are still up, or managers")
	fs.BoolVar(force, "f", false, "shorthand for --force")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return berth.Invalid("node rm", "give at least one node: ID or hostname")
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	var errs []error
	for _, node := range fs.Args() {
		if err := swarm.RemoveNode(ctx, cli, node, swarm.RemoveNodeOptions{Force: *force}); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Println(node)
	}
	return errors.Join(errs...)
}

var _ flag.Value = (*stringList)(nil)

// swarmFlags parses flags before, between and after arguments, as the Docker CLI does
// (`berth node update NODE --availability drain`); "--" ends the flags.
type swarmFlags struct {
	*flag.FlagSet
	pos []string
}

func newSwarmFlags(c, usageLine string) *swarmFlags {
	return &swarmFlags{FlagSet: newFlags(c, usageLine)}
}

func (f *swarmFlags) Parse(args []string) (err error) {
	f.pos, err = parseAll(f.FlagSet, args)
	return err
}

func (f *swarmFlags) Args() []string { return f.pos }
func (f *swarmFlags) NArg() int      { return len(f.pos) }

func (f *swarmFlags) Arg(i int) string {
	if i < len(f.pos) {
		return f.pos[i]
	}
	return ""
}

// labFixtures chooses the local fixture images (`make fixtures`) for the lab when the flags
// name none and the engine has them: the library itself defaults to the public images.
func labFixtures(ctx context.Context, cli client.ImageAPIClient, o *dind.Options) error {
	var err error
	if o.Image == "" {
		o.Image, err = fixtures.Dind.Resolve(ctx, cli)
	}
	if err == nil && o.RegistryImage == "" {
		o.RegistryImage, err = fixtures.Registry.Resolve(ctx, cli)
	}
	return err
}
