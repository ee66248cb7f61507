package cron

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Labels that declare jobs on containers and services (WithLabels).
const (
	LabelSchedule = berth.LabelPrefix + "cron.schedule" // required: a cron expression
	LabelCommand  = berth.LabelPrefix + "cron.command"  // containers: the command, run with sh -c in the container
	LabelOverlap  = berth.LabelPrefix + "cron.overlap"  // skip (default), allow, replace
	LabelTimeout  = berth.LabelPrefix + "cron.timeout"  // a Go duration such as 30s or 5m
	LabelReplicas = berth.LabelPrefix + "cron.replicas" // replicated services: tasks per run (1 by default)

	// The labels of crazy-max/swarm-cronjob, understood on services.
	SwarmCronjobEnable      = "swarm.cronjob.enable"       // true to schedule the service
	SwarmCronjobSchedule    = "swarm.cronjob.schedule"     // a cron expression
	SwarmCronjobSkipRunning = "swarm.cronjob.skip-running" // true: skip while running; false: allow
	SwarmCronjobReplicas    = "swarm.cronjob.replicas"     // replicated services: tasks per run
)

// swarm-cronjob labels that berth accepts and ignores (its registry handling).
var swarmCronjobIgnored = []string{"swarm.cronjob.registry-auth", "swarm.cronjob.query-registry"}

// Sources of jobs.
const (
	SourceLabels = "labels"
	SourceFile   = "file"
)

// LabelOptions configures the label watcher (WithLabels).
type LabelOptions struct {
	// Reconcile is the period of the full reconcile beside engine events (30s by default).
	Reconcile time.Duration
}

// WithLabels makes Run schedule jobs declared by labels: a running container labelled
// berth.cron.schedule and berth.cron.command gets the command exec'd in it on schedule (job
// "container/NAME"); a service labelled berth.cron.schedule, or swarm.cronjob.enable=true and
// swarm.cronjob.schedule, is run again on schedule (job "service/NAME", see ServiceTask).
// berth.cron.overlap and berth.cron.timeout apply to both. Labelled objects are picked up from
// engine events and a periodic full reconcile, and dropped when they go away. A labelled object
// with bad labels is reported as a JobInvalid event and never stops the others.
func WithLabels(o LabelOptions) Option {
	return func(cfg *config) error {
		if o.Reconcile < 0 {
			return berth.Invalid("cron/labels/reconcile", "%s is negative", o.Reconcile)
		}
		if o.Reconcile == 0 {
			o.Reconcile = 30 * time.Second
		}
		cfg.labels = &o
		return nil
	}
}

// JobFromContainerLabels returns the job that labels declare on the container called name (its
// ID is exec'd into), or ok false when the labels declare none. Bad labels are
// *berth.ValidationError values naming the job and the label.
func JobFromContainerLabels(name, id string, labels map[string]string) (job Job, ok bool, err error) {
	if _, ok := labels[LabelSchedule]; !ok {
		return Job{}, false, nil
	}
	job = Job{Name: "container/" + strings.TrimPrefix(name, "/"), Source: SourceLabels}
	path := "cron/jobs/" + job.Name + "/labels/"
	var p berth.Problems
	job.Schedule = labels[LabelSchedule]
	cmd := labels[LabelCommand]
	if strings.TrimSpace(cmd) == "" {
		p.Add(path+LabelCommand, "missing; want the command to run with sh -c in the container, e.g. \"date >> /var/log/cron.log\"")
	}
	job.Task = &ExecTask{Container: id, Cmd: []string{"sh", "-c", cmd}}
	common(&job, labels, path, &p, true)
	unknown(labels, berth.LabelPrefix+"cron.", []string{LabelSchedule, LabelCommand, LabelOverlap, LabelTimeout}, path, &p)
	return finish(job, &p, LabelSchedule)
}

