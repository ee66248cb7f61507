package container

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthdev/berth"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
)

// WaitFor says what Run waits for after starting the container.
type WaitFor int

const (
	// WaitNone returns once the container started (`docker run -d`). The default.
	WaitNone WaitFor = iota
	// WaitHealthy returns once the container's health check passes; it fails as soon as the
	// container exits or turns unhealthy, and when the image and builder define no check.
	WaitHealthy
	// WaitExit returns once the container exited, with its exit code (`docker run` without -d).
	WaitExit
)

// RunOptions tune Run.
type RunOptions struct {
	Wait WaitFor
	// Output, with WaitExit, receives the lines the container writes as it writes them, as
	// `docker run` in the foreground prints them: Run attaches to the container before it
	// starts, so nothing is missed, whatever the logging driver.
	Output func(Line)
	// PollInterval is how often WaitHealthy looks at the container; 0 means 200ms.
	PollInterval time.Duration
}

// RunResult is what Run made.
type RunResult struct {
	ID       string
	Name     string   // the container's name, without the leading '/'
	Warnings []string // what the engine warned about at creation
	ExitCode int      // with WaitExit: the exit code
}

// ExitError is a process that exited with a non-zero code: a container Run waited for, or an
// Exec. Stderr holds the end of what it wrote to standard error, when known.
type ExitError struct {
	What   string // "container NAME" or "exec [ARGS]"
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s exited with code %d", e.What, e.Code)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// Create compiles c and creates the container (`docker create`). It returns the container's ID
// and the engine's warnings. Invalid input is reported before any request.
func Create(ctx context.Context, cli client.ContainerAPIClient, c *Container) (RunResult, error) {
	spec, err := c.Compile()
	if err != nil {
		return RunResult{}, err
	}
	return create(ctx, cli, spec)
}

func create(ctx context.Context, cli client.ContainerAPIClient, spec Spec) (RunResult, error) {
	if err := checkAPI(cli, spec); err != nil {
		return RunResult{}, err
	}
	res, err := cli.ContainerCreate(ctx, spec.CreateOptions())
	if err != nil {
		return RunResult{}, fmt.Errorf("container: create %s: %w", describe(spec), err)
	}
	return RunResult{ID: res.ID, Name: spec.Name, Warnings: res.Warnings}, nil
}

// checkAPI refuses fields the negotiated API version would silently drop.
func checkAPI(cli client.ContainerAPIClient, s Spec) error {
	v, ok := cli.(interface{ ClientVersion() string })
	if !ok || v.ClientVersion() == "" {
		return nil
	}
	if hc := s.Config.Healthcheck; hc != nil && hc.StartInterval != 0 && versions.LessThan(v.ClientVersion(), "1.44") {
		return berth.Invalid("health-start-interval", "needs Engine API 1.44; this engine speaks %s", v.ClientVersion())
	}
	return nil
}

func describe(s Spec) string {
	if s.Name != "" {
		return s.Name
	}
	return "from " + s.Config.Image
}

// Run creates and starts the container (`docker run`), then waits as opts.Wait says. When the
// start fails the created container is removed, so a failed Run leaves nothing behind; a
// container that started and then failed its wait is left for the caller to inspect and
// remove (its ID is in the result).
func Run(ctx context.Context, cli client.ContainerAPIClient, c *Container, opts RunOptions) (RunResult, error) {
	spec, err := c.Compile()
	if err != nil {
		return RunResult{}, err
	}
	res, err := create(ctx, cli, spec)
	if err != nil {
		return res, err
	}
	var exit client.ContainerWaitResult
	if opts.Wait == WaitExit {
		// Registered before the start, so that even a container that exits at once is seen.
		exit = cli.ContainerWait(ctx, res.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	}
	var attached *client.HijackedResponse
	if opts.Wait == WaitExit && opts.Output != nil {
		a, err := cli.ContainerAttach(ctx, res.ID, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
		if err != nil {
			return RunResult{}, removeCreated(ctx, cli, res.ID, fmt.Errorf("container: attach to %s: %w", res.ID[:12], err))
		}
		attached = &a.HijackedResponse
	}
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		if attached != nil {
			attached.Close()
		}
		return RunResult{}, removeCreated(ctx, cli, res.ID, fmt.Errorf("container: start %s: %w", res.ID[:12], err))
	}
	if res.Name == "" {
		if info, err := Inspect(ctx, cli, res.ID); err == nil {
			res.Name = strings.TrimPrefix(info.Name, "/")
		}
	}
	switch opts.Wait {
	case WaitExit:
		stop := func() {}
		if attached != nil { // a TTY's stream is not multiplexed
			stop = followOutput(ctx, attached, spec.Config.Tty, opts.Output)
		}
		res.ExitCode, err = waitResult(exit)
		stop()
		if err != nil {
			return res, fmt.Errorf("container: wait for %s: %w", res.Name, err)
		}
	case WaitHealthy:
		err = waitHealthy(ctx, cli, res.ID, opts.PollInterval)
	}
	return res, err
}

// outputDrain bounds how long Run, once the container exited, waits for the rest of its
// output: the stream of a container that restarts stays open.
const outputDrain = 2 * time.Second

// followOutput sends the lines of the attached container to out as it writes them, until
// the returned stop is called and the stream ended (or outputDrain passed).
func followOutput(ctx context.Context, attached *client.HijackedResponse, tty bool, out func(Line)) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		lines(ctx, attached.Reader, tty, false, func(l Line, err error) bool {
			if err == nil {
				out(l)
			}
			return err == nil
		})
	}()
	return func() {
		select {
		case <-done:
		case <-time.After(outputDrain):
		}
		attached.Close() // ends the read of a stream still open
		<-done
	}
}

