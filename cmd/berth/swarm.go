package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/berthdev/berth/internal/fixtures"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
	"github.com/berthdev/berth/swarm/dind"
)

// The swarm group: `berth swarm init|join|leave|join-token|update|unlock|unlock-key|ca` and
// the lab (`berth lab up|ls|down`), with the Docker CLI's flags where they exist.

func init() {
	addGroup(newSwarmCommand)
	addGroup(newLabCommand)
}

func newSwarmCommand() *cobra.Command {
	return newGroup("swarm", "Manage Swarm",
		newSwarmInit(), newSwarmJoin(), newSwarmLeave(), newSwarmJoinToken(), newSwarmUpdate(),
		newSwarmUnlock(), newSwarmUnlockKey(), newSwarmCA())
}

func newLabCommand() *cobra.Command {
	return newGroup("lab", "Manage local swarms of Docker-in-Docker nodes", newLabUp(), newLabLs(), newLabDown())
}

func newLabUp() *cobra.Command {
	var o dind.Options
	var push, publish []string
	cmd := newVerb("up [OPTIONS]", "Start a local swarm of Docker-in-Docker nodes and a registry", noArgs, func(cmd *cobra.Command, _ []string) error {
		o.Push = push
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		if err := labFixtures(cmd.Context(), cli, &o); err != nil {
			return err
		}
		for _, p := range publish {
			pub, err := dind.ParsePublish(p)
			if err != nil {
				return usageFail(cmd, 125, err.Error())
			}
			o.Publish = append(o.Publish, pub)
		}
		lab, err := dind.Start(cmd.Context(), cli, o)
		if err != nil {
			return err
		}
		warn(lab.Warnings)
		printLab(stdout(), lab)
		return nil
	})
	f := cmd.Flags()
	f.StringVar(&o.Name, "name", dind.DefaultName, "Lab name: prefix of its containers, network and volumes")
	f.IntVar(&o.Workers, "workers", 3, "Number of worker nodes")
	f.StringVar(&o.Image, "image", "", "Docker-in-Docker node image (default docker:dind, or the local fixture)")
	f.StringVar(&o.RegistryImage, "registry-image", "", "Registry image (default registry:2, or the local fixture)")
	f.StringArrayVar(&push, "push", nil, "Image of this engine to push into the lab registry (repeatable)")
	f.StringArrayVarP(&publish, "publish", "p", nil, "Publish a port of the manager on 127.0.0.1 of this host, [HOST:]NODE[/PROTO] (repeatable)")
	return cmd
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
	fmt.Fprintf(w, "\nreach the manager with:\n  export DOCKER_HOST=%s   # or: berth -H %s …\n", lab.Manager.EngineHost, lab.Manager.EngineHost)
	fmt.Fprintf(w, "push an image with:\n  docker tag IMAGE %s/IMAGE && docker push %s/IMAGE  # then use %s/IMAGE in services\n",
		lab.Registry.HostAddr, lab.Registry.HostAddr, lab.Registry.ClusterAddr)
	fmt.Fprintf(w, "remove it with:\n  berth lab down --name %s\n", lab.Name)
}

func newLabLs() *cobra.Command {
	return engineVerb("ls [NAME]", "List the labs on this engine, or show one lab's nodes", rangeArgs(0, 1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		ctx := cmd.Context()
		if len(args) == 1 {
			lab, err := dind.Attach(ctx, cli, args[0])
			if err != nil {
				return err
			}
			defer lab.Detach()
			printLab(stdout(), lab)
			return nil
		}
		names, err := dind.List(ctx, cli)
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(stdout(), n)
		}
		return nil
	})
}

func newLabDown() *cobra.Command {
	var name string
	cmd := engineVerb("down [OPTIONS]", "Remove a lab: its containers, network and volumes", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		if err := dind.Remove(cmd.Context(), cli, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout(), "lab %s removed\n", name)
		return nil
	})
	cmd.Flags().StringVar(&name, "name", dind.DefaultName, "Lab name")
	return cmd
}

