//go:build faults

package cron

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
)

// socketProxy is an engine socket the test controls: it forwards each connection to the real
// engine's socket, and Cut makes it vanish (listener closed, connections dropped, file gone)
// as when dockerd stops, until Restore.
type socketProxy struct {
	path, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func (p *socketProxy) Restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *socketProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	os.Remove(p.path)
}

// The engine's socket goes away while the scheduler runs (as under `berth cron run`), then
// comes back: runs due meanwhile fail with the reason, the scheduler keeps going, and once the
// socket is back jobs run again and label jobs are discovered again (the event stream and the
// reconcile reconnect) without a restart.
func TestFaultCronEngineSocketGone(t *testing.T) {
	host := testenv.Engine(t)
	image := testenv.Image(t, host, fixtures.Busybox)
	target, ok := strings.CutPrefix(cmp.Or(os.Getenv("DOCKER_HOST"), "unix:///var/run/docker.sock"), "unix://")
	if !ok {
		testenv.Missing(t, "an engine on a unix socket", "DOCKER_HOST is "+os.Getenv("DOCKER_HOST"))
	}
	proxy := &socketProxy{path: filepath.Join(t.TempDir(), "engine.sock"), target: target}
	proxy.Restore(t)
	t.Cleanup(proxy.Cut)
	cli, err := client.New(client.WithHost("unix://" + proxy.path))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	s, err := New(cli, WithLabels(LabelOptions{Reconcile: 2 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Job{Name: "tick", Schedule: "@every 1s", Task: &ContainerTask{Image: image, Cmd: []string{"true"}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testenv.Context(t, 3*time.Minute))
	defer cancel()
	events := make(chan Event, 1000)
	go func() {
		for ev, err := range s.Events(ctx) {
			if err == nil {
				events <- ev
			}
		}
	}()
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	time.Sleep(100 * time.Millisecond) // let Events subscribe before the first run

	wait := func(what string, d time.Duration, match func(Event) bool) Event {
		t.Helper()
		deadline := time.After(d)
		for {
			select {
			case ev := <-events:
				if match(ev) {
					t.Logf("%s: %v", what, ev)
					return ev
				}
			case err := <-ran:
				t.Fatalf("the scheduler stopped while waiting for %s: %v", what, err)
			case <-deadline:
				t.Fatalf("no %s within %s", what, d)
			}
		}
	}
	isTick := func(kind EventKind) func(Event) bool {
		return func(ev Event) bool { return ev.Job == "tick" && ev.Kind == kind }
	}
	wait("a run before the cut", 30*time.Second, isTick(RunDone))

	proxy.Cut()
	failed := wait("a run failing while the socket is gone", 30*time.Second, isTick(RunFailed))
	if failed.Err == nil && (failed.Result == nil || failed.Result.Err == "") {
		t.Errorf("the failed run does not say why: %+v", failed)
	}
	time.Sleep(3 * time.Second) // a few more runs fail; the label watcher's stream is down
	proxy.Restore(t)

	wait("a run after the socket came back", 30*time.Second, isTick(RunDone))
	// A container declaring a job, made after the reconnect, is found by the label watcher.
	name := testenv.Name(t, "cronlbl")
	res, err := host.ContainerCreate(context.Background(), client.ContainerCreateOptions{Name: name,
		Config: &container.Config{Image: image, Cmd: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"},
			Labels: map[string]string{LabelSchedule: "@every 1s", LabelCommand: "true"}},
		HostConfig: &container.HostConfig{NetworkMode: "none"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true}) })
	if _, err := host.ContainerStart(context.Background(), res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	job := "container/" + name
	wait("the label job found after the reconnect", 30*time.Second, func(ev Event) bool { return ev.Job == job && ev.Kind == JobAdded })
	wait("the label job run", 30*time.Second, func(ev Event) bool { return ev.Job == job && ev.Kind == RunDone })
	cancel()
	if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
}
