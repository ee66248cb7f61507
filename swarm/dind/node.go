package dind

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Node is one Docker-in-Docker node of a lab.
type Node struct {
	// Name is the container's name and the node's hostname: NAME-manager, NAME-worker1, ...
	Name string
	// ContainerID is the node container's ID on the host engine.
	ContainerID string
	// Role is swarm.RoleManager or swarm.RoleWorker.
	Role swarmtypes.NodeRole
	// Addr is the node's IP address on the lab network (the address it advertises).
	Addr netip.Addr
	// EngineHost is where the host reaches the node's dockerd: tcp://127.0.0.1:PORT. Use it as
	// DOCKER_HOST to run the docker CLI against the node.
	EngineHost string
	// NodeID is the node's swarm node ID.
	NodeID string
	// Client is an Engine API client of the node's dockerd. Cluster.Close closes it.
	Client *client.Client
	// Published maps each published port of the node ("80/tcp", Options.Publish) to the
	// 127.0.0.1:PORT address of the host it is reachable at.
	Published map[string]string
}

var (
	port2375 = network.MustParsePort("2375/tcp")
)

func labels(lab, role string) map[string]string {
	return map[string]string{LabelLab: lab, LabelRole: role}
}

// loopbackPort publishes p on a free port of 127.0.0.1.
func loopbackPort(p network.Port) network.PortMap {
	return network.PortMap{p: {{HostIP: netip.MustParseAddr("127.0.0.1")}}}
}

func createVolume(ctx context.Context, host Engine, lab, name string) (string, error) {
	if _, err := host.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: map[string]string{LabelLab: lab}}); err != nil {
		return "", fmt.Errorf("create volume %s: %w", name, err)
	}
	return name, nil
}

// published returns the loopback address that port p of container name is published on, and
// the container's address on network netName.
func published(ctx context.Context, host Engine, name, netName string, p network.Port) (string, netip.Addr, error) {
	res, err := host.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("inspect %s: %w", name, err)
	}
	ns := res.Container.NetworkSettings
	if ns == nil || len(ns.Ports[p]) == 0 || ns.Networks[netName] == nil {
		return "", netip.Addr{}, fmt.Errorf("container %s has no published port %s or no address on %s", name, p, netName)
	}
	b := ns.Ports[p][0]
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), mustPort(b.HostPort)).String(), ns.Networks[netName].IPAddress, nil
}

func mustPort(s string) uint16 {
	n, _ := strconv.ParseUint(s, 10, 16)
	return uint16(n)
}

// notPulled explains a missing image: the lab never pulls.
func notPulled(err error) string {
	if cerrdefs.IsNotFound(err) {
		return " (the image is not on the engine and a lab never pulls: pull, build or load it first)"
	}
	return ""
}

// hostConfig returns the host configuration of a node container: privileged, or the explicit
// capability set of SecurityCapabilities.
func hostConfig(privileged bool, volume string, extra network.PortMap) *container.HostConfig {
	ports := loopbackPort(port2375)
	for p, b := range extra {
		ports[p] = b
	}
	hc := &container.HostConfig{
		PortBindings: ports,
		Mounts:       []mount.Mount{{Type: mount.TypeVolume, Source: volume, Target: "/var/lib/docker"}},
	}
	if privileged {
		hc.Privileged = true
		return hc
	}
	hc.CapAdd = []string{"ALL"}
	hc.CapDrop = []string{"SYS_RESOURCE"}
	hc.SecurityOpt = []string{"seccomp=unconfined", "apparmor=unconfined"}
	hc.Resources.DeviceCgroupRules = []string{"a *:* rwm"}
	hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: "/sys/fs/cgroup", Target: "/sys/fs/cgroup"})
	return hc
}

// startNode creates and starts one node container. The dockerd flags trust the lab registry
// and listen on tcp://0.0.0.0:2375 without TLS.
func startNode(ctx context.Context, host Engine, o Options, netName, name string, role swarmtypes.NodeRole, privileged bool) (string, error) {
	vol, err := createVolume(ctx, host, o.Name, name+"-data")
	if err != nil {
		return "", err
	}
	args := append([]string{"--insecure-registry", RegistryAlias + ":5000", "--tls=false"}, o.DaemonArgs...)
	extra := portsOf(o.Publish, strings.TrimPrefix(name, o.Name+"-"))
	exposed := network.PortSet{port2375: {}}
	for p := range extra {
		exposed[p] = struct{}{}
	}
	res, err := host.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image:        o.Image,
			Hostname:     name,
			Cmd:          args,
			Env:          []string{"DOCKER_TLS_CERTDIR="},
			Labels:       labels(o.Name, string(role)),
			ExposedPorts: exposed,
		},
		HostConfig: hostConfig(privileged, vol, extra),
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			netName: {Aliases: []string{name}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("create node container %s from %s%s: %w", name, o.Image, notPulled(err), err)
	}
	if _, err := host.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return res.ID, fmt.Errorf("start node container %s: %w", name, err)
	}
	return res.ID, nil
}

// startFirstNode starts the manager, probing privileged mode under SecurityAuto: when the
// engine refuses to start a privileged container, the container is replaced by one with the
// explicit capability set. It reports the mode used and a warning that says why.
func startFirstNode(ctx context.Context, host Engine, o Options, netName, name string) (id string, privileged bool, warning string, err error) {
	privileged = o.Security != SecurityCapabilities
	id, err = startNode(ctx, host, o, netName, name, "manager", privileged)
	if err == nil || o.Security != SecurityAuto || id == "" {
		return id, privileged, "", err
	}
	firstErr := err
	if _, err := host.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}); err != nil {
		return "", false, "", errors.Join(firstErr, err)
	}
	if _, err := host.VolumeRemove(ctx, name+"-data", client.VolumeRemoveOptions{Force: true}); err != nil {
		return "", false, "", errors.Join(firstErr, err)
	}
	id, err = startNode(ctx, host, o, netName, name, "manager", false)
	if err != nil {
		return "", false, "", fmt.Errorf("privileged: %w; with explicit capabilities: %w", firstErr, err)
	}
	warning = fmt.Sprintf("the engine refused a privileged container (%v); the nodes run unprivileged with every capability but SYS_RESOURCE, seccomp and AppArmor unconfined and all devices allowed", oneLine(firstErr))
	return id, false, warning, nil
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// connect returns a client of the node's dockerd once it answers a ping.
func connect(ctx context.Context, host string, timeout time.Duration) (*client.Client, error) {
	cli, err := client.New(client.WithHost(host))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		pingCtx, pingCancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := cli.Ping(pingCtx, client.PingOptions{NegotiateAPIVersion: true})
		pingCancel()
		if err == nil {
			return cli, nil
		}
		select {
		case <-ctx.Done():
			cli.Close()
			return nil, fmt.Errorf("dockerd at %s did not answer within %s: %w", host, timeout, err)
		case <-time.After(150 * time.Millisecond):
		}
	}
}
