package swarm

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/berthdev/berth"
	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Node roles, as the Engine API spells them.
const (
	RoleWorker  = swarmtypes.NodeRoleWorker
	RoleManager = swarmtypes.NodeRoleManager
)

// Node availabilities, as the Engine API spells them.
const (
	AvailabilityActive = swarmtypes.NodeAvailabilityActive
	AvailabilityPause  = swarmtypes.NodeAvailabilityPause
	AvailabilityDrain  = swarmtypes.NodeAvailabilityDrain
)

// DefaultListenAddr is the address a node listens on for the swarm's control plane when
// InitOptions.ListenAddr or JoinOptions.ListenAddr is empty, as in the Docker CLI.
const DefaultListenAddr = "0.0.0.0:2377"

// InitOptions configures Init. The zero value makes a single-node swarm that listens on
// DefaultListenAddr and lets the engine pick the address it advertises.
type InitOptions struct {
	// ListenAddr is where managers listen for the control plane: "IP:PORT", "IP",
	// "INTERFACE:PORT" or "INTERFACE". Empty means DefaultListenAddr.
	ListenAddr string
	// AdvertiseAddr is the address other nodes reach this one at, in the same forms as
	// ListenAddr. Empty lets the engine pick it, which fails on a host with several addresses.
	AdvertiseAddr string
	// DataPathAddr is the address or interface used for overlay (VXLAN) traffic. Empty means
	// AdvertiseAddr.
	DataPathAddr string
	// DataPathPort is the UDP port of overlay traffic, 1024 to 49151; 0 means 4789.
	DataPathPort uint32
	// DefaultAddrPool lists the CIDR ranges overlay networks get their subnets from, such as
	// "10.20.0.0/16". Empty means the engine's default (10.0.0.0/8).
	DefaultAddrPool []string
	// SubnetSize is the prefix length of each overlay network's subnet carved from
	// DefaultAddrPool, 0 meaning 24. It cannot be shorter than a pool's own prefix.
	SubnetSize uint32
	// Availability of this first node; empty means active.
	Availability swarmtypes.NodeAvailability
	// AutoLock encrypts the managers' raft keys with a key that must be given after a restart.
	AutoLock bool
	// ForceNewCluster makes a new single-manager cluster from this node's state, to recover a
	// swarm that lost its quorum.
	ForceNewCluster bool
	// Spec is the cluster configuration (raft, dispatcher, CA, task history, ...); the zero
	// value takes the engine's defaults.
	Spec swarmtypes.Spec
}

// InitResult is what Init returns: the new node's ID and the cluster as inspected right after.
type InitResult struct {
	NodeID string
	Swarm  swarmtypes.Swarm
}

// Validate reports every invalid field of o as *berth.ValidationError values.
func (o InitOptions) Validate() error {
	var p berth.Problems
	checkAddr(&p, "init/listen_addr", o.ListenAddr)
	checkAddr(&p, "init/advertise_addr", o.AdvertiseAddr)
	checkAddr(&p, "init/data_path_addr", o.DataPathAddr)
	if o.DataPathPort != 0 && (o.DataPathPort < 1024 || o.DataPathPort > 49151) {
		p.Add("init/data_path_port", "%d is out of range: use 1024 to 49151, or 0 for the default 4789", o.DataPathPort)
	}
	if o.SubnetSize > 32 {
		p.Add("init/subnet_size", "%d is not a prefix length: use 0 (default 24) up to 32", o.SubnetSize)
	}
	for i, s := range o.DefaultAddrPool {
		pfx, err := netip.ParsePrefix(s)
		path := fmt.Sprintf("init/default_addr_pool[%d]", i)
		switch {
		case err != nil:
			p.Add(path, "%q is not a CIDR range such as 10.20.0.0/16", s)
		case pfx.Masked() != pfx:
			p.Add(path, "%q has host bits set: use %s", s, pfx.Masked())
		case o.SubnetSize != 0 && int(o.SubnetSize) < pfx.Bits():
			p.Add("init/subnet_size", "%d is shorter than the prefix of pool %s: use %d or more", o.SubnetSize, s, pfx.Bits())
		}
	}
	checkAvailability(&p, "init/availability", o.Availability)
	return p.Err()
}

