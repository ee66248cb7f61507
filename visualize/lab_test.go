package visualize_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/examples/goimage"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
	"github.com/berthdev/berth/swarm/dind"
	"github.com/berthdev/berth/visualize"
)

// Markers that must never leave the server: an env value and a command-line argument.
const (
	envMarker = "env-value-must-not-leak-7f3a"
	cmdMarker = "cmd-arg-must-not-leak-91c2"
	xss       = "<script>alert(1)</script>"
	// ghostImage is not in the lab registry: its task is rejected at once (no traffic leaves
	// the lab).
	ghostImage = "registry:5000/berth/ghost:missing"
)

// counter is an http.RoundTripper that counts the requests the model sends to the engine.
type counter struct {
	next   http.RoundTripper
	total  atomic.Int64
	writes atomic.Int64
	mu     sync.Mutex
	paths  map[string]int
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.total.Add(1)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.writes.Add(1)
	}
	c.mu.Lock()
	c.paths[r.Method+" "+trimVersion(r.URL.Path)]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func trimVersion(p string) string {
	if rest, ok := strings.CutPrefix(p, "/v"); ok {
		if _, after, ok := strings.Cut(rest, "/"); ok {
			return "/" + after
		}
	}
	return p
}

// lab is what the subtests share: one 4-node lab, the model reading its manager through a
// counting transport, and the handler on a loopback test server.
type lab struct {
	*dind.Cluster
	host    *client.Client
	count   *counter
	model   *visualize.Model
	srv     *httptest.Server
	busybox string // in-cluster reference
	viz     string // in-cluster reference of the visualizer image
}

// TestLab runs the visualizer against a real 4-node swarm (a manager and 3 workers): the
// stream follows a deploy, a scale and a drain; a real Chromium shows the page, applies a live
// change, renders hostile strings as text; 50 streams cost the engine what one does; and the
// FROM scratch image deployed with the stack file answers from the host.
func TestLab(t *testing.T) {
	host := testenv.Engine(t)
	busybox := testenv.Image(t, host, fixtures.Busybox)
	ctx := testenv.Context(t, 12*time.Minute)
	name := testenv.Name(t, "viz")
	tag := "berth-viz/visualizer:" + name[len(name)-8:]
	if _, err := goimage.Build(ctx, host, "github.com/berthdev/berth/examples/visualizer", tag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		host.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{Force: true})
	})
	c := testenv.StartLab(t, ctx, host, dind.Options{Name: name, Workers: 3, Push: []string{busybox, tag},
		Publish: []dind.Publish{{NodePort: 9000}},
		Swarm:   swarm.InitOptions{DefaultAddrPool: []string{"10.207.0.0/16"}, SubnetSize: 24}})
	l := &lab{Cluster: c, host: host, busybox: c.Images[busybox], viz: c.Images[tag],
		count: &counter{next: http.DefaultTransport, paths: map[string]int{}}}
	cli, err := berth.Connect(ctx, client.WithHost(c.Manager.EngineHost), client.WithHTTPClient(&http.Client{Transport: l.count}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	l.model = visualize.NewModel(cli, visualize.ModelOptions{})
	mctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.model.Run(mctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	l.srv = httptest.NewServer(visualize.Handler(l.model, visualize.HandlerOptions{}))
	t.Cleanup(l.srv.Close)
	<-l.model.Ready()

	t.Run("stream", l.testStream)
	t.Run("readonly", l.testReadOnly)
	t.Run("browser", l.testBrowser)
	t.Run("load", l.testLoad)
	t.Run("image", l.testImage)
	t.Run("update", l.testUpdate)
	t.Run("nodedown", l.testNodeDown)
	t.Logf("engine requests by the model over the whole test: %d (%d writes): %v", l.count.total.Load(), l.count.writes.Load(), l.count.paths)
	if l.count.writes.Load() != 0 {
		t.Errorf("the model sent %d writes to the engine; it must only read", l.count.writes.Load())
	}
}

// event is one Server-Sent Event as received.
type event struct {
	Name string
	Data []byte
	At   time.Time
}

// stream opens the live stream and sends its events on the returned channel until ctx ends.
func stream(ctx context.Context, t *testing.T, url string) <-chan event {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	out := make(chan event, 256)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" {
					ev.At = time.Now()
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev = event{}
			case strings.HasPrefix(line, "event: "):
				ev.Name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.Data = append(ev.Data, line[len("data: "):]...)
			}
		}
	}()
	return out
}