// clusterFlags are the cluster settings `swarm init` and `swarm update` share.
type clusterFlags struct {
	autolock                       bool
	certExpiry, heartbeat, snapInt time.Duration
	maxSnapshots, snapshotInterval uint64
	taskHistory                    int64
	externalCAs                    []string
}

func (c *clusterFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&c.autolock, "autolock", false, "Enable manager autolocking (requiring an unlock key to start a stopped manager)")
	f.DurationVar(&c.certExpiry, "cert-expiry", 90*24*time.Hour, "Validity period for node certificates (ns|us|ms|s|m|h)")
	f.DurationVar(&c.heartbeat, "dispatcher-heartbeat", 5*time.Second, "Dispatcher heartbeat period (ns|us|ms|s|m|h)")
	f.Uint64Var(&c.maxSnapshots, "max-snapshots", 0, "Number of additional Raft snapshots to retain")
	f.Uint64Var(&c.snapshotInterval, "snapshot-interval", 10000, "Number of log entries between Raft snapshots")
	f.Int64Var(&c.taskHistory, "task-history-limit", 5, "Task history retention limit")
	f.StringArrayVar(&c.externalCAs, "external-ca", nil, "Specifications of one or more certificate signing endpoints (protocol=cfssl,url=URL)")
}

// apply sets the changed flags on spec.
func (c *clusterFlags) apply(f *pflag.FlagSet, spec *swarmtypes.Spec) error {
	if f.Changed("cert-expiry") {
		spec.CAConfig.NodeCertExpiry = c.certExpiry
	}
	if f.Changed("dispatcher-heartbeat") {
		spec.Dispatcher.HeartbeatPeriod = c.heartbeat
	}
	if f.Changed("max-snapshots") {
		n := c.maxSnapshots
		spec.Raft.KeepOldSnapshots = &n
	}
	if f.Changed("snapshot-interval") {
		spec.Raft.SnapshotInterval = c.snapshotInterval
	}
	if f.Changed("task-history-limit") {
		n := c.taskHistory
		spec.Orchestration.TaskHistoryRetentionLimit = &n
	}
	if f.Changed("autolock") {
		spec.EncryptionConfig.AutoLockManagers = c.autolock
	}
	for i, e := range c.externalCAs {
		ca := swarmtypes.ExternalCA{Options: map[string]string{}}
		for _, field := range strings.Split(e, ",") {
			k, v, _ := strings.Cut(field, "=")
			switch k {
			case "protocol":
				ca.Protocol = swarmtypes.ExternalCAProtocol(v)
			case "url":
				ca.URL = v
			default:
				ca.Options[k] = v
			}
		}
		if ca.Protocol != swarmtypes.ExternalCAProtocolCFSSL || ca.URL == "" {
			return berth.Invalid(fmt.Sprintf("external-ca[%d]", i), "%q: want protocol=cfssl,url=URL", e)
		}
		spec.CAConfig.ExternalCAs = append(spec.CAConfig.ExternalCAs, &ca)
	}
	return nil
}

