package ingress

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth"
)

// The routing labels of a backend service (service labels, not container labels). See the
// package documentation for the whole set.
const (
	LabelPrefix         = "berth.ingress."
	LabelEnable         = LabelPrefix + "enable"
	LabelHost           = LabelPrefix + "host"
	LabelPath           = LabelPrefix + "path"
	LabelPort           = LabelPrefix + "port"
	LabelBalance        = LabelPrefix + "balance"
	LabelHealthPath     = LabelPrefix + "health.path"
	LabelHealthInterval = LabelPrefix + "health.interval"
	// LabelRouters prefixes the routers of a service: berth.ingress.http.routers.NAME.rule and
	// berth.ingress.http.routers.NAME.port.
	LabelRouters = LabelPrefix + "http.routers."

	// EnvServicePorts and EnvVirtualHost are dockercloud/haproxy's environment convention on
	// the backend service's containers.
	EnvServicePorts = "SERVICE_PORTS"
	EnvVirtualHost  = "VIRTUAL_HOST"
)

// Balance is how a route spreads requests over its tasks.
type Balance string

const (
	RoundRobin Balance = "roundrobin"
	LeastConn  Balance = "leastconn"
)

// Health is how a route's tasks are checked: an HTTP GET of Path that must answer 2xx or 3xx,
// or a TCP connect when Path is empty.
type Health struct {
	Path     string
	Interval time.Duration
}

// DefaultHealthInterval is the health check interval when a service sets none.
const DefaultHealthInterval = 2 * time.Second

// Route sends the requests that match Hosts and PathPrefix to port Port of the tasks of
// Service.
type Route struct {
	// Name is SERVICE (the berth.ingress.* form or the environment convention) or
	// SERVICE/ROUTER (a berth.ingress.http.routers.ROUTER.rule).
	Name    string
	Service string
	// Hosts are the host names matched against the request's Host header without its port,
	// case-insensitively; "*.example.com" matches any sub-domain; empty matches every host.
	Hosts []string
	// PathPrefix matches the request path at a segment boundary: /api matches /api and /api/x,
	// not /apix. "/" matches every path.
	PathPrefix string
	Port       uint16
	Balance    Balance
	Health     Health
}

// ParseService reads the routes of one service from its service labels and its containers'
// environment (KEY=VALUE strings). A service with neither berth.ingress.* labels nor
// SERVICE_PORTS has no routes and no error. Every bad label is a *berth.ValidationError at
// service/NAME/labels/KEY (or service/NAME/env/KEY) naming the value and what is accepted; the
// routes that are valid are returned beside the errors, so one bad router does not take the
// service's other routes down.
func ParseService(name string, labels map[string]string, env []string) ([]Route, error) {
	var p berth.Problems
	envs := envMap(env)
	base := "service/" + name + "/labels/"
	enabled, hasEnable := labels[LabelEnable]
	if hasEnable {
		switch enabled {
		case "true":
		case "false":
			return nil, nil
		default:
			p.Add(base+LabelEnable, "%q is not a boolean: use true or false", enabled)
			return nil, p.Err()
		}
	}
	if !hasEnable && !hasIngressLabel(labels) && envs[EnvServicePorts] == "" {
		return nil, nil
	}
	common := Route{Service: name, Balance: RoundRobin, PathPrefix: "/", Health: Health{Interval: DefaultHealthInterval}}
	portOK := parseCommon(&p, base, labels, envs, &common)
	var routes []Route
	routers := routerNames(labels)
	for _, r := range routers {
		rt, ok := parseRouter(&p, base, labels, common, portOK, r)
		if ok {
			routes = append(routes, rt)
		}
	}
	if len(routers) == 0 && portOK {
		common.Name = name
		if common.Port == 0 {
			p.Add(base+LabelPort, "no backend port: set %s (1 to 65535) or the environment %s", LabelPort, EnvServicePorts)
		} else {
			routes = append(routes, common)
		}
	}
	return routes, p.Err()
}

