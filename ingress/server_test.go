package ingress_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthdev/berth/ingress"
)

// taskSet is a few HTTP servers on one port of distinct loopback addresses (127.0.0.2, .3,
// ...), as the tasks of a service are on one port of distinct overlay addresses.
type taskSet struct {
	port  uint16
	srvs  []*http.Server
	lns   []net.Listener
	hits  []atomic.Int64
	drop  []atomic.Bool // the task closes the connection without an answer
	delay atomic.Int64  // nanoseconds each answer waits
}

func newTaskSet(t testing.TB, n int) *taskSet {
	t.Helper()
	for try := 0; try < 20; try++ {
		ts := &taskSet{hits: make([]atomic.Int64, n), drop: make([]atomic.Bool, n)}
		if ts.listen(n) {
			for i := range n {
				i := i
				srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					ts.hits[i].Add(1)
					if ts.drop[i].Load() {
						if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
							c.Close()
						}
						return
					}
					time.Sleep(time.Duration(ts.delay.Load()))
					fmt.Fprintf(w, "task %d host %s path %s\n", i, r.Host, r.URL.Path)
				})}
				ts.srvs = append(ts.srvs, srv)
				go srv.Serve(ts.lns[i])
			}
			t.Cleanup(func() {
				for _, s := range ts.srvs {
					s.Close()
				}
			})
			return ts
		}
	}
	t.Fatal("no free port on the loopback addresses")
	return nil
}

func (ts *taskSet) listen(n int) bool {
	first, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		return false
	}
	ts.port = uint16(first.Addr().(*net.TCPAddr).Port)
	ts.lns = []net.Listener{first}
	for i := 1; i < n; i++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:%d", i+2, ts.port))
		if err != nil {
			for _, l := range ts.lns {
				l.Close()
			}
			return false
		}
		ts.lns = append(ts.lns, l)
	}
	return true
}

func (ts *taskSet) endpoints(service string) []ingress.Endpoint {
	var eps []ingress.Endpoint
	for i := range ts.lns {
		eps = append(eps, ingress.Endpoint{Task: fmt.Sprintf("t%d", i), Name: fmt.Sprintf("%s.%d", service, i+1),
			Addr: netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 2)})})
	}
	return eps
}

// kill stops task i at once: its port refuses from now on.
func (ts *taskSet) kill(i int) { ts.srvs[i].Close() }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newServer(t *testing.T, o ingress.Options) (*ingress.Server, *httptest.Server) {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quiet()
	}
	s, err := ingress.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(s)
	t.Cleanup(func() { front.Close(); s.Close() })
	return s, front
}

func route(name, service string, port uint16, hosts []string, prefix string) ingress.Route {
	return ingress.Route{Name: name, Service: service, Hosts: hosts, PathPrefix: prefix, Port: port,
		Balance: ingress.RoundRobin, Health: ingress.Health{Interval: 100 * time.Millisecond}}
}

// waitHealthy waits until every task of every route is healthy.
func waitHealthy(t testing.TB, s *ingress.Server, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n := 0
		for _, r := range s.Stats().Routes {
			for _, ts := range r.Tasks {
				if ts.Healthy {
					n++
				}
			}
		}
		if n == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("tasks not healthy: %+v", s.Stats())
}

