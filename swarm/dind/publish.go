package dind

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
)

// Publish makes a port of a lab node reachable from the host on 127.0.0.1, as `-p
// 127.0.0.1:HOST:NODE` does for the node container. A swarm service with a host-mode port on
// that node (`mode: host`, `published: NODE`) is then reachable from the host: the chapter's
// `8000:80` in front of the manager. Nothing is ever published on other host addresses.
type Publish struct {
	// Node is the node whose port is published: "manager" (the default when empty) or
	// "worker1" ... "workerN".
	Node string
	// HostPort is the port on 127.0.0.1 of the host; 0 picks a free port (see
	// Node.PublishedAddr).
	HostPort uint16
	// NodePort is the node container's port, 1 to 65535.
	NodePort uint16
	// Protocol is "tcp" (the default when empty) or "udp".
	Protocol string
}

// ParsePublish parses the CLI form [HOST:]NODE[/PROTO] (docker's -p without an address), for
// the manager: "8000:80", "80", "5353:53/udp".
func ParsePublish(s string) (Publish, error) {
	p := Publish{}
	ports, proto, _ := strings.Cut(s, "/")
	p.Protocol = proto
	hostPart, nodePart, ok := strings.Cut(ports, ":")
	if !ok {
		hostPart, nodePart = "", ports
	}
	var err error
	if p.NodePort, err = parsePort(nodePart); err != nil {
		return p, fmt.Errorf("publish %q: node port: %w", s, err)
	}
	if ok {
		if p.HostPort, err = parsePort(hostPart); err != nil {
			return p, fmt.Errorf("publish %q: host port: %w", s, err)
		}
	}
	return p, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port: use 1 to 65535", s)
	}
	return uint16(n), nil
}

func (p Publish) node() string {
	if p.Node == "" {
		return "manager"
	}
	return p.Node
}

func (p Publish) proto() string {
	if p.Protocol == "" {
		return "tcp"
	}
	return p.Protocol
}

func (p Publish) port() network.Port {
	return network.MustParsePort(fmt.Sprintf("%d/%s", p.NodePort, p.proto()))
}

// validatePublish adds the problems of o.Publish to p.
func validatePublish(p *berth.Problems, o Options) {
	seenNode := map[string]bool{}
	seenHost := map[string]bool{}
	for i, pub := range o.Publish {
		path := fmt.Sprintf("lab/publish[%d]", i)
		if !validNode(pub.node(), o.Workers) {
			p.Add(path+"/node", "%q is not a node of this lab: use manager or worker1 to worker%d", pub.Node, o.Workers)
		}
		if pub.NodePort == 0 {
			p.Add(path+"/node_port", "0 is not a port: use 1 to 65535")
		}
		if pub.proto() != "tcp" && pub.proto() != "udp" {
			p.Add(path+"/protocol", "%q is not a protocol: use tcp or udp", pub.Protocol)
		}
		key := fmt.Sprintf("%s %d/%s", pub.node(), pub.NodePort, pub.proto())
		if seenNode[key] {
			p.Add(path, "port %d/%s of %s is published twice", pub.NodePort, pub.proto(), pub.node())
		}
		seenNode[key] = true
		if pub.HostPort != 0 {
			hk := fmt.Sprintf("%d/%s", pub.HostPort, pub.proto())
			if seenHost[hk] {
				p.Add(path+"/host_port", "host port %s is published twice", hk)
			}
			seenHost[hk] = true
		}
	}
}

func validNode(name string, workers int) bool {
	if name == "manager" {
		return true
	}
	n, ok := strings.CutPrefix(name, "worker")
	if !ok {
		return false
	}
	k, err := strconv.Atoi(n)
	return err == nil && k >= 1 && k <= workers && strconv.Itoa(k) == n
}

// checkHostPorts fails, before anything is created, when a fixed host port is taken on
// 127.0.0.1: binding it now is the one check that does not race with the engine's own error,
// which would come only after the network and the registry exist.
func checkHostPorts(pubs []Publish) error {
	for _, pub := range pubs {
		if pub.HostPort == 0 {
			continue
		}
		addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), pub.HostPort).String()
		var err error
		if pub.proto() == "udp" {
			var c net.PacketConn
			if c, err = net.ListenPacket("udp", addr); err == nil {
				c.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen("tcp", addr); err == nil {
				l.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("publish %s/%s for %s port %d: the host port is in use (%v): choose another or 0 for any: %w",
				addr, pub.proto(), pub.node(), pub.NodePort, err, cerrdefs.ErrConflict)
		}
	}
	return nil
}

// portsOf returns the extra port bindings of the node called short ("manager", "worker2").
func portsOf(pubs []Publish, short string) network.PortMap {
	m := network.PortMap{}
	for _, pub := range pubs {
		if pub.node() != short {
			continue
		}
		hp := ""
		if pub.HostPort != 0 {
			hp = strconv.Itoa(int(pub.HostPort))
		}
		m[pub.port()] = append(m[pub.port()], network.PortBinding{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: hp})
	}
	return m
}

// PublishedAddr returns the 127.0.0.1:PORT address of the host where the node's port
// nodePort (tcp) is published, or "" when it is not.
func (n *Node) PublishedAddr(nodePort uint16) string {
	return n.Published[fmt.Sprintf("%d/tcp", nodePort)]
}

// publishedPorts reads which host addresses the node container's ports are bound to, but for
// the engine port.
func publishedPorts(ctx context.Context, host Engine, name string) (map[string]string, error) {
	res, err := host.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", name, err)
	}
	out := map[string]string{}
	if res.Container.NetworkSettings == nil {
		return out, nil
	}
	for p, bs := range res.Container.NetworkSettings.Ports {
		if p == port2375 || len(bs) == 0 {
			continue
		}
		out[p.String()] = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), mustPort(bs[0].HostPort)).String()
	}
	return out, nil
}