// JobFromServiceLabels returns the job that labels declare on service svc, or ok false when they
// declare none. Both berth.cron.* and swarm-cronjob's swarm.cronjob.* labels are understood.
func JobFromServiceLabels(svc swarm.Service) (job Job, ok bool, err error) {
	labels := svc.Spec.Labels
	_, berthJob := labels[LabelSchedule]
	enable, cronjob := labels[SwarmCronjobEnable]
	if !berthJob && !cronjob {
		return Job{}, false, nil
	}
	job = Job{Name: "service/" + svc.Spec.Name, Source: SourceLabels}
	path := "cron/jobs/" + job.Name + "/labels/"
	var p berth.Problems
	task := &ServiceTask{Service: svc.ID}
	job.Task = task
	if berthJob {
		job.Schedule = labels[LabelSchedule]
		common(&job, labels, path, &p, true)
		task.Replicas = replicas(labels, LabelReplicas, path, &p)
		unknown(labels, berth.LabelPrefix+"cron.", []string{LabelSchedule, LabelOverlap, LabelTimeout, LabelReplicas}, path, &p)
		return finish(job, &p, LabelSchedule)
	}
	on, err := strconv.ParseBool(enable)
	if err != nil {
		p.Add(path+SwarmCronjobEnable, "%q is not a boolean; accepted: true, false", enable)
		return job, true, p.Err()
	} else if !on {
		return Job{}, false, nil
	}
	job.Schedule = labels[SwarmCronjobSchedule]
	job.Overlap = Allow
	if v, ok := labels[SwarmCronjobSkipRunning]; ok {
		if skip, err := strconv.ParseBool(v); err != nil {
			p.Add(path+SwarmCronjobSkipRunning, "%q is not a boolean; accepted: true, false", v)
		} else if skip {
			job.Overlap = Skip
		}
	}
	task.Replicas = replicas(labels, SwarmCronjobReplicas, path, &p)
	for _, k := range swarmCronjobIgnored {
		if v, ok := labels[k]; ok {
			if _, err := strconv.ParseBool(v); err != nil {
				p.Add(path+k, "%q is not a boolean; accepted: true, false", v)
			}
		}
	}
	unknown(labels, "swarm.cronjob.", append([]string{SwarmCronjobEnable, SwarmCronjobSchedule, SwarmCronjobSkipRunning, SwarmCronjobReplicas}, swarmCronjobIgnored...), path, &p)
	common(&job, labels, path, &p, false)
	return finish(job, &p, SwarmCronjobSchedule)
}

// common reads berth.cron.overlap and berth.cron.timeout.
func common(job *Job, labels map[string]string, path string, p *berth.Problems, overlap bool) {
	if v, ok := labels[LabelOverlap]; ok && overlap {
		job.Overlap = Overlap(v)
		if job.Overlap != Skip && job.Overlap != Allow && job.Overlap != Replace {
			p.Add(path+LabelOverlap, "%q is not an overlap policy; accepted: %s", v, OverlapForms)
		}
	}
	if v, ok := labels[LabelTimeout]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			p.Add(path+LabelTimeout, "%q is not a positive duration; accepted: a Go duration such as 90s, 5m or 1h30m", v)
		}
		job.Timeout = d
	}
}

func replicas(labels map[string]string, key, path string, p *berth.Problems) uint64 {
	v, ok := labels[key]
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n == 0 {
		p.Add(path+key, "%q is not a positive whole number of tasks; accepted: 1, 2, 3, ...", v)
	}
	return n
}

func unknown(labels map[string]string, prefix string, known []string, path string, p *berth.Problems) {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if strings.HasPrefix(k, prefix) && !slices.Contains(known, k) {
			p.Add(path+k, "unknown label; accepted: %s", strings.Join(known, ", "))
		}
	}
}

// finish validates job as Add does, reporting a bad schedule at the label it came from. The job
// keeps its name when it is invalid, so that the error can be reported against it.
func finish(job Job, p *berth.Problems, scheduleKey string) (Job, bool, error) {
	if _, err := job.validate(); err != nil {
		for _, ve := range berth.ValidationErrors(err) {
			path := ve.Path
			switch {
			case strings.HasSuffix(path, "/schedule"):
				path = strings.TrimSuffix(path, "schedule") + "labels/" + scheduleKey
			case strings.HasSuffix(path, "/overlap"), strings.HasSuffix(path, "/timeout"):
				continue // reported at the label
			}
			p.Add(path, "%s", ve.Msg)
		}
	}
	return job, true, p.Err()
}

// labelWatcher keeps the scheduler's label jobs in step with the engine.
type labelWatcher struct {
	s       *Scheduler
	mu      sync.Mutex
	invalid map[string]string // object → last reported problem, to report each once
	keys    map[string]string // job name → fingerprint of its labels
}

