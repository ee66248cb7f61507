package ingress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"sync"
	"time"

	"github.com/berthdev/berth"
)

// Options configures the proxy. The zero value is not valid: Networks is required by Run
// (Serve and NewServer do without it).
type Options struct {
	// Addr is the proxy's listen address; empty means ":80".
	Addr string
	// AdminAddr serves the stats page (/), /metrics (Prometheus text format) and /healthz;
	// empty means ":8081", "-" none.
	AdminAddr string
	// Networks are the networks, by name or ID, whose services are routed: a service must be
	// attached to one, and its tasks are reached at their address on it. The proxy's own
	// service must be attached to them too.
	Networks []string
	// TaskInterval is how often the tasks of the routed services are read again, besides the
	// reads on every service event (the engine sends no task events); 0 means 500ms.
	TaskInterval time.Duration
	// RetryTimeout bounds how long a request waits for a healthy task and retries on others
	// when one refuses the connection; 0 means 15s, longer than the moment without any task
	// that a stop-first update of a single replica leaves (about 7s on a loaded lab).
	RetryTimeout time.Duration
	// DialTimeout bounds a connection to a task; a task that is gone does not always refuse,
	// its address may just not answer. 0 means 1s.
	DialTimeout time.Duration
	// Logger receives the proxy's log: discovery, bad labels, health changes; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Validate reports every invalid field of o as *berth.ValidationError values.
func (o Options) Validate() error {
	var p berth.Problems
	for _, f := range []struct {
		path string
		addr string
	}{{"ingress/addr", o.Addr}, {"ingress/admin_addr", o.AdminAddr}} {
		if f.addr == "" || f.addr == "-" && f.path == "ingress/admin_addr" {
			continue
		}
		if _, _, err := net.SplitHostPort(f.addr); err != nil {
			p.Add(f.path, "%q is not a listen address: use [HOST]:PORT such as :80", f.addr)
		}
	}
	for _, d := range []struct {
		path string
		d    time.Duration
	}{{"ingress/task_interval", o.TaskInterval}, {"ingress/retry_timeout", o.RetryTimeout}, {"ingress/dial_timeout", o.DialTimeout}} {
		if d.d < 0 {
			p.Add(d.path, "%s is negative: use 0 for the default", d.d)
		}
	}
	for i, n := range o.Networks {
		if n == "" {
			p.Add(fmt.Sprintf("ingress/networks/%d", i), "empty network name")
		}
	}
	return p.Err()
}

func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = ":80"
	}
	if o.AdminAddr == "" {
		o.AdminAddr = ":8081"
	}
	if o.TaskInterval == 0 {
		o.TaskInterval = 500 * time.Millisecond
	}
	if o.RetryTimeout == 0 {
		o.RetryTimeout = 15 * time.Second
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Server is the proxy: an http.Handler that routes by the current Snapshot, and the admin
// handler with its stats. Update replaces the snapshot at any time without touching a
// connection.
type Server struct {
	opts      Options
	log       *slog.Logger
	transport *http.Transport
	proxy     *httputil.ReverseProxy
	metrics   *metrics
	table     atomicTable

	mu       sync.Mutex // serialises Update and guards the fields below
	backends map[string]*backend
	stats    map[string]*routeStats
	problems []string
	closed   bool
}

// NewServer returns a proxy with an empty table: every request answers 404 until Update.
func NewServer(opts Options) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	s := &Server{opts: o, log: o.Logger, backends: map[string]*backend{}, stats: map[string]*routeStats{}, metrics: newMetrics()}
	s.transport = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	s.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetXForwarded()
			pr.Out.URL.Scheme = "http"
			pr.Out.Host = pr.In.Host // the backend sees the Host the client asked for
		},
		Transport:    (*retryTransport)(s),
		ErrorHandler: s.proxyError,
	}
	s.table.Store(&table{byName: map[string]*liveRoute{}})
	return s, nil
}

