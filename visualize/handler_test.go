package visualize_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/visualize"
)

// fakeEngine serves a fixed engine state to the model, for the handler's pure tests; the
// integration tests (lab_test.go) use a real swarm.
type fakeEngine struct {
	mu    sync.Mutex
	state recorded
	calls int
	ev    chan events.Message
}

func newFake(s recorded) *fakeEngine { return &fakeEngine{state: s, ev: make(chan events.Message)} }

func (f *fakeEngine) set(s recorded) {
	f.mu.Lock()
	f.state = s
	f.mu.Unlock()
}

func (f *fakeEngine) NodeList(context.Context, client.NodeListOptions) (client.NodeListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return client.NodeListResult{Items: f.state.Nodes}, nil
}

func (f *fakeEngine) ServiceList(context.Context, client.ServiceListOptions) (client.ServiceListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return client.ServiceListResult{Items: f.state.Services}, nil
}

func (f *fakeEngine) TaskList(context.Context, client.TaskListOptions) (client.TaskListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return client.TaskListResult{Items: f.state.Tasks}, nil
}

func (f *fakeEngine) Events(ctx context.Context, _ client.EventsListOptions) client.EventsResult {
	return client.EventsResult{Messages: f.ev, Err: make(chan error)}
}

// hostile is an engine state with markup in every string a user controls.
func hostile() recorded {
	replicas := uint64(1)
	now := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	spec := swarmapi.TaskSpec{ContainerSpec: &swarmapi.ContainerSpec{Image: "registry:5000/app:1@sha256:abc",
		Env: []string{"PASSWORD=" + envMarker}, Args: []string{cmdMarker}}}
	return recorded{
		Nodes: []swarmapi.Node{{ID: "n1", Spec: swarmapi.NodeSpec{Role: "manager", Availability: "active",
			Annotations: swarmapi.Annotations{Labels: map[string]string{"zone": xss}}},
			Description: swarmapi.NodeDescription{Hostname: "<b>host</b>"}, Status: swarmapi.NodeStatus{State: "ready"}}},
		Services: []swarmapi.Service{{ID: "s1", Spec: swarmapi.ServiceSpec{
			Annotations:  swarmapi.Annotations{Name: "app", Labels: map[string]string{"note": xss}},
			Mode:         swarmapi.ServiceMode{Replicated: &swarmapi.ReplicatedService{Replicas: &replicas}},
			TaskTemplate: spec}}},
		Tasks: []swarmapi.Task{{ID: "t1", ServiceID: "s1", Slot: 1, NodeID: "n1", Spec: spec, DesiredState: "running",
			Status: swarmapi.TaskStatus{State: "rejected", Err: "No such image: " + xss, Timestamp: now}}},
	}
}