func (s *Scheduler) watchLabels(ctx context.Context) {
	w := &labelWatcher{s: s, invalid: map[string]string{}, keys: map[string]string{}}
	kick := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() { w.follow(ctx, kick) })
	defer wg.Wait()
	t := s.cfg.clock.NewTimer(0)
	for {
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
			t = s.cfg.clock.NewTimer(s.cfg.labels.Reconcile)
		case <-kick:
		}
		w.reconcile(ctx)
	}
}

// follow turns engine events about containers and services into reconcile requests, and
// re-subscribes after an error.
func (w *labelWatcher) follow(ctx context.Context, kick chan<- struct{}) {
	f := client.Filters{}.Add("type", string(events.ContainerEventType), string(events.ServiceEventType)).
		Add("event", "start", "die", "destroy", "create", "update", "remove")
	for ctx.Err() == nil {
		res := w.s.eng.Events(ctx, client.EventsListOptions{Filters: f})
		w.drain(ctx, res, kick)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
			select { // events may have been missed while the stream was down
			case kick <- struct{}{}:
			default:
			}
		}
	}
}

func (w *labelWatcher) drain(ctx context.Context, res client.EventsResult, kick chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-res.Err:
			return
		case <-res.Messages:
			select {
			case kick <- struct{}{}:
			default:
			}
		}
	}
}

// reconcile lists labelled containers and services and adds, replaces and removes label jobs.
func (w *labelWatcher) reconcile(ctx context.Context) {
	want, complete := w.desired(ctx)
	for name, job := range want {
		key := fingerprint(job)
		if w.keys[name] == key {
			continue
		}
		c, err := job.validate()
		if err != nil {
			continue // reported by desired
		}
		w.keys[name] = key
		w.s.put(c)
	}
	if !complete {
		return // a listing failed: remove nothing on partial knowledge
	}
	for _, name := range w.s.jobNames(SourceLabels) {
		if _, ok := want[name]; !ok {
			delete(w.keys, name)
			w.s.Remove(name)
		}
	}
}

// desired returns the jobs the labels declare now, and whether every listing succeeded.
func (w *labelWatcher) desired(ctx context.Context) (map[string]Job, bool) {
	want := map[string]Job{}
	complete := true
	seen := map[string]bool{}
	list, err := w.s.eng.ContainerList(ctx, client.ContainerListOptions{Filters: client.Filters{}.Add("label", LabelSchedule).Add("status", "running")})
	if err != nil {
		complete = false
	}
	for _, c := range list.Items {
		name := c.ID
		if len(c.Names) > 0 {
			name = c.Names[0]
		}
		job, ok, err := JobFromContainerLabels(name, c.ID, c.Labels)
		w.collect(want, seen, "container "+name, job, ok, err)
	}
	for _, label := range []string{LabelSchedule, SwarmCronjobEnable} {
		svcs, err := w.s.eng.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", label)})
		if err != nil && !notSwarmManager(err) {
			complete = false
		}
		for _, svc := range svcs.Items {
			job, ok, err := JobFromServiceLabels(svc)
			w.collect(want, seen, "service "+svc.Spec.Name, job, ok, err)
		}
	}
	for obj := range w.invalid {
		if !seen[obj] {
			delete(w.invalid, obj)
		}
	}
	return want, complete
}

func (w *labelWatcher) collect(want map[string]Job, seen map[string]bool, obj string, job Job, ok bool, err error) {
	switch {
	case !ok:
	case err != nil:
		seen[obj] = true
		if w.invalid[obj] != err.Error() {
			w.invalid[obj] = err.Error()
			w.s.hub.publish(Event{Kind: JobInvalid, Job: job.Name, Time: w.s.cfg.clock.Now(), Err: fmt.Errorf("%s: %w", obj, err)})
		}
	default:
		want[job.Name] = job
	}
}

// notSwarmManager reports whether err says the engine is not a swarm manager (no services).
func notSwarmManager(err error) bool {
	return cerrdefs.IsUnavailable(err) || cerrdefs.IsFailedPrecondition(err)
}

func fingerprint(j Job) string {
	return fmt.Sprintf("%s|%s|%s|%#v", j.Schedule, j.Overlap, j.Timeout, j.Task)
}