// Update installs a new snapshot: routes and backends that stay keep their state and
// counters, new tasks join once their first health check passes, and tasks that are gone
// (desired state shutdown included) leave the pool at once while their requests in flight
// finish. New problems are logged.
func (s *Server) Update(snap Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.noteProblems(snap.Problems)
	keep := map[string]*backend{}
	t := &table{byName: map[string]*liveRoute{}}
	for _, r := range snap.Routes {
		lr := &liveRoute{Route: r, stats: s.routeStats(r.Name)}
		for _, ep := range snap.Endpoints[r.Service] {
			b := s.backendFor(ep, r, keep)
			lr.backends = append(lr.backends, b)
		}
		t.routes = append(t.routes, lr)
		t.byName[r.Name] = lr
	}
	sortRoutes(t.routes)
	s.table.Store(t)
	for key, b := range s.backends {
		if keep[key] == nil {
			close(b.stop)
			s.metrics.forgetTask(b.name)
			s.log.Info("ingress: task left the pool", "task", b.name, "addr", b.addr)
		}
	}
	s.backends = keep
	s.metrics.setBackends(t)
}

// backendFor returns the backend of ep and r's port, made and health-checked when new.
func (s *Server) backendFor(ep Endpoint, r Route, keep map[string]*backend) *backend {
	nb := newBackend(ep, r.Port, r.Health)
	if b := keep[nb.key]; b != nil {
		return b
	}
	if b := s.backends[nb.key]; b != nil {
		keep[b.key] = b
		return b
	}
	keep[nb.key] = nb
	s.log.Info("ingress: task joins once healthy", "task", nb.name, "addr", nb.addr, "route", r.Name)
	go s.check(nb)
	return nb
}

func (s *Server) routeStats(name string) *routeStats {
	st := s.stats[name]
	if st == nil {
		st = &routeStats{}
		s.stats[name] = st
	}
	return st
}

// noteProblems logs the problems that are new since the last snapshot and keeps the list for
// the stats page.
func (s *Server) noteProblems(errs []error) {
	var now []string
	for _, e := range errs {
		now = append(now, e.Error())
	}
	slices.Sort(now)
	for _, p := range now {
		if !slices.Contains(s.problems, p) {
			s.log.Warn("ingress: ignored", "problem", p)
		}
	}
	s.problems = now
	s.metrics.problems.Set(float64(len(now)))
}

// Problems returns the problems of the current snapshot, sorted.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.problems)
}

// Close stops the health checks and closes idle connections to the tasks.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, b := range s.backends {
		close(b.stop)
	}
	s.backends = nil
	s.transport.CloseIdleConnections()
}

// ServeHTTP routes r by its Host header and path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	begin := time.Now()
	rt := s.table.Load().match(r.Host, r.URL.Path)
	if rt == nil {
		s.metrics.request("", http.StatusNotFound, time.Since(begin))
		s.metrics.errors.WithLabelValues("", "no_route").Inc()
		http.Error(w, "no route for "+r.Host+r.URL.Path, http.StatusNotFound)
		return
	}
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	// Go cancels a request's context when the client half-closes its connection, which some
	// clients do once the request is sent; the answer is still wanted, so the forwarded
	// request ends with the handler, not with the read side of the client's connection.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	ctx = context.WithValue(ctx, routeKey{}, rt.Name)
	s.proxy.ServeHTTP(sw, r.WithContext(ctx))
	d := time.Since(begin)
	rt.stats.requests.Add(1)
	rt.stats.nanos.Add(int64(d))
	if sw.code >= 500 {
		rt.stats.errors.Add(1)
	}
	s.metrics.request(rt.Name, sw.code, d)
}

type routeKey struct{}

// proxyError answers a request that no task served: 503 when no task was healthy in time,
// 502 when the tasks failed.
func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	route, _ := r.Context().Value(routeKey{}).(string)
	code, kind := http.StatusBadGateway, "upstream"
	if errors.Is(err, errNoTask) {
		code, kind = http.StatusServiceUnavailable, "no_task"
	}
	s.metrics.errors.WithLabelValues(route, kind).Inc()
	s.log.Warn("ingress: request failed", "route", route, "method", r.Method, "path", r.URL.Path, "err", err)
	http.Error(w, err.Error(), code)
}

// statusWriter records the status code of an answer.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController (which ReverseProxy uses to flush) reach the writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// backendsOf returns the current backends by key, for the stats page.
func (s *Server) backendsOf() map[string]*backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.backends)
}