// waitFor reads changes from events until ok accepts one, or fails the test after timeout.
func waitFor(t *testing.T, events <-chan event, timeout time.Duration, what string, ok func(visualize.Change) bool) (visualize.Change, time.Time) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, open := <-events:
			if !open {
				t.Fatalf("stream closed while waiting for %s", what)
			}
			if ev.Name != "change" {
				continue
			}
			var c visualize.Change
			if err := json.Unmarshal(ev.Data, &c); err != nil {
				t.Fatalf("change: %v: %s", err, ev.Data)
			}
			if ok(c) {
				return c, ev.At
			}
		case <-deadline:
			t.Fatalf("no change with %s within %s", what, timeout)
		}
	}
}

func hasService(c visualize.Change, name string, ok func(visualize.Service) bool) bool {
	for _, s := range c.Services {
		if s.Name == name && ok(s) {
			return true
		}
	}
	return false
}

// webStack is the first stack: an api whose label holds markup and whose env and command hold
// markers, and a service whose task is rejected with markup in its error (a bind source path
// that does not exist).
func (l *lab) webStack(replicas uint64) *stack.Stack {
	st := stack.New("web")
	st.Service("api").Image(l.busybox).Replicas(replicas).Command("sh", "-c", "exec sleep 3600", cmdMarker).
		Env("SECRET_SETTING", envMarker).Label("note", xss).StopGracePeriod(time.Second).
		Constraint("node.role != manager")
	st.Service("broken").Image(l.busybox).Replicas(1).Command("sleep", "3600").
		Bind("/nonexistent/"+xss, "/data", true).Constraint("node.role != manager").StopGracePeriod(time.Second)
	st.Service("ghost").Image(ghostImage).Replicas(1).StopGracePeriod(time.Second)
	return st
}

func (l *lab) deploy(ctx context.Context, t *testing.T, st *stack.Stack) {
	t.Helper()
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Deploy(ctx, l.Manager.Client, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}}); err != nil {
		t.Fatalf("deploy %s: %v", st.Name(), err)
	}
}

