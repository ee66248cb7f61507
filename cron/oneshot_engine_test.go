package cron

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

func TestCronContainer(t *testing.T) {
	t.Parallel()
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 3*time.Minute)
	name := testenv.Name(t, "crond")
	vol := testenv.Name(t, "crondata")
	t.Cleanup(func() { cli.VolumeRemove(context.Background(), vol, client.VolumeRemoveOptions{Force: true}) })
	c, err := Container(ctx, cli, Tab{
		Name: name,
		Base: testenv.Image(t, cli, fixtures.Busybox),
		Tasks: []Entry{
			{Name: "stamp", Schedule: "* * * * *", Script: `echo "stamp $(date +%s) $GREETING"; date >> /data/stamps`},
			{Name: "fails", Schedule: "* * * * *", Script: "echo fails-to-stderr >&2; exit 1"},
		},
		Env:    []string{"GREETING=hello"},
		Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/data"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Remove(context.Background()) })

	// busybox crond has minute resolution: the first run is at the next minute.
	var log string
	for deadline := time.Now().Add(75 * time.Second); ; time.Sleep(time.Second) {
		if log, err = c.Log(ctx); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(log, "stamp ") && strings.Contains(log, "fails-to-stderr") {
			break
		}
		if time.Now().After(deadline) {
			d, _ := c.CrondLog(ctx)
			t.Fatalf("no task output after 75s; log %q; crond: %s", log, d)
		}
	}
	if !strings.Contains(log, " hello\n") {
		t.Errorf("the task did not see the container's environment: %q", log)
	}
	if err := c.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ImageInspect(ctx, c.Image); err == nil {
		t.Errorf("image %s left behind", c.Image)
	}
}

func TestCronContainerValidation(t *testing.T) {
	_, err := Container(context.Background(), nil, Tab{Name: "x", Tasks: []Entry{
		{Name: "a", Schedule: "@every 5s", Script: "true"},
		{Name: "a", Schedule: "61 * * * *", Script: ""},
	}})
	for _, want := range []string{"cron/container/x/tasks[0]/schedule", "busybox crond accepts five fields", "tasks[1]/name", "tasks[1]/schedule", "tasks[1]/script"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}
