package swarm_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/swarm"
)

// createService creates a service from a raw spec and removes it when the test ends.
func createService(t *testing.T, cli *client.Client, spec swarmtypes.ServiceSpec) string {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	res, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec})
	if err != nil {
		t.Fatalf("create service %s: %v", spec.Name, err)
	}
	t.Cleanup(func() { testenv.RemoveService(cli, spec.Name) })
	return res.ID
}

func spec(name, image string, args []string) swarmtypes.ServiceSpec {
	one := uint64(1)
	return swarmtypes.ServiceSpec{
		Annotations: swarmtypes.Annotations{Name: name},
		TaskTemplate: swarmtypes.TaskSpec{
			ContainerSpec: &swarmtypes.ContainerSpec{Image: image, Args: args, StopGracePeriod: ptr(time.Second)},
			RestartPolicy: &swarmtypes.RestartPolicy{Condition: swarmtypes.RestartPolicyConditionOnFailure, Delay: ptr(200 * time.Millisecond)},
		},
		Mode: swarmtypes.ServiceMode{Replicated: &swarmtypes.ReplicatedService{Replicas: &one}},
	}
}

func ptr[T any](v T) *T { return &v }

func watch(t *testing.T, cli *client.Client, timeout time.Duration, ids ...string) ([]swarm.Progress, error) {
	var seen []swarm.Progress
	for p, err := range swarm.Watch(testenv.Context(t, 2*time.Minute), cli, ids, swarm.WatchOptions{Timeout: timeout, Stable: time.Second}) {
		if err != nil {
			return seen, err
		}
		seen = append(seen, p)
	}
	return seen, nil
}

