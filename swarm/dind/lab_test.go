package dind_test

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/swarm"
	"github.com/berthdev/berth/swarm/dind"
)

// startLab starts a lab and removes it when the test ends, also when it fails.
func startLab(t *testing.T, ctx context.Context, host dind.Engine, o dind.Options) *dind.Cluster {
	t.Helper()
	lab, err := dind.Start(ctx, host, testenv.LabImages(t, host, o))
	if err != nil {
		t.Fatalf("start lab: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := lab.Close(ctx); err != nil {
			t.Errorf("close lab %s: %v", lab.Name, err)
		}
		assertGone(t, host, lab.Name)
	})
	t.Logf("lab %s up in %s (privileged %v) %v", lab.Name, lab.Elapsed.Round(time.Millisecond), lab.Privileged, lab.Warnings)
	return lab
}

// assertGone checks that nothing labelled with the lab's name is left.
func assertGone(t *testing.T, host dind.Engine, name string) {
	t.Helper()
	ctx := context.Background()
	f := make(client.Filters).Add("label", dind.LabelLab+"="+name)
	cs, err1 := host.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	ns, err2 := host.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	vs, err3 := host.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err1 != nil || err2 != nil || err3 != nil {
		t.Errorf("list lab %s leftovers: %v %v %v", name, err1, err2, err3)
		return
	}
	if n := len(cs.Items) + len(ns.Items) + len(vs.Items); n > 0 {
		t.Errorf("lab %s left %d containers, %d networks, %d volumes", name, len(cs.Items), len(ns.Items), len(vs.Items))
	}
	// The registry's volume is made by the lab, with its label; none may be left unlabelled.
	if _, err := host.VolumeInspect(ctx, name+"-registry-data", client.VolumeInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("lab %s left its registry volume: %v", name, err)
	}
}