func get(t *testing.T, c *http.Client, url, host string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if host != "" {
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", url, host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRouting(t *testing.T) {
	a, b := newTaskSet(t, 1), newTaskSet(t, 1)
	s, front := newServer(t, ingress.Options{})
	s.Update(ingress.Snapshot{
		Routes: []ingress.Route{
			route("a", "sa", a.port, []string{"a.example.com", "*.wild.example"}, "/"),
			route("b", "sb", b.port, nil, "/api"),
		},
		Endpoints: map[string][]ingress.Endpoint{"sa": a.endpoints("sa"), "sb": b.endpoints("sb")},
	})
	waitHealthy(t, s, 2)
	for _, tc := range []struct {
		host, path string
		code       int
		from       *taskSet
	}{
		{"a.example.com", "/", 200, a},
		{"A.Example.com:8000", "/x", 200, a},
		{"x.wild.example", "/", 200, a},
		{"a.example.com", "/api/v1", 200, a}, // an exact host wins over a longer path on any host
		{"other", "/api", 200, b},
		{"other", "/api/v1", 200, b},
		{"other", "/apix", 404, nil},
		{"wild.example", "/", 404, nil},
	} {
		beforeA, beforeB := a.hits[0].Load(), b.hits[0].Load()
		code, body := get(t, front.Client(), front.URL+tc.path, tc.host)
		if code != tc.code {
			t.Errorf("Host %s %s: %d %q; want %d", tc.host, tc.path, code, body, tc.code)
		}
		if tc.from == a && a.hits[0].Load() != beforeA+1 || tc.from == b && b.hits[0].Load() != beforeB+1 {
			t.Errorf("Host %s %s: answered by the wrong task: %q", tc.host, tc.path, body)
		}
		if tc.from != nil && !strings.Contains(body, "host "+tc.host) {
			t.Errorf("Host %s %s: the task saw another Host: %q", tc.host, tc.path, body)
		}
	}
}

func TestBalance(t *testing.T) {
	ts := newTaskSet(t, 3)
	s, front := newServer(t, ingress.Options{})
	s.Update(ingress.Snapshot{Routes: []ingress.Route{route("r", "svc", ts.port, nil, "/")},
		Endpoints: map[string][]ingress.Endpoint{"svc": ts.endpoints("svc")}})
	waitHealthy(t, s, 3)
	for range 30 {
		if code, body := get(t, front.Client(), front.URL, ""); code != 200 {
			t.Fatalf("%d %s", code, body)
		}
	}
	for i := range 3 {
		if n := ts.hits[i].Load(); n != 10 {
			t.Errorf("round robin: task %d got %d of 30 requests; want 10", i, n)
		}
	}
}

// Least connections sends the requests that arrive while a task is busy to the others.
func TestLeastConn(t *testing.T) {
	ts := newTaskSet(t, 2)
	s, front := newServer(t, ingress.Options{})
	r := route("r", "svc", ts.port, nil, "/")
	r.Balance = ingress.LeastConn
	s.Update(ingress.Snapshot{Routes: []ingress.Route{r}, Endpoints: map[string][]ingress.Endpoint{"svc": ts.endpoints("svc")}})
	waitHealthy(t, s, 2)
	ts.delay.Store(int64(300 * time.Millisecond))
	var wg sync.WaitGroup
	for range 6 { // 6 concurrent requests: 3 each
		wg.Go(func() { get(t, front.Client(), front.URL, "") })
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	if a, b := ts.hits[0].Load(), ts.hits[1].Load(); a != 3 || b != 3 {
		t.Errorf("least connections with 6 concurrent requests: %d and %d; want 3 and 3", a, b)
	}
}

// A task that refuses connections costs no request: each is retried on the other task, and
// the refusing task leaves the pool until a health check passes.
func TestRetryRefused(t *testing.T) {
	ts := newTaskSet(t, 2)
	s, front := newServer(t, ingress.Options{})
	r := route("r", "svc", ts.port, nil, "/")
	r.Health.Interval = time.Hour // only the first check: the proxy learns of the death by the refusal
	s.Update(ingress.Snapshot{Routes: []ingress.Route{r}, Endpoints: map[string][]ingress.Endpoint{"svc": ts.endpoints("svc")}})
	waitHealthy(t, s, 2)
	ts.kill(0)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 20 {
		if code, body := get(t, c, front.URL, ""); code != 200 || !strings.HasPrefix(body, "task 1") {
			t.Fatalf("request %d after task 0 died: %d %q", i, code, body)
		}
	}
	st := s.Stats().Routes[0]
	if st.Tasks[0].Healthy || st.Tasks[0].Errors == 0 || st.Errors != 0 {
		t.Errorf("stats after the refusals: %+v", st)
	}
	metrics := scrape(t, s)
	if !strings.Contains(metrics, `berth_ingress_task_errors_total{kind="refused",route="r",task="svc.1"}`) {
		t.Errorf("no refused error of task svc.1 in /metrics:\n%s", metrics)
	}
}

// With no healthy task a request waits up to RetryTimeout for one, then answers 503; a task
// that appears in time serves it.
func TestNoTask(t *testing.T) {
	ts := newTaskSet(t, 1)
	s, front := newServer(t, ingress.Options{RetryTimeout: 2 * time.Second})
	r := route("r", "svc", ts.port, nil, "/")
	s.Update(ingress.Snapshot{Routes: []ingress.Route{r}})
	begin := time.Now()
	go func() {
		time.Sleep(300 * time.Millisecond)
		s.Update(ingress.Snapshot{Routes: []ingress.Route{r}, Endpoints: map[string][]ingress.Endpoint{"svc": ts.endpoints("svc")}})
	}()
	if code, body := get(t, front.Client(), front.URL, ""); code != 200 {
		t.Errorf("a task that came after 300ms: %d %q", code, body)
	}
	s.Update(ingress.Snapshot{Routes: []ingress.Route{r}})
	begin = time.Now()
	code, body := get(t, front.Client(), front.URL, "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "no healthy task") || time.Since(begin) < 2*time.Second {
		t.Errorf("no task: %d %q after %s; want 503 after 2s", code, body, time.Since(begin))
	}
}

// A task that leaves the table gets no new request, and the one in flight finishes.
func TestDrain(t *testing.T) {
	ts := newTaskSet(t, 2)
	s, front := newServer(t, ingress.Options{})
	r := route("r", "svc", ts.port, nil, "/")
	eps := ts.endpoints("svc")
	s.Update(ingress.Snapshot{Routes: []ingress.Route{r}, Endpoints: map[string][]ingress.Endpoint{"svc": eps}})
	waitHealthy(t, s, 2)
	ts.delay.Store(int64(500 * time.Millisecond))
	done := make(chan string)
	go func() { _, body := get(t, front.Client(), front.URL, ""); done <- body }()
	time.Sleep(100 * time.Millisecond) // the request is at one task now
	busy := 0
	if ts.hits[1].Load() == 1 {
		busy = 1
	}
	s.Update(ingress.Snapshot{Routes: []ingress.Route{r}, Endpoints: map[string][]ingress.Endpoint{"svc": {eps[1-busy]}}})
	ts.delay.Store(0)
	for range 10 {
		if _, body := get(t, front.Client(), front.URL, ""); !strings.HasPrefix(body, fmt.Sprintf("task %d", 1-busy)) {
			t.Errorf("a request went to the task that left: %q", body)
		}
	}
	if body := <-done; !strings.HasPrefix(body, fmt.Sprintf("task %d", busy)) {
		t.Errorf("the request in flight on task %d: %q", busy, body)
	}
}

// An update of the table (here a new route) keeps the clients' connections: the next request
// reuses the same one.
func TestReloadKeepsConnections(t *testing.T) {
	a, b := newTaskSet(t, 1), newTaskSet(t, 1)
	s, front := newServer(t, ingress.Options{})
	ra := route("a", "sa", a.port, nil, "/")
	s.Update(ingress.Snapshot{Routes: []ingress.Route{ra}, Endpoints: map[string][]ingress.Endpoint{"sa": a.endpoints("sa")}})
	waitHealthy(t, s, 1)
	c := front.Client()
	reused := func() bool {
		var got bool
		req, _ := http.NewRequest(http.MethodGet, front.URL+"/b", nil)
		req = req.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { got = i.Reused }}))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return got
	}
	reused()
	s.Update(ingress.Snapshot{Routes: []ingress.Route{ra, route("b", "sb", b.port, nil, "/b")},
		Endpoints: map[string][]ingress.Endpoint{"sa": a.endpoints("sa"), "sb": b.endpoints("sb")}})
	waitHealthy(t, s, 2)
	if !reused() {
		t.Error("the request after the reload did not reuse the connection")
	}
	if b.hits[0].Load() != 1 {
		t.Errorf("the new route /b was not used after the reload: %d hits", b.hits[0].Load())
	}
}

