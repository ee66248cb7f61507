package cron

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/berthdev/berth"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Engine is the part of the Engine API client that jobs use. *client.Client implements it.
type Engine interface {
	client.ContainerAPIClient
	client.ExecAPIClient
	client.ServiceAPIClient
	client.TaskAPIClient
	client.SystemAPIClient
}

// Scheduler runs jobs on their schedules. Make one with New, add jobs with Add, and call Run.
// Its methods are safe for concurrent use.
type Scheduler struct {
	eng Engine
	cfg config
	hub hub

	mu      sync.Mutex
	jobs    map[string]*entry
	wake    chan struct{}
	running bool
	runs    sync.WaitGroup
	base    context.Context // parent of every run; cancelled at shutdown
}

type entry struct {
	compiled
	next    time.Time
	seq     uint64
	active  map[uint64]context.CancelCauseFunc
	hist    history
	removed bool
}

var (
	errReplaced = errors.New("replaced by a newer run (overlap: replace)")
	errShutdown = errors.New("scheduler shut down")
	errRemoved  = errors.New("job removed")
	errTimeout  = errors.New("timeout")
)

// New returns a scheduler that runs jobs against eng (which may be nil when every job is a
// TaskFunc that does not use it).
func New(eng Engine, opts ...Option) (*Scheduler, error) {
	cfg := defaults()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.labels != nil && eng == nil {
		return nil, berth.Invalid("cron/labels", "watching labels needs an engine client")
	}
	return &Scheduler{eng: eng, cfg: cfg, jobs: map[string]*entry{}, wake: make(chan struct{}, 1)}, nil
}

// Add validates j and schedules it. Every problem is returned as *berth.ValidationError values
// naming the job and the field; a job with the same name is a conflict (cerrdefs.IsConflict).
func (s *Scheduler) Add(j Job) error {
	c, err := j.validate()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[j.Name]; ok {
		return fmt.Errorf("cron: job %q: %w", j.Name, cerrdefs.ErrConflict.WithMessage("a job with this name is already scheduled"))
	}
	s.putLocked(c)
	return nil
}

// put schedules c, replacing a job of the same name (its runs in progress go on).
func (s *Scheduler) put(c compiled) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(c)
}

func (s *Scheduler) putLocked(c compiled) {
	e, ok := s.jobs[c.Name]
	if !ok {
		e = &entry{active: map[uint64]context.CancelCauseFunc{}, hist: history{n: s.cfg.history}}
		s.jobs[c.Name] = e
	}
	e.compiled = c
	e.next = s.nextAfter(c.sched, s.cfg.clock.Now())
	s.poke()
	s.hub.publish(Event{Kind: JobAdded, Job: c.Name, Time: s.cfg.clock.Now()})
}

// Remove unschedules the named job and cancels its runs in progress; it reports whether the
// job existed.
func (s *Scheduler) Remove(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removeLocked(name)
}

func (s *Scheduler) removeLocked(name string) bool {
	e, ok := s.jobs[name]
	if !ok {
		return false
	}
	delete(s.jobs, name)
	e.removed = true
	for _, cancel := range e.active {
		cancel(errRemoved)
	}
	s.poke()
	s.hub.publish(Event{Kind: JobRemoved, Job: name, Time: s.cfg.clock.Now()})
	return true
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) nextAfter(sc Schedule, now time.Time) time.Time {
	return sc.Next(now.In(s.cfg.loc))
}

// JobInfo describes a scheduled job.
type JobInfo struct {
	Job
	Next    time.Time // the next activation
	Last    *Result   // the last finished or skipped run, nil before the first
	Running int       // runs in progress
}

// Jobs lists the scheduled jobs sorted by name.
func (s *Scheduler) Jobs() []JobInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobInfo, 0, len(s.jobs))
	for _, name := range slices.Sorted(maps.Keys(s.jobs)) {
		e := s.jobs[name]
		info := JobInfo{Job: e.Job, Next: e.next, Running: len(e.active)}
		if n := len(e.hist.list); n > 0 {
			last := e.hist.list[n-1]
			info.Last = &last
		}
		out = append(out, info)
	}
	return out
}

// History returns the last runs of the named job to have ended (WithHistory sets how many are
// kept), skipped runs included, ordered by sequence number. An unknown job is an error matching
// cerrdefs.IsNotFound.
func (s *Scheduler) History(name string) ([]Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[name]
	if !ok {
		return nil, fmt.Errorf("cron: job %q: %w", name, cerrdefs.ErrNotFound.WithMessage("no such job"))
	}
	out := slices.Clone(e.hist.list)
	slices.SortFunc(out, func(a, b Result) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// Run runs the jobs until ctx ends, then shuts down: runs in progress are cancelled (their
// containers removed), or awaited for up to the grace period of WithShutdownGrace. It returns
// nil after a clean shutdown, and an error when the scheduler is already running.
func (s *Scheduler) Run(ctx context.Context) error {
	base, cancelRuns := context.WithCancelCause(context.WithoutCancel(ctx))
	if err := s.start(base); err != nil {
		cancelRuns(nil)
		return err
	}
	var watchers sync.WaitGroup
	if s.cfg.labels != nil {
		watchers.Go(func() { s.watchLabels(ctx) })
	}
	s.loop(ctx)
	watchers.Wait()
	s.shutdown(cancelRuns)
	return nil
}

func (s *Scheduler) start(base context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return errors.New("cron: the scheduler is already running")
	}
	s.running, s.base = true, base
	now := s.cfg.clock.Now()
	for _, e := range s.jobs {
		e.next = s.nextAfter(e.sched, now)
	}
	return nil
}

func (s *Scheduler) loop(ctx context.Context) {
	for {
		wait := s.fireDue()
		t := s.cfg.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-s.wake:
			t.Stop()
		}
	}
}