// testStream: each change reaches the stream within 2 s: a deployed service, its tasks'
// states (against the engine's own timestamps), a scale, a drain.
func (l *lab) testStream(t *testing.T) {
	ctx := testenv.Context(t, 4*time.Minute)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := stream(sctx, t, l.srv.URL)
	const limit = 2 * time.Second
	check := func(what string, d time.Duration) {
		t.Logf("%s: on the stream after %s", what, d.Round(time.Millisecond))
		if d > limit {
			t.Errorf("%s took %s to reach the stream; want at most %s", what, d, limit)
		}
	}

	l.deploy(ctx, t, l.webStack(2))
	begin := time.Now() // a change that came while Deploy ran counts as at once (negative)
	_, at := waitFor(t, events, 10*time.Second, "service web_api", func(c visualize.Change) bool {
		return hasService(c, "web_api", func(visualize.Service) bool { return true })
	})
	check("deploy of web (from the end of Deploy)", at.Sub(begin))
	// Each new task state the stream reports is at most 2 s older than the engine's timestamp
	// of it. (A task's other changes, such as its desired state, keep that timestamp.)
	var worst time.Duration
	running := map[string]bool{}
	seen := map[string]string{}
	waitFor(t, events, time.Minute, "2 running web_api tasks and a rejected web_broken task", func(c visualize.Change) bool {
		now := time.Now()
		for _, tk := range c.Tasks {
			if seen[tk.ID] != tk.State {
				worst = max(worst, now.Sub(tk.Since))
				seen[tk.ID] = tk.State
			}
			if tk.Service == "web_api" && tk.State == "running" {
				running[tk.ID] = true
			}
			if tk.Service == "web_broken" && tk.State == "rejected" {
				running["rejected"] = true
			}
		}
		return len(running) >= 3 && running["rejected"]
	})
	check("worst task state (engine timestamp to stream)", worst)

	begin = time.Now()
	if _, err := swarm.Scale(ctx, l.Manager.Client, "web_api", 5, swarm.ScaleOptions{}); err != nil {
		t.Fatal(err)
	}
	_, at = waitFor(t, events, 10*time.Second, "web_api wanting 5", func(c visualize.Change) bool {
		return hasService(c, "web_api", func(s visualize.Service) bool { return s.Wanted == 5 })
	})
	check("scale to 5", at.Sub(begin))
	_, at = waitFor(t, events, time.Minute, "web_api running 5", func(c visualize.Change) bool {
		return hasService(c, "web_api", func(s visualize.Service) bool { return s.Running == 5 })
	})
	t.Logf("web_api 5/5 running after %s", at.Sub(begin).Round(time.Millisecond))

	w := l.Workers[0]
	begin = time.Now()
	if _, err := swarm.SetAvailability(ctx, l.Manager.Client, w.NodeID, swarmapi.NodeAvailabilityDrain); err != nil {
		t.Fatal(err)
	}
	_, at = waitFor(t, events, 10*time.Second, "worker1 drained", func(c visualize.Change) bool {
		for _, n := range c.Nodes {
			if n.ID == w.NodeID && n.Availability == "drain" {
				return true
			}
		}
		return false
	})
	check("drain of "+w.Name, at.Sub(begin))
	// The drained worker's tasks move: none it runs is still wanted running.
	deadline := time.Now().Add(time.Minute)
	for {
		s := l.model.Snapshot()
		left := 0
		for _, tk := range s.Tasks {
			if tk.NodeID == w.NodeID && tk.Desired == "running" {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d tasks still wanted on drained %s", left, w.Name)
		}
		time.Sleep(200 * time.Millisecond)
	}
	l.deploy(ctx, t, dataStack(l.busybox))
	waitFor(t, events, time.Minute, "data_cache", func(c visualize.Change) bool {
		return hasService(c, "data_cache", func(s visualize.Service) bool { return s.Running == 3 })
	})
	l.record(ctx, t, "drained-rejected")
}

// dataStack is the second stack: a global cache and a small replicated queue.
func dataStack(busybox string) *stack.Stack {
	st := stack.New("data")
	st.Service("cache").Image(busybox).Global().Command("sleep", "3600").StopGracePeriod(time.Second)
	st.Service("queue").Image(busybox).Replicas(2).Command("sleep", "3600").StopGracePeriod(time.Second)
	return st
}

// testReadOnly: every method but GET and HEAD is refused, and no env value or command line
// reaches the page, the snapshot or the stream.
func (l *lab) testReadOnly(t *testing.T) {
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, p := range []string{"/", "/api/snapshot", "/api/events", "/containers/json", "/v1.41/containers/create"} {
			req, _ := http.NewRequest(m, l.srv.URL+p, strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %s; want 405", m, p, resp.Status)
			}
		}
	}
	// An engine path with GET is not forwarded either.
	for _, p := range []string{"/containers/json", "/v1.41/info", "/tasks", "/services"} {
		body, status := get(t, l.srv.URL+p)
		if status != http.StatusNotFound {
			t.Errorf("GET %s: %d %.80q; want 404", p, status, body)
		}
	}
	page, _ := get(t, l.srv.URL+"/")
	snap, _ := get(t, l.srv.URL+"/api/snapshot")
	if !strings.Contains(snap, "web_api") || !strings.Contains(page, "web_api") {
		t.Fatalf("page or snapshot lacks web_api")
	}
	for _, leak := range []string{envMarker, cmdMarker, "SECRET_SETTING"} {
		if strings.Contains(page, leak) || strings.Contains(snap, leak) {
			t.Errorf("%q leaked into the page or the snapshot", leak)
		}
	}
	if strings.Contains(page, xss) {
		t.Errorf("the page holds %s unescaped", xss)
	}
}

