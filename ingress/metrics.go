package ingress

import (
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the proxy's Prometheus series, on a registry of its own (no global state: two
// servers in one process do not collide).
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec   // route, code
	latency      *prometheus.HistogramVec // route
	errors       *prometheus.CounterVec   // route, kind
	taskRequests *prometheus.CounterVec   // route, task, code
	taskLatency  *prometheus.HistogramVec // route, task
	taskErrors   *prometheus.CounterVec   // route, task, kind
	backends     *prometheus.GaugeVec     // route, state
	problems     prometheus.Gauge
}

func newMetrics() *metrics {
	buckets := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_ingress_requests_total",
			Help: "Requests answered, by route (empty: no route matched) and status code."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_ingress_request_duration_seconds",
			Help: "Time from a request's arrival to the end of its answer, by route.", Buckets: buckets}, []string{"route"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_ingress_errors_total",
			Help: "Requests that got no answer from a task, by route and kind (no_route, no_task, upstream)."}, []string{"route", "kind"}),
		taskRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_ingress_task_requests_total",
			Help: "Answers from a task, by route, task and status code."}, []string{"route", "task", "code"}),
		taskLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_ingress_task_duration_seconds",
			Help: "Time a task took to answer, by route and task.", Buckets: buckets}, []string{"route", "task"}),
		taskErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_ingress_task_errors_total",
			Help: "Failed attempts on a task (retried on another when they may be), by route, task and kind (refused, reset, timeout, dial, other)."}, []string{"route", "task", "kind"}),
		backends: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "berth_ingress_tasks",
			Help: "Tasks in a route's pool, by state (healthy, unhealthy)."}, []string{"route", "state"}),
		problems: prometheus.NewGauge(prometheus.GaugeOpts{Name: "berth_ingress_label_problems",
			Help: "Bad routing labels and services off the shared networks, ignored."}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.errors, m.taskRequests, m.taskLatency, m.taskErrors, m.backends, m.problems)
	return m
}

func (m *metrics) request(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) taskRequest(route, task string, code int, d time.Duration) {
	m.taskRequests.WithLabelValues(route, task, strconv.Itoa(code)).Inc()
	m.taskLatency.WithLabelValues(route, task).Observe(d.Seconds())
}

func (m *metrics) taskError(route, task, kind string) {
	m.taskErrors.WithLabelValues(route, task, kind).Inc()
}

// forgetTask drops the series of a task that left, so rolling updates do not grow /metrics
// without end.
func (m *metrics) forgetTask(task string) {
	l := prometheus.Labels{"task": task}
	m.taskRequests.DeletePartialMatch(l)
	m.taskLatency.DeletePartialMatch(l)
	m.taskErrors.DeletePartialMatch(l)
}

func (m *metrics) setBackends(t *table) {
	m.backends.Reset()
	for _, r := range t.routes {
		healthy := 0
		for _, b := range r.backends {
			if b.healthy.Load() {
				healthy++
			}
		}
		m.backends.WithLabelValues(r.Name, "healthy").Set(float64(healthy))
		m.backends.WithLabelValues(r.Name, "unhealthy").Set(float64(len(r.backends) - healthy))
	}
}

// Admin returns the admin handler: the stats page at /, /metrics in the Prometheus text
// format and /healthz.
func (s *Server) Admin() http.Handler {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		s.metrics.setBackends(s.table.Load()) // health changes between updates
		metrics.ServeHTTP(w, r)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/{$}", s.statsPage)
	return mux
}

// Stats is what the stats page shows.
type Stats struct {
	Routes   []RouteStats
	Problems []string
}

// RouteStats are the counters of one route and its tasks.
type RouteStats struct {
	Route
	Requests, Errors int64
	Mean             time.Duration
	Tasks            []TaskStats
}

// TaskStats are the counters of one task of a route.
type TaskStats struct {
	Name, Addr                 string
	Healthy                    bool
	InFlight, Requests, Errors int64
	Mean                       time.Duration
	LastError                  string
}

// Stats returns the current routes, tasks and counters and the problems.
func (s *Server) Stats() Stats {
	st := Stats{Problems: s.Problems()}
	for _, r := range s.table.Load().routes {
		rs := RouteStats{Route: r.Route, Requests: r.stats.requests.Load(), Errors: r.stats.errors.Load(),
			Mean: mean(r.stats.nanos.Load(), r.stats.requests.Load())}
		for _, b := range r.backends {
			ts := TaskStats{Name: b.name, Addr: b.addr, Healthy: b.healthy.Load(), InFlight: b.inflight.Load(),
				Requests: b.requests.Load(), Errors: b.errors.Load(), Mean: mean(b.nanos.Load(), b.requests.Load())}
			if e := b.lastErr.Load(); e != nil {
				ts.LastError = *e
			}
			rs.Tasks = append(rs.Tasks, ts)
		}
		slices.SortFunc(rs.Tasks, func(a, b TaskStats) int { return cmp.Compare(a.Name, b.Name) })
		st.Routes = append(st.Routes, rs)
	}
	return st
}

var statsTemplate = template.Must(template.New("stats").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>berth ingress</title>
<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}.bad{color:#b00}</style>
</head><body><h1>berth ingress</h1>
{{if .Problems}}<h2>Problems (ignored)</h2><ul>{{range .Problems}}<li class="bad">{{.}}</li>{{end}}</ul>{{end}}
<h2>Routes</h2>
{{range .Routes}}<h3>{{.Name}}: {{if .Hosts}}{{range .Hosts}}{{.}} {{end}}{{else}}any host{{end}} {{.PathPrefix}} → {{.Service}}:{{.Port}} ({{.Balance}})</h3>
<p>requests {{.Requests}}, errors {{.Errors}}, mean {{.Mean}}</p>
<table><tr><th>task</th><th>address</th><th>healthy</th><th>in flight</th><th>requests</th><th>errors</th><th>mean</th><th>last error</th></tr>
{{range .Tasks}}<tr><td>{{.Name}}</td><td>{{.Addr}}</td><td>{{.Healthy}}</td><td>{{.InFlight}}</td><td>{{.Requests}}</td><td>{{.Errors}}</td><td>{{.Mean}}</td><td class="bad">{{.LastError}}</td></tr>
{{end}}</table>
{{else}}<p>No routes.</p>{{end}}
</body></html>
`))

func (s *Server) statsPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	statsTemplate.Execute(w, s.Stats())
}
