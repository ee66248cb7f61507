package visualize

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	swarmapi "github.com/moby/moby/api/types/swarm"

	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
)

// Snapshot is the placement of a swarm at one moment: what the page draws. It holds only
// what is safe to show: no environment value, secret or config data, command line or
// argument of any service or task ever gets into it.
type Snapshot struct {
	Nodes    []Node    `json:"nodes"`
	Services []Service `json:"services"`
	Tasks    []Task    `json:"tasks"`
	// Seq counts the changes the model has seen; a stream's change carries the Seq it leads to.
	Seq uint64 `json:"seq"`
	// Read is when the engine was last read.
	Read time.Time `json:"read"`
}

// Node is a swarm node as the page shows it.
type Node struct {
	ID            string            `json:"id"`
	Hostname      string            `json:"hostname"`
	Role          string            `json:"role"`         // manager or worker
	Availability  string            `json:"availability"` // active, pause or drain
	Status        string            `json:"status"`       // ready, down, unknown, disconnected
	Message       string            `json:"message,omitempty"`
	Addr          string            `json:"addr,omitempty"`
	Leader        bool              `json:"leader,omitempty"`
	EngineVersion string            `json:"engineVersion,omitempty"`
	Platform      string            `json:"platform,omitempty"` // os/arch
	CPUs          float64           `json:"cpus,omitempty"`
	MemoryBytes   int64             `json:"memoryBytes,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	EngineLabels  map[string]string `json:"engineLabels,omitempty"`
}

// Available reports whether the node takes tasks: ready and active. The page greys the
// others.
func (n Node) Available() bool {
	return n.Status == string(swarmapi.NodeStateReady) && n.Availability == string(swarmapi.NodeAvailabilityActive)
}

// Service is a swarm service as the page shows it.
type Service struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Stack string `json:"stack,omitempty"`
	// Image is the image reference without its digest.
	Image string `json:"image"`
	Mode  string `json:"mode"` // replicated, global, replicated-job, global-job
	// Wanted is the replica count of a replicated service, the number of eligible nodes'
	// tasks for a global one (the tasks whose desired state is running).
	Wanted        int               `json:"wanted"`
	Running       int               `json:"running"`
	Update        string            `json:"update,omitempty"` // the UpdateStatus state: updating, paused, completed, rollback_...
	UpdateMessage string            `json:"updateMessage,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	// Color is the service's colour on the page, the same everywhere: from its name alone.
	Color string `json:"color"`
}

// Task is a swarm task as the page shows it.
type Task struct {
	ID        string    `json:"id"`
	ServiceID string    `json:"serviceId"`
	Service   string    `json:"service"`
	Slot      int       `json:"slot,omitempty"` // 0 for a global service's task
	NodeID    string    `json:"nodeId,omitempty"`
	Desired   string    `json:"desired"`
	State     string    `json:"state"`
	Message   string    `json:"message,omitempty"`
	Error     string    `json:"error,omitempty"`
	ExitCode  int       `json:"exitCode,omitempty"`
	Since     time.Time `json:"since"`
	Image     string    `json:"image"`
	// Old marks a task of the service's previous spec during (or after) an update, shown
	// beside the new one of its slot.
	Old bool `json:"old,omitempty"`
}

// Name is the task's name on its card: service.slot as the Docker CLI prints it, or the
// service's name alone for a global service's task (its node is the column it is in).
func (t Task) Name() string {
	if t.Slot != 0 {
		return fmt.Sprintf("%s.%d", t.Service, t.Slot)
	}
	return t.Service
}

// Build turns what the engine lists into a Snapshot: pure, so recorded engine states test it.
// Of the tasks it keeps those the page shows (see keepTasks).
func Build(nodes []swarmapi.Node, services []swarmapi.Service, tasks []swarmapi.Task) Snapshot {
	var s Snapshot
	for _, n := range nodes {
		s.Nodes = append(s.Nodes, nodeOf(n))
	}
	slices.SortFunc(s.Nodes, func(a, b Node) int {
		// managers first, then by hostname: the page's column order
		return cmp.Or(cmp.Compare(roleRank(a.Role), roleRank(b.Role)), cmp.Compare(a.Hostname, b.Hostname), cmp.Compare(a.ID, b.ID))
	})
	byID := map[string]swarmapi.Service{}
	for _, svc := range services {
		byID[svc.ID] = svc
	}
	kept := keepTasks(tasks)
	running, wanted := map[string]int{}, map[string]int{}
	for _, t := range tasks {
		if t.Status.State == swarmapi.TaskStateRunning && t.DesiredState == swarmapi.TaskStateRunning {
			running[t.ServiceID]++
		}
		if t.DesiredState == swarmapi.TaskStateRunning {
			wanted[t.ServiceID]++
		}
	}
	for _, svc := range services {
		m := serviceOf(svc)
		m.Running = running[svc.ID]
		if r := svc.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
			m.Wanted = int(*r.Replicas)
		} else {
			m.Wanted = wanted[svc.ID]
		}
		s.Services = append(s.Services, m)
	}
	slices.SortFunc(s.Services, func(a, b Service) int { return cmp.Compare(a.Name, b.Name) })
	for _, t := range kept {
		svc, ok := byID[t.ServiceID]
		if !ok {
			continue // a task of a service removed since: the engine forgets it soon
		}
		s.Tasks = append(s.Tasks, taskOf(t, svc))
	}
	slices.SortFunc(s.Tasks, func(a, b Task) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Slot, b.Slot),
			cmp.Compare(a.NodeID, b.NodeID), a.Since.Compare(b.Since), cmp.Compare(a.ID, b.ID))
	})
	return s
}