func hasIngressLabel(labels map[string]string) bool {
	for k := range labels {
		if strings.HasPrefix(k, LabelPrefix) {
			return true
		}
	}
	return false
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// parseCommon fills the fields every route of the service shares; it reports whether the
// port is usable (unset or valid).
func parseCommon(p *berth.Problems, base string, labels, envs map[string]string, r *Route) bool {
	known := []string{LabelEnable, LabelHost, LabelPath, LabelPort, LabelBalance, LabelHealthPath, LabelHealthInterval}
	for k := range labels {
		if strings.HasPrefix(k, LabelPrefix) && !slices.Contains(known, k) && !strings.HasPrefix(k, LabelRouters) {
			p.Add(base+k, "unknown label: use %s", strings.Join(known, ", ")+", "+LabelRouters+"NAME.rule or .port")
		}
	}
	portOK := parsePorts(p, base, labels, envs, r)
	parseMatch(p, base, labels, envs, r)
	parseBehaviour(p, base, labels, r)
	return portOK
}

// parsePorts sets the backend port from SERVICE_PORTS, then berth.ingress.port; it reports
// whether the port is usable (unset or valid).
func parsePorts(p *berth.Problems, base string, labels, envs map[string]string, r *Route) bool {
	portOK := true
	if sp := envs[EnvServicePorts]; sp != "" {
		port, err := parsePort(strings.TrimSpace(strings.Split(sp, ",")[0]))
		if err != nil {
			p.Add("service/"+r.Service+"/env/"+EnvServicePorts, "%q: %v", sp, err)
			portOK = false
		}
		r.Port = port
	}
	if v, ok := labels[LabelPort]; ok {
		port, err := parsePort(v)
		if err != nil {
			p.Add(base+LabelPort, "%v", err)
			portOK = false
		}
		r.Port = port
	}
	return portOK
}

// parseMatch sets the hosts and path from VIRTUAL_HOST, then berth.ingress.host and .path.
func parseMatch(p *berth.Problems, base string, labels, envs map[string]string, r *Route) {
	if vh := envs[EnvVirtualHost]; vh != "" {
		hosts, prefix, err := ParseVirtualHost(vh)
		if err != nil {
			p.Add("service/"+r.Service+"/env/"+EnvVirtualHost, "%v", err)
		} else {
			r.Hosts, r.PathPrefix = hosts, prefix
		}
	}
	if v, ok := labels[LabelHost]; ok {
		hosts, err := parseHosts(v)
		if err != nil {
			p.Add(base+LabelHost, "%v", err)
		} else {
			r.Hosts = hosts
		}
	}
	if v, ok := labels[LabelPath]; ok {
		if err := checkPathPrefix(v); err != nil {
			p.Add(base+LabelPath, "%v", err)
		} else {
			r.PathPrefix = cleanPrefix(v)
		}
	}
}

// parseBehaviour sets the balance and the health check.
func parseBehaviour(p *berth.Problems, base string, labels map[string]string, r *Route) {
	if v, ok := labels[LabelBalance]; ok {
		switch Balance(v) {
		case RoundRobin, LeastConn:
			r.Balance = Balance(v)
		default:
			p.Add(base+LabelBalance, "%q is not a balance: use roundrobin or leastconn", v)
		}
	}
	if v, ok := labels[LabelHealthPath]; ok {
		if err := checkPathPrefix(v); err != nil {
			p.Add(base+LabelHealthPath, "%v", err)
		} else {
			r.Health.Path = v
		}
	}
	if v, ok := labels[LabelHealthInterval]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond || d > time.Hour {
			p.Add(base+LabelHealthInterval, "%q is not a duration from 100ms to 1h (Go syntax: 500ms, 2s)", v)
		} else {
			r.Health.Interval = d
		}
	}
}