// TestLab runs the multi-node behaviour on one lab of a manager and three workers. The
// subtests run in order and share the lab: the last ones stop and remove workers.
func TestLab(t *testing.T) {
	host := testenv.Engine(t)
	busybox := testenv.Image(t, host, fixtures.Busybox)
	ctx := testenv.Context(t, 6*time.Minute)
	lab := startLab(t, ctx, host, dind.Options{
		Name:    testenv.Name(t, "lab"),
		Workers: 3,
		Push:    []string{busybox},
		Swarm:   swarm.InitOptions{DefaultAddrPool: []string{"10.77.0.0/16"}, SubnetSize: 24},
	})
	image := lab.Images[busybox]
	if !strings.HasPrefix(image, "registry:5000/") {
		t.Fatalf("Images[%s] = %q; want registry:5000/...", busybox, image)
	}
	mgr := lab.Manager.Client
	names := map[string]string{} // node ID -> container name
	for _, n := range lab.Nodes() {
		names[n.NodeID] = n.Name
	}
	w1, w2, w3 := lab.Workers[0], lab.Workers[1], lab.Workers[2]

	t.Run("nodes", func(t *testing.T) {
		nodes, err := swarm.Nodes(ctx, mgr, swarm.NodeFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range nodes {
			got = append(got, fmt.Sprintf("%s %s %s %s %s", n.Hostname, n.Role, n.Availability, n.Status, n.ManagerStatus))
			if n.EngineVersion == "" || !strings.HasPrefix(n.Platform, "linux/") {
				t.Errorf("node %s: engine version %q, platform %q", n.Hostname, n.EngineVersion, n.Platform)
			}
		}
		want := []string{
			lab.Manager.Name + " manager active ready Leader",
			w1.Name + " worker active ready ",
			w2.Name + " worker active ready ",
			w3.Name + " worker active ready ",
		}
		if !slices.Equal(got, want) {
			t.Errorf("nodes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		workers, err := swarm.Nodes(ctx, mgr, swarm.NodeFilter{Role: swarm.RoleWorker})
		if err != nil || len(workers) != 3 {
			t.Errorf("workers: %d, %v; want 3", len(workers), err)
		}
	})

	t.Run("join tokens", func(t *testing.T) {
		before, err := swarm.JoinTokens(ctx, mgr)
		if err != nil {
			t.Fatal(err)
		}
		after, err := swarm.RotateJoinTokens(ctx, mgr, swarm.RoleWorker)
		if err != nil {
			t.Fatal(err)
		}
		if after.Worker == before.Worker || after.Manager != before.Manager || !strings.HasPrefix(after.Worker, "SWMTKN-") {
			t.Errorf("rotate worker: before %+v after %+v", before, after)
		}
		// A worker cannot answer swarm-wide questions.
		if _, err := swarm.Inspect(ctx, w1.Client); !cerrdefs.IsUnavailable(err) {
			t.Errorf("inspect on a worker: %v; want unavailable", err)
		}
		// Joining twice is refused by the engine.
		err = swarm.Join(ctx, w1.Client, swarm.JoinOptions{Token: after.Worker, Managers: []string{lab.Manager.Addr.String()}})
		if err == nil {
			t.Errorf("second join of %s succeeded", w1.Name)
		}
	})

	t.Run("node update", func(t *testing.T) {
		n, err := swarm.AddNodeLabels(ctx, mgr, w1.Name, map[string]string{"zone": "a", "disk": "ssd"})
		if err != nil || !maps.Equal(n.Labels, map[string]string{"zone": "a", "disk": "ssd"}) {
			t.Fatalf("add labels: %v %v", n.Labels, err)
		}
		if n, err = swarm.RemoveNodeLabels(ctx, mgr, w1.Name, "disk", "absent"); err != nil || !maps.Equal(n.Labels, map[string]string{"zone": "a"}) {
			t.Errorf("remove labels: %v %v", n.Labels, err)
		}
		if got, err := swarm.Nodes(ctx, mgr, swarm.NodeFilter{Labels: []string{"zone=a"}}); err != nil || len(got) != 1 || got[0].Hostname != w1.Name {
			t.Errorf("nodes with zone=a: %v %v", got, err)
		}
		if n, err = swarm.SetAvailability(ctx, mgr, w1.Name, swarm.AvailabilityPause); err != nil || n.Availability != swarm.AvailabilityPause {
			t.Errorf("pause: %v %v", n.Availability, err)
		}
		if n, err = swarm.SetAvailability(ctx, mgr, w1.Name, swarm.AvailabilityActive); err != nil || n.Availability != swarm.AvailabilityActive {
			t.Errorf("activate: %v %v", n.Availability, err)
		}
		v := n.Version
		if n, err = swarm.UpdateNode(ctx, mgr, w1.Name, swarm.NodeUpdate{AddLabels: map[string]string{"zone": "a"}}); err != nil || n.Version != v {
			t.Errorf("no-op update wrote: version %v -> %v, %v", v, n.Version, err)
		}
		if n, err = swarm.Promote(ctx, mgr, w1.Name); err != nil || n.Role != swarm.RoleManager {
			t.Fatalf("promote: %v %v", n.Role, err)
		}
		waitNode(t, ctx, mgr, w1.Name, func(n swarm.Node) bool { return n.ManagerStatus == "Reachable" })
		if n, err = swarm.Demote(ctx, mgr, w1.Name); err != nil || n.Role != swarm.RoleWorker {
			t.Fatalf("demote: %v %v", n.Role, err)
		}
		waitNode(t, ctx, mgr, w1.Name, func(n swarm.Node) bool { return n.ManagerStatus == "" })
	})

	t.Run("role!=manager places every task on workers", func(t *testing.T) {
		spec := sleeper(lab.Name+"-workers", image, 6)
		spec.TaskTemplate.Placement = &swarmtypes.Placement{Constraints: []string{"node.role!=manager"}}
		id := createService(t, ctx, mgr, spec)
		tasks := waitTasks(t, ctx, mgr, id, func(ts []swarmtypes.Task) bool { return running(ts) == 6 })
		for node, n := range perNode(tasks, names) {
			if node == lab.Manager.Name || node == "" {
				t.Errorf("%d tasks on %q", n, node)
			}
		}
	})

	t.Run("global runs one task per node", func(t *testing.T) {
		spec := sleeper(lab.Name+"-global", image, 0)
		spec.Mode = swarmtypes.ServiceMode{Global: &swarmtypes.GlobalService{}}
		id := createService(t, ctx, mgr, spec)
		tasks := waitTasks(t, ctx, mgr, id, func(ts []swarmtypes.Task) bool { return running(ts) == 4 })
		for _, n := range lab.Nodes() {
			if got := perNode(tasks, names)[n.Name]; got != 1 {
				t.Errorf("%s runs %d tasks; want 1", n.Name, got)
			}
		}
	})

	t.Run("max_replicas_per_node holds", func(t *testing.T) {
		spec := sleeper(lab.Name+"-max", image, 4)
		spec.TaskTemplate.Placement = &swarmtypes.Placement{Constraints: []string{"node.role!=manager"}, MaxReplicas: 1}
		id := createService(t, ctx, mgr, spec)
		tasks := waitTasks(t, ctx, mgr, id, func(ts []swarmtypes.Task) bool { return running(ts) == 3 && pending(ts) == 1 })
		for node, n := range perNode(tasks, names) {
			if n > 1 {
				t.Errorf("%s runs %d tasks; want at most 1", node, n)
			}
		}
	})

	t.Run("draining a worker moves its tasks", func(t *testing.T) {
		spec := sleeper(lab.Name+"-drain", image, 3)
		spec.TaskTemplate.Placement = &swarmtypes.Placement{Constraints: []string{"node.role!=manager"}}
		id := createService(t, ctx, mgr, spec)
		tasks := waitTasks(t, ctx, mgr, id, func(ts []swarmtypes.Task) bool { return running(ts) == 3 })
		if perNode(tasks, names)[w1.Name] == 0 {
			t.Fatalf("no task on %s before the drain: %v", w1.Name, perNode(tasks, names))
		}
		if _, err := swarm.SetAvailability(ctx, mgr, w1.Name, swarm.AvailabilityDrain); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { swarm.SetAvailability(context.Background(), mgr, w1.Name, swarm.AvailabilityActive) })
		waitTasks(t, ctx, mgr, id, func(ts []swarmtypes.Task) bool {
			return running(ts) == 3 && perNode(ts, names)[w1.Name] == 0
		})
	})

	t.Run("overlay carries traffic between nodes (dnsrr)", func(t *testing.T) {
		net := lab.Name + "-ov"
		if _, err := mgr.NetworkCreate(ctx, net, client.NetworkCreateOptions{Driver: "overlay", Attachable: true}); err != nil {
			t.Fatal(err)
		}
		srv := sleeper("web", image, 1)
		srv.TaskTemplate.ContainerSpec.Command = []string{"sh", "-c", "mkdir /w && echo hello-overlay > /w/index.html && exec httpd -f -p 8080 -h /w"}
		srv.TaskTemplate.Placement = &swarmtypes.Placement{Constraints: []string{"node.hostname==" + w2.Name}}
		srv.TaskTemplate.Networks = []swarmtypes.NetworkAttachmentConfig{{Target: net}}
		srv.EndpointSpec = &swarmtypes.EndpointSpec{Mode: swarmtypes.ResolutionModeDNSRR}
		srvID := createService(t, ctx, mgr, srv)
		srvTasks := waitTasks(t, ctx, mgr, srvID, func(ts []swarmtypes.Task) bool { return running(ts) == 1 })
		var addrs []netip.Prefix
		for _, a := range srvTasks[0].NetworksAttachments {
			if a.Network.Spec.Name == net {
				addrs = a.Addresses
			}
		}
		if len(addrs) != 1 || !netip.MustParsePrefix("10.77.0.0/16").Contains(addrs[0].Addr()) {
			t.Errorf("task address on %s: %v; want one in the lab's pool 10.77.0.0/16", net, addrs)
		}

		cl := sleeper(lab.Name+"-client", image, 1)
		cl.TaskTemplate.ContainerSpec.Command = []string{"sh", "-c",
			`i=0; while [ $i -lt 30 ]; do printf 'GET / HTTP/1.0\r\n\r\n' | nc web 8080 | grep -q hello-overlay && exit 0; i=$((i+1)); sleep 1; done; exit 1`}
		cl.TaskTemplate.Placement = &swarmtypes.Placement{Constraints: []string{"node.hostname==" + w3.Name}}
		cl.TaskTemplate.Networks = []swarmtypes.NetworkAttachmentConfig{{Target: net}}
		cl.TaskTemplate.RestartPolicy = &swarmtypes.RestartPolicy{Condition: swarmtypes.RestartPolicyConditionNone}
		clID := createService(t, ctx, mgr, cl)
		tasks := waitTasks(t, ctx, mgr, clID, func(ts []swarmtypes.Task) bool {
			return len(ts) == 1 && (ts[0].Status.State == swarmtypes.TaskStateComplete || ts[0].Status.State == swarmtypes.TaskStateFailed)
		})
		if tasks[0].Status.State != swarmtypes.TaskStateComplete {
			t.Errorf("client task on %s: %s %s", w3.Name, tasks[0].Status.State, tasks[0].Status.Err)
		}
	})

	t.Run("a stopped worker goes down and its tasks move", func(t *testing.T) {
		spec := sleeper(lab.Name+"-lost", image, 3)
		spec.TaskTemplate.Placement = &swarmtypes.Placement{Constraints: []string{"node.role!=manager"}}
		id := createService(t, ctx, mgr, spec)
		tasks := waitTasks(t, ctx, mgr, id, func(ts []swarmtypes.Task) bool { return running(ts) == 3 })
		if perNode(tasks, names)[w3.Name] == 0 {
			t.Fatalf("no task on %s: %v", w3.Name, perNode(tasks, names))
		}
		begin := time.Now()
		if _, err := host.ContainerStop(ctx, w3.ContainerID, client.ContainerStopOptions{}); err != nil {
			t.Fatal(err)
		}
		waitNode(t, ctx, mgr, w3.Name, func(n swarm.Node) bool { return n.Status == swarmtypes.NodeStateDown })
		t.Logf("%s down after %s", w3.Name, time.Since(begin).Round(time.Millisecond))
		waitTasks(t, ctx, mgr, id, func(ts []swarmtypes.Task) bool {
			return running(ts) == 3 && perNode(ts, names)[w3.Name] == 0
		})
		t.Logf("tasks rescheduled after %s", time.Since(begin).Round(time.Millisecond))
	})

	t.Run("leave and remove", func(t *testing.T) {
		if err := swarm.Leave(ctx, w2.Client, swarm.LeaveOptions{}); err != nil {
			t.Fatal(err)
		}
		waitNode(t, ctx, mgr, w2.Name, func(n swarm.Node) bool { return n.Status == swarmtypes.NodeStateDown })
		for _, n := range []*dind.Node{w2, w3} {
			if err := swarm.RemoveNode(ctx, mgr, n.NodeID, swarm.RemoveNodeOptions{}); err != nil {
				t.Errorf("remove %s: %v", n.Name, err)
			}
		}
		nodes, err := swarm.Nodes(ctx, mgr, swarm.NodeFilter{})
		if err != nil || len(nodes) != 2 {
			t.Errorf("nodes after removal: %d %v; want 2", len(nodes), err)
		}
		if _, err := swarm.InspectNode(ctx, mgr, w2.NodeID); !cerrdefs.IsNotFound(err) {
			t.Errorf("inspect removed node: %v; want not found", err)
		}
	})
	t.Run("join as manager, demote, leave, init a new swarm", func(t *testing.T) {
		token, err := swarm.JoinToken(ctx, mgr, swarm.RoleManager)
		if err != nil {
			t.Fatal(err)
		}
		err = swarm.Join(ctx, w2.Client, swarm.JoinOptions{Token: token, Managers: []string{lab.Manager.Addr.String()}, AdvertiseAddr: w2.Addr.String()})
		if err != nil {
			t.Fatal(err)
		}
		info, err := w2.Client.Info(ctx, client.InfoOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id := info.Info.Swarm.NodeID
		waitNode(t, ctx, mgr, id, func(n swarm.Node) bool { return n.Role == swarm.RoleManager && n.ManagerStatus == "Reachable" })
		if _, err := swarm.Demote(ctx, mgr, id); err != nil {
			t.Fatal(err)
		}
		waitNode(t, ctx, mgr, id, func(n swarm.Node) bool { return n.ManagerStatus == "" })
		if err := swarm.Leave(ctx, w2.Client, swarm.LeaveOptions{}); err != nil {
			t.Fatal(err)
		}
		res, err := swarm.Init(ctx, w2.Client, swarm.InitOptions{
			AdvertiseAddr:   w2.Addr.String(),
			DefaultAddrPool: []string{"10.123.0.0/16"},
			SubnetSize:      26,
			DataPathPort:    4790,
		})
		if err != nil {
			t.Fatal(err)
		}
		sw := res.Swarm
		if sw.ID == lab.SwarmID || res.NodeID == "" || sw.DataPathPort != 4790 || sw.SubnetSize != 26 ||
			len(sw.DefaultAddrPool) != 1 || sw.DefaultAddrPool[0].String() != "10.123.0.0/16" {
			t.Errorf("new swarm: id %s node %s port %d subnet %d pools %v", sw.ID, res.NodeID, sw.DataPathPort, sw.SubnetSize, sw.DefaultAddrPool)
		}
		if err := swarm.Leave(ctx, w2.Client, swarm.LeaveOptions{}); err == nil {
			t.Errorf("the last manager left without force")
		}
		if err := swarm.Leave(ctx, w2.Client, swarm.LeaveOptions{Force: true}); err != nil {
			t.Errorf("leave --force: %v", err)
		}
	})
}

// TestTwoLabs starts two small labs side by side and checks that a name in use is refused.
func TestTwoLabs(t *testing.T) {
	host := testenv.Engine(t)
	testenv.Image(t, host, fixtures.Dind)
	ctx := testenv.Context(t, 3*time.Minute)
	names := []string{testenv.Name(t, "laba"), testenv.Name(t, "labb")}
	labs := make([]*dind.Cluster, 2)
	errs := make([]error, 2)
	done := make(chan int)
	for i, name := range names {
		go func() {
			labs[i], errs[i] = dind.Start(ctx, host, testenv.LabImages(t, host, dind.Options{Name: name, Workers: 1}))
			done <- i
		}()
	}
	<-done
	<-done
	for i, lab := range labs {
		if lab != nil {
			t.Cleanup(func() {
				if err := lab.Close(context.Background()); err != nil {
					t.Error(err)
				}
				assertGone(t, host, lab.Name)
			})
			t.Logf("lab %s up in %s", lab.Name, lab.Elapsed.Round(time.Millisecond))
		}
		if errs[i] != nil {
			t.Fatalf("lab %s: %v", names[i], errs[i])
		}
	}
	if labs[0].SwarmID == labs[1].SwarmID || labs[0].Registry.HostAddr == labs[1].Registry.HostAddr {
		t.Errorf("labs share a swarm or a registry: %s %s", labs[0].Registry.HostAddr, labs[1].Registry.HostAddr)
	}
	for _, lab := range labs {
		nodes, err := swarm.Nodes(ctx, lab.Manager.Client, swarm.NodeFilter{})
		if err != nil || len(nodes) != 2 {
			t.Errorf("lab %s: %d nodes, %v; want 2", lab.Name, len(nodes), err)
		}
	}
	listed, err := dind.List(ctx, host)
	if err != nil || !slices.Contains(listed, names[0]) || !slices.Contains(listed, names[1]) {
		t.Errorf("List: %v, %v; want both labs", listed, err)
	}
	att, err := dind.Attach(ctx, host, names[1])
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	defer att.Detach()
	b := labs[1]
	if att.SwarmID != b.SwarmID || att.Registry != b.Registry || len(att.Workers) != 1 ||
		att.Manager.NodeID != b.Manager.NodeID || att.Workers[0].EngineHost != b.Workers[0].EngineHost || att.Privileged != b.Privileged {
		t.Errorf("Attach: %+v %+v; want %+v %+v", att, att.Manager, b, b.Manager)
	}
	if _, err := dind.Attach(ctx, host, names[1]+"-none"); !cerrdefs.IsNotFound(err) {
		t.Errorf("Attach a lab that does not exist: %v; want not found", err)
	}
	_, err = dind.Start(ctx, host, testenv.LabImages(t, host, dind.Options{Name: names[0]}))
	if !cerrdefs.IsConflict(err) {
		t.Errorf("start a lab whose name is in use: %v; want a conflict", err)
	}
}

func sleeper(name, image string, replicas uint64) swarmtypes.ServiceSpec {
	grace := time.Second
	return swarmtypes.ServiceSpec{
		Annotations: swarmtypes.Annotations{Name: name},
		TaskTemplate: swarmtypes.TaskSpec{
			ContainerSpec: &swarmtypes.ContainerSpec{Image: image, Command: []string{"sleep", "3600"}, StopGracePeriod: &grace},
		},
		Mode: swarmtypes.ServiceMode{Replicated: &swarmtypes.ReplicatedService{Replicas: &replicas}},
	}
}

func createService(t *testing.T, ctx context.Context, mgr *client.Client, spec swarmtypes.ServiceSpec) string {
	t.Helper()
	res, err := mgr.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec})
	if err != nil {
		t.Fatalf("create service %s: %v", spec.Name, err)
	}
	t.Cleanup(func() { mgr.ServiceRemove(context.Background(), res.ID, client.ServiceRemoveOptions{}) })
	return res.ID
}

// waitTasks polls the tasks of a service that should be running (or, for tasks that ran to
// an end, the latest ones) until ok says so, for at most a minute.
func waitTasks(t *testing.T, ctx context.Context, mgr *client.Client, service string, ok func([]swarmtypes.Task) bool) []swarmtypes.Task {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var tasks []swarmtypes.Task
	for time.Now().Before(deadline) && ctx.Err() == nil {
		res, err := mgr.TaskList(ctx, client.TaskListOptions{Filters: make(client.Filters).Add("service", service)})
		if err != nil {
			t.Fatalf("tasks of %s: %v", service, err)
		}
		tasks = current(res.Items)
		if ok(tasks) {
			return tasks
		}
		time.Sleep(250 * time.Millisecond)
	}
	var lines []string
	for _, tk := range tasks {
		lines = append(lines, fmt.Sprintf("slot %d node %s %s/%s %s %s", tk.Slot, tk.NodeID, tk.Status.State, tk.DesiredState, tk.Status.Message, tk.Status.Err))
	}
	t.Fatalf("tasks of %s did not converge:\n%s", service, strings.Join(lines, "\n"))
	return nil
}

// current keeps the tasks that should run, or, for a service with no such task, the newest
// task of each slot (or node, in global mode).
func current(all []swarmtypes.Task) []swarmtypes.Task {
	var out []swarmtypes.Task
	for _, tk := range all {
		if tk.DesiredState == swarmtypes.TaskStateRunning {
			out = append(out, tk)
		}
	}
	if len(out) > 0 {
		return out
	}
	newest := map[string]swarmtypes.Task{}
	for _, tk := range all {
		k := fmt.Sprint(tk.Slot, tk.NodeID)
		if tk.Slot != 0 {
			k = fmt.Sprint(tk.Slot)
		}
		if old, ok := newest[k]; !ok || tk.CreatedAt.After(old.CreatedAt) {
			newest[k] = tk
		}
	}
	return slices.Collect(maps.Values(newest))
}

func running(ts []swarmtypes.Task) int {
	n := 0
	for _, tk := range ts {
		if tk.Status.State == swarmtypes.TaskStateRunning {
			n++
		}
	}
	return n
}

func pending(ts []swarmtypes.Task) int {
	n := 0
	for _, tk := range ts {
		if tk.Status.State == swarmtypes.TaskStatePending {
			n++
		}
	}
	return n
}

// perNode counts the running tasks per node container name.
func perNode(ts []swarmtypes.Task, names map[string]string) map[string]int {
	out := map[string]int{}
	for _, tk := range ts {
		if tk.Status.State == swarmtypes.TaskStateRunning {
			out[names[tk.NodeID]]++
		}
	}
	return out
}

func waitNode(t *testing.T, ctx context.Context, mgr *client.Client, node string, ok func(swarm.Node) bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var n swarm.Node
	var err error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if n, err = swarm.InspectNode(ctx, mgr, node); err == nil && ok(n) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("node %s: %s %s %s %q, %v", node, n.Role, n.Status, n.Availability, n.ManagerStatus, err)
}

// TestStartFailsClean checks that a lab that fails half-way leaves nothing behind: once
// with a node image that is missing, once with one that never runs dockerd.
func TestStartFailsClean(t *testing.T) {
	host := testenv.Engine(t)
	busybox := testenv.Image(t, host, fixtures.Busybox)
	testenv.Image(t, host, fixtures.Registry)
	ctx := testenv.Context(t, 2*time.Minute)
	for _, image := range []string{"berth-fixtures/missing:none", busybox} {
		name := testenv.Name(t, "labfail")
		_, err := dind.Start(ctx, host, testenv.LabImages(t, host, dind.Options{Name: name, Workers: 1, Image: image, ReadyTimeout: 3 * time.Second}))
		if err == nil {
			t.Errorf("lab from %s started", image)
		}
		t.Logf("%s: %v", image, err)
		assertGone(t, host, name)
	}
}
