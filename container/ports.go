package container

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/network"
)

// Publish publishes container ports on the host as `-p` does:
// "[IP:][HOST-PORT[-END]:]CONTAINER-PORT[-END][/PROTOCOL]", e.g. "8080:80",
// "127.0.0.1:5000:5000", "[::1]:53:53/udp", "7000-7002:7000-7002" or "80" (a port the
// engine picks). The protocol is tcp, udp or sctp (default tcp).
func (c *Container) Publish(spec string) *Container {
	p := fmt.Sprintf("publish[%d]", c.ports)
	c.ports++
	bindings, err := ParsePublish(spec)
	if err != nil {
		c.problems.Add(p, "%v", err)
		return c
	}
	if c.cfg.ExposedPorts == nil {
		c.cfg.ExposedPorts = network.PortSet{}
		c.host.PortBindings = network.PortMap{}
	}
	for port, b := range bindings {
		c.cfg.ExposedPorts[port] = struct{}{}
		c.host.PortBindings[port] = append(c.host.PortBindings[port], b...)
	}
	return c
}

// ParsePublish parses one `-p` value into the bindings it makes (see Container.Publish).
func ParsePublish(spec string) (network.PortMap, error) {
	rest, proto, hasProto := strings.Cut(spec, "/")
	if !hasProto {
		proto = "tcp"
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("%q: protocol %q is not tcp, udp or sctp", spec, proto)
	}
	ip, hostPart, ctrPart, err := splitPublish(rest)
	if err != nil {
		return nil, fmt.Errorf("%q: %v; want [IP:][HOST-PORT:]CONTAINER-PORT[/PROTOCOL]", spec, err)
	}
	cStart, cEnd, err := portRange(ctrPart)
	if err != nil {
		return nil, fmt.Errorf("%q: container port %v", spec, err)
	}
	var hStart, hEnd uint16
	if hostPart != "" {
		if hStart, hEnd, err = portRange(hostPart); err != nil {
			return nil, fmt.Errorf("%q: host port %v", spec, err)
		}
		if hEnd-hStart != cEnd-cStart && hStart != hEnd {
			return nil, fmt.Errorf("%q: the host range %s and the container range %s differ in length", spec, hostPart, ctrPart)
		}
	}
	out := network.PortMap{}
	for n := uint32(cStart); n <= uint32(cEnd); n++ {
		port, _ := network.PortFrom(uint16(n), network.IPProtocol(proto))
		b := network.PortBinding{HostIP: ip}
		switch {
		case hostPart == "":
		case hStart == hEnd:
			b.HostPort = strconv.Itoa(int(hStart))
		default:
			b.HostPort = strconv.Itoa(int(uint32(hStart) + n - uint32(cStart)))
		}
		out[port] = append(out[port], b)
	}
	return out, nil
}

// splitPublish splits "[IP:][HOST:]CONTAINER", with an IPv6 address in brackets.
func splitPublish(s string) (ip netip.Addr, host, ctr string, err error) {
	var ipText string
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 {
			return ip, "", "", fmt.Errorf("unclosed IPv6 address")
		}
		ipText, s = s[1:end], s[end+2:]
		parts := strings.Split(s, ":")
		if len(parts) != 2 {
			return ip, "", "", fmt.Errorf("after the address want HOST-PORT:CONTAINER-PORT")
		}
		host, ctr = parts[0], parts[1]
	} else {
		parts := strings.Split(s, ":")
		switch len(parts) {
		case 1:
			ctr = parts[0]
		case 2:
			host, ctr = parts[0], parts[1]
		case 3:
			ipText, host, ctr = parts[0], parts[1], parts[2]
		default:
			return ip, "", "", fmt.Errorf("too many ':' (put an IPv6 address in brackets)")
		}
	}
	if ipText != "" {
		if ip, err = netip.ParseAddr(ipText); err != nil {
			return ip, "", "", fmt.Errorf("%q is not an IP address", ipText)
		}
	}
	return ip, host, ctr, nil
}

// portRange parses "PORT" or "START-END" with the Engine API's own parser; port 0 is refused.
func portRange(s string) (uint16, uint16, error) {
	r, err := network.ParsePortRange(s)
	if err != nil || strings.Contains(s, "/") || r.Start() == 0 {
		return 0, 0, fmt.Errorf("%q is not a port (1-65535) or range (START-END, START ≤ END)", s)
	}
	return r.Start(), r.End(), nil
}