func scrape(t *testing.T, s *ingress.Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Admin().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// The stats page and /metrics show requests, errors and latency per route and per task, and
// the problems of the snapshot.
func TestStatsAndMetrics(t *testing.T) {
	ts := newTaskSet(t, 2)
	s, front := newServer(t, ingress.Options{})
	_, bad := ingress.ParseService("broken", map[string]string{ingress.LabelPort: "eighty"}, nil)
	s.Update(ingress.Snapshot{Routes: []ingress.Route{route("web", "svc", ts.port, nil, "/")},
		Endpoints: map[string][]ingress.Endpoint{"svc": ts.endpoints("svc")}, Problems: []error{bad}})
	waitHealthy(t, s, 2)
	for range 4 {
		get(t, front.Client(), front.URL, "")
	}
	metrics := scrape(t, s)
	for _, want := range []string{
		`berth_ingress_requests_total{code="200",route="web"} 4`,
		`berth_ingress_request_duration_seconds_count{route="web"} 4`,
		`berth_ingress_task_requests_total{code="200",route="web",task="svc.1"} 2`,
		`berth_ingress_task_duration_seconds_count{route="web",task="svc.2"} 2`,
		`berth_ingress_tasks{route="web",state="healthy"} 2`,
		`berth_ingress_label_problems 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	rec := httptest.NewRecorder()
	s.Admin().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	page := rec.Body.String()
	for _, want := range []string{"svc.1", "svc.2", "requests 4, errors 0", `service/broken/labels/berth.ingress.port: &#34;eighty&#34; is not a port`} {
		if !strings.Contains(page, want) {
			t.Errorf("stats page lacks %s:\n%s", want, page)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	err := ingress.Options{Addr: "80", AdminAddr: "x", TaskInterval: -1, Networks: []string{""}}.Validate()
	for _, want := range []string{"ingress/addr", `"80"`, "ingress/admin_addr", "ingress/task_interval", "ingress/networks/0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want it to mention %s", err, want)
		}
	}
	if err := (ingress.Options{AdminAddr: "-", Addr: ":8080"}).Validate(); err != nil {
		t.Error(err)
	}
}

// A task that drops the connection before answering costs a GET nothing (it is retried on
// the other task), while a POST with a body is sent once and answers 502.
func TestRetryIdempotentOnly(t *testing.T) {
	ts := newTaskSet(t, 2)
	ts.drop[0].Store(true)
	s, front := newServer(t, ingress.Options{})
	r := route("r", "svc", ts.port, nil, "/") // TCP checks: task 0 accepts, so it stays in
	s.Update(ingress.Snapshot{Routes: []ingress.Route{r}, Endpoints: map[string][]ingress.Endpoint{"svc": ts.endpoints("svc")}})
	waitHealthy(t, s, 2)
	for i := range 10 {
		if code, body := get(t, front.Client(), front.URL, ""); code != 200 || !strings.HasPrefix(body, "task 1") {
			t.Fatalf("GET %d: %d %q", i, code, body)
		}
	}
	if ts.hits[0].Load() == 0 {
		t.Fatal("no GET reached the dropping task: the test proves nothing")
	}
	codes := map[int]int{}
	for range 4 {
		resp, err := front.Client().Post(front.URL, "text/plain", strings.NewReader("order 1"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	if codes[http.StatusBadGateway] == 0 || codes[200] == 0 {
		t.Errorf("POSTs with a body: %v; want some 502 (sent once to the dropping task) and some 200", codes)
	}
}
