package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/berthdev/berth/examples/goimage"
	"github.com/berthdev/berth/image"
	"github.com/berthdev/berth/ingress"
	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
)

// ingressPort is the manager's port the ingress listens on in host mode, as the chapter's
// HAProxy does on port 80; the lab publishes it on 127.0.0.1 of the host.
const ingressPort = 80

// ingress ends the chapter as the book does with HAProxy: the ingress stack (package ingress,
// global on the manager, host-mode port 80, on ch03) routes to echo_proxy, which carries the
// chapter's SERVICE_PORTS convention, and one request from the host to the manager's published
// port answers "Hello Docker!!".
func (ch *chapter) ingress(ctx context.Context, undo *cleanup) error {
	ch.say("build the ingress (package ingress, FROM scratch) and deploy the stack ingress: global on the manager, host port %d, on ch03", ingressPort)
	tag := "berth-ch03/ingress:" + suffix()
	if _, err := goimage.Build(ctx, ch.host, "github.com/berthdev/berth/ingress/cmd/ingress", tag); err != nil {
		return err
	}
	undo.add(func(ctx context.Context) { image.Remove(ctx, ch.host, tag, image.RemoveOptions{Force: true}) })
	refs, err := ch.lab.Push(ctx, tag)
	if err != nil {
		return err
	}
	spec, err := ingress.Stack(ingress.StackOptions{Image: refs[0], Network: "ch03", Port: ingressPort}).Compile()
	if err != nil {
		return err
	}
	if _, err := stack.Deploy(ctx, ch.lab.Manager.Client, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever},
		Wait: true, Watch: swarm.WatchOptions{Stable: time.Second, Timeout: 2 * time.Minute}}); err != nil {
		return err
	}
	addr := ch.lab.Manager.PublishedAddr(ingressPort)
	if addr == "" {
		return fmt.Errorf("the lab did not publish the manager's port %d", ingressPort)
	}
	url := "http://" + addr + "/"
	ch.say("one request from this host, through the manager's published port and the ingress (curl %s)", url)
	answer, err := getUntil(ctx, url, "Hello Docker!!", time.Minute)
	if err != nil {
		return fmt.Errorf("GET %s: %w\nlast lines of the ingress's log:\n%s", url, err, ch.lastLogs(ctx, "ingress_proxy", 10))
	}
	first, _, _ := strings.Cut(answer, "\n")
	ch.detail("GET %s → %s", url, first)
	return nil
}

// getUntil GETs url until it answers 200 with want in its body: the ingress needs a moment to
// find the tasks and check them.
func getUntil(ctx context.Context, url, want string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := fmt.Errorf("no answer")
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err != nil {
			last = err
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(b), want) {
				return string(b), nil
			}
			last = fmt.Errorf("%s: %q", resp.Status, b)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