// idleWait is how long the loop sleeps when no job is scheduled (a new job wakes it).
const idleWait = time.Hour

// fireDue starts every run that is due and returns how long to wait for the next one.
func (s *Scheduler) fireDue() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.clock.Now()
	wait := idleWait
	for _, e := range s.jobs {
		if e.next.IsZero() {
			continue
		}
		if !e.next.After(now) {
			s.fireLocked(e, e.next, now)
			e.next = s.nextAfter(e.sched, now)
			if e.next.IsZero() {
				continue
			}
		}
		wait = min(wait, e.next.Sub(now))
	}
	return max(wait, 0)
}

func (s *Scheduler) fireLocked(e *entry, due, now time.Time) {
	e.seq++
	r := Result{Job: e.Name, Seq: e.seq, Scheduled: due}
	if len(e.active) > 0 {
		switch e.Overlap {
		case Skip:
			r.Status, r.Finished = Skipped, now
			e.hist.add(r)
			s.hub.publish(Event{Kind: RunSkipped, Job: e.Name, Time: now, Result: &r})
			return
		case Replace:
			for _, cancel := range e.active {
				cancel(errReplaced)
			}
		}
	}
	ctx, cancel := context.WithCancelCause(withRunInfo(s.base, RunInfo{Job: e.Name, Seq: r.Seq, Scheduled: due}))
	e.active[r.Seq] = cancel
	r.Started, r.Status = now, Running
	started := r
	s.hub.publish(Event{Kind: RunStarted, Job: e.Name, Time: now, Result: &started})
	job := e.Job // a copy: put may replace e's job while this run goes on
	s.runs.Go(func() { s.execute(ctx, cancel, e, job, r) })
}

func (s *Scheduler) execute(ctx context.Context, cancel context.CancelCauseFunc, e *entry, job Job, r Result) {
	defer cancel(nil)
	if job.Timeout > 0 {
		defer s.watchTimeout(job.Timeout, cancel)()
	}
	stdout := &tailBuffer{max: s.cfg.maxOutput}
	stderr := &tailBuffer{max: s.cfg.maxOutput}
	code, err := runTask(ctx, job.Task, s.eng, stdout, stderr)
	s.finish(ctx, e, job, r, code, err, stdout, stderr)
}

// watchTimeout cancels a run with errTimeout after d on the scheduler's clock; the returned
// function stops the watch.
func (s *Scheduler) watchTimeout(d time.Duration, cancel context.CancelCauseFunc) func() {
	t := s.cfg.clock.NewTimer(d)
	done := make(chan struct{})
	go func() {
		select {
		case <-t.C():
			cancel(errTimeout)
		case <-done:
			t.Stop()
		}
	}()
	return func() { close(done) }
}

// runTask runs t, turning a panic into an error so that a bad task never stops the scheduler.
func runTask(ctx context.Context, t Task, eng Engine, stdout, stderr *tailBuffer) (code int, err error) {
	defer func() {
		if p := recover(); p != nil {
			code, err = -1, fmt.Errorf("task panicked: %v", p)
		}
	}()
	return t.Run(ctx, eng, stdout, stderr)
}

func (s *Scheduler) finish(ctx context.Context, e *entry, job Job, r Result, code int, err error, stdout, stderr *tailBuffer) {
	now := s.cfg.clock.Now()
	r.Finished, r.Duration, r.ExitCode = now, now.Sub(r.Started), code
	var t1, t2 bool
	r.Stdout, t1 = stdout.String()
	r.Stderr, t2 = stderr.String()
	r.Truncated = t1 || t2
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errTimeout):
		r.Status, r.Err = TimedOut, fmt.Sprintf("timed out after %s", job.Timeout)
	case cause != nil:
		r.Status, r.Err = Cancelled, cause.Error()
	case err != nil:
		r.Status, r.Err = Failed, err.Error()
	case code != 0:
		r.Status = Failed
	default:
		r.Status = Succeeded
	}
	if err != nil && cause == nil && code == 0 {
		r.ExitCode = -1
	}
	s.mu.Lock()
	delete(e.active, r.Seq)
	e.hist.add(r)
	s.mu.Unlock()
	kind := RunDone
	if r.Status != Succeeded {
		kind = RunFailed
	}
	var evErr error
	if r.Err != "" {
		evErr = errors.New(r.Err)
	}
	s.hub.publish(Event{Kind: kind, Job: job.Name, Time: now, Result: &r, Err: evErr})
}

func (s *Scheduler) shutdown(cancelRuns context.CancelCauseFunc) {
	if s.cfg.grace > 0 {
		done := make(chan struct{})
		go func() { s.runs.Wait(); close(done) }()
		t := s.cfg.clock.NewTimer(s.cfg.grace)
		select {
		case <-done:
		case <-t.C():
		}
		t.Stop()
	}
	cancelRuns(errShutdown)
	s.runs.Wait()
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
}

// jobNames lists the scheduled job names with the given source.
func (s *Scheduler) jobNames(source string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name, e := range s.jobs {
		if e.Source == source {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
