package cron

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/berthdev/berth"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
)

// ServiceTask runs a swarm service again on each run, talking to the Engine API directly:
//
//   - a job-mode service (replicated-job or global-job) is re-run with a forced update, which
//     starts a new job iteration, as swarm-cronjob does;
//   - a replicated service is scaled to Replicas (with a forced update) and, once its new tasks
//     have ended, back to 0.
//
// With Spec set, the service is created on the first run when it does not exist (mode
// replicated-job when Spec names no mode); that first creation is the first execution. The run
// waits for the new tasks to end; the exit code is the first non-zero exit code of a task, and
// the tasks' logs are captured. A cancelled or timed-out run scales a replicated service back
// to 0; a job iteration in progress cannot be stopped through the API and is left to finish.
type ServiceTask struct {
	Service  string             // the service's name or ID (Spec.Name when empty)
	Spec     *swarm.ServiceSpec // optional: created on the first run when the service is missing
	Replicas uint64             // replicated services: how many tasks a run starts (1 when 0)
	// Poll is how often the run checks its tasks (500ms when 0).
	Poll time.Duration
}

// Validate checks the task's fields.
func (t *ServiceTask) Validate() error {
	var p berth.Problems
	if t.name() == "" {
		p.Add("service", "missing; set Service (a name or ID) or Spec with a Name")
	}
	if t.Spec != nil && t.Spec.TaskTemplate.ContainerSpec == nil {
		p.Add("spec/task-template/container-spec", "missing; a created service needs a container spec with an image")
	}
	if t.Spec != nil && t.Spec.Mode.Global != nil {
		p.Add("spec/mode", "global services run continuously; use replicated-job, global-job or replicated")
	}
	return p.Err()
}

func (t *ServiceTask) name() string {
	if t.Service != "" {
		return t.Service
	}
	if t.Spec != nil {
		return t.Spec.Name
	}
	return ""
}

// Run runs the service once; see ServiceTask.
func (t *ServiceTask) Run(ctx context.Context, eng Engine, stdout, stderr io.Writer) (int, error) {
	svc, created, err := t.service(ctx, eng)
	if err != nil {
		return -1, err
	}
	if svc.Spec.Mode.Replicated != nil {
		// Scale back to 0 however the run ends, even when the scale-up request was cut short.
		defer t.scale(context.WithoutCancel(ctx), eng, svc.ID, 0)
	}
	before := map[string]bool{}
	if !created {
		if before, err = taskIDs(ctx, eng, svc.ID); err != nil {
			return -1, err
		}
		if svc, err = t.trigger(ctx, eng, svc); err != nil {
			return -1, err
		}
	}
	tasks, err := t.await(ctx, eng, svc, before)
	copyTaskLogs(ctx, eng, tasks, stdout, stderr)
	if err != nil {
		return -1, err
	}
	return exitCode(tasks)
}

// service finds the service, creating it from Spec when missing.
func (t *ServiceTask) service(ctx context.Context, eng Engine) (swarm.Service, bool, error) {
	got, err := eng.ServiceInspect(ctx, t.name(), client.ServiceInspectOptions{})
	switch {
	case err == nil:
		return got.Service, false, nil
	case !cerrdefs.IsNotFound(err) || t.Spec == nil:
		return swarm.Service{}, false, fmt.Errorf("service %s: %w", t.name(), err)
	}
	spec := *t.Spec
	if spec.Mode == (swarm.ServiceMode{}) {
		spec.Mode.ReplicatedJob = &swarm.ReplicatedJob{}
	}
	if err := jobModeSupported(eng, spec.Mode); err != nil {
		return swarm.Service{}, false, err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout) // see ContainerTask.Run
	res, err := eng.ServiceCreate(cctx, client.ServiceCreateOptions{Spec: spec})
	cancel()
	if err != nil {
		return swarm.Service{}, false, fmt.Errorf("create service %s: %w", spec.Name, err)
	}
	got, err = eng.ServiceInspect(ctx, res.ID, client.ServiceInspectOptions{})
	if err != nil {
		return swarm.Service{}, false, fmt.Errorf("service %s: %w", spec.Name, err)
	}
	return got.Service, true, nil
}

// trigger starts a new execution: a forced update (and, for replicated services, the scale-up).
func (t *ServiceTask) trigger(ctx context.Context, eng Engine, svc swarm.Service) (swarm.Service, error) {
	spec := svc.Spec
	spec.TaskTemplate.ForceUpdate++
	if spec.Mode.Replicated != nil {
		n := max(t.Replicas, 1)
		spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &n}
	}
	if _, err := eng.ServiceUpdate(ctx, svc.ID, client.ServiceUpdateOptions{Version: svc.Version, Spec: spec}); err != nil {
		return svc, fmt.Errorf("update service %s: %w", spec.Name, err)
	}
	got, err := eng.ServiceInspect(ctx, svc.ID, client.ServiceInspectOptions{})
	if err != nil {
		return svc, fmt.Errorf("service %s: %w", spec.Name, err)
	}
	return got.Service, nil
}