// routerNames lists the NAMEs of berth.ingress.http.routers.NAME.* labels, sorted.
func routerNames(labels map[string]string) []string {
	var names []string
	for k := range labels {
		rest, ok := strings.CutPrefix(k, LabelRouters)
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, ".")
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func parseRouter(p *berth.Problems, base string, labels map[string]string, common Route, portOK bool, name string) (Route, bool) {
	prefix := LabelRouters + name + "."
	ok := true
	if !validRouterName(name) {
		p.Add(base+prefix+"rule", "router name %q: use letters, digits, '-' and '_'", name)
		ok = false
	}
	for k := range labels {
		if rest, found := strings.CutPrefix(k, prefix); found && rest != "rule" && rest != "port" {
			p.Add(base+k, "unknown router label: use %srule or %sport", prefix, prefix)
			ok = false
		}
	}
	r := common
	r.Name = common.Service + "/" + name
	if v, found := labels[prefix+"port"]; found {
		port, err := parsePort(v)
		if err != nil {
			p.Add(base+prefix+"port", "%v", err)
			ok = false
		}
		r.Port = port
	} else if !portOK {
		ok = false
	}
	if ok && r.Port == 0 {
		p.Add(base+prefix+"port", "no backend port: set %sport, %s or the environment %s", prefix, LabelPort, EnvServicePorts)
		ok = false
	}
	rule, found := labels[prefix+"rule"]
	if !found {
		p.Add(base+prefix+"rule", "missing: every router needs a rule such as Host(`example.com`) && PathPrefix(`/api`)")
		return r, false
	}
	parsed, err := ParseRule(rule)
	if err != nil {
		p.Add(base+prefix+"rule", "%v", err)
		return r, false
	}
	r.Hosts, r.PathPrefix = parsed.Hosts, parsed.PathPrefix
	return r, ok
}

func validRouterName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port: use 1 to 65535", s)
	}
	return uint16(n), nil
}

// parseHosts parses a comma-separated list of host names.
func parseHosts(s string) ([]string, error) {
	var hosts []string
	for h := range strings.SplitSeq(s, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if err := checkHost(h); err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// checkHost accepts a DNS name, an IP address or *.NAME.
func checkHost(h string) error {
	name := strings.TrimPrefix(h, "*.")
	if net.ParseIP(name) != nil && name == h {
		return nil
	}
	bad := name == "" || len(name) > 253
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			bad = true
			break
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				bad = true
			}
		}
	}
	if bad {
		return fmt.Errorf("%q is not a host name: use a DNS name (example.com), *.example.com or an IP address", h)
	}
	return nil
}

func checkPathPrefix(s string) error {
	if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " ?#\t\r\n") {
		return fmt.Errorf("%q is not a path: use one that starts with / and has no space, ? or #", s)
	}
	return nil
}

// cleanPrefix drops a trailing slash (but of "/"), so /api/ and /api match the same paths.
func cleanPrefix(s string) string {
	if len(s) > 1 {
		s = strings.TrimRight(s, "/")
		if s == "" {
			return "/"
		}
	}
	return s
}

// Rule is a parsed router rule.
type Rule struct {
	Hosts      []string
	PathPrefix string
}

// ParseRule parses a router rule in Traefik's syntax, restricted to what this proxy routes on:
// terms joined by &&, each Host(`a`[, `b`...]) or PathPrefix(`/p`), at most one of each, with
// arguments in backquotes or double quotes. Host(`example.com`) && PathPrefix(`/api`).
func ParseRule(s string) (Rule, error) {
	r := Rule{PathPrefix: "/"}
	rest := strings.TrimSpace(s)
	if rest == "" {
		return r, fmt.Errorf("empty rule: use Host(`example.com`), PathPrefix(`/api`) or both joined by &&")
	}
	seen := map[string]bool{}
	for {
		name, args, after, err := ruleTerm(rest)
		if err != nil {
			return r, fmt.Errorf("rule %q: %w", s, err)
		}
		if seen[name] {
			return r, fmt.Errorf("rule %q: %s given twice: use one %s(...) with several arguments", s, name, name)
		}
		seen[name] = true
		switch name {
		case "Host":
			for _, a := range args {
				h := strings.ToLower(a)
				if err := checkHost(h); err != nil {
					return r, fmt.Errorf("rule %q: %w", s, err)
				}
				r.Hosts = append(r.Hosts, h)
			}
		case "PathPrefix":
			if len(args) != 1 {
				return r, fmt.Errorf("rule %q: PathPrefix takes one path, got %d", s, len(args))
			}
			if err := checkPathPrefix(args[0]); err != nil {
				return r, fmt.Errorf("rule %q: %w", s, err)
			}
			r.PathPrefix = cleanPrefix(args[0])
		}
		rest = strings.TrimSpace(after)
		if rest == "" {
			return r, nil
		}
		var ok bool
		if rest, ok = strings.CutPrefix(rest, "&&"); !ok {
			return r, fmt.Errorf("rule %q: %q after a term: join terms with && (|| and ! are not supported)", s, short(rest))
		}
		rest = strings.TrimSpace(rest)
	}
}

