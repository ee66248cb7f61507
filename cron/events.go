package cron

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"time"
)

// EventKind says what happened.
type EventKind string

const (
	JobAdded   EventKind = "added"    // a job was scheduled (Add, a label, a file)
	JobRemoved EventKind = "removed"  // a job was unscheduled
	JobInvalid EventKind = "invalid"  // a job from labels was refused: Err says why
	RunStarted EventKind = "started"  // a run started
	RunDone    EventKind = "finished" // a run ended with exit code 0
	RunFailed  EventKind = "failed"   // a run ended otherwise: non-zero exit, error, timeout, cancelled
	RunSkipped EventKind = "skipped"  // a run was due while the previous one was going (Overlap Skip)
)

// Event is something that happened in a scheduler.
type Event struct {
	Kind   EventKind
	Job    string
	Time   time.Time
	Result *Result // for run events: the run (Status Running for RunStarted)
	Err    error   // for JobInvalid, and RunFailed when the run could not be carried out
}

// String renders the event on one line, as `berth cron run` prints it.
func (e Event) String() string {
	s := fmt.Sprintf("%s %s %s", e.Time.Format(time.RFC3339), e.Kind, e.Job)
	if e.Result != nil && e.Kind != RunStarted {
		s += fmt.Sprintf(" #%d %s exit=%d %s", e.Result.Seq, e.Result.Status, e.Result.ExitCode, e.Result.Duration.Round(time.Millisecond))
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// ErrEventsLost is yielded by Events when the consumer fell behind and events were dropped
// (the scheduler never waits for a slow consumer).
var ErrEventsLost = fmt.Errorf("cron: events were dropped because the consumer fell behind")

type subscriber struct {
	ch   chan Event
	lost bool
}

type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

func (h *hub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- e:
		default:
			s.lost = true
		}
	}
}

func (h *hub) subscribe() *subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[*subscriber]struct{}{}
	}
	s := &subscriber{ch: make(chan Event, 1024)}
	h.subs[s] = struct{}{}
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

func (h *hub) takeLost(s *subscriber) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	lost := s.lost
	s.lost = false
	return lost
}

// Events returns the scheduler's events from the moment Events is called until ctx ends or
// the consumer stops. Events are buffered; a consumer that falls far behind receives
// ErrEventsLost once per gap, then the following events.
func (s *Scheduler) Events(ctx context.Context) iter.Seq2[Event, error] {
	sub := s.hub.subscribe()
	stop := context.AfterFunc(ctx, func() { s.hub.unsubscribe(sub) })
	return func(yield func(Event, error) bool) {
		defer stop()
		defer s.hub.unsubscribe(sub)
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-sub.ch:
				if s.hub.takeLost(sub) && !yield(Event{}, ErrEventsLost) {
					return
				}
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}
