package visualize_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	swarmapi "github.com/moby/moby/api/types/swarm"

	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/visualize"
)

// dense is a swarm of 50 nodes (3 managers, 2 down, 2 drained) and 500 tasks of 20 services
// in 3 stacks, with markup in a label and in a task error.
func dense() recorded {
	var r recorded
	at := time.Now().Add(-time.Minute).UTC()
	for i := range 50 {
		n := swarmapi.Node{ID: fmt.Sprintf("node%02d", i), Spec: swarmapi.NodeSpec{Role: "worker", Availability: "active",
			Annotations: swarmapi.Annotations{Labels: map[string]string{"zone": fmt.Sprintf("z%d", i%3)}}},
			Description: swarmapi.NodeDescription{Hostname: fmt.Sprintf("swarm-node-%02d.example.internal", i),
				Platform: swarmapi.Platform{OS: "linux", Architecture: "x86_64"}, Engine: swarmapi.EngineDescription{EngineVersion: "28.2.2"},
				Resources: swarmapi.Resources{NanoCPUs: 8e9, MemoryBytes: 32 << 30}},
			Status: swarmapi.NodeStatus{State: "ready"}}
		if i < 3 {
			n.Spec.Role = "manager"
			n.ManagerStatus = &swarmapi.ManagerStatus{Leader: i == 0}
		}
		if i == 10 || i == 20 {
			n.Status = swarmapi.NodeStatus{State: "down", Message: "heartbeat failure"}
		}
		if i == 30 || i == 40 {
			n.Spec.Availability = "drain"
		}
		r.Nodes = append(r.Nodes, n)
	}
	stacks := []string{"shop", "search", "billing"}
	for i := range 20 {
		replicas := uint64(25)
		spec := swarmapi.ServiceSpec{Annotations: swarmapi.Annotations{
			Name:   fmt.Sprintf("%s_svc%02d", stacks[i%3], i),
			Labels: map[string]string{stack.LabelNamespace: stacks[i%3]}},
			Mode:         swarmapi.ServiceMode{Replicated: &swarmapi.ReplicatedService{Replicas: &replicas}},
			TaskTemplate: swarmapi.TaskSpec{ContainerSpec: &swarmapi.ContainerSpec{Image: fmt.Sprintf("registry:5000/app%02d:1.%d", i, i)}}}
		if i == 0 {
			spec.Labels["note"] = xss
		}
		r.Services = append(r.Services, swarmapi.Service{ID: fmt.Sprintf("svc%02d", i), Spec: spec})
		for slot := 1; slot <= 25; slot++ {
			node := (i*25 + slot) % 50
			for node == 10 || node == 20 || node == 30 || node == 40 {
				node = (node + 1) % 50
			}
			t := swarmapi.Task{ID: fmt.Sprintf("task%02d-%02d", i, slot), ServiceID: fmt.Sprintf("svc%02d", i), Slot: slot,
				NodeID: fmt.Sprintf("node%02d", node), Spec: spec.TaskTemplate, DesiredState: "running",
				Status: swarmapi.TaskStatus{State: "running", Timestamp: at}}
			if i == 1 && slot == 1 {
				t.Status = swarmapi.TaskStatus{State: "rejected", Err: "No such image: registry:5000/app01:1.1 " + xss, Timestamp: at}
			}
			r.Tasks = append(r.Tasks, t)
		}
	}
	// svc02 is updating: slot 1 runs its old task and its new one on the same node.
	r.Services[2].UpdateStatus = &swarmapi.UpdateStatus{State: "updating", Message: "update in progress"}
	old := r.Tasks[2*25]
	old.ID, old.DesiredState = "task02-01-old", "shutdown"
	old.Spec = swarmapi.TaskSpec{ContainerSpec: &swarmapi.ContainerSpec{Image: "registry:5000/app02:1.1"}}
	old.Status.Timestamp = at.Add(-time.Hour)
	r.Tasks = append(r.Tasks, old)
	return r
}

// TestBrowserDense: at 50 nodes and 500 tasks the page fits a 1920 px wide screen without
// sideways scrolling, every task name is whole, markup stays text, and a change shows live.
func TestBrowserDense(t *testing.T) {
	f := newFake(dense())
	_, srv := serve(t, f, visualize.HandlerOptions{})
	ctx := testenv.Context(t, 2*time.Minute)
	tab := browser(t, ctx)
	var w watchBrowser
	w.start(tab)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1920, 1080), chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(".card"))); err != nil {
		t.Fatal(err)
	}
	evalInt := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(tab, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return n
	}
	if n := evalInt(`document.querySelectorAll(".col:not(.unassigned)").length`); n != 50 {
		t.Errorf("%d columns; want 50", n)
	}
	if n := evalInt(`document.querySelectorAll(".card").length`); n != 501 {
		t.Errorf("%d cards; want 501 (500 and an old one of an update)", n)
	}
	// The old and the new task of the updating slot sit side by side, old first.
	if n := evalInt(`(() => { const o = document.getElementById("t-task02-01-old"), n = document.getElementById("t-task02-01");
		return o && n && o.classList.contains("old") && !n.classList.contains("old") && o.nextElementSibling === n && o.offsetTop === n.offsetTop ? 1 : 0 })()`); n != 1 {
		t.Errorf("the old and new tasks of svc02.1 are not side by side")
	}
	if n := evalInt(`document.querySelectorAll(".col.off").length`); n != 4 {
		t.Errorf("%d greyed columns; want 4 (2 down, 2 drained)", n)
	}
	if n := evalInt(`document.documentElement.scrollWidth - window.innerWidth`); n > 0 {
		t.Errorf("the page is %d px wider than the screen", n)
	}
	if n := evalInt(`[...document.querySelectorAll(".card .name, .node .host")].filter(e => e.scrollWidth > e.clientWidth + 1).length`); n != 0 {
		t.Errorf("%d task or host names are cut", n)
	}
	if n := evalInt(`Math.round(parseFloat(getComputedStyle(document.querySelector(".card")).fontSize))`); n < 11 {
		t.Errorf("cards in %d px type; want at least 11", n)
	}
	height := evalInt(`document.documentElement.scrollHeight`)
	t.Logf("50 nodes, 500 tasks: %d px high at 1920 px wide (%.1f screens of 1080)", height, float64(height)/1080)

	// A live change: a task fails with markup in its error; another runs.
	s := dense()
	s.Tasks[100].Status = swarmapi.TaskStatus{State: "failed", Err: "task: non-zero exit (1) " + xss, Timestamp: time.Now().UTC(),
		ContainerStatus: &swarmapi.ContainerStatus{ExitCode: 1}}
	f.set(s)
	id := "t-" + s.Tasks[100].ID
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](fmt.Sprintf(`(e => e && e.classList.contains("st-failed") && e.querySelector(".err").textContent.includes("<script>alert(1)</script>"))(document.getElementById(%q))`, id),
		chromedp.WithPollingTimeout(2*time.Second))); err != nil {
		t.Errorf("the failed task did not show within 2 s: %v", err)
	}
	if n := evalInt(`document.scripts.length`); n != 1 {
		t.Errorf("%d script elements; want the page's own", n)
	}
	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(artifactDir(t), "visualize-dense.png")
	if err := os.WriteFile(p, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.dialogs) != 0 {
		t.Errorf("the page opened dialogs: %q", w.dialogs)
	}
}
