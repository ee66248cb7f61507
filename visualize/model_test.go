package visualize_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/berth/visualize"
)

// load replays an engine state recorded on a 4-node lab (see lab_test.go's record).
func load(t *testing.T, name string) (recorded, visualize.Snapshot) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var r recorded
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	s := visualize.Build(r.Nodes, r.Services, r.Tasks)
	out, _ := json.Marshal(s)
	for _, leak := range []string{envMarker, cmdMarker, "SECRET_SETTING"} {
		if !strings.Contains(string(b), leak) {
			t.Fatalf("the recording lacks %q, so this test could not see it leak", leak)
		}
		if strings.Contains(string(out), leak) {
			t.Errorf("%q got into the snapshot", leak)
		}
	}
	return r, s
}

func node(s visualize.Snapshot, suffix string) visualize.Node {
	for _, n := range s.Nodes {
		if strings.HasSuffix(n.Hostname, suffix) {
			return n
		}
	}
	return visualize.Node{}
}

func service(s visualize.Snapshot, name string) visualize.Service {
	for _, sv := range s.Services {
		if sv.Name == name {
			return sv
		}
	}
	return visualize.Service{}
}

func tasksOf(s visualize.Snapshot, svc string) []visualize.Task {
	var out []visualize.Task
	for _, t := range s.Tasks {
		if t.Service == svc {
			out = append(out, t)
		}
	}
	return out
}

// A drained worker, its tasks moving away, and a task rejected again and again.
func TestBuildDrainedAndRejected(t *testing.T) {
	r, s := load(t, "drained-rejected")
	if len(s.Nodes) != 4 || s.Nodes[0].Role != "manager" || !s.Nodes[0].Leader {
		t.Errorf("nodes %+v; want 4, the leading manager first", s.Nodes)
	}
	if w := node(s, "-worker1"); w.Availability != "drain" || w.Available() {
		t.Errorf("worker1 %+v; want drained, not available", w)
	}
	if w := node(s, "-worker2"); !w.Available() || w.EngineVersion == "" || !strings.HasPrefix(w.Platform, "linux/") || w.CPUs <= 0 || w.MemoryBytes <= 0 {
		t.Errorf("worker2 %+v; want available, with engine, platform and resources", w)
	}
	api := service(s, "web_api")
	if api.Stack != "web" || api.Mode != "replicated" || api.Wanted != 5 || api.Running != 3 || api.Labels["note"] != xss || strings.Contains(api.Image, "@") {
		t.Errorf("web_api %+v; want stack web, 3 of 5 running, its label, an image without digest", api)
	}
	if c := service(s, "data_cache"); c.Mode != "global" || c.Wanted != 3 || c.Running != 3 {
		t.Errorf("data_cache %+v; want global 3/3 (the drained worker runs none)", c)
	}
	// web_broken's slot 1 was rejected several times: one card, with its error.
	broken := tasksOf(s, "web_broken")
	if len(broken) != 1 || broken[0].State != "rejected" || !strings.Contains(broken[0].Error, "bind source path does not exist: /nonexistent/"+xss) {
		t.Errorf("web_broken cards %+v; want one rejected with the bind error", broken)
	}
	var history int
	for _, tk := range r.Tasks {
		if tk.ServiceID == broken[0].ServiceID {
			history++
		}
	}
	if history < 2 {
		t.Errorf("the recording has %d web_broken tasks; want the history this test leaves out", history)
	}
	// The drained worker's tasks still running are shown, on their way out.
	for _, tk := range s.Tasks {
		if tk.NodeID == node(s, "-worker1").ID && tk.Desired == "running" {
			t.Errorf("task %s still wanted on the drained worker", tk.Name())
		}
	}
	if visualize.Color("web_api") != api.Color {
		t.Errorf("colour of web_api differs between the snapshot and Color")
	}
}

// A rolling update (start-first, parallelism 1): the service says updating; a slot shows its
// old and new task; a slot not yet updated shows its task as old.
func TestBuildUpdateInProgress(t *testing.T) {
	_, s := load(t, "update")
	q := service(s, "data_queue")
	if q.Update != "updating" || q.UpdateMessage == "" {
		t.Errorf("data_queue %+v; want updating", q)
	}
	bySlot := map[int][]visualize.Task{}
	for _, tk := range tasksOf(s, "data_queue") {
		bySlot[tk.Slot] = append(bySlot[tk.Slot], tk)
	}
	if two := bySlot[2]; len(two) != 2 || two[0].Old == two[1].Old {
		t.Errorf("slot 2: %+v; want an old and a new task", two)
	}
	if one := bySlot[1]; len(one) != 1 || !one[0].Old {
		t.Errorf("slot 1: %+v; want its one task old (not updated yet)", one)
	}
	for _, tk := range tasksOf(s, "web_api") {
		if tk.Old {
			t.Errorf("web_api task %s marked old; web_api is not updating", tk.Name())
		}
	}
}

// A worker whose engine died: down, with swarm's message; its tasks' last known states stay.
func TestBuildNodeDown(t *testing.T) {
	_, s := load(t, "node-down")
	w := node(s, "-worker3")
	if w.Status != "down" || w.Available() || w.Message == "" {
		t.Errorf("worker3 %+v; want down, not available, with a message", w)
	}
	for _, tk := range s.Tasks {
		if tk.NodeID == w.ID && tk.Desired == "running" {
			t.Errorf("task %s still wanted on the down worker", tk.Name())
		}
	}
}

func TestDiff(t *testing.T) {
	_, before := load(t, "update")
	_, after := load(t, "node-down")
	if c := visualize.Diff(before, before); !c.Empty() {
		t.Errorf("a snapshot differs from itself: %+v", c)
	}
	c := visualize.Diff(before, after)
	var down bool
	for _, n := range c.Nodes {
		down = down || n.Status == "down"
	}
	if !down || len(c.Nodes) != 1 {
		t.Errorf("change nodes %+v; want worker3 alone, down", c.Nodes)
	}
	// Applying the change to before gives after.
	got := apply(before, c)
	if g, w := ids(got), ids(after); g != w {
		t.Errorf("before + change:\n%s\nwant:\n%s", g, w)
	}
}

// apply is what the page does with a change.
func apply(s visualize.Snapshot, c visualize.Change) visualize.Snapshot {
	gone := map[string]bool{}
	for _, id := range c.Removed {
		gone[id] = true
	}
	tasks := map[string]visualize.Task{}
	for _, t := range s.Tasks {
		if !gone[t.ID] {
			tasks[t.ID] = t
		}
	}
	for _, t := range c.Tasks {
		tasks[t.ID] = t
	}
	var out visualize.Snapshot
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, t)
	}
	return out
}

func ids(s visualize.Snapshot) string {
	var out []string
	for _, t := range s.Tasks {
		out = append(out, t.ID+" "+t.State+" "+t.Desired)
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}
