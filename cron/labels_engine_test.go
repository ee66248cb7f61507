package cron

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

func runContainerFor(t *testing.T, cli *client.Client, img, name string, labels map[string]string) string {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	c, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name,
		Config: &container.Config{Image: img, Cmd: []string{"sleep", "300"}, Labels: labels}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true}) })
	if _, err := cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func jobNamed(s *Scheduler, name string) (JobInfo, bool) {
	for _, j := range s.Jobs() {
		if j.Name == name {
			return j, true
		}
	}
	return JobInfo{}, false
}

func TestContainerLabels(t *testing.T) {
	t.Parallel()
	cli := testenv.Engine(t)
	img := testenv.Image(t, cli, fixtures.Busybox)
	good, bad := testenv.Name(t, "good"), testenv.Name(t, "bad")

	s, err := New(cli, WithLabels(LabelOptions{Reconcile: time.Minute})) // events, not the reconcile, must pick them up
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	evctx, evcancel := context.WithCancel(context.Background())
	defer evcancel()
	events := s.Events(evctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(500 * time.Millisecond) // the first reconcile and the event subscription

	goodID := runContainerFor(t, cli, img, good, map[string]string{
		LabelSchedule: "@every 1s", LabelCommand: "echo tick >> /tmp/ticks; wc -l < /tmp/ticks", LabelTimeout: "20s"})
	runContainerFor(t, cli, img, bad, map[string]string{LabelSchedule: "61 * * * *", LabelCommand: "true", LabelOverlap: "sometimes"})

	var invalid error
	for ev, err := range events {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == JobInvalid && ev.Job == "container/"+bad {
			invalid = ev.Err
		}
		if ev.Kind == RunDone && ev.Job == "container/"+good && invalid != nil {
			if got := strings.TrimSpace(ev.Result.Stdout); got == "" {
				t.Errorf("exec output: %+v", ev.Result)
			}
			break
		}
	}
	for _, want := range []string{"container/" + bad + "/labels/berth.cron.schedule", "above maximum", "berth.cron.overlap", "skip, allow, replace"} {
		if !strings.Contains(invalid.Error(), want) {
			t.Errorf("invalid labels error %q does not mention %q", invalid, want)
		}
	}
	if _, ok := jobNamed(s, "container/"+bad); ok {
		t.Error("the badly labelled container was scheduled")
	}

	// Removing the container drops the job (from the destroy event).
	if _, err := cli.ContainerRemove(context.Background(), goodID, client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := jobNamed(s, "container/"+good); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job of the removed container still scheduled: %v", names(s.Jobs()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func names(jobs []JobInfo) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Name)
	}
	return slices.Clip(out)
}