// removeCreated removes a container Run created and could not start, and returns err with
// what went wrong in the removal.
func removeCreated(ctx context.Context, cli client.ContainerAPIClient, id string, err error) error {
	_, rmErr := cli.ContainerRemove(context.WithoutCancel(ctx), id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	return errors.Join(err, rmErr)
}

// waitHealthy polls the container's health until it is healthy, unhealthy or no longer running.
func waitHealthy(ctx context.Context, cli client.ContainerAPIClient, id string, every time.Duration) error {
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	for {
		info, err := Inspect(ctx, cli, id)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(info.Name, "/")
		st := info.State
		switch {
		case st == nil:
			return fmt.Errorf("container: %s: the engine reports no state", name)
		case st.Health == nil:
			return fmt.Errorf("container: %s has no health check to wait for (set one with Healthcheck)", name)
		case st.Health.Status == container.Healthy:
			return nil
		case !st.Running:
			return fmt.Errorf("container: %s exited with code %d before it was healthy%s", name, st.ExitCode, lastProbe(st.Health))
		case st.Health.Status == container.Unhealthy:
			return fmt.Errorf("container: %s is unhealthy%s", name, lastProbe(st.Health))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("container: %s not healthy yet (%s)%s: %w", name, st.Health.Status, lastProbe(st.Health), ctx.Err())
		case <-time.After(every):
		}
	}
}

func lastProbe(h *container.Health) string {
	if h == nil || len(h.Log) == 0 {
		return ""
	}
	l := h.Log[len(h.Log)-1]
	return fmt.Sprintf("; last check exited %d: %s", l.ExitCode, strings.TrimSpace(l.Output))
}

// Start starts a created or stopped container (`docker start`).
func Start(ctx context.Context, cli client.ContainerAPIClient, ctr string) error {
	if _, err := cli.ContainerStart(ctx, ctr, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("container: start %s: %w", ctr, err)
	}
	return nil
}

// StopOptions mirror `docker stop` (and `docker restart`).
type StopOptions struct {
	// Timeout is how long to wait after the signal before killing (`--time`); nil means the
	// container's own StopTimeout, else the engine's 10 s. Whole seconds are sent.
	Timeout *time.Duration
	// Signal is sent first (`--signal`); empty means the container's StopSignal, else SIGTERM.
	Signal string
}

func (o StopOptions) seconds() *int {
	if o.Timeout == nil {
		return nil
	}
	s := int(*o.Timeout / time.Second)
	return &s
}

// Stop stops a running container (`docker stop`); a container that is not running is left as
// it is, without an error, as the engine does.
func Stop(ctx context.Context, cli client.ContainerAPIClient, ctr string, opts StopOptions) error {
	if _, err := cli.ContainerStop(ctx, ctr, client.ContainerStopOptions{Signal: opts.Signal, Timeout: opts.seconds()}); err != nil {
		return fmt.Errorf("container: stop %s: %w", ctr, err)
	}
	return nil
}

// Restart stops (as Stop) and starts a container (`docker restart`).
func Restart(ctx context.Context, cli client.ContainerAPIClient, ctr string, opts StopOptions) error {
	if _, err := cli.ContainerRestart(ctx, ctr, client.ContainerRestartOptions{Signal: opts.Signal, Timeout: opts.seconds()}); err != nil {
		return fmt.Errorf("container: restart %s: %w", ctr, err)
	}
	return nil
}

// RemoveOptions mirror `docker rm`.
type RemoveOptions struct {
	Force   bool // kill a running container first (`--force`)
	Volumes bool // also remove its anonymous volumes (`--volumes`)
}

// Remove removes a container (`docker rm`). A container that does not exist is an error
// matching cerrdefs.IsNotFound.
func Remove(ctx context.Context, cli client.ContainerAPIClient, ctr string, opts RemoveOptions) error {
	if _, err := cli.ContainerRemove(ctx, ctr, client.ContainerRemoveOptions{Force: opts.Force, RemoveVolumes: opts.Volumes}); err != nil {
		return fmt.Errorf("container: remove %s: %w", ctr, err)
	}
	return nil
}

// Wait waits until the container is not running (`docker wait`) and returns its exit code.
// A container that is not running returns at once.
func Wait(ctx context.Context, cli client.ContainerAPIClient, ctr string) (int, error) {
	code, err := waitResult(cli.ContainerWait(ctx, ctr, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning}))
	if err != nil {
		return code, fmt.Errorf("container: wait for %s: %w", ctr, err)
	}
	return code, nil
}

