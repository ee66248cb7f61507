package swarm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/network"
	swarmapi "github.com/moby/moby/api/types/swarm"
)

// Network attaches the service to the network called name (or its ID) with extra DNS aliases.
// Attachments compile sorted by target, as the Docker CLI sorts them.
func (s *Service) Network(name string, aliases ...string) *Service {
	return s.NetworkRef(swarmapi.NetworkAttachmentConfig{Target: name, Aliases: slices.Clone(aliases)})
}

// NetworkRef adds a network attachment as the Engine API describes it (aliases, driver
// options). Attaching twice to the same target is an error.
func (s *Service) NetworkRef(n swarmapi.NetworkAttachmentConfig) *Service {
	nets := s.spec.TaskTemplate.Networks
	if n.Target == "" {
		s.addf(fmt.Sprintf("networks[%d]", len(nets)), "network name is empty")
	}
	if slices.ContainsFunc(nets, func(x swarmapi.NetworkAttachmentConfig) bool { return x.Target == n.Target }) {
		s.addf("networks/"+n.Target, "the service is attached to network %q twice", n.Target)
	}
	n.DriverOpts = copyStringMap(n.DriverOpts)
	s.spec.TaskTemplate.Networks = append(nets, n)
	return s
}

// Networks returns the network names the service is attached to, in the order given.
func (s *Service) Networks() []string {
	var out []string
	for _, n := range s.spec.TaskTemplate.Networks {
		out = append(out, n.Target)
	}
	return out
}

func (s *Service) endpoint() *swarmapi.EndpointSpec {
	if s.spec.EndpointSpec == nil {
		s.spec.EndpointSpec = &swarmapi.EndpointSpec{}
	}
	return s.spec.EndpointSpec
}

// EndpointMode sets how other tasks find the service: "vip" (a virtual IP, the default) or
// "dnsrr" (DNS round robin, no virtual IP).
func (s *Service) EndpointMode(mode string) *Service {
	m := swarmapi.ResolutionMode(strings.ToLower(mode))
	if m != swarmapi.ResolutionModeVIP && m != swarmapi.ResolutionModeDNSRR {
		s.addf("deploy/endpoint_mode", "unknown endpoint mode %q (want vip or dnsrr)", mode)
	}
	s.endpoint().Mode = m
	return s
}

// Port publishes ports in the short syntax of `docker service create -p` and Compose:
// "80" (target only), "8080:80", "8080:80/udp", "8000-8001:80-81", "127.0.0.1:8080:80" (the
// host IP is ignored by swarm, as by the Docker CLI). Ports publish in ingress mode; use
// PublishPort for host mode.
func (s *Service) Port(spec string) *Service {
	ports, err := ParsePorts(spec)
	if err != nil {
		s.addf(fmt.Sprintf("ports[%d]", s.ports), "%v", err)
	}
	e := s.endpoint()
	for _, p := range ports {
		for _, other := range e.Ports {
			if p.PublishedPort != 0 && other.PublishedPort == p.PublishedPort && other.Protocol == p.Protocol {
				s.addf(fmt.Sprintf("ports[%d]", s.ports), "port %d/%s is already published", p.PublishedPort, p.Protocol)
			}
		}
		e.Ports = append(e.Ports, p)
	}
	s.ports++
	return s
}

// PublishPort publishes one port as the Engine API describes it (Compose's long syntax).
// Empty protocol means tcp and empty mode ingress.
func (s *Service) PublishPort(p swarmapi.PortConfig) *Service {
	path := fmt.Sprintf("ports[%d]", s.ports)
	s.ports++
	if p.Protocol == "" {
		p.Protocol = network.TCP
	}
	if p.PublishMode == "" {
		p.PublishMode = swarmapi.PortConfigPublishModeIngress
	}
	if p.TargetPort < 1 || p.TargetPort > 65535 {
		s.addf(path+"/target", "port %d is out of range (1-65535)", p.TargetPort)
	}
	if p.PublishedPort > 65535 {
		s.addf(path+"/published", "port %d is out of range (0-65535, 0 lets swarm choose)", p.PublishedPort)
	}
	switch p.Protocol {
	case network.TCP, network.UDP, network.SCTP:
	default:
		s.addf(path+"/protocol", "unknown protocol %q (want tcp, udp or sctp)", p.Protocol)
	}
	switch p.PublishMode {
	case swarmapi.PortConfigPublishModeIngress, swarmapi.PortConfigPublishModeHost:
	default:
		s.addf(path+"/mode", "unknown publish mode %q (want ingress or host)", p.PublishMode)
	}
	e := s.endpoint()
	for _, other := range e.Ports {
		if p.PublishedPort != 0 && other.PublishedPort == p.PublishedPort && other.Protocol == p.Protocol {
			s.addf(path+"/published", "port %d/%s is already published", p.PublishedPort, p.Protocol)
		}
	}
	e.Ports = append(e.Ports, p)
	return s
}

// ParsePorts parses the short port syntax ([[IP:]PUBLISHED[-END]:]TARGET[-END][/PROTOCOL])
// into ingress port configs, one per port of a range.
func ParsePorts(spec string) ([]swarmapi.PortConfig, error) {
	rest, proto, hasProto := strings.Cut(spec, "/")
	if !hasProto {
		proto = "tcp"
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("%q: unknown protocol %q (want tcp, udp or sctp)", spec, proto)
	}
	var published, target string
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		published, target = rest[:i], rest[i+1:]
		if j := strings.LastIndex(published, ":"); j >= 0 { // IP:PUBLISHED
			published = published[j+1:]
		}
	} else {
		target = rest
	}
	tLo, tHi, err := parsePortRange(target, 1)
	if err != nil {
		return nil, fmt.Errorf("%q: target %w (want [[IP:]PUBLISHED:]TARGET[/PROTOCOL], ports 1-65535)", spec, err)
	}
	pLo, pHi := uint32(0), uint32(0)
	if published != "" {
		if pLo, pHi, err = parsePortRange(published, 0); err != nil {
			return nil, fmt.Errorf("%q: published %w (want [[IP:]PUBLISHED:]TARGET[/PROTOCOL], ports 0-65535)", spec, err)
		}
		if pHi-pLo != tHi-tLo && pLo != pHi {
			return nil, fmt.Errorf("%q: published range and target range differ in size", spec)
		}
	}
	var out []swarmapi.PortConfig
	for t := tLo; t <= tHi; t++ {
		p := swarmapi.PortConfig{Protocol: network.IPProtocol(proto), TargetPort: t, PublishMode: swarmapi.PortConfigPublishModeIngress}
		if published != "" {
			p.PublishedPort = pLo
			if pHi != pLo {
				p.PublishedPort = pLo + (t - tLo)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePortRange(s string, min uint64) (uint32, uint32, error) {
	loS, hiS, isRange := strings.Cut(s, "-")
	lo, err := strconv.ParseUint(loS, 10, 16)
	if err != nil || lo < min {
		return 0, 0, fmt.Errorf("%q is not a port", s)
	}
	hi := lo
	if isRange {
		if hi, err = strconv.ParseUint(hiS, 10, 16); err != nil || hi < lo {
			return 0, 0, fmt.Errorf("%q is not a port range (LOW-HIGH)", s)
		}
	}
	return uint32(lo), uint32(hi), nil
}