func get(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	return b.String(), resp.StatusCode
}

// testLoad: 50 streams cost the engine no more requests than one. Each window of 10 s has one
// stream (then 50) open and one scale in it, which every stream must report.
func (l *lab) testLoad(t *testing.T) {
	ctx := testenv.Context(t, 2*time.Minute)
	const window = 10 * time.Second
	measure := func(viewers int, replicas uint64) (int64, float64) {
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var streams []<-chan event
		for range viewers {
			streams = append(streams, stream(sctx, t, l.srv.URL))
		}
		before := l.count.total.Load()
		begin := time.Now()
		if _, err := swarm.Scale(ctx, l.Manager.Client, "data_queue", replicas, swarm.ScaleOptions{}); err != nil {
			t.Fatal(err)
		}
		for i, s := range streams {
			waitFor(t, s, window, fmt.Sprintf("data_queue wanting %d on stream %d", replicas, i), func(c visualize.Change) bool {
				return hasService(c, "data_queue", func(s visualize.Service) bool { return s.Wanted == int(replicas) })
			})
		}
		time.Sleep(window - time.Since(begin))
		n := l.count.total.Load() - before
		rate := float64(n) / time.Since(begin).Seconds()
		t.Logf("%d viewers: %d engine requests in %s (%.2f/s)", viewers, n, time.Since(begin).Round(time.Millisecond), rate)
		return n, rate
	}
	one, _ := measure(1, 3)
	fifty, _ := measure(50, 2)
	// The windows differ by the timing of the 15 s full read and of the scale's events.
	if fifty > one+4 {
		t.Errorf("50 viewers cost %d engine requests, 1 viewer %d: the streams must share one reader", fifty, one)
	}
}

// artifactDir is where the test keeps its screenshot: $BERTH_ARTIFACTS, or a directory that
// outlives the test run.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("BERTH_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "berth-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testImage: the FROM scratch image, deployed with the stack file as the chapter deploys its
// visualizer (global, manager only, socket read-only, port in host mode), answers from the
// host on the loopback port the lab published, and stays read-only there.
func (l *lab) testImage(t *testing.T) {
	ctx := testenv.Context(t, 3*time.Minute)
	t.Setenv("VISUALIZER_IMAGE", l.viz)
	st, err := stack.Load(ctx, "viz", filepath.Join("..", "examples", "visualizer", "visualizer.yml"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Deploy(ctx, l.Manager.Client, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever},
		Wait: true, Watch: swarm.WatchOptions{Stable: -1, Timeout: 2 * time.Minute}}); err != nil {
		t.Fatalf("deploy visualizer.yml: %v", err)
	}
	res, err := l.Manager.Client.ServiceInspect(ctx, "viz_visualizer", client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc := res.Service
	if svc.Spec.Mode.Global == nil || fmt.Sprint(svc.Spec.TaskTemplate.Placement.Constraints) != "[node.role == manager]" ||
		len(svc.Spec.TaskTemplate.ContainerSpec.Mounts) != 1 || !svc.Spec.TaskTemplate.ContainerSpec.Mounts[0].ReadOnly {
		t.Errorf("viz_visualizer is not global on managers with the socket read-only: %+v %+v", svc.Spec.Mode, svc.Spec.TaskTemplate)
	}
	addr := l.Manager.PublishedAddr(9000)
	if addr == "" {
		t.Fatalf("the manager's port 9000 is not published: %v", l.Manager.Published)
	}
	url := "http://" + addr
	var snap visualize.Snapshot
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url + "/api/snapshot")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&snap)
			resp.Body.Close()
		}
		if err == nil && len(snap.Nodes) == 4 && len(snap.Services) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/api/snapshot from the host: %v (%d nodes)", url, err, len(snap.Nodes))
		}
		time.Sleep(500 * time.Millisecond)
	}
	page, status := get(t, url+"/")
	if status != http.StatusOK || !strings.Contains(page, l.Manager.Name) || !strings.Contains(page, "viz_visualizer") {
		t.Errorf("GET %s/ from the host: %d, lacks the manager or the visualizer's own service", url, status)
	}
	req, _ := http.NewRequest(http.MethodPost, url+"/api/snapshot", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST through the published port: %v %v; want 405", resp.Status, err)
	}
	t.Logf("the visualizer image answers on %s/ from the host (%d nodes, %d services, %d tasks)", url, len(snap.Nodes), len(snap.Services), len(snap.Tasks))
}

