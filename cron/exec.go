package cron

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/berthdev/berth"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// ExecTask runs a command in a running container, like `docker exec`, found by name (or ID)
// or by label. With a label, the first running container with that label (by name) is used.
//
// The Engine API cannot stop an exec: when a run is cancelled or times out, berth stops reading
// its output and reports the run, but the process may go on inside the container.
type ExecTask struct {
	Container  string   // a container name or ID; or
	Label      string   // "key" or "key=value": a running container with that label
	Cmd        []string // required
	Env        []string // KEY=VALUE
	User       string
	WorkingDir string
}

// Validate checks the task's fields.
func (t *ExecTask) Validate() error {
	var p berth.Problems
	switch {
	case t.Container == "" && t.Label == "":
		p.Add("container", "missing; set Container (a name or ID) or Label (key or key=value)")
	case t.Container != "" && t.Label != "":
		p.Add("container", "both Container %q and Label %q are set; set one", t.Container, t.Label)
	}
	if len(t.Cmd) == 0 {
		p.Add("cmd", "missing; want the command and its arguments, e.g. [sh -c 'date >> /log']")
	}
	return p.Err()
}

// Run runs the command once; see ExecTask.
func (t *ExecTask) Run(ctx context.Context, eng Engine, stdout, stderr io.Writer) (int, error) {
	target, err := t.target(ctx, eng)
	if err != nil {
		return -1, err
	}
	return execIn(ctx, eng, target, client.ExecCreateOptions{
		Cmd: t.Cmd, Env: t.Env, User: t.User, WorkingDir: t.WorkingDir, AttachStdout: true, AttachStderr: true,
	}, stdout, stderr)
}

func (t *ExecTask) target(ctx context.Context, eng Engine) (string, error) {
	if t.Container != "" {
		return t.Container, nil
	}
	list, err := eng.ContainerList(ctx, client.ContainerListOptions{Filters: client.Filters{}.Add("label", t.Label).Add("status", "running")})
	if err != nil {
		return "", fmt.Errorf("find a container labelled %s: %w", t.Label, err)
	}
	if len(list.Items) == 0 {
		return "", fmt.Errorf("no running container is labelled %s: %w", t.Label, cerrdefs.ErrNotFound)
	}
	names := make([]string, 0, len(list.Items))
	for _, c := range list.Items {
		if len(c.Names) > 0 {
			names = append(names, strings.TrimPrefix(c.Names[0], "/"))
		} else {
			names = append(names, c.ID)
		}
	}
	return slices.Min(names), nil
}

// execIn runs an exec in container and returns its exit code.
func execIn(ctx context.Context, eng client.ExecAPIClient, container string, opts client.ExecCreateOptions, stdout, stderr io.Writer) (int, error) {
	created, err := eng.ExecCreate(ctx, container, opts)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", container, err)
	}
	att, err := eng.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return -1, fmt.Errorf("start exec in %s: %w", container, err)
	}
	defer att.Close()
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, stderr, att.Reader)
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		att.Close()
		<-done
		return -1, context.Cause(ctx)
	}
	if err != nil {
		return -1, fmt.Errorf("read exec output: %w", err)
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	res, err := eng.ExecInspect(ictx, created.ID, client.ExecInspectOptions{})
	if err != nil {
		return -1, fmt.Errorf("inspect exec: %w", err)
	}
	return res.ExitCode, nil
}
