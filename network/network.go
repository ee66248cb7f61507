// Package network manages networks outside stacks, as `docker network` does: Create (bridge,
// overlay attachable, internal, IPAM subnets, labels, driver options), Inspect, List, Remove
// (which waits until the network is gone), Connect and Disconnect.
//
// Errors match the sentinels ErrExists, ErrInUse and ErrNotFound (errors.Is) as well as the
// engine's own classification (cerrdefs.IsConflict, cerrdefs.IsNotFound); invalid options are
// *berth.ValidationError values, reported before any request.
package network

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"time"

	"github.com/berthdev/berth"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

var (
	// ErrExists is matched by Create's error when a network of that name exists.
	ErrExists = errors.New("network already exists")
	// ErrInUse is matched by Remove's error when containers or services still use the network.
	ErrInUse = errors.New("network in use")
	// ErrNotFound is matched when the network (or, for Connect and Disconnect, the container)
	// does not exist.
	ErrNotFound = errors.New("network not found")
)

// Error is a failed network operation: Op ("create", "remove", ...), the network, its Kind
// (ErrExists, ErrInUse, ErrNotFound or nil) and the engine's error.
type Error struct {
	Op, Network string
	Kind        error
	Err         error
}

func (e *Error) Error() string {
	msg := "network: " + e.Op + " " + e.Network
	if e.Kind != nil {
		msg += ": " + e.Kind.Error()
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the kind and the engine's error.
func (e *Error) Unwrap() []error {
	var out []error
	for _, err := range []error{e.Kind, e.Err} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

func opError(op, name string, err error) error {
	e := &Error{Op: op, Network: name, Err: err}
	switch {
	case cerrdefs.IsNotFound(err):
		e.Kind = ErrNotFound
	case op == "create" && cerrdefs.IsConflict(err):
		e.Kind = ErrExists
	case op == "remove" && (cerrdefs.IsPermissionDenied(err) || cerrdefs.IsConflict(err)):
		// The engine answers 403 (20.10) or 409 for a network with active endpoints.
		e.Kind = ErrInUse
	}
	return e
}

// Subnet is one IPAM pool (`--subnet`, `--gateway`, `--ip-range`); empty fields are left to
// the engine.
type Subnet struct {
	Subnet  string // CIDR, e.g. 10.20.0.0/24
	Gateway string // an address inside Subnet
	IPRange string // a CIDR inside Subnet to allocate container addresses from
}

// CreateOptions mirror `docker network create`.
type CreateOptions struct {
	// Driver is "bridge" (the default on a single engine), "overlay" (swarm, multi-host) or a
	// plugin's name (`--driver`).
	Driver string
	// Attachable lets standalone containers join an overlay network (`--attachable`).
	Attachable bool
	// Internal cuts the network off from outside traffic (`--internal`).
	Internal bool
	// IPv6 enables IPv6 (`--ipv6`).
	IPv6 bool
	// Subnets configure the default IPAM driver's pools.
	Subnets []Subnet
	// Labels are set on the network (`--label`).
	Labels map[string]string
	// Options are the driver's options (`--opt`, e.g. com.docker.network.bridge.name).
	Options map[string]string
}

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// request checks opts and builds the engine's request; every problem at once.
func (o CreateOptions) request(name string) (client.NetworkCreateOptions, error) {
	var p berth.Problems
	if !namePattern.MatchString(name) {
		p.Add("name", "%q is not a valid network name: use letters, digits, '_', '.' and '-', starting with a letter or digit", name)
	}
	if o.Attachable && o.Driver != "overlay" {
		p.Add("attachable", "only an overlay network is attachable (driver is %q)", o.Driver)
	}
	req := client.NetworkCreateOptions{Driver: o.Driver, Internal: o.Internal, Attachable: o.Attachable,
		Labels: maps.Clone(o.Labels), Options: maps.Clone(o.Options)}
	if o.IPv6 {
		req.EnableIPv6 = &o.IPv6
	}
	if len(o.Subnets) > 0 {
		req.IPAM = &network.IPAM{Driver: "default"}
	}
	for i, s := range o.Subnets {
		path := fmt.Sprintf("subnets[%d]", i)
		cfg, err := s.config(path)
		p.AddErr(path, err)
		if req.IPAM != nil {
			req.IPAM.Config = append(req.IPAM.Config, cfg)
		}
	}
	return req, p.Err()
}

func (s Subnet) config(path string) (network.IPAMConfig, error) {
	var p berth.Problems
	var cfg network.IPAMConfig
	var err error
	if cfg.Subnet, err = netip.ParsePrefix(s.Subnet); err != nil {
		p.Add(path+"/subnet", "%q is not a CIDR subnet (e.g. 10.20.0.0/24)", s.Subnet)
		return cfg, p.Err()
	}
	if cfg.Subnet.Masked() != cfg.Subnet {
		p.Add(path+"/subnet", "%q has host bits set; the subnet is %s", s.Subnet, cfg.Subnet.Masked())
	}
	if s.Gateway != "" {
		if cfg.Gateway, err = netip.ParseAddr(s.Gateway); err != nil || !cfg.Subnet.Contains(cfg.Gateway) {
			p.Add(path+"/gateway", "%q is not an address inside %s", s.Gateway, s.Subnet)
		}
	}
	if s.IPRange != "" {
		cfg.IPRange, err = netip.ParsePrefix(s.IPRange)
		if err != nil || !cfg.Subnet.Contains(cfg.IPRange.Addr()) || cfg.IPRange.Bits() < cfg.Subnet.Bits() {
			p.Add(path+"/ip-range", "%q is not a CIDR range inside %s", s.IPRange, s.Subnet)
		}
	}
	return cfg, p.Err()
}

// Create creates network name (`docker network create`) and returns its ID. A network of that
// name that exists already is an *Error matching ErrExists: engines before API 1.44 would
// otherwise create a second network of the same name, so Create looks first.
func Create(ctx context.Context, cli client.NetworkAPIClient, name string, opts CreateOptions) (string, error) {
	req, err := opts.request(name)
	if err != nil {
		return "", err
	}
	if found, err := byName(ctx, cli, name); err != nil {
		return "", opError("create", name, err)
	} else if found != "" {
		return "", &Error{Op: "create", Network: name, Kind: ErrExists, Err: fmt.Errorf("ID %.12s: %w", found, cerrdefs.ErrConflict)}
	}
	res, err := cli.NetworkCreate(ctx, name, req)
	if err != nil {
		return "", opError("create", name, err)
	}
	return res.ID, nil
}

// byName returns the ID of the network called exactly name, or "".
func byName(ctx context.Context, cli client.NetworkAPIClient, name string) (string, error) {
	res, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", name)})
	if err != nil {
		return "", err
	}
	for _, n := range res.Items {
		if n.Name == name {
			return n.ID, nil
		}
	}
	return "", nil
}

// Inspect returns what the engine knows about a network, by name or ID.
func Inspect(ctx context.Context, cli client.NetworkAPIClient, name string) (network.Inspect, error) {
	res, err := cli.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
	if err != nil {
		return network.Inspect{}, opError("inspect", name, err)
	}
	return res.Network, nil
}

// ListOptions mirror `docker network ls --filter`.
type ListOptions struct {
	Driver string   // only networks of this driver
	Labels []string // every label: "KEY" or "KEY=VALUE"
	Name   string   // names containing this (the engine's name filter)
	// Filters are further engine filters (`--filter scope=swarm`), added to the above.
	Filters client.Filters
}

// List returns the networks that match opts.
func List(ctx context.Context, cli client.NetworkAPIClient, opts ListOptions) ([]network.Summary, error) {
	f := opts.Filters.Clone()
	if f == nil {
		f = client.Filters{}
	}
	if opts.Driver != "" {
		f.Add("driver", opts.Driver)
	}
	if len(opts.Labels) > 0 {
		f.Add("label", opts.Labels...)
	}
	if opts.Name != "" {
		f.Add("name", opts.Name)
	}
	res, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("network: list: %w", err)
	}
	return res.Items, nil
}

// Remove removes a network (`docker network rm`) and waits until the engine no longer shows
// it: an overlay network's removal finishes in the background, and creating one of the same
// name before then fails. A network that containers or services use is an *Error matching
// ErrInUse; a missing one matches ErrNotFound.
func Remove(ctx context.Context, cli client.NetworkAPIClient, name string) error {
	if _, err := cli.NetworkRemove(ctx, name, client.NetworkRemoveOptions{}); err != nil {
		return opError("remove", name, err)
	}
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 500*time.Millisecond) {
		_, err := cli.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
		switch {
		case cerrdefs.IsNotFound(err):
			return nil
		case err != nil:
			return opError("remove", name, err)
		}
		select {
		case <-ctx.Done():
			return &Error{Op: "remove", Network: name, Err: fmt.Errorf("still listed: %w", ctx.Err())}
		case <-time.After(delay):
		}
	}
}

// ConnectOptions mirror `docker network connect`.
type ConnectOptions struct {
	Aliases []string // further DNS names of the container on this network (`--alias`)
	IPv4    string   // a fixed address (`--ip`), on a network with a configured subnet
}

// Connect attaches a running or created container to a network.
func Connect(ctx context.Context, cli client.NetworkAPIClient, name, ctr string, opts ConnectOptions) error {
	ep := &network.EndpointSettings{Aliases: opts.Aliases}
	if opts.IPv4 != "" {
		ip, err := netip.ParseAddr(opts.IPv4)
		if err != nil || !ip.Is4() {
			return berth.Invalid("ip", "%q is not an IPv4 address", opts.IPv4)
		}
		ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: ip}
	}
	if _, err := cli.NetworkConnect(ctx, name, client.NetworkConnectOptions{Container: ctr, EndpointConfig: ep}); err != nil {
		return attachError(ctx, cli, "connect "+ctr+" to", name, err)
	}
	return nil
}

// attachError classifies a failed connect or disconnect. A swarm manager answers a missing
// network with an error the engine does not classify as not found (the swarm's own NotFound
// inside a 403), so the network is looked up to tell.
func attachError(ctx context.Context, cli client.NetworkAPIClient, op, name string, err error) error {
	e := opError(op, name, err)
	if errors.Is(e, ErrNotFound) {
		return e
	}
	if _, inspectErr := cli.NetworkInspect(ctx, name, client.NetworkInspectOptions{}); cerrdefs.IsNotFound(inspectErr) {
		e.(*Error).Kind = ErrNotFound
	}
	return e
}

// Disconnect detaches a container from a network; force also removes a stale endpoint.
func Disconnect(ctx context.Context, cli client.NetworkAPIClient, name, ctr string, force bool) error {
	if _, err := cli.NetworkDisconnect(ctx, name, client.NetworkDisconnectOptions{Container: ctr, Force: force}); err != nil {
		return attachError(ctx, cli, "disconnect "+ctr+" from", name, err)
	}
	return nil
}
