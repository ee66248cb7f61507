package ingress

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Endpoint is one running task of a service, by its address on the shared network.
type Endpoint struct {
	Task string     // task ID
	Name string     // task name: SERVICE.SLOT.ID (replicated) or SERVICE.NODE.ID (global)
	Node string     // node ID
	Addr netip.Addr // the task's address on the shared network
}

// Snapshot is what discovery found: the routes, the running tasks of each routed service and
// the problems (bad labels, services off the network), which are reported but never stop the
// proxy.
type Snapshot struct {
	Routes    []Route
	Endpoints map[string][]Endpoint // by service name
	Problems  []error
}

// backend is one task address and port that one or more routes send requests to. A backend
// taken out of the table keeps serving the requests it already has: they hold a pointer.
type backend struct {
	key     string // TASK:PORT
	name    string // task name, the metrics' task label
	addr    string // IP:PORT
	health  Health
	healthy atomic.Bool
	checked atomic.Bool // a first health check ran
	stop    chan struct{}

	inflight atomic.Int64
	requests atomic.Int64
	errors   atomic.Int64
	nanos    atomic.Int64 // total time of the requests, for the mean on the stats page
	lastErr  atomic.Pointer[string]
}

func newBackend(ep Endpoint, port uint16, h Health) *backend {
	return &backend{
		key:    ep.Task + ":" + strconv.Itoa(int(port)),
		name:   ep.Name,
		addr:   net.JoinHostPort(ep.Addr.String(), strconv.Itoa(int(port))),
		health: h,
		stop:   make(chan struct{}),
	}
}

func (b *backend) setErr(s string) { b.lastErr.Store(&s) }

// routeStats are a route's counters; they outlive table swaps, so a reload keeps them.
type routeStats struct {
	requests atomic.Int64
	errors   atomic.Int64
	nanos    atomic.Int64
	next     atomic.Uint64 // round robin position
}

// liveRoute is a route of the current table with its backends.
type liveRoute struct {
	Route
	stats    *routeStats
	backends []*backend
}

// table is what requests are routed by; it is replaced whole (atomically) on every change, so
// a request sees one consistent table and a reload never touches a connection.
type table struct {
	routes []*liveRoute // most specific first
	byName map[string]*liveRoute
}

// sortRoutes orders routes so that the first match is the most specific: exact hosts before
// wildcards before any host, then longer path prefixes first, then by name.
func sortRoutes(rs []*liveRoute) {
	rank := func(r *liveRoute) int {
		switch {
		case len(r.Hosts) == 0:
			return 2
		case slices.ContainsFunc(r.Hosts, func(h string) bool { return strings.HasPrefix(h, "*.") }):
			return 1
		}
		return 0
	}
	slices.SortStableFunc(rs, func(a, b *liveRoute) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(len(b.PathPrefix), len(a.PathPrefix)), cmp.Compare(a.Name, b.Name))
	})
}

// match returns the first route for host (the Host header) and path, or nil.
func (t *table) match(host, path string) *liveRoute {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, r := range t.routes {
		if r.matches(host, path) {
			return r
		}
	}
	return nil
}

func (r *liveRoute) matches(host, path string) bool {
	if !prefixMatch(r.PathPrefix, path) {
		return false
	}
	if len(r.Hosts) == 0 {
		return true
	}
	for _, h := range r.Hosts {
		if h == host {
			return true
		}
		if sub, ok := strings.CutPrefix(h, "*"); ok && strings.HasSuffix(host, sub) && len(host) > len(sub) {
			return true
		}
	}
	return false
}

func prefixMatch(prefix, path string) bool {
	if prefix == "/" {
		return true
	}
	rest, ok := strings.CutPrefix(path, prefix)
	return ok && (rest == "" || rest[0] == '/')
}

// pick chooses a healthy backend of r that is not in tried, by r's balance; nil when none.
func (r *liveRoute) pick(tried map[*backend]bool) *backend {
	var cands []*backend
	for _, b := range r.backends {
		if b.healthy.Load() && !tried[b] {
			cands = append(cands, b)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	start := int(r.stats.next.Add(1) % uint64(len(cands)))
	if r.Balance != LeastConn {
		return cands[start]
	}
	best := cands[start]
	for i := range cands {
		b := cands[(start+i)%len(cands)]
		if b.inflight.Load() < best.inflight.Load() {
			best = b
		}
	}
	return best
}

// mean returns the mean of total over n, for the stats page.
func mean(total, n int64) time.Duration {
	if n == 0 {
		return 0
	}
	return time.Duration(total / n)
}