// ruleTerm reads NAME(ARG, ...) at the start of s.
func ruleTerm(s string) (name string, args []string, rest string, err error) {
	open := strings.IndexByte(s, '(')
	if open < 0 {
		return "", nil, "", fmt.Errorf("%q is not a term: use Host(`example.com`) or PathPrefix(`/api`)", short(s))
	}
	name = strings.TrimSpace(s[:open])
	if name != "Host" && name != "PathPrefix" {
		return "", nil, "", fmt.Errorf("%q is not a supported matcher: use Host or PathPrefix", short(name))
	}
	rest = s[open+1:]
	for {
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return "", nil, "", fmt.Errorf("%s( is not closed", name)
		}
		q := rest[0]
		if q != '`' && q != '"' {
			return "", nil, "", fmt.Errorf("%s: argument %q is not quoted: use `value` or \"value\"", name, short(rest))
		}
		end := strings.IndexByte(rest[1:], q)
		if end < 0 {
			return "", nil, "", fmt.Errorf("%s: unterminated quote", name)
		}
		args = append(args, rest[1:1+end])
		rest = strings.TrimSpace(rest[2+end:])
		switch {
		case rest == "":
			return "", nil, "", fmt.Errorf("%s( is not closed", name)
		case strings.HasPrefix(rest, ","):
			rest = rest[1:]
		case strings.HasPrefix(rest, ")"):
			return name, args, rest[1:], nil
		default:
			return "", nil, "", fmt.Errorf("%s: expected , or ) after an argument, got %q", name, short(rest))
		}
	}
}

func short(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// ParseVirtualHost parses dockercloud/haproxy's VIRTUAL_HOST: a comma-separated list of
// [http://]HOST[:PORT][/PATH], where HOST may be *.example.com or * (any host) and PATH a
// prefix (a trailing * is dropped). A port is accepted and ignored: the proxy routes on the
// host name. Every entry must have the same path, since a route has one prefix.
func ParseVirtualHost(s string) (hosts []string, prefix string, err error) {
	anyHost := false
	for entry := range strings.SplitSeq(s, ",") {
		e := strings.TrimSpace(entry)
		if scheme, after, ok := strings.Cut(e, "://"); ok {
			if strings.ToLower(scheme) != "http" {
				return nil, "", fmt.Errorf("%q: scheme %s is not served: use http:// or none", e, scheme)
			}
			e = after
		}
		hostPort, path, hasPath := strings.Cut(e, "/")
		p := "/"
		if hasPath {
			p = cleanPrefix("/" + strings.TrimRight(path, "*"))
			if err := checkPathPrefix(p); err != nil {
				return nil, "", fmt.Errorf("%q: %w", entry, err)
			}
		}
		if prefix != "" && p != prefix {
			return nil, "", fmt.Errorf("%q: paths %s and %s differ: use one path for every host", s, prefix, p)
		}
		prefix = p
		host := hostPort
		if h, port, err := net.SplitHostPort(hostPort); err == nil {
			if _, perr := parsePort(port); perr != nil {
				return nil, "", fmt.Errorf("%q: %w", entry, perr)
			}
			host = h
		}
		host = strings.ToLower(host)
		if host == "*" {
			anyHost = true
			continue
		}
		if err := checkHost(host); err != nil {
			return nil, "", fmt.Errorf("%q: %w", entry, err)
		}
		hosts = append(hosts, host)
	}
	if anyHost { // * matches every host, the names too
		hosts = nil
	}
	return hosts, prefix, nil
}