// Init makes the engine behind cli the first manager of a new swarm. It fails with
// cerrdefs.IsFailedPrecondition when that engine is already part of a swarm.
func Init(ctx context.Context, cli client.SwarmAPIClient, o InitOptions) (InitResult, error) {
	if err := o.Validate(); err != nil {
		return InitResult{}, err
	}
	pools := make([]netip.Prefix, len(o.DefaultAddrPool))
	for i, s := range o.DefaultAddrPool {
		pools[i] = netip.MustParsePrefix(s)
	}
	res, err := cli.SwarmInit(ctx, client.SwarmInitOptions{
		ListenAddr:       orDefault(o.ListenAddr, DefaultListenAddr),
		AdvertiseAddr:    o.AdvertiseAddr,
		DataPathAddr:     o.DataPathAddr,
		DataPathPort:     o.DataPathPort,
		ForceNewCluster:  o.ForceNewCluster,
		Spec:             o.Spec,
		AutoLockManagers: o.AutoLock,
		Availability:     o.Availability,
		DefaultAddrPool:  pools,
		SubnetSize:       o.SubnetSize,
	})
	if err != nil {
		return InitResult{}, fmt.Errorf("swarm init: %w", err)
	}
	sw, err := Inspect(ctx, cli)
	return InitResult{NodeID: res.NodeID, Swarm: sw}, err
}

// JoinOptions configures Join.
type JoinOptions struct {
	// Token is the worker or manager join token (see JoinToken); it decides the new node's
	// role.
	Token string
	// Managers are the addresses of one or more managers, "HOST:PORT" or "HOST" (port 2377).
	Managers []string
	// ListenAddr, AdvertiseAddr and DataPathAddr are as in InitOptions.
	ListenAddr    string
	AdvertiseAddr string
	DataPathAddr  string
	// Availability of the new node; empty means active.
	Availability swarmtypes.NodeAvailability
}

// Validate reports every invalid field of o as *berth.ValidationError values.
func (o JoinOptions) Validate() error {
	var p berth.Problems
	if !strings.HasPrefix(o.Token, "SWMTKN-") {
		p.Add("join/token", "%q is not a join token: use the SWMTKN-... token from JoinToken or `docker swarm join-token -q worker`", o.Token)
	}
	if len(o.Managers) == 0 {
		p.Add("join/managers", "no manager address: give at least one HOST:PORT")
	}
	for i, m := range o.Managers {
		if m == "" {
			p.Add(fmt.Sprintf("join/managers[%d]", i), "empty address: use HOST:PORT or HOST")
			continue
		}
		checkAddr(&p, fmt.Sprintf("join/managers[%d]", i), m)
	}
	checkAddr(&p, "join/listen_addr", o.ListenAddr)
	checkAddr(&p, "join/advertise_addr", o.AdvertiseAddr)
	checkAddr(&p, "join/data_path_addr", o.DataPathAddr)
	checkAvailability(&p, "join/availability", o.Availability)
	return p.Err()
}

// Join makes the engine behind cli a node of the swarm that o.Managers belong to, as a
// worker or a manager depending on o.Token. It returns once the engine has joined.
func Join(ctx context.Context, cli client.SwarmAPIClient, o JoinOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	_, err := cli.SwarmJoin(ctx, client.SwarmJoinOptions{
		ListenAddr:    orDefault(o.ListenAddr, DefaultListenAddr),
		AdvertiseAddr: o.AdvertiseAddr,
		DataPathAddr:  o.DataPathAddr,
		RemoteAddrs:   o.Managers,
		JoinToken:     o.Token,
		Availability:  o.Availability,
	})
	if err != nil {
		return fmt.Errorf("swarm join %s: %w", strings.Join(o.Managers, ","), err)
	}
	return nil
}

// LeaveOptions configures Leave.
type LeaveOptions struct {
	// Force lets a manager leave (which can break the quorum) and a node leave while it
	// cannot reach the managers.
	Force bool
}