func waitResult(w client.ContainerWaitResult) (int, error) {
	select {
	case r := <-w.Result:
		if r.Error != nil && r.Error.Message != "" {
			return int(r.StatusCode), errors.New(r.Error.Message)
		}
		return int(r.StatusCode), nil
	case err := <-w.Error:
		return -1, err
	}
}

// Inspect returns what the engine knows about a container (`docker inspect`), by name or ID.
func Inspect(ctx context.Context, cli client.ContainerAPIClient, ctr string) (container.InspectResponse, error) {
	res, err := cli.ContainerInspect(ctx, ctr, client.ContainerInspectOptions{})
	if err != nil {
		return container.InspectResponse{}, fmt.Errorf("container: inspect %s: %w", ctr, err)
	}
	return res.Container, nil
}

// ListOptions mirror `docker ps`.
type ListOptions struct {
	All bool // include containers that are not running (`--all`)
	// Labels keeps containers with every label: "KEY" (any value) or "KEY=VALUE".
	Labels []string
	// Name keeps containers whose name contains this (the engine's name filter).
	Name string
	// Filters are further engine filters (`--filter status=exited`), added to the above.
	Filters client.Filters
}

// List returns the containers that match opts (`docker ps`).
func List(ctx context.Context, cli client.ContainerAPIClient, opts ListOptions) ([]container.Summary, error) {
	f := opts.Filters.Clone()
	if f == nil {
		f = client.Filters{}
	}
	if len(opts.Labels) > 0 {
		f.Add("label", opts.Labels...)
	}
	if opts.Name != "" {
		f.Add("name", opts.Name)
	}
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: opts.All, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("container: list: %w", err)
	}
	return res.Items, nil
}