func (t *ServiceTask) scale(ctx context.Context, eng Engine, id string, n uint64) {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	got, err := eng.ServiceInspect(ctx, id, client.ServiceInspectOptions{})
	if err != nil || got.Service.Spec.Mode.Replicated == nil {
		return
	}
	spec := got.Service.Spec
	spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &n}
	eng.ServiceUpdate(ctx, id, client.ServiceUpdateOptions{Version: got.Service.Version, Spec: spec})
}

// expected is how many tasks of one execution must end.
func (t *ServiceTask) expected(svc swarm.Service) int {
	m := svc.Spec.Mode
	switch {
	case m.ReplicatedJob != nil:
		if m.ReplicatedJob.TotalCompletions != nil {
			return int(*m.ReplicatedJob.TotalCompletions)
		}
		if m.ReplicatedJob.MaxConcurrent != nil {
			return int(*m.ReplicatedJob.MaxConcurrent)
		}
		return 1
	case m.Replicated != nil:
		return int(max(t.Replicas, 1))
	}
	return 1 // global job: at least one node
}

// await polls the service's tasks that are not in before until the expected number ended.
func (t *ServiceTask) await(ctx context.Context, eng Engine, svc swarm.Service, before map[string]bool) ([]swarm.Task, error) {
	poll := t.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	want := t.expected(svc)
	for {
		list, err := eng.TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", svc.ID)})
		if err != nil {
			return nil, fmt.Errorf("tasks of %s: %w", svc.Spec.Name, err)
		}
		var fresh []swarm.Task
		ended := 0
		for _, task := range list.Items {
			if before[task.ID] {
				continue
			}
			fresh = append(fresh, task)
			if terminal(task.Status.State) {
				ended++
			}
		}
		if ended >= want {
			return fresh, nil
		}
		select {
		case <-ctx.Done():
			return fresh, context.Cause(ctx)
		case <-time.After(poll):
		}
	}
}

func terminal(s swarm.TaskState) bool {
	switch s {
	case swarm.TaskStateComplete, swarm.TaskStateFailed, swarm.TaskStateRejected, swarm.TaskStateShutdown, swarm.TaskStateOrphaned, swarm.TaskStateRemove:
		return true
	}
	return false
}

func taskIDs(ctx context.Context, eng Engine, service string) (map[string]bool, error) {
	list, err := eng.TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", service)})
	if err != nil {
		return nil, fmt.Errorf("tasks of %s: %w", service, err)
	}
	ids := map[string]bool{}
	for _, t := range list.Items {
		ids[t.ID] = true
	}
	return ids, nil
}

// exitCode returns the first non-zero exit code among tasks, and an error for a task that
// failed without one (rejected: no such image, no suitable node).
func exitCode(tasks []swarm.Task) (int, error) {
	for _, t := range tasks {
		if t.Status.State == swarm.TaskStateComplete {
			continue
		}
		if cs := t.Status.ContainerStatus; cs != nil && cs.ExitCode != 0 {
			return cs.ExitCode, nil
		}
		return -1, errors.New("task " + t.ID + " " + string(t.Status.State) + ": " + t.Status.Err)
	}
	return 0, nil
}

func copyTaskLogs(ctx context.Context, eng Engine, tasks []swarm.Task, stdout, stderr io.Writer) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	for _, t := range tasks {
		logs, err := eng.TaskLogs(lctx, t.ID, client.TaskLogsOptions{ShowStdout: true, ShowStderr: true})
		if err != nil {
			continue
		}
		stdcopy.StdCopy(stdout, stderr, logs)
		logs.Close()
	}
}

// jobModeSupported refuses job modes on engines older than API 1.41, which would drop them.
func jobModeSupported(eng Engine, mode swarm.ServiceMode) error {
	v, ok := eng.(interface{ ClientVersion() string })
	if !ok || mode.ReplicatedJob == nil && mode.GlobalJob == nil || v.ClientVersion() == "" {
		return nil
	}
	if versions.LessThan(v.ClientVersion(), "1.41") {
		return berth.Invalid("spec/mode", "job services (replicated-job, global-job) need Engine API 1.41; this engine speaks %s", v.ClientVersion())
	}
	return nil
}
