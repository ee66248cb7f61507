package cron

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/berthdev/berth"
	cerrdefs "github.com/containerd/errdefs"
)

var start = time.Date(2026, 3, 7, 23, 59, 58, 0, time.UTC)

// harness runs a scheduler on a fake clock inside a synctest bubble.
type harness struct {
	t     *testing.T
	clock *fakeClock
	s     *Scheduler
	stop  context.CancelFunc
	done  chan error
}

func newHarness(t *testing.T, at time.Time, opts ...Option) *harness {
	clock := newFakeClock(at)
	s, err := New(nil, append([]Option{WithClock(clock), WithLocation(at.Location())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, clock: clock, s: s}
}

func (h *harness) add(j Job) {
	h.t.Helper()
	if err := h.s.Add(j); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	h.stop, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.s.Run(ctx) }()
	synctest.Wait()
}

func (h *harness) shutdown() {
	h.t.Helper()
	h.stop()
	if err := <-h.done; err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) history(name string) []Result {
	h.t.Helper()
	r, err := h.s.History(name)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func statuses(rs []Result) string {
	var b []string
	for _, r := range rs {
		b = append(b, string(r.Status))
	}
	return strings.Join(b, ",")
}

func echo(out string, code int) TaskFunc {
	return func(ctx context.Context, _ Engine, stdout, stderr io.Writer) (int, error) {
		fmt.Fprint(stdout, out)
		return code, nil
	}
}

// block is a task that runs until released or cancelled.
type block struct {
	release chan struct{}
	started atomic.Int32
}

func newBlock() *block { return &block{release: make(chan struct{})} }

func (b *block) Run(ctx context.Context, _ Engine, stdout, stderr io.Writer) (int, error) {
	b.started.Add(1)
	select {
	case <-b.release:
		return 0, nil
	case <-ctx.Done():
		return -1, context.Cause(ctx)
	}
}

func TestRunsOnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, start)
		h.add(Job{Name: "every2", Schedule: "@every 2s", Task: echo("hi\n", 0)})
		h.add(Job{Name: "sec5", Schedule: "*/5 * * * * *", Task: echo("", 3)})
		h.add(Job{Name: "midnight", Schedule: "@midnight", Task: echo("", 0)})
		h.run()
		for range 10 {
			h.clock.advance(time.Second)
		}
		h.shutdown()

		every2 := h.history("every2")
		if len(every2) != 5 || statuses(every2) != "succeeded,succeeded,succeeded,succeeded,succeeded" {
			t.Fatalf("every2: %+v", every2)
		}
		for i, r := range every2 {
			if want := start.Add(time.Duration(2*(i+1)) * time.Second); !r.Scheduled.Equal(want) || !r.Started.Equal(want) {
				t.Errorf("every2 run %d scheduled %s started %s, want %s", i+1, r.Scheduled, r.Started, want)
			}
			if r.Stdout != "hi\n" || r.ExitCode != 0 || r.Seq != uint64(i+1) {
				t.Errorf("every2 run %d: %+v", i+1, r)
			}
		}
		sec5 := h.history("sec5") // 00:00:00, 00:00:05
		if len(sec5) != 2 || sec5[0].Scheduled.Second() != 0 || sec5[1].Scheduled.Second() != 5 || sec5[1].Status != Failed || sec5[1].ExitCode != 3 {
			t.Fatalf("sec5: %+v", sec5)
		}
		if mid := h.history("midnight"); len(mid) != 1 || !mid[0].Scheduled.Equal(time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("midnight: %+v", mid)
		}
	})
}

func TestDSTInSchedulerLocation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ny := mustLoad(t, "America/New_York")
		h := newHarness(t, time.Date(2026, 3, 8, 1, 0, 0, 0, ny))
		h.add(Job{Name: "two-thirty", Schedule: "30 2 * * *", Task: echo("", 0)})
		h.add(Job{Name: "seoul", Schedule: "CRON_TZ=Asia/Seoul 0 16 * * *", Task: echo("", 0)}) // 07:00 UTC = 03:00 EDT
		h.run()
		h.clock.advance(26 * time.Hour)
		h.shutdown()
		got := h.history("two-thirty")
		if len(got) != 2 || got[0].Scheduled.In(ny).Format("15:04 MST") != "03:00 EDT" || got[1].Scheduled.In(ny).Format("01-02 15:04") != "03-09 02:30" {
			t.Fatalf("two-thirty runs: %+v", got)
		}
		if s := h.history("seoul"); len(s) != 2 || !s[0].Scheduled.Equal(time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)) || !s[1].Scheduled.Equal(time.Date(2026, 3, 9, 7, 0, 0, 0, time.UTC)) {
			t.Fatalf("seoul runs: %+v", s)
		}
	})
}