func TestWatch(t *testing.T) {
	cli := testenv.Swarm(t)
	_, busybox := testenv.Registry(t, cli, fixtures.Busybox)

	t.Run("converges", func(t *testing.T) {
		t.Parallel()
		s := spec(testenv.Name(t, "w"), busybox, []string{"sleep", "3600"})
		s.Mode.Replicated.Replicas = ptr(uint64(2))
		id := createService(t, cli, s)
		job := spec(testenv.Name(t, "job"), busybox, []string{"true"})
		job.Mode = swarmtypes.ServiceMode{ReplicatedJob: &swarmtypes.ReplicatedJob{TotalCompletions: ptr(uint64(2))}}
		job.TaskTemplate.RestartPolicy = nil
		jobID := createService(t, cli, job)
		seen, err := watch(t, cli, time.Minute, id, jobID)
		if err != nil {
			t.Fatal(err)
		}
		last := map[string]swarm.Progress{}
		for _, p := range seen {
			last[p.ServiceID] = p
		}
		if p := last[id]; p.Phase != swarm.PhaseConverged || p.Running != 2 || p.Desired != 2 {
			t.Errorf("service: last progress %v", p)
		}
		if p := last[jobID]; p.Phase != swarm.PhaseConverged || p.Completed != 2 {
			t.Errorf("job: last progress %v", p)
		}
		if !slices.ContainsFunc(seen, func(p swarm.Progress) bool { return p.Phase == swarm.PhaseSettling }) {
			t.Errorf("never saw the stability period: %v", seen)
		}
	})

	t.Run("missing image fails fast naming it", func(t *testing.T) {
		t.Parallel()
		missing := strings.Replace(busybox, "berth-test/fixture:1", "berth-test/no-such-image:1", 1)
		id := createService(t, cli, spec(testenv.Name(t, "w"), missing, nil))
		_, err := watch(t, cli, time.Minute, id)
		var ce *swarm.ConvergeError // a rejection, not a timeout: the watch failed fast
		if !errors.As(err, &ce) || ce.Kind != swarm.FailureRejected || !strings.Contains(err.Error(), "no-such-image") {
			t.Fatalf("want a rejection naming the image, got %v", err)
		}
	})

	t.Run("unsatisfiable constraint", func(t *testing.T) {
		t.Parallel()
		s := spec(testenv.Name(t, "w"), busybox, []string{"sleep", "3600"})
		s.TaskTemplate.Placement = &swarmtypes.Placement{Constraints: []string{"node.labels.berth-test-none==x"}}
		id := createService(t, cli, s)
		_, err := watch(t, cli, time.Minute, id)
		var ce *swarm.ConvergeError
		if !errors.As(err, &ce) || ce.Kind != swarm.FailureUnschedulable || !strings.Contains(ce.Reason, "no suitable node") {
			t.Fatalf("want unschedulable, got %v", err)
		}
	})

	t.Run("crashing container reports exit code and logs", func(t *testing.T) {
		t.Parallel()
		id := createService(t, cli, spec(testenv.Name(t, "w"), busybox, []string{"sh", "-c", "echo crash-line-42; exit 7"}))
		_, err := watch(t, cli, time.Minute, id)
		var ce *swarm.ConvergeError
		if !errors.As(err, &ce) || ce.Kind != swarm.FailureCrashed || ce.ExitCode == nil || *ce.ExitCode != 7 {
			t.Fatalf("want a crash with exit code 7, got %v", err)
		}
		if !slices.Contains(ce.Logs, "crash-line-42") {
			t.Errorf("logs %q lack the container's output", ce.Logs)
		}
		if !errors.Is(err, swarm.ErrNotConverged) {
			t.Error("not ErrNotConverged")
		}
	})

	t.Run("scaled to zero converges at once", func(t *testing.T) {
		t.Parallel()
		s := spec(testenv.Name(t, "w"), busybox, []string{"sleep", "3600"})
		s.Mode.Replicated.Replicas = ptr(uint64(0))
		id := createService(t, cli, s)
		// converged within the 30 s timeout although Stable is an hour: at once
		_, err := swarm.Wait(testenv.Context(t, time.Minute), cli, []string{id}, swarm.WatchOptions{Stable: time.Hour, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatalf("zero replicas: %v", err)
		}
	})

	t.Run("timeout names what it last saw", func(t *testing.T) {
		t.Parallel()
		id := createService(t, cli, spec(testenv.Name(t, "w"), busybox, []string{"sleep", "3600"}))
		_, err := swarm.Wait(testenv.Context(t, time.Minute), cli, []string{id}, swarm.WatchOptions{Timeout: 300 * time.Millisecond, Stable: time.Hour})
		var ce *swarm.ConvergeError
		if !errors.As(err, &ce) || ce.Kind != swarm.FailureTimeout || !strings.Contains(ce.Reason, "last observed") {
			t.Fatalf("want a timeout, got %v", err)
		}
	})
}

// An engine event of a watched service (here an update) makes Watch look again at once, without
// waiting for the next interval.
func TestWatchWakesOnServiceEvents(t *testing.T) {
	cli := testenv.Swarm(t)
	_, busybox := testenv.Registry(t, cli, fixtures.Busybox)
	name := testenv.Name(t, "ev")
	id := createService(t, cli, spec(name, busybox, []string{"sleep", "3600"}))
	go func() {
		// Once the task has had time to start, touch the service: a label change makes an
		// "update" event and starts no new task.
		time.Sleep(3 * time.Second)
		ctx := context.Background()
		res, err := cli.ServiceInspect(ctx, id, client.ServiceInspectOptions{})
		if err != nil {
			return
		}
		s := res.Service.Spec
		s.Labels = map[string]string{"touched": "yes"}
		cli.ServiceUpdate(ctx, id, client.ServiceUpdateOptions{Version: res.Service.Version, Spec: s})
	}()
	// converged within the 30 s timeout although the interval is an hour: on the event
	_, err := swarm.Wait(testenv.Context(t, time.Minute), cli, []string{id},
		swarm.WatchOptions{Interval: time.Hour, Stable: -1, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("watch with an hour-long interval did not converge on the service's event: %v", err)
	}
}
