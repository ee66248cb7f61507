package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/berthdev/berth/examples/goimage"
	"github.com/berthdev/berth/image"
	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
	"github.com/berthdev/berth/swarm/dind"
	"github.com/berthdev/berth/visualize"
)

// visualizerPublish publishes the manager's visualizer port on a free loopback port of the
// host, as the chapter's `9000:8080` makes it reachable on the manager.
var visualizerPublish = dind.Publish{NodePort: visualize.StackPort}

// visualizer builds the visualizer (examples/visualizer, FROM scratch), pushes it to the lab,
// deploys it as the chapter's visualizer.yml (global, manager only, the socket read-only,
// host-mode port) and prints the URL where the host reaches the page, so the rest of the
// chapter can be watched there.
func (ch *chapter) visualizer(ctx context.Context, undo *cleanup) error {
	tag := "berth-ch03/visualizer:" + suffix()
	ch.say("deploy the visualizer (global on the manager, the engine socket read-only, 9000:8080 in host mode)")
	if _, err := goimage.Build(ctx, ch.host, "github.com/berthdev/berth/examples/visualizer", tag); err != nil {
		return err
	}
	undo.add(func(ctx context.Context) { image.Remove(ctx, ch.host, tag, image.RemoveOptions{Force: true}) })
	refs, err := ch.lab.Push(ctx, tag)
	if err != nil {
		return err
	}
	spec, err := visualize.Stack("viz", refs[0]).Compile()
	if err != nil {
		return err
	}
	if _, err := stack.Deploy(ctx, ch.lab.Manager.Client, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever},
		Wait: true, Watch: swarm.WatchOptions{Stable: -1, Timeout: 90 * time.Second}}); err != nil {
		return err
	}
	addr := ch.lab.Manager.PublishedAddr(visualize.StackPort)
	if addr == "" {
		return fmt.Errorf("the lab did not publish the manager's port %d", visualize.StackPort)
	}
	url := "http://" + addr + "/"
	if err := answers(ctx, url, 30*time.Second); err != nil {
		return fmt.Errorf("the visualizer at %s: %w", url, err)
	}
	ch.detail("the visualizer answers on %s", url)
	return nil
}

// answers waits until url answers 200: the task's port comes up a moment after it runs.
func answers(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