func newSwarmInit() *cobra.Command {
	var o swarm.InitOptions
	var c clusterFlags
	var avail string
	cmd := newVerb("init [OPTIONS]", "Initialize a swarm", noArgs, func(cmd *cobra.Command, _ []string) error {
		o.Availability, o.AutoLock = swarmtypes.NodeAvailability(avail), c.autolock
		if err := c.apply(cmd.Flags(), &o.Spec); err != nil {
			return err
		}
		ctx := cmd.Context()
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		res, err := swarm.Init(ctx, cli, o)
		if err != nil {
			return err
		}
		w := stdout()
		fmt.Fprintf(w, "Swarm initialized: current node (%s) is now a manager.\n\n", res.NodeID)
		fmt.Fprintf(w, "To add a worker to this swarm, run the following command:\n\n    berth swarm join --token %s %s\n\n", res.Swarm.JoinTokens.Worker, swarmManagerAddr(ctx, cli))
		fmt.Fprintln(w, "To add a manager to this swarm, run 'berth swarm join-token manager' and follow the instructions.")
		if o.AutoLock {
			key, err := swarm.UnlockKey(ctx, cli)
			if err != nil {
				return fmt.Errorf("swarm initialized, but its unlock key could not be read: %w", err)
			}
			printUnlockKey(w, key)
		}
		return nil
	})
	f := cmd.Flags()
	f.StringVar(&o.AdvertiseAddr, "advertise-addr", "", "Advertised address (format: \"<ip|interface>[:port]\")")
	f.StringVar(&o.ListenAddr, "listen-addr", swarm.DefaultListenAddr, "Listen address (format: \"<ip|interface>[:port]\")")
	f.StringVar(&o.DataPathAddr, "data-path-addr", "", "Address or interface to use for data path traffic (format: \"<ip|interface>\")")
	f.Uint32Var(&o.DataPathPort, "data-path-port", 0, "Port number to use for data path traffic (1024 - 49151). If no value is set or is set to 0, the default port (4789) is used.")
	f.StringSliceVar(&o.DefaultAddrPool, "default-addr-pool", nil, "default address pool in CIDR format")
	f.Uint32Var(&o.SubnetSize, "default-addr-pool-mask-length", 24, "default address pool subnet mask length")
	f.StringVar(&avail, "availability", "active", `Availability of the node ("active", "pause", "drain")`)
	f.BoolVar(&o.ForceNewCluster, "force-new-cluster", false, "Force create a new cluster from current state")
	c.register(f)
	return cmd
}

func printUnlockKey(w io.Writer, key string) {
	fmt.Fprintf(w, "\nTo unlock a swarm manager after it restarts, run the `berth swarm unlock`\ncommand and provide the following key:\n\n    %s\n\n", key)
	fmt.Fprintln(w, "Remember to store this key in a password manager, since without it you\nwill not be able to restart the manager.")
}

func newSwarmJoin() *cobra.Command {
	var o swarm.JoinOptions
	var avail string
	cmd := newVerb("join [OPTIONS] HOST:PORT", "Join a swarm as a node and/or manager", exactArgs(1), func(cmd *cobra.Command, args []string) error {
		o.Managers, o.Availability = args, swarmtypes.NodeAvailability(avail)
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		if err := swarm.Join(cmd.Context(), cli, o); err != nil {
			return err
		}
		fmt.Fprintln(stdout(), "This node joined a swarm.")
		return nil
	})
	f := cmd.Flags()
	f.StringVar(&o.Token, "token", "", "Token for entry into the swarm")
	f.StringVar(&o.AdvertiseAddr, "advertise-addr", "", "Advertised address (format: \"<ip|interface>[:port]\")")
	f.StringVar(&o.ListenAddr, "listen-addr", swarm.DefaultListenAddr, "Listen address (format: \"<ip|interface>[:port]\")")
	f.StringVar(&o.DataPathAddr, "data-path-addr", "", "Address or interface to use for data path traffic (format: \"<ip|interface>\")")
	f.StringVar(&avail, "availability", "active", `Availability of the node ("active", "pause", "drain")`)
	return cmd
}

func newSwarmLeave() *cobra.Command {
	var force bool
	cmd := engineVerb("leave [OPTIONS]", "Leave the swarm", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		if err := swarm.Leave(cmd.Context(), cli, swarm.LeaveOptions{Force: force}); err != nil {
			return err
		}
		fmt.Fprintln(stdout(), "Node left the swarm.")
		return nil
	})
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force this node to leave the swarm, ignoring warnings")
	return cmd
}

func newSwarmJoinToken() *cobra.Command {
	var quiet, rotate bool
	cmd := newVerb("join-token [OPTIONS] (worker|manager)", "Manage join tokens", exactArgs(1), func(cmd *cobra.Command, args []string) error {
		role := swarmtypes.NodeRole(args[0])
		ctx := cmd.Context()
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		if rotate {
			if _, err := swarm.RotateJoinTokens(ctx, cli, role); err != nil {
				return err
			}
			if !quiet {
				fmt.Fprintf(stdout(), "Successfully rotated %s join token.\n\n", role)
			}
		}
		token, err := swarm.JoinToken(ctx, cli, role)
		if err != nil {
			return err
		}
		if quiet {
			fmt.Fprintln(stdout(), token)
			return nil
		}
		fmt.Fprintf(stdout(), "To add a %s to this swarm, run the following command:\n\n    berth swarm join --token %s %s\n", role, token, swarmManagerAddr(ctx, cli))
		return nil
	})
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display token")
	cmd.Flags().BoolVar(&rotate, "rotate", false, "Rotate join token")
	cmd.ValidArgs = []cobra.Completion{"worker", "manager"}
	return cmd
}

