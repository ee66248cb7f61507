package ingress_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/ingress"
)

// fakeEngine is a state machine for Watch: services and tasks that the test changes, and an
// event stream it feeds. No Engine API is mocked beyond what Watch reads.
type fakeEngine struct {
	mu           sync.Mutex
	services     []swarmapi.Service
	tasks        []swarmapi.Task
	events       chan events.Message
	serviceReads atomic.Int64
	taskReads    atomic.Int64
}

func (f *fakeEngine) ServiceList(context.Context, client.ServiceListOptions) (client.ServiceListResult, error) {
	f.serviceReads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return client.ServiceListResult{Items: append([]swarmapi.Service(nil), f.services...)}, nil
}

func (f *fakeEngine) TaskList(context.Context, client.TaskListOptions) (client.TaskListResult, error) {
	f.taskReads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return client.TaskListResult{Items: append([]swarmapi.Task(nil), f.tasks...)}, nil
}

func (f *fakeEngine) NetworkInspect(_ context.Context, n string, _ client.NetworkInspectOptions) (client.NetworkInspectResult, error) {
	return client.NetworkInspectResult{Network: network.Inspect{Network: network.Network{ID: n, Name: n}}}, nil
}

func (f *fakeEngine) Events(context.Context, client.EventsListOptions) client.EventsResult {
	return client.EventsResult{Messages: f.events, Err: make(chan error)}
}

// Watch reads services again only on an event, and tasks on its interval: a task whose
// desired state turns to shutdown leaves within an interval, a new service comes with its
// event.
func TestWatch(t *testing.T) {
	run, shut := swarmapi.TaskStateRunning, swarmapi.TaskStateShutdown
	f := &fakeEngine{events: make(chan events.Message),
		services: []swarmapi.Service{service("s1", "echo", map[string]string{ingress.LabelPort: "80"}, nil, "web")},
		tasks:    []swarmapi.Task{task("t1", "s1", 1, run, run, "web", "10.1.0.5/24"), task("t2", "s1", 2, run, run, "web", "10.1.0.6/24")},
	}
	snaps := make(chan ingress.Snapshot, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ingress.Watch(ctx, f, []string{"web"}, 20*time.Millisecond, func(s ingress.Snapshot) { snaps <- s }, func(err error) { t.Error(err) })
	next := func() ingress.Snapshot {
		select {
		case s := <-snaps:
			return s
		case <-time.After(2 * time.Second):
			t.Fatal("no snapshot")
		}
		return ingress.Snapshot{}
	}
	if s := next(); len(s.Endpoints["echo"]) != 2 {
		t.Fatalf("first snapshot %+v", s)
	}
	f.mu.Lock()
	f.tasks[1].DesiredState = shut
	f.mu.Unlock()
	if s := next(); len(s.Endpoints["echo"]) != 1 || s.Endpoints["echo"][0].Task != "t1" {
		t.Fatalf("after t2's shutdown: %+v", s.Endpoints)
	}
	time.Sleep(100 * time.Millisecond)
	if n := f.serviceReads.Load(); n != 1 {
		t.Errorf("services read %d times without an event; want 1", n)
	}
	if n := f.taskReads.Load(); n < 3 {
		t.Errorf("tasks read %d times in 5 intervals", n)
	}
	f.mu.Lock()
	f.services = append(f.services, service("s2", "api", map[string]string{ingress.LabelPort: "81", ingress.LabelPath: "/api"}, nil, "web"))
	f.mu.Unlock()
	f.events <- events.Message{Type: events.ServiceEventType, Action: "create"}
	if s := next(); len(s.Routes) != 2 {
		t.Errorf("after the create event: routes %+v", s.Routes)
	}
	if n := f.serviceReads.Load(); n != 2 {
		t.Errorf("services read %d times after one event; want 2", n)
	}
}
