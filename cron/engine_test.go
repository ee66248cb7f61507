package cron

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// live runs a scheduler on the real clock against the engine until stop is called.
type live struct {
	t    *testing.T
	s    *Scheduler
	stop func()
}

func startLive(t *testing.T, eng Engine, jobs []Job, opts ...Option) *live {
	t.Helper()
	s, err := New(eng, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if err := s.Add(j); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	l := &live{t: t, s: s}
	var stopped bool
	l.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("Run did not return within 60s of its context ending")
		}
	}
	t.Cleanup(l.stop)
	return l
}

// waitFor waits until cond holds for the history of job, or fails the test after d.
func (l *live) waitFor(job string, d time.Duration, cond func([]Result) bool) []Result {
	l.t.Helper()
	deadline := time.Now().Add(d)
	for {
		h, err := l.s.History(job)
		if err != nil {
			l.t.Fatal(err)
		}
		if cond(h) {
			return h
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("job %s: condition not met within %s; history: %+v", job, d, h)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func count(h []Result, st Status) int {
	n := 0
	for _, r := range h {
		if r.Status == st {
			n++
		}
	}
	return n
}

func first(h []Result, st Status) Result {
	for _, r := range h {
		if r.Status == st {
			return r
		}
	}
	return Result{}
}

// assertNoContainers fails when a container of one of the jobs remains.
func assertNoContainers(t *testing.T, cli client.ContainerAPIClient, jobs ...string) {
	t.Helper()
	for _, j := range jobs {
		list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", LabelJob+"="+j)})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) > 0 {
			t.Errorf("job %s left %d containers behind", j, len(list.Items))
		}
	}
}

func TestContainerJobs(t *testing.T) {
	t.Parallel()
	cli := testenv.Engine(t)
	img := testenv.Image(t, cli, fixtures.Busybox)
	out := testenv.Name(t, "out")
	skip := testenv.Name(t, "skip")
	hang := testenv.Name(t, "hang")
	noimg := testenv.Name(t, "noimg")
	l := startLive(t, cli, []Job{
		{Name: out, Schedule: "@every 1s", Task: &ContainerTask{Image: img, Env: []string{"WHO=cron"},
			Cmd: []string{"sh", "-c", `echo "hello $WHO"; echo oops >&2; exit 3`}}},
		{Name: skip, Schedule: "@every 1s", Task: &ContainerTask{Image: img, Cmd: []string{"sleep", "2.5"}}},
		{Name: hang, Schedule: "@every 1s", Timeout: time.Second, Task: &ContainerTask{Image: img, Cmd: []string{"sleep", "60"}}},
		{Name: noimg, Schedule: "@every 1s", Task: &ContainerTask{Image: "berth-cron-test/missing:none"}},
	})

	h := l.waitFor(out, 30*time.Second, func(h []Result) bool { return count(h, Failed) >= 1 })
	if r := first(h, Failed); r.Status != Failed || r.ExitCode != 3 || r.Stdout != "hello cron\n" || r.Stderr != "oops\n" || r.Err != "" {
		t.Errorf("container run: %+v", r)
	}
	hh := l.waitFor(hang, 30*time.Second, func(h []Result) bool { return count(h, TimedOut) >= 1 })
	// TimedOut and its message say the run was cut at the timeout; only the lower bound is
	// checked, since a loaded machine may take longer to stop the container.
	if r := first(hh, TimedOut); r.Duration < time.Second || r.Err != "timed out after 1s" {
		t.Errorf("timed-out run: %+v", r)
	}
	sh := l.waitFor(skip, 30*time.Second, func(h []Result) bool { return count(h, Succeeded) >= 1 && count(h, Skipped) >= 1 })
	for _, r := range sh {
		if r.Status == Succeeded && r.Duration < 2500*time.Millisecond {
			t.Errorf("a 2.5 s run took %s", r.Duration)
		}
	}
	hn := l.waitFor(noimg, 30*time.Second, func(h []Result) bool { return count(h, Failed) >= 1 })
	if r := first(hn, Failed); r.ExitCode != -1 || !strings.Contains(r.Err, "runs do not pull") {
		t.Errorf("missing image: %+v", r)
	}
	l.stop()
	assertNoContainers(t, cli, out, skip, hang, noimg)
}

func TestExecJobs(t *testing.T) {
	t.Parallel()
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 2*time.Minute)
	img := testenv.Image(t, cli, fixtures.Busybox)
	name := testenv.Name(t, "target")
	label := testenv.Name(t, "lbl")
	c, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name,
		Config: &container.Config{Image: img, Cmd: []string{"sleep", "300"}, Labels: map[string]string{label: "yes"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true}) })
	if _, err := cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	byName, byLabel, missing, slow := testenv.Name(t, "byname"), testenv.Name(t, "bylabel"), testenv.Name(t, "missing"), testenv.Name(t, "slow")
	l := startLive(t, cli, []Job{
		{Name: byName, Schedule: "@every 1s", Task: &ExecTask{Container: name, Env: []string{"X=1"},
			Cmd: []string{"sh", "-c", `echo "x=$X" >> /tmp/log; cat /tmp/log | wc -l; echo e >&2; exit 4`}}},
		{Name: byLabel, Schedule: "@every 2s", Task: &ExecTask{Label: label + "=yes", Cmd: []string{"hostname"}}},
		{Name: missing, Schedule: "@every 1s", Task: &ExecTask{Container: name + "-gone", Cmd: []string{"true"}}},
		{Name: slow, Schedule: "@every 1s", Timeout: 1500 * time.Millisecond, Task: &ExecTask{Container: name, Cmd: []string{"sh", "-c", "echo begun; sleep 4"}}},
	})
	h := l.waitFor(byName, 30*time.Second, func(h []Result) bool { return count(h, Failed) >= 2 })
	var runs []Result
	for _, r := range h {
		if r.Status == Failed {
			runs = append(runs, r)
		}
	}
	if r := runs[1]; r.ExitCode != 4 || strings.TrimSpace(r.Stdout) != "2" || r.Stderr != "e\n" {
		t.Errorf("exec by name, second run: %+v", r)
	}
	hl := l.waitFor(byLabel, 30*time.Second, func(h []Result) bool { return count(h, Succeeded) >= 1 })
	if r := first(hl, Succeeded); strings.TrimSpace(r.Stdout) != c.ID[:12] {
		t.Errorf("exec by label: %+v", r)
	}
	hs := l.waitFor(slow, 30*time.Second, func(h []Result) bool { return count(h, TimedOut) >= 1 && count(h, Skipped) >= 1 })
	if r := first(hs, TimedOut); r.Stdout != "begun\n" || r.Duration < 1500*time.Millisecond {
		t.Errorf("timed-out exec: %+v", r)
	}
	hm := l.waitFor(missing, 30*time.Second, func(h []Result) bool { return count(h, Failed) >= 1 })
	if r := first(hm, Failed); r.ExitCode != -1 || !strings.Contains(r.Err, "No such container") && !strings.Contains(r.Err, "no such container") {
		t.Errorf("exec in a missing container: %+v", r)
	}
}

// A run cancelled at any moment (during create, start, wait) leaves no container behind.
func TestContainerTaskCancelledLeavesNothing(t *testing.T) {
	t.Parallel()
	cli := testenv.Engine(t)
	img := testenv.Image(t, cli, fixtures.Busybox)
	job := testenv.Name(t, "cancel")
	task := &ContainerTask{Image: img, Cmd: []string{"sleep", "30"}}
	for i := range 12 {
		ctx, cancel := context.WithCancel(withRunInfo(context.Background(), RunInfo{Job: job, Seq: uint64(i + 1)}))
		time.AfterFunc(time.Duration(i)*15*time.Millisecond, cancel)
		code, err := task.Run(ctx, cli, io.Discard, io.Discard)
		cancel()
		if err == nil || code == 0 {
			t.Errorf("cancelled run %d: exit %d, err %v", i, code, err)
		}
	}
	assertNoContainers(t, cli, job)
}