func newSwarmUpdate() *cobra.Command {
	var c clusterFlags
	cmd := newVerb("update [OPTIONS]", "Update the swarm", noArgs, func(cmd *cobra.Command, _ []string) error {
		var applyErr error
		ctx := cmd.Context()
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		err = swarm.UpdateCluster(ctx, cli, swarm.ClusterUpdate{Change: func(s *swarmtypes.Spec) { applyErr = c.apply(cmd.Flags(), s) }})
		if err := errors.Join(applyErr, err); err != nil {
			return err
		}
		fmt.Fprintln(stdout(), "Swarm updated.")
		if cmd.Flags().Changed("autolock") && c.autolock {
			key, err := swarm.UnlockKey(ctx, cli)
			if err != nil {
				return err
			}
			printUnlockKey(stdout(), key)
		}
		return nil
	})
	c.register(cmd.Flags())
	return cmd
}

func newSwarmUnlock() *cobra.Command {
	return newVerb("unlock", "Unlock swarm", noArgs, func(cmd *cobra.Command, _ []string) error {
		if isTerminal(os.Stdin) {
			fmt.Fprint(os.Stderr, "Enter unlock key: ")
		}
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		return swarm.Unlock(cmd.Context(), cli, strings.TrimSpace(line))
	})
}

func newSwarmUnlockKey() *cobra.Command {
	var quiet, rotate bool
	cmd := engineVerb("unlock-key [OPTIONS]", "Manage the unlock key", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		ctx := cmd.Context()
		var key string
		var err error
		if rotate {
			key, err = swarm.RotateUnlockKey(ctx, cli)
			if err == nil && !quiet {
				fmt.Fprint(stdout(), "Successfully rotated manager unlock key.\n\n")
			}
		} else {
			key, err = swarm.UnlockKey(ctx, cli)
		}
		if err != nil {
			return err
		}
		if key == "" {
			return errors.New("no unlock key is set: turn autolock on with `berth swarm update --autolock`")
		}
		if quiet {
			fmt.Fprintln(stdout(), key)
			return nil
		}
		printUnlockKey(stdout(), key)
		return nil
	})
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display token")
	cmd.Flags().BoolVar(&rotate, "rotate", false, "Rotate unlock key")
	return cmd
}

func newSwarmCA() *cobra.Command {
	var rotate, detach, quiet bool
	var certExpiry time.Duration
	cmd := engineVerb("ca [OPTIONS]", "Display and rotate the root CA", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		ctx := cmd.Context()
		if rotate || cmd.Flags().Changed("cert-expiry") {
			change := func(s *swarmtypes.Spec) {
				if cmd.Flags().Changed("cert-expiry") {
					s.CAConfig.NodeCertExpiry = certExpiry
				}
			}
			if err := swarm.UpdateCluster(ctx, cli, swarm.ClusterUpdate{Change: change, RotateCA: rotate}); err != nil {
				return err
			}
		}
		root, err := swarm.RootCA(ctx, cli, rotate && !detach, 5*time.Minute)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout(), root)
		return nil
	})
	f := cmd.Flags()
	f.BoolVar(&rotate, "rotate", false, "Rotate the swarm CA - if no certificate or key are provided, new ones will be generated")
	f.BoolVarP(&detach, "detach", "d", false, "Exit immediately instead of waiting for the root rotation to converge")
	f.BoolVarP(&quiet, "quiet", "q", false, "Suppress progress output")
	f.DurationVar(&certExpiry, "cert-expiry", 90*24*time.Hour, "Validity period for node certificates (ns|us|ms|s|m|h)")
	return cmd
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
