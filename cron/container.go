package cron

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"time"

	"github.com/berthdev/berth"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Labels that berth puts on the containers it runs for jobs.
const (
	LabelJob = berth.LabelPrefix + "cron.job" // the job's name
	LabelRun = berth.LabelPrefix + "cron.run" // the run's sequence number
)

// cleanupTimeout bounds the removal of a run's container after the run ended or was cancelled.
const cleanupTimeout = 30 * time.Second

// ContainerTask runs a one-off container per run, like `docker run --rm`: created, started,
// waited for, its logs captured, and removed afterwards unless Keep is set. A cancelled or
// timed-out run kills the container. The image must be on the engine: runs never pull.
type ContainerTask struct {
	Image       string            // required
	Cmd         []string          // the command (the image's CMD when empty)
	Entrypoint  []string          // overrides the image's ENTRYPOINT when set
	Env         []string          // KEY=VALUE
	User        string            // as `docker run --user`
	WorkingDir  string            // as `docker run --workdir`
	Mounts      []mount.Mount     // volumes, binds, tmpfs
	VolumesFrom []string          // containers whose volumes to mount, as `--volumes-from`
	Network     string            // network to attach to (the default bridge when empty)
	Labels      map[string]string // extra labels on the container
	Keep        bool              // keep the container after the run instead of removing it
	// Modify, when set, edits the create request last, for fields this struct does not cover.
	Modify func(*container.Config, *container.HostConfig)
}

// Validate checks the task's fields.
func (t *ContainerTask) Validate() error {
	var p berth.Problems
	if t.Image == "" {
		p.Add("image", "missing; want an image reference such as busybox:latest")
	}
	for i, e := range t.Env {
		if e == "" || e[0] == '=' {
			p.Add(fmt.Sprintf("env[%d]", i), "%q is not KEY=VALUE", e)
		}
	}
	return p.Err()
}

// Run runs the container once; see ContainerTask.
func (t *ContainerTask) Run(ctx context.Context, eng Engine, stdout, stderr io.Writer) (int, error) {
	cfg, host := t.request(ctx)
	// Created on a context the run's cancellation does not cut short: a request cut short may
	// still create the container, and then its ID would be unknown and it would be left behind.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	created, err := eng.ContainerCreate(cctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host, NetworkingConfig: t.networking()})
	cancel()
	if cerrdefs.IsNotFound(err) {
		return -1, fmt.Errorf("create container from %s (runs do not pull: pull the image first): %w", t.Image, err)
	}
	if err != nil {
		return -1, fmt.Errorf("create container from %s: %w", t.Image, err)
	}
	if !t.Keep {
		defer removeContainer(ctx, eng, created.ID)
	}
	if ctx.Err() != nil {
		return -1, context.Cause(ctx)
	}
	return runContainer(ctx, eng, created.ID, stdout, stderr)
}

func (t *ContainerTask) request(ctx context.Context) (*container.Config, *container.HostConfig) {
	labels := maps.Clone(t.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	if info, ok := RunInfoFrom(ctx); ok {
		labels[LabelJob], labels[LabelRun] = info.Job, strconv.FormatUint(info.Seq, 10)
	}
	cfg := &container.Config{
		Image: t.Image, Cmd: t.Cmd, Entrypoint: t.Entrypoint, Env: t.Env, User: t.User,
		WorkingDir: t.WorkingDir, Labels: labels,
	}
	host := &container.HostConfig{Mounts: t.Mounts, VolumesFrom: t.VolumesFrom, NetworkMode: container.NetworkMode(t.Network)}
	if t.Modify != nil {
		t.Modify(cfg, host)
	}
	return cfg, host
}

func (t *ContainerTask) networking() *network.NetworkingConfig {
	if t.Network == "" {
		return nil
	}
	return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{t.Network: {}}}
}

// runContainer starts the created container, waits for it (killing it when ctx ends), copies its
// logs and returns its exit code.
func runContainer(ctx context.Context, eng Engine, id string, stdout, stderr io.Writer) (int, error) {
	waitCtx, stopWait := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWait()
	wait := eng.ContainerWait(waitCtx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := eng.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return -1, fmt.Errorf("start container: %w", err)
	}
	code, err := -1, error(nil)
	select {
	case res := <-wait.Result:
		code = int(res.StatusCode)
		if res.Error != nil && res.Error.Message != "" {
			err = errors.New(res.Error.Message)
		}
	case err = <-wait.Error:
		err = fmt.Errorf("wait for container: %w", err)
	case <-ctx.Done():
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		eng.ContainerKill(kctx, id, client.ContainerKillOptions{})
		err = context.Cause(ctx)
	}
	copyLogs(ctx, eng, id, stdout, stderr)
	return code, err
}

// copyLogs copies what the container wrote (demultiplexed) to stdout and stderr.
func copyLogs(ctx context.Context, eng Engine, id string, stdout, stderr io.Writer) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	logs, err := eng.ContainerLogs(lctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		fmt.Fprintf(stderr, "[berth: cannot read the container's logs: %v]\n", err)
		return
	}
	defer logs.Close()
	stdcopy.StdCopy(stdout, stderr, logs)
}

func removeContainer(ctx context.Context, eng Engine, id string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	eng.ContainerRemove(rctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

// RunInfo identifies the run a task is carrying out.
type RunInfo struct {
	Job       string
	Seq       uint64
	Scheduled time.Time
}

type runInfoKey struct{}

// RunInfoFrom returns the run that ctx belongs to, when a scheduler started it.
func RunInfoFrom(ctx context.Context) (RunInfo, bool) {
	info, ok := ctx.Value(runInfoKey{}).(RunInfo)
	return info, ok
}

func withRunInfo(ctx context.Context, info RunInfo) context.Context {
	return context.WithValue(ctx, runInfoKey{}, info)
}
