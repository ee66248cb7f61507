package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm/dind"
)

// The chapter runs end to end on its own lab, answers through the proxy, and leaves none of
// its lab or images behind.
func TestChapter3(t *testing.T) {
	host := testenv.Engine(t)
	for _, k := range fixtures.All {
		testenv.Image(t, host, k)
	}
	ctx := testenv.Context(t, 5*time.Minute)
	name := testenv.Name(t, "ch03")
	t.Cleanup(func() { dind.Remove(context.Background(), host, name) }) // in case run's own teardown failed

	var out strings.Builder
	begin := time.Now()
	err := run(ctx, config{Name: name, Workers: 3}, &out)
	t.Logf("chapter 3 in %s:\n%s", time.Since(begin).Round(time.Millisecond), out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"6/6 running", "Hello Docker!!", "request: GET /chapter3", "X-Proxied-By", name + "-worker3", "the visualizer answers on http://127.0.0.1:", "→ Hello Docker!!"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The api runs on workers only: the manager's row of the table lists no echo_api task.
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, name+"-manager") && strings.Contains(line, "echo_api.") {
			t.Errorf("an api task on the manager: %s", line)
		}
	}
	if labs, err := dind.List(ctx, host); err != nil || slices.Contains(labs, name) {
		t.Errorf("lab %s still there after the chapter: %v %v", name, labs, err)
	}
	imgs, err := host.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range imgs.Items {
		for _, tag := range i.RepoTags {
			if strings.HasPrefix(tag, "berth-ch03/") || strings.Contains(tag, "/berth-ch03/") {
				t.Errorf("image %s left behind", tag)
			}
		}
	}
}

// A chapter that fails half-way still removes its lab and images: without workers, the api
// (node.role != manager) cannot be placed, and the deploy's preflight says so before writing.
func TestChapter3FailsClean(t *testing.T) {
	host := testenv.Engine(t)
	for _, k := range fixtures.All {
		testenv.Image(t, host, k)
	}
	ctx := testenv.Context(t, 3*time.Minute)
	name := testenv.Name(t, "ch03f")
	t.Cleanup(func() { dind.Remove(context.Background(), host, name) })
	var out strings.Builder
	err := run(ctx, config{Name: name, Workers: 0}, &out)
	if !errors.Is(err, stack.ErrPreflight) || !strings.Contains(err.Error(), "echo_api") || !strings.Contains(err.Error(), "node.role != manager") {
		t.Fatalf("run without workers: %v; want a preflight error naming echo_api's constraint\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "tear everything down") {
		t.Errorf("no teardown step in the output:\n%s", out.String())
	}
	if labs, err := dind.List(ctx, host); err != nil || slices.Contains(labs, name) {
		t.Errorf("lab %s still there after a failed chapter: %v %v", name, labs, err)
	}
}