// Leave makes the engine behind cli leave its swarm. The node stays in the managers' node
// list as down until it is removed with RemoveNode.
func Leave(ctx context.Context, cli client.SwarmAPIClient, o LeaveOptions) error {
	if _, err := cli.SwarmLeave(ctx, client.SwarmLeaveOptions{Force: o.Force}); err != nil {
		return fmt.Errorf("swarm leave: %w", err)
	}
	return nil
}

// Inspect returns the swarm that the manager behind cli belongs to, join tokens included.
func Inspect(ctx context.Context, cli client.SwarmAPIClient) (swarmtypes.Swarm, error) {
	res, err := cli.SwarmInspect(ctx, client.SwarmInspectOptions{})
	if err != nil {
		return swarmtypes.Swarm{}, fmt.Errorf("swarm inspect: %w", err)
	}
	return res.Swarm, nil
}

// JoinTokens returns the worker and the manager join tokens.
func JoinTokens(ctx context.Context, cli client.SwarmAPIClient) (swarmtypes.JoinTokens, error) {
	sw, err := Inspect(ctx, cli)
	return sw.JoinTokens, err
}

// JoinToken returns the join token of role (RoleWorker or RoleManager).
func JoinToken(ctx context.Context, cli client.SwarmAPIClient, role swarmtypes.NodeRole) (string, error) {
	if err := checkRole("join_token/role", role); err != nil {
		return "", err
	}
	tokens, err := JoinTokens(ctx, cli)
	if role == RoleManager {
		return tokens.Manager, err
	}
	return tokens.Worker, err
}

// RotateJoinTokens replaces the join tokens of the given roles (RoleWorker, RoleManager, or
// both) with new ones and returns the tokens now valid. Nodes already joined are not
// affected; the old tokens stop working.
func RotateJoinTokens(ctx context.Context, cli client.SwarmAPIClient, roles ...swarmtypes.NodeRole) (swarmtypes.JoinTokens, error) {
	var p berth.Problems
	if len(roles) == 0 {
		p.Add("rotate/roles", "no role: give worker, manager or both")
	}
	for i, r := range roles {
		p.AddErr(fmt.Sprintf("rotate/roles[%d]", i), checkRole(fmt.Sprintf("rotate/roles[%d]", i), r))
	}
	if err := p.Err(); err != nil {
		return swarmtypes.JoinTokens{}, err
	}
	sw, err := Inspect(ctx, cli)
	if err != nil {
		return swarmtypes.JoinTokens{}, err
	}
	opts := client.SwarmUpdateOptions{Version: sw.Version, Spec: sw.Spec}
	for _, r := range roles {
		opts.RotateWorkerToken = opts.RotateWorkerToken || r == RoleWorker
		opts.RotateManagerToken = opts.RotateManagerToken || r == RoleManager
	}
	if _, err := cli.SwarmUpdate(ctx, opts); err != nil {
		return swarmtypes.JoinTokens{}, fmt.Errorf("swarm update (rotate join tokens): %w", err)
	}
	return JoinTokens(ctx, cli)
}

func checkRole(path string, role swarmtypes.NodeRole) error {
	if role != RoleWorker && role != RoleManager {
		return berth.Invalid(path, "%q is not a role: use worker or manager", role)
	}
	return nil
}

func checkAvailability(p *berth.Problems, path string, a swarmtypes.NodeAvailability) {
	switch a {
	case "", AvailabilityActive, AvailabilityPause, AvailabilityDrain:
	default:
		p.Add(path, "%q is not an availability: use active, pause or drain", a)
	}
}

// checkAddr accepts "", "HOST", "HOST:PORT", "INTERFACE" and "INTERFACE:PORT" with a port in
// 1..65535.
func checkAddr(p *berth.Problems, path, addr string) {
	if addr == "" {
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		if strings.ContainsAny(addr, " /") || strings.Count(addr, ":") == 1 {
			p.Add(path, "%q is not an address: use IP, IP:PORT, HOST:PORT or INTERFACE[:PORT]", addr)
		}
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		p.Add(path, "%q has an invalid port: use a number from 1 to 65535", addr)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
