package swarm_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"
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
	return watchWith(t, cli, swarm.WatchOptions{Timeout: timeout, Stable: time.Second}, ids...)
}

func watchWith(t *testing.T, cli *client.Client, opts swarm.WatchOptions, ids ...string) ([]swarm.Progress, error) {
	var seen []swarm.Progress
	for p, err := range swarm.Watch(testenv.Context(t, 2*time.Minute), cli, ids, opts) {
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
		start := time.Now()
		_, err := watchWith(t, cli, swarm.WatchOptions{Timeout: time.Minute, PendingGrace: 3 * time.Second}, id)
		var ce *swarm.ConvergeError
		if !errors.As(err, &ce) || ce.Kind != swarm.FailureUnschedulable || ce.Terminal != swarm.TerminalPending ||
			!strings.Contains(ce.Reason, "no suitable node") {
			t.Fatalf("want unschedulable, got %v", err)
		}
		if d := time.Since(start); d < 3*time.Second {
			t.Errorf("failed after %s, within the grace period", d)
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

// Each rule that makes a failure final, on the real swarm: the restart policy will not restart
// the task (condition none, max attempts used up), a slot crash-loops, the update's failure
// action fires (pause, rollback).
func TestWatchTerminalRules(t *testing.T) {
	cli := testenv.Swarm(t)
	_, busybox := testenv.Registry(t, cli, fixtures.Busybox)
	crash := []string{"sh", "-c", "echo crash-line-7; exit 7"}
	noLoop := swarm.WatchOptions{Timeout: time.Minute, Stable: time.Second, CrashLoop: -1}
	wantCrash := func(t *testing.T, err error, rule swarm.Terminal) *swarm.ConvergeError {
		t.Helper()
		var ce *swarm.ConvergeError
		if !errors.As(err, &ce) || ce.Kind != swarm.FailureCrashed || ce.Terminal != rule || ce.ExitCode == nil || *ce.ExitCode != 7 {
			t.Fatalf("want a crash with exit code 7 by %q, got %v", rule, err)
		}
		if !slices.Contains(ce.Logs, "crash-line-7") {
			t.Errorf("logs %q lack the container's output", ce.Logs)
		}
		return ce
	}

	t.Run("restart condition none", func(t *testing.T) {
		t.Parallel()
		s := spec(testenv.Name(t, "w"), busybox, crash)
		s.TaskTemplate.RestartPolicy = &swarmtypes.RestartPolicy{Condition: swarmtypes.RestartPolicyConditionNone}
		_, err := watchWith(t, cli, noLoop, createService(t, cli, s))
		if ce := wantCrash(t, err, swarm.TerminalNoRestart); ce.Failures != 1 {
			t.Errorf("failures %d, want 1", ce.Failures)
		}
	})

	t.Run("max attempts", func(t *testing.T) {
		t.Parallel()
		s := spec(testenv.Name(t, "w"), busybox, crash)
		s.TaskTemplate.RestartPolicy.MaxAttempts = ptr(uint64(2))
		_, err := watchWith(t, cli, noLoop, createService(t, cli, s))
		if ce := wantCrash(t, err, swarm.TerminalMaxAttempts); ce.Failures != 3 {
			t.Errorf("failures %d, want 3 (the first run and 2 restarts)", ce.Failures)
		}
	})

	t.Run("crash loop", func(t *testing.T) {
		t.Parallel()
		s := spec(testenv.Name(t, "w"), busybox, crash) // on-failure, no max: swarm would restart forever
		_, err := watchWith(t, cli, swarm.WatchOptions{Timeout: time.Minute, CrashLoop: 2, CrashWindow: 30 * time.Second}, createService(t, cli, s))
		if ce := wantCrash(t, err, swarm.TerminalCrashLoop); ce.Failures < 2 {
			t.Errorf("failures %d, want 2 or more", ce.Failures)
		}
	})

	for _, action := range []swarmtypes.FailureAction{swarmtypes.UpdateFailureActionPause, swarmtypes.UpdateFailureActionRollback} {
		t.Run("update failure action "+string(action), func(t *testing.T) {
			t.Parallel()
			s := spec(testenv.Name(t, "w"), busybox, []string{"sleep", "3600"})
			s.UpdateConfig = &swarmtypes.UpdateConfig{Parallelism: 1, FailureAction: action, Monitor: 5 * time.Second}
			s.RollbackConfig = &swarmtypes.UpdateConfig{Parallelism: 1, Monitor: time.Second}
			id := createService(t, cli, s)
			if _, err := swarm.Wait(testenv.Context(t, time.Minute), cli, []string{id}, swarm.WatchOptions{Stable: -1, Timeout: time.Minute}); err != nil {
				t.Fatal(err)
			}
			since := time.Now().Add(-time.Second)
			ctx := testenv.Context(t, time.Minute)
			cur, err := cli.ServiceInspect(ctx, id, client.ServiceInspectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			bad := cur.Service.Spec
			bad.TaskTemplate.ContainerSpec.Args = crash
			if _, err := cli.ServiceUpdate(ctx, id, client.ServiceUpdateOptions{Version: cur.Service.Version, Spec: bad}); err != nil {
				t.Fatal(err)
			}
			_, err = watchWith(t, cli, swarm.WatchOptions{Since: since, Timeout: time.Minute, CrashLoop: -1}, id)
			want := map[swarmtypes.FailureAction]swarm.FailureKind{swarmtypes.UpdateFailureActionPause: swarm.FailurePaused,
				swarmtypes.UpdateFailureActionRollback: swarm.FailureRolledBack}[action]
			var ce *swarm.ConvergeError
			if !errors.As(err, &ce) || ce.Kind != want || ce.Terminal != swarm.TerminalFailureAction {
				t.Fatalf("want %s by the failure action, got %v", want, err)
			}
		})
	}
}

// A service that fails once and then runs is not a failure: swarm restarts it.
func TestWatchRecovers(t *testing.T) {
	cli := testenv.Swarm(t)
	_, busybox := testenv.Registry(t, cli, fixtures.Busybox)
	// The first run leaves a mark in a volume and crashes; the restart finds it and stays up.
	s := spec(testenv.Name(t, "w"), busybox, []string{"sh", "-c", "if [ -e /data/once ]; then exec sleep 3600; fi; touch /data/once; exit 3"})
	s.TaskTemplate.ContainerSpec.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: testenv.Name(t, "vol"), Target: "/data"}}
	id := createService(t, cli, s)
	t.Cleanup(func() {
		cli.VolumeRemove(context.Background(), s.TaskTemplate.ContainerSpec.Mounts[0].Source, client.VolumeRemoveOptions{Force: true})
	})
	if _, err := watchWith(t, cli, swarm.WatchOptions{Timeout: time.Minute, Stable: 2 * time.Second}, id); err != nil {
		t.Fatalf("a service that crashed once and recovered: %v", err)
	}
	tasks, err := cli.TaskList(testenv.Context(t, time.Minute), client.TaskListOptions{Filters: make(client.Filters).Add("service", id)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(tasks.Items, func(t swarmtypes.Task) bool { return t.Status.State == swarmtypes.TaskStateFailed }) {
		t.Errorf("the first run did not fail: the test proved nothing (%d tasks)", len(tasks.Items))
	}
}
