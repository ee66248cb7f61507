// Command cronjob reproduces the classic "cron container writes to a volume" workflow with
// berth's scheduler: a task appends a timestamped line to a volume every 2 seconds, the log is
// read back, the scheduler shuts down cleanly, and nothing is left behind (no container, no
// volume).
//
//	go run ./examples/cronjob
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/container"
	"github.com/berthdev/berth/cron"
	berthimage "github.com/berthdev/berth/image"
	"github.com/berthdev/berth/volume"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, 7*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "cronjob:", err)
		os.Exit(1)
	}
}

// run schedules the job for d, then reads the log back and cleans up.
func run(ctx context.Context, d time.Duration) error {
	cli, err := berth.Connect(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	image, err := berthimage.FirstPresent(ctx, cli, "berth-fixtures/busybox:local", "busybox:latest")
	if err != nil {
		return err
	}
	suffix := randomSuffix()
	stamps, job := "cronjob-stamps-"+suffix, "stamp-"+suffix
	if _, err := volume.New(stamps).Create(ctx, cli); err != nil {
		return err
	}
	defer volume.Remove(context.WithoutCancel(ctx), cli, stamps, volume.RemoveOptions{})
	data := []mount.Mount{volume.Named(stamps, "/data")}

	// On shutdown, a run in progress may finish (up to 30 s) before it is cancelled.
	s, err := cron.New(cli, cron.WithShutdownGrace(30*time.Second))
	if err != nil {
		return err
	}
	err = s.Add(cron.Job{Name: job, Schedule: "@every 2s", Timeout: 30 * time.Second, Task: &cron.ContainerTask{
		Image: image, Mounts: data,
		Cmd: []string{"sh", "-c", `line="$(date -u +%Y-%m-%dT%H:%M:%SZ) stamp"; echo "$line" >> /data/stamps.log; echo "$line"`},
	}})
	if err != nil {
		return err
	}
	if err := schedule(ctx, s, d); err != nil {
		return err
	}

	log, err := readLog(ctx, cli, image, data)
	if err != nil {
		return err
	}
	lines := strings.Count(log, "\n")
	fmt.Printf("the volume's log has %d lines:\n%s", lines, log)
	if lines < 2 {
		return fmt.Errorf("want at least 2 timestamped lines in %s, got %d", d, lines)
	}
	return leftovers(ctx, cli, job)
}

// schedule runs s for d, printing its events, and shuts it down.
func schedule(ctx context.Context, s *cron.Scheduler, d time.Duration) error {
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	evCtx, stopEvents := context.WithCancel(ctx)
	events := s.Events(evCtx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range events {
			if err == nil {
				fmt.Println(ev)
			}
		}
	}()
	err := s.Run(runCtx)
	stopEvents()
	<-done
	fmt.Println("scheduler stopped")
	return err
}

// readLog reads /data/stamps.log with a one-off container, as `docker run --rm -v` would.
func readLog(ctx context.Context, cli *client.Client, image string, data []mount.Mount) (string, error) {
	var stdout, stderr bytes.Buffer
	read := &cron.ContainerTask{Image: image, Mounts: data, Cmd: []string{"cat", "/data/stamps.log"}}
	code, err := read.Run(ctx, cli, &stdout, &stderr)
	if err != nil || code != 0 {
		return "", fmt.Errorf("read the log: exit %d: %v %s", code, err, stderr.String())
	}
	return stdout.String(), nil
}

// leftovers fails when a container of the job remains.
func leftovers(ctx context.Context, cli *client.Client, job string) error {
	list, err := container.List(ctx, cli, container.ListOptions{All: true, Labels: []string{cron.LabelJob + "=" + job}})
	if err != nil {
		return err
	}
	if n := len(list); n > 0 {
		return fmt.Errorf("%d containers of job %s left behind", n, job)
	}
	fmt.Println("nothing left behind")
	return nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
