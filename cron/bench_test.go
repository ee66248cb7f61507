package cron

// Measurements of issue 7, run with one command (not part of the default `go test`):
//
//	BERTH_REQUIRE_ENGINE=1 go test ./cron -run '^$' -bench . -benchtime 1x
//
// Each benchmark reports its numbers as custom metrics.

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/moby/moby/client"
)

// BenchmarkStartLatency measures how late runs start after their scheduled second: when the
// task is entered (dispatch) and when a one-off container has started (container).
func BenchmarkStartLatency(b *testing.B) {
	cli := testenv.Engine(b)
	img := testenv.Image(b, cli, fixtures.Busybox)
	var mu sync.Mutex
	var dispatch, started []time.Duration
	probe := TaskFunc(func(ctx context.Context, _ Engine, _, _ io.Writer) (int, error) {
		info, _ := RunInfoFrom(ctx)
		mu.Lock()
		dispatch = append(dispatch, time.Since(info.Scheduled))
		mu.Unlock()
		return 0, nil
	})
	box := TaskFunc(func(ctx context.Context, eng Engine, stdout, stderr io.Writer) (int, error) {
		info, _ := RunInfoFrom(ctx)
		task := &ContainerTask{Image: img, Cmd: []string{"true"}, Keep: true}
		code, err := task.Run(ctx, eng, stdout, stderr)
		list, _ := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", fmt.Sprintf("%s=%s", LabelJob, info.Job)).Add("label", fmt.Sprintf("%s=%d", LabelRun, info.Seq))})
		for _, c := range list.Items {
			if ins, err := cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{}); err == nil {
				if at, err := time.Parse(time.RFC3339Nano, ins.Container.State.StartedAt); err == nil {
					mu.Lock()
					started = append(started, at.Sub(info.Scheduled))
					mu.Unlock()
				}
			}
			cli.ContainerRemove(context.WithoutCancel(ctx), c.ID, client.ContainerRemoveOptions{Force: true})
		}
		return code, err
	})
	for b.Loop() {
		s := newScheduler(b, cli,
			Job{Name: "probe-every", Schedule: "@every 1s", Task: probe},
			Job{Name: "probe-seconds", Schedule: "* * * * * *", Task: probe},
			Job{Name: testenv.Name(b, "box"), Schedule: "*/2 * * * * *", Task: box})
		ctx, cancel := context.WithTimeout(context.Background(), 10500*time.Millisecond)
		s.Run(ctx)
		cancel()
	}
	report(b, "dispatch", dispatch)
	report(b, "container", started)
}

// newScheduler returns a scheduler with jobs added; a refused job fails the benchmark, which
// would otherwise measure fewer jobs than it says.
func newScheduler(b *testing.B, eng Engine, jobs ...Job) *Scheduler {
	b.Helper()
	s, err := New(eng)
	if err != nil {
		b.Fatal(err)
	}
	for _, j := range jobs {
		if err := s.Add(j); err != nil {
			b.Fatalf("add job %s: %v", j.Name, err)
		}
	}
	return s
}

func report(b *testing.B, what string, d []time.Duration) {
	if len(d) == 0 {
		b.Fatalf("no %s samples", what)
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, what+"-p50-ms")
	b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, what+"-max-ms")
	b.Logf("%s latency over %d runs: p50 %s, max %s", what, len(d), d[len(d)/2], d[len(d)-1])
}

// BenchmarkIdleCPU1000Jobs measures the CPU the scheduler uses with 1,000 scheduled jobs none
// of which is due during the measurement, as a percentage of one core.
func BenchmarkIdleCPU1000Jobs(b *testing.B) {
	const window = 10 * time.Second
	for b.Loop() {
		jobs := make([]Job, 1000)
		for i := range jobs {
			sched := []string{"@hourly", "0 3 * * *", "@every 2h", "CRON_TZ=Asia/Seoul 0 9 * * 1-5", "*/30 0 1 1 *"}[i%5]
			jobs[i] = Job{Name: fmt.Sprintf("idle-%04d", i), Schedule: sched, Task: echo("", 0)}
		}
		s := newScheduler(b, nil, jobs...)
		ctx, cancel := context.WithTimeout(context.Background(), window)
		before := cpuTime()
		s.Run(ctx)
		used := cpuTime() - before
		cancel()
		b.ReportMetric(100*used.Seconds()/window.Seconds(), "%core")
		b.Logf("1,000 idle jobs: %s CPU in %s (%.3f%% of a core)", used, window, 100*used.Seconds()/window.Seconds())
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkContainerJobVsDockerRun compares one run of a ContainerTask with `docker run --rm`
// doing the same (busybox true), alternating, and reports the ratio of the medians.
func BenchmarkContainerJobVsDockerRun(b *testing.B) {
	cli := testenv.Engine(b)
	img := testenv.Image(b, cli, fixtures.Busybox)
	docker := testenv.DockerCLI(b)
	task := &ContainerTask{Image: img, Cmd: []string{"true"}}
	const rounds = 10
	var berthT, dockerT []time.Duration
	for b.Loop() {
		for range rounds {
			t0 := time.Now()
			if code, err := task.Run(context.Background(), cli, io.Discard, io.Discard); err != nil || code != 0 {
				b.Fatal(code, err)
			}
			berthT = append(berthT, time.Since(t0))
			t0 = time.Now()
			if out, err := exec.Command(docker, "run", "--rm", img, "true").CombinedOutput(); err != nil {
				b.Fatalf("docker run: %v: %s", err, out)
			}
			dockerT = append(dockerT, time.Since(t0))
		}
	}
	slices.Sort(berthT)
	slices.Sort(dockerT)
	mb, md := berthT[len(berthT)/2], dockerT[len(dockerT)/2]
	b.ReportMetric(float64(mb.Microseconds())/1000, "berth-ms")
	b.ReportMetric(float64(md.Microseconds())/1000, "docker-run-ms")
	b.ReportMetric(mb.Seconds()/md.Seconds(), "ratio")
	b.Logf("median of %d: berth ContainerTask %s, docker run --rm %s, ratio %.2f", len(berthT), mb, md, mb.Seconds()/md.Seconds())
}