func roleRank(role string) int {
	if role == string(swarmapi.NodeRoleManager) {
		return 0
	}
	return 1
}

func nodeOf(n swarmapi.Node) Node {
	d := n.Description
	m := Node{
		ID: n.ID, Hostname: d.Hostname, Role: string(n.Spec.Role), Availability: string(n.Spec.Availability),
		Status: string(n.Status.State), Message: n.Status.Message, Addr: n.Status.Addr,
		EngineVersion: d.Engine.EngineVersion, CPUs: float64(d.Resources.NanoCPUs) / 1e9,
		MemoryBytes: d.Resources.MemoryBytes, Labels: clean(n.Spec.Labels), EngineLabels: clean(d.Engine.Labels),
	}
	if d.Platform.OS != "" {
		m.Platform = d.Platform.OS + "/" + d.Platform.Architecture
	}
	if n.ManagerStatus != nil {
		m.Leader = n.ManagerStatus.Leader
	}
	return m
}

func serviceOf(svc swarmapi.Service) Service {
	m := Service{ID: svc.ID, Name: svc.Spec.Name, Stack: svc.Spec.Labels[stack.LabelNamespace],
		Mode: swarm.ModeOf(svc.Spec.Mode), Labels: clean(svc.Spec.Labels), Color: Color(svc.Spec.Name)}
	if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
		m.Image = imageTag(cs.Image)
	}
	if u := svc.UpdateStatus; u != nil {
		m.Update, m.UpdateMessage = string(u.State), u.Message
	}
	return m
}

func taskOf(t swarmapi.Task, svc swarmapi.Service) Task {
	m := Task{ID: t.ID, ServiceID: t.ServiceID, Service: svc.Spec.Name, Slot: t.Slot, NodeID: t.NodeID,
		Desired: string(t.DesiredState), State: string(t.Status.State), Message: t.Status.Message,
		Error: t.Status.Err, Since: t.Status.Timestamp.UTC(), Old: !sameSpec(t.Spec, svc.Spec.TaskTemplate)}
	if cs := t.Spec.ContainerSpec; cs != nil {
		m.Image = imageTag(cs.Image)
	}
	if c := t.Status.ContainerStatus; c != nil {
		m.ExitCode = c.ExitCode
	}
	return m
}

// sameSpec reports whether a task runs the service's current task template: swarm copies
// the template into each task it starts, so a task of the previous spec differs from it.
// Only the container spec and the force-update counter are compared; the engine fills in
// other parts (networks, resources) of the task's copy.
func sameSpec(task, current swarmapi.TaskSpec) bool {
	a, _ := json.Marshal(task.ContainerSpec)
	b, _ := json.Marshal(current.ContainerSpec)
	return string(a) == string(b) && task.ForceUpdate == current.ForceUpdate
}

// keepTasks picks the tasks worth a card: each that swarm wants up or that is still up (the
// old task of a rolling update is both shutting-down and running), and per slot the newest
// failed or rejected one, so the error that made swarm retry stays visible while its
// replacement starts (unless that replacement failed too and shows its own error). Older
// history (the engine keeps five tasks per slot) is left out.
func keepTasks(tasks []swarmapi.Task) []swarmapi.Task {
	var out []swarmapi.Task
	newestFailed := map[string]swarmapi.Task{}
	failing := map[string]bool{} // slots whose kept task shows an error already
	for _, t := range tasks {
		if wanted(t) || live(t.Status.State) {
			out = append(out, t)
			failing[slotKey(t)] = failing[slotKey(t)] || failed(t.Status.State)
			continue
		}
		if failed(t.Status.State) {
			key := slotKey(t)
			if old, ok := newestFailed[key]; !ok || t.Status.Timestamp.After(old.Status.Timestamp) {
				newestFailed[key] = t
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(newestFailed)) {
		if !failing[k] {
			out = append(out, newestFailed[k])
		}
	}
	return out
}

func failed(s swarmapi.TaskState) bool {
	return s == swarmapi.TaskStateFailed || s == swarmapi.TaskStateRejected
}

func wanted(t swarmapi.Task) bool {
	switch t.DesiredState {
	case swarmapi.TaskStateRunning, swarmapi.TaskStateReady, swarmapi.TaskStateAccepted:
		return true
	case swarmapi.TaskStateComplete: // a job's task
		return true
	}
	return false
}

// live reports whether a task in state s may still hold a container: not yet terminal.
func live(s swarmapi.TaskState) bool {
	switch s {
	case swarmapi.TaskStateComplete, swarmapi.TaskStateShutdown, swarmapi.TaskStateFailed,
		swarmapi.TaskStateRejected, swarmapi.TaskStateRemove, swarmapi.TaskStateOrphaned:
		return false
	}
	return true
}

func slotKey(t swarmapi.Task) string {
	if t.Slot != 0 {
		return fmt.Sprintf("%s/%d", t.ServiceID, t.Slot)
	}
	return t.ServiceID + "/" + t.NodeID
}

// imageTag drops the digest swarm pins an image reference to: "repo:tag@sha256:…" → "repo:tag".
func imageTag(ref string) string {
	if name, _, ok := strings.Cut(ref, "@"); ok {
		return name
	}
	return ref
}

// clean returns m, or nil when empty, so that an empty map and none compare equal.
func clean(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// Color is the colour of the service called name: a hue from a hash of the name, so the same
// service has the same colour on every page and after every restart.
func Color(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	sum := h.Sum32()
	// Three lightness steps keep services whose hues come out close apart.
	hue := (sum % 360)
	light := 38 + (sum/360)%3*7
	return fmt.Sprintf("hsl(%d 65%% %d%%)", hue, light)
}
