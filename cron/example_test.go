package cron_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/cron"
	"github.com/moby/moby/api/types/mount"
)

func ExampleParseSchedule() {
	s, err := cron.ParseSchedule("CRON_TZ=Asia/Seoul 0 9 * * 1-5") // 09:00 in Seoul on weekdays
	if err != nil {
		panic(err)
	}
	at := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC) // a Friday
	for range 2 {
		at = s.Next(at)
		fmt.Println(at)
	}
	// Output:
	// 2026-01-05 00:00:00 +0000 UTC
	// 2026-01-06 00:00:00 +0000 UTC
}

// jumpClock is a Clock for the example: each timer fires at once and moves the clock to its
// deadline, for a number of timers; the later ones never fire. Hours of schedule pass in no
// time, and the output does not depend on the machine's speed.
type jumpClock struct {
	mu    sync.Mutex
	now   time.Time
	fires int
}

func (c *jumpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *jumpClock) NewTimer(d time.Duration) cron.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := jumpTimer(make(chan time.Time, 1))
	if c.fires > 0 {
		c.fires--
		c.now = c.now.Add(d)
		t <- c.now
	}
	return t
}

type jumpTimer chan time.Time

func (t jumpTimer) C() <-chan time.Time { return t }
func (t jumpTimer) Stop() bool          { return true }

func ExampleScheduler() {
	clock := &jumpClock{now: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), fires: 3}
	s, err := cron.New(nil, cron.WithClock(clock), cron.WithLocation(time.UTC)) // TaskFunc jobs need no engine
	if err != nil {
		panic(err)
	}
	err = s.Add(cron.Job{Name: "hello", Schedule: "@hourly", Overlap: cron.Allow, Task: cron.TaskFunc(
		func(ctx context.Context, _ cron.Engine, stdout, _ io.Writer) (int, error) {
			fmt.Fprintln(stdout, "hello from cron")
			return 0, nil
		})})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := s.Events(ctx) // subscribed now, before the first run
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	finished := 0
	for ev := range events {
		if ev.Kind == cron.RunDone || ev.Kind == cron.RunFailed {
			if finished++; finished == 3 {
				break
			}
		}
	}
	cancel()
	<-done
	h, _ := s.History("hello")
	for _, r := range h {
		fmt.Printf("%s #%d due %s: %s, %q\n", r.Job, r.Seq, r.Scheduled.Format("15:04"), r.Status, r.Stdout)
	}
	// Output:
	// hello #1 due 01:00: succeeded, "hello from cron\n"
	// hello #2 due 02:00: succeeded, "hello from cron\n"
	// hello #3 due 03:00: succeeded, "hello from cron\n"
}

func ExampleJobFromContainerLabels() {
	_, _, err := cron.JobFromContainerLabels("/web", "0123abcd", map[string]string{
		cron.LabelSchedule: "@every 1m",
		cron.LabelCommand:  "date >> /var/log/stamps",
		cron.LabelOverlap:  "sometimes",
	})
	fmt.Println(err)
	// Output:
	// cron/jobs/container/web/labels/berth.cron.overlap: "sometimes" is not an overlap policy; accepted: skip, allow, replace
}

func ExampleParseFile() {
	jobs, err := cron.ParseFile([]byte(`
jobs:
  - name: stamp
    schedule: "*/10 * * * * *"
    container: {image: busybox:latest, command: [date]}
`))
	if err != nil {
		panic(err)
	}
	fmt.Println(jobs[0].Name, jobs[0].Schedule, jobs[0].Task.(*cron.ContainerTask).Image)
	// Output:
	// stamp */10 * * * * * busybox:latest
}

// A one-off container every five minutes, with a volume, like `docker run --rm -v`.
func ExampleContainerTask() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		panic(err)
	}
	s, _ := cron.New(cli)
	err = s.Add(cron.Job{Name: "backup", Schedule: "*/5 * * * *", Timeout: time.Minute, Task: &cron.ContainerTask{
		Image:  "busybox:latest",
		Cmd:    []string{"sh", "-c", "tar -czf /backup/data-$(date +%s).tgz -C /data ."},
		Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: "data", Target: "/data", ReadOnly: true}, {Type: mount.TypeVolume, Source: "backups", Target: "/backup"}},
	}})
	if err != nil {
		panic(err)
	}
	s.Run(ctx)
}

// The one-container pattern: busybox crond with a crontab, output in a log file.
func ExampleContainer() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		panic(err)
	}
	c, err := cron.Container(ctx, cli, cron.Tab{Name: "stamper", Tasks: []cron.Entry{
		{Name: "stamp", Schedule: "* * * * *", Script: "date >> /data/stamps"},
	}})
	if err != nil {
		panic(err)
	}
	defer c.Remove(ctx)
	time.Sleep(2 * time.Minute)
	log, _ := c.Log(ctx) // what the tasks wrote, as `docker exec stamper cat /var/log/cron/cron.log`
	fmt.Print(log)
}