func TestOverlapSkip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, start)
		b := newBlock()
		h.add(Job{Name: "slow", Schedule: "@every 1s", Task: b})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		events := h.s.Events(ctx)
		h.run()
		h.clock.advance(3 * time.Second)
		close(b.release)
		synctest.Wait()
		h.clock.advance(time.Second)
		h.shutdown()
		if got := statuses(h.history("slow")); got != "succeeded,skipped,skipped,succeeded" {
			t.Fatalf("history: %s", got)
		}
		var kinds []string
		for ev, err := range events {
			if err != nil {
				t.Fatal(err)
			}
			kinds = append(kinds, string(ev.Kind))
			if len(kinds) == 6 {
				cancel()
			}
		}
		if got := strings.Join(kinds, ","); got != "started,skipped,skipped,finished,started,finished" {
			t.Fatalf("events: %s", got)
		}
	})
}

func TestOverlapAllowAndReplace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, start)
		allow, repl := newBlock(), newBlock()
		h.add(Job{Name: "allow", Schedule: "@every 1s", Task: allow, Overlap: Allow})
		h.add(Job{Name: "replace", Schedule: "@every 1s", Task: repl, Overlap: Replace})
		h.run()
		h.clock.advance(3 * time.Second)
		if n := allow.started.Load(); n != 3 {
			t.Errorf("allow: %d runs started, want 3 at once", n)
		}
		if info := h.s.Jobs(); info[0].Name != "allow" || info[0].Running != 3 || info[1].Running != 1 {
			t.Errorf("jobs: %+v", info)
		}
		close(allow.release)
		close(repl.release)
		synctest.Wait()
		h.shutdown()
		if got := statuses(h.history("allow")); got != "succeeded,succeeded,succeeded" {
			t.Errorf("allow: %s", got)
		}
		r := h.history("replace")
		if got := statuses(r); got != "cancelled,cancelled,succeeded" || !strings.Contains(r[0].Err, "replaced") {
			t.Errorf("replace: %s %+v", got, r)
		}
	})
}

func TestTimeoutOnClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, start)
		h.add(Job{Name: "hang", Schedule: "@every 10s", Task: newBlock(), Timeout: 2 * time.Second})
		h.run()
		h.clock.advance(12 * time.Second)
		h.shutdown()
		r := h.history("hang")
		if len(r) != 1 || r[0].Status != TimedOut || r[0].Duration != 2*time.Second || !strings.Contains(r[0].Err, "timed out after 2s") {
			t.Fatalf("%+v", r)
		}
	})
}

func TestBadJobsDoNotStopOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, start, WithHistory(3), WithMaxOutput(8))
		h.add(Job{Name: "panics", Schedule: "@every 1s", Task: TaskFunc(func(context.Context, Engine, io.Writer, io.Writer) (int, error) { panic("boom") })})
		h.add(Job{Name: "errs", Schedule: "@every 1s", Task: TaskFunc(func(context.Context, Engine, io.Writer, io.Writer) (int, error) {
			return 0, errors.New("engine said no")
		})})
		h.add(Job{Name: "chatty", Schedule: "@every 1s", Task: echo("0123456789abcdef", 0)})
		h.run()
		h.clock.advance(5 * time.Second)
		h.shutdown()
		if p := h.history("panics"); len(p) != 3 || p[2].Status != Failed || !strings.Contains(p[2].Err, "panicked: boom") {
			t.Errorf("panics: %+v", p)
		}
		if e := h.history("errs"); len(e) != 3 || e[0].Status != Failed || e[0].ExitCode != -1 || e[0].Err != "engine said no" {
			t.Errorf("errs: %+v", e)
		}
		c := h.history("chatty")
		if len(c) != 3 || c[2].Seq != 5 || c[2].Stdout != "89abcdef" || !c[2].Truncated {
			t.Errorf("chatty: %+v", c)
		}
	})
}

func TestShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, start)
		b := newBlock()
		h.add(Job{Name: "hang", Schedule: "@every 1s", Task: b})
		h.run()
		h.clock.advance(time.Second)
		h.shutdown() // cancels at once
		if r := h.history("hang"); statuses(r) != "cancelled" || !strings.Contains(r[0].Err, "shut down") {
			t.Fatalf("%+v", r)
		}

		g := newHarness(t, start, WithShutdownGrace(time.Minute))
		b2 := newBlock()
		g.add(Job{Name: "finish", Schedule: "@every 1s", Task: b2})
		g.run()
		g.clock.advance(time.Second)
		g.stop()
		synctest.Wait()
		close(b2.release) // finishes within the grace period
		if err := <-g.done; err != nil {
			t.Fatal(err)
		}
		if r := g.history("finish"); statuses(r) != "succeeded" {
			t.Fatalf("%+v", r)
		}
	})
}

func TestAddRemoveJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, start)
		h.add(Job{Name: "a", Schedule: "@every 1s", Task: echo("", 0)})
		if err := h.s.Add(Job{Name: "a", Schedule: "@every 1s", Task: echo("", 0)}); !cerrdefs.IsConflict(err) {
			t.Fatalf("duplicate: %v", err)
		}
		h.run()
		h.clock.advance(time.Second)
		b := newBlock()
		h.add(Job{Name: "b", Schedule: "@every 1s", Task: b}) // added while running
		h.clock.advance(time.Second)
		if jobs := h.s.Jobs(); len(jobs) != 2 || jobs[0].Last == nil || jobs[0].Next != start.Add(3*time.Second) || jobs[1].Running != 1 {
			t.Fatalf("jobs: %+v", jobs)
		}
		if !h.s.Remove("b") || h.s.Remove("b") {
			t.Fatal("Remove b: want true then false")
		}
		synctest.Wait()
		if _, err := h.s.History("b"); !cerrdefs.IsNotFound(err) {
			t.Fatalf("history of a removed job: %v", err)
		}
		h.clock.advance(time.Second)
		h.shutdown()
		if n := len(h.history("a")); n != 3 {
			t.Fatalf("a ran %d times, want 3", n)
		}
	})
}

func TestJobValidation(t *testing.T) {
	s, _ := New(nil)
	err := s.Add(Job{Name: "nightly", Schedule: "61 * * * *", Overlap: "sometimes", Timeout: -time.Second})
	want := []string{"cron/jobs/nightly/overlap", "cron/jobs/nightly/schedule", "cron/jobs/nightly/task", "cron/jobs/nightly/timeout"}
	ves := berth.ValidationErrors(err)
	if len(ves) != len(want) || !errors.Is(err, berth.ErrInvalid) {
		t.Fatalf("got %v", err)
	}
	for i, ve := range ves {
		if ve.Path != want[i] {
			t.Errorf("problem %d at %q, want %q (%s)", i, ve.Path, want[i], ve.Msg)
		}
	}
	if !strings.Contains(ves[0].Msg, "skip, allow, replace") || !strings.Contains(ves[1].Msg, "accepted:") {
		t.Errorf("messages do not list accepted forms: %v", err)
	}
	if err := s.Add(Job{Name: "bad name!", Schedule: "@daily", Task: echo("", 0)}); err == nil {
		t.Error("bad name accepted")
	}
	if err := s.Add(Job{Name: "ok", Schedule: "@daily", Task: &ContainerTask{}}); !strings.Contains(fmt.Sprint(err), "cron/jobs/ok/task/image") {
		t.Errorf("container task without image: %v", err)
	}
}

func TestPutReplacesJobWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, start)
		b := newBlock()
		h.add(Job{Name: "j", Schedule: "@every 1s", Task: b, Source: SourceLabels})
		h.run()
		h.clock.advance(time.Second)
		c, err := Job{Name: "j", Schedule: "@every 5s", Task: echo("new", 0), Source: SourceLabels}.validate()
		if err != nil {
			t.Fatal(err)
		}
		h.s.put(c) // as the label watcher does when labels change
		close(b.release)
		h.clock.advance(5 * time.Second)
		h.shutdown()
		r := h.history("j")
		if statuses(r) != "succeeded,succeeded" || r[1].Stdout != "new" || !r[1].Scheduled.Equal(start.Add(6*time.Second)) {
			t.Fatalf("%+v", r)
		}
		if names := h.s.jobNames(SourceLabels); len(names) != 1 {
			t.Fatalf("label jobs: %v", names)
		}
	})
}