func serve(t *testing.T, f *fakeEngine, o visualize.HandlerOptions) (*visualize.Model, *httptest.Server) {
	t.Helper()
	m := visualize.NewModel(f, visualize.ModelOptions{Interval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-m.Ready()
	srv := httptest.NewServer(visualize.Handler(m, o))
	t.Cleanup(srv.Close)
	return m, srv
}

func TestHandlerEscapesAndHides(t *testing.T) {
	_, srv := serve(t, newFake(hostile()), visualize.HandlerOptions{})
	page, status := get(t, srv.URL+"/")
	if status != http.StatusOK {
		t.Fatalf("GET /: %d", status)
	}
	snap, _ := get(t, srv.URL+"/api/snapshot")
	for _, leak := range []string{envMarker, cmdMarker, "PASSWORD"} {
		if strings.Contains(page, leak) || strings.Contains(snap, leak) {
			t.Errorf("%q leaked", leak)
		}
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>host") {
		t.Errorf("markup from the engine is not escaped in the page")
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "No such image: &lt;script&gt;", "&lt;b&gt;host&lt;/b&gt;", "app.1"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHandlerReadOnly(t *testing.T) {
	_, srv := serve(t, newFake(hostile()), visualize.HandlerOptions{})
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		req, _ := http.NewRequest(m, srv.URL+"/api/snapshot", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %s Allow=%q; want 405 GET, HEAD", m, resp.Status, resp.Header.Get("Allow"))
		}
	}
	if _, status := get(t, srv.URL+"/containers/json"); status != http.StatusNotFound {
		t.Errorf("an engine path: %d; want 404", status)
	}
}

func TestHandlerAuth(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts visualize.HandlerOptions
		set  func(*http.Request)
		want int
	}{
		{"none needed", visualize.HandlerOptions{}, func(*http.Request) {}, 200},
		{"token missing", visualize.HandlerOptions{Token: "s3cret"}, func(*http.Request) {}, 401},
		{"bearer", visualize.HandlerOptions{Token: "s3cret"}, func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret") }, 200},
		{"bearer wrong", visualize.HandlerOptions{Token: "s3cret"}, func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, 401},
		{"token as password", visualize.HandlerOptions{Token: "s3cret"}, func(r *http.Request) { r.SetBasicAuth("any", "s3cret") }, 200},
		{"basic", visualize.HandlerOptions{BasicAuth: "ops:pw"}, func(r *http.Request) { r.SetBasicAuth("ops", "pw") }, 200},
		{"basic wrong", visualize.HandlerOptions{BasicAuth: "ops:pw"}, func(r *http.Request) { r.SetBasicAuth("ops", "px") }, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := serve(t, newFake(hostile()), tc.opts)
			req, _ := http.NewRequest("GET", srv.URL+"/api/snapshot", nil)
			tc.set(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s; want %d", resp.Status, tc.want)
			}
		})
	}
}

// TestStreamResetAndChange: a page rendered at an older Seq gets the whole board first; then
// each change, with its fragments escaped by the templates.
func TestStreamResetAndChange(t *testing.T) {
	f := newFake(hostile())
	m, srv := serve(t, f, visualize.HandlerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs := stream(ctx, t, srv.URL) // no ?since=: a reset
	first := <-evs
	if first.Name != "reset" || !strings.Contains(string(first.Data), `board-root`) {
		t.Fatalf("first event %s %.100s; want a reset with the board", first.Name, first.Data)
	}
	s := hostile()
	s.Tasks[0].Status.State = "running"
	s.Tasks[0].Status.Err = ""
	f.set(s)
	c, _ := waitFor(t, evs, 5*time.Second, "t1 running", func(c visualize.Change) bool {
		return len(c.Tasks) == 1 && c.Tasks[0].State == "running"
	})
	if c.Seq != m.Snapshot().Seq {
		t.Errorf("change seq %d; model at %d", c.Seq, m.Snapshot().Seq)
	}
	// A page at the current Seq gets a hello, no reset.
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events?since="+strconv.FormatUint(m.Snapshot().Seq, 10), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, _ := resp.Body.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "event: hello") {
		t.Errorf("stream at the current seq starts with %q; want a hello", buf[:n])
	}
}

// TestOneReader: however many subscribe, the engine is read once per interval.
func TestOneReader(t *testing.T) {
	f := newFake(hostile())
	m := visualize.NewModel(f, visualize.ModelOptions{Interval: 50 * time.Millisecond, FullInterval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 520*time.Millisecond)
	defer cancel()
	var subs []func()
	for range 50 {
		_, _, c := m.Subscribe()
		subs = append(subs, c)
	}
	begin := time.Now()
	m.Run(ctx)
	elapsed := time.Since(begin)
	for _, c := range subs {
		c()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// 3 lists at the start, then one task list per 50 ms tick of the time Run really ran
	// (plus one for a tick at the very end), whatever the number of subscribers: 50 readers
	// would make it about 50 times as many.
	most := 3 + int(elapsed/(50*time.Millisecond)) + 1
	if f.calls < 3 || f.calls > most {
		t.Errorf("%d engine calls in %s with 50 subscribers; want 3 to %d", f.calls, elapsed, most)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o    visualize.Options
		want string // "" means valid
	}{
		{visualize.Options{}, ""},
		{visualize.Options{Listen: "127.0.0.1:0"}, ""},
		{visualize.Options{Listen: "localhost:9000"}, ""},
		{visualize.Options{Listen: "[::1]:9000"}, ""},
		{visualize.Options{Listen: ":9000"}, "not a loopback address"},
		{visualize.Options{Listen: "0.0.0.0:9000"}, "not a loopback address"},
		{visualize.Options{Listen: "10.1.2.3:9000"}, "not a loopback address"},
		{visualize.Options{Listen: ":9000", Token: "t"}, ""},
		{visualize.Options{Listen: ":9000", BasicAuth: "a:b"}, ""},
		{visualize.Options{Listen: ":9000", Insecure: true}, ""},
		{visualize.Options{Listen: "9000"}, "not host:port"},
		{visualize.Options{BasicAuth: "nocolon"}, "not user:password"},
	} {
		err := tc.o.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.o, err)
		case tc.want != "" && (!errors.Is(err, berth.ErrInvalid) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v; want an ErrInvalid with %q", tc.o, err, tc.want)
		}
	}
}

// TestServeRefusesBeforeListening: an invalid address fails before Serve reads the engine.
func TestServeRefusesBeforeListening(t *testing.T) {
	f := newFake(hostile())
	err := visualize.Serve(context.Background(), f, visualize.Options{Listen: "0.0.0.0:0"})
	if !errors.Is(err, berth.ErrInvalid) || f.calls != 0 {
		t.Errorf("Serve on 0.0.0.0 without auth: %v (%d engine calls); want ErrInvalid before any call", err, f.calls)
	}
}

func TestServe(t *testing.T) {
	f := newFake(hostile())
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- visualize.Serve(ctx, f, visualize.Options{Listen: "127.0.0.1:0", Token: "tok", Listening: func(a string) { addrs <- a }})
	}()
	addr := <-addrs
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.SetBasicAuth("me", "tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET / with the token: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v; want nil", err)
	}
}