// recorded is an engine state as the Engine API returned it; the model's unit tests replay
// the files of testdata/, which BERTH_VISUALIZE_RECORD=1 rewrites from the lab.
type recorded struct {
	Nodes    []swarmapi.Node    `json:"nodes"`
	Services []swarmapi.Service `json:"services"`
	Tasks    []swarmapi.Task    `json:"tasks"`
}

func (l *lab) record(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	if os.Getenv("BERTH_VISUALIZE_RECORD") != "1" {
		return
	}
	cli := l.Manager.Client
	n, err1 := cli.NodeList(ctx, client.NodeListOptions{})
	s, err2 := cli.ServiceList(ctx, client.ServiceListOptions{})
	tk, err3 := cli.TaskList(ctx, client.TaskListOptions{})
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("record %s: %v %v %v", name, err1, err2, err3)
	}
	b, err := json.MarshalIndent(recorded{n.Items, s.Items, tk.Items}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded testdata/%s.json", name)
}

// testUpdate: during a rolling update the model marks the tasks of the previous spec old, and
// the service updating.
func (l *lab) testUpdate(t *testing.T) {
	ctx := testenv.Context(t, 3*time.Minute)
	_, err := swarm.Update(ctx, l.Manager.Client, "data_queue", func(s *swarmapi.ServiceSpec) error {
		s.TaskTemplate.ContainerSpec.Env = append(s.TaskTemplate.ContainerSpec.Env, "VERSION=2")
		s.UpdateConfig = &swarmapi.UpdateConfig{Parallelism: 1, Delay: 20 * time.Second, Order: swarmapi.UpdateOrderStartFirst}
		return nil
	}, swarm.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		s := l.model.Snapshot()
		var old, cur int
		updating := false
		for _, sv := range s.Services {
			updating = updating || sv.Name == "data_queue" && sv.Update == "updating"
		}
		for _, tk := range s.Tasks {
			if tk.Service == "data_queue" && tk.State == "running" {
				if tk.Old {
					old++
				} else {
					cur++
				}
			}
		}
		if updating && old >= 1 && cur >= 1 {
			t.Logf("data_queue updating: %d old and %d new tasks running", old, cur)
			l.record(ctx, t, "update")
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot of data_queue updating with old and new tasks running: %+v", s.Services)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// testNodeDown: a worker whose engine dies shows as down on the stream.
func (l *lab) testNodeDown(t *testing.T) {
	ctx := testenv.Context(t, 3*time.Minute)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := stream(sctx, t, l.srv.URL)
	w := l.Workers[len(l.Workers)-1]
	if _, err := l.host.ContainerKill(ctx, w.ContainerID, client.ContainerKillOptions{}); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	waitFor(t, events, 2*time.Minute, w.Name+" down", func(c visualize.Change) bool {
		for _, n := range c.Nodes {
			if n.ID == w.NodeID && n.Status == "down" {
				return true
			}
		}
		return false
	})
	t.Logf("%s down on the stream %s after its engine was killed (swarm's heartbeat decides when)", w.Name, time.Since(begin).Round(time.Millisecond))
	l.record(ctx, t, "node-down")
}
