package volume

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	swarmsvc "github.com/berthdev/berth/swarm"
)

// serviceLabel is the label the engine sets on swarm task containers.
const serviceLabel = "com.docker.swarm.service.id"

// volumeUsers returns the running (not paused) containers that mount volume vol; with no volume
// (a directory of ctr's own filesystem), ctr itself when it runs.
func volumeUsers(ctx context.Context, cli Engine, vol, ctr string) ([]container.Summary, error) {
	f := client.Filters{}
	if vol != "" {
		f.Add("volume", vol)
	} else {
		f.Add("id", ctr)
	}
	f.Add("status", "running")
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("volume: containers using %q: %w", cmp(vol, ctr), err)
	}
	users := slices.DeleteFunc(list.Items, func(c container.Summary) bool {
		if vol == "" {
			return false
		}
		return !slices.ContainsFunc(c.Mounts, func(m container.MountPoint) bool { return m.Name == vol })
	})
	slices.SortFunc(users, func(a, b container.Summary) int { return strings.Compare(a.ID, b.ID) })
	return users, nil
}

// volumeServices returns the swarm services whose tasks mount volume vol; none when the engine
// is not a swarm manager.
func volumeServices(ctx context.Context, cli Engine, vol string) ([]swarm.Service, error) {
	if vol == "" {
		return nil, nil
	}
	list, err := cli.ServiceList(ctx, client.ServiceListOptions{})
	switch {
	case cerrdefs.IsUnavailable(err) || cerrdefs.IsFailedPrecondition(err): // not a manager
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("volume: services using %q: %w", vol, err)
	}
	return slices.DeleteFunc(list.Items, func(s swarm.Service) bool {
		cs := s.Spec.TaskTemplate.ContainerSpec
		return cs == nil || !slices.ContainsFunc(cs.Mounts, func(m mount.Mount) bool {
			return m.Type == mount.TypeVolume && m.Source == vol
		})
	}), nil
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// quiesced remembers what quiesce did, so that resume can undo exactly that.
type quiesced struct {
	cli      Engine
	stopped  []string // container names
	paused   []string
	ids      map[string]string // container name -> ID
	scaled   []string          // service names
	replicas map[string]uint64 // service name -> replicas before
	svcIDs   map[string]string // service name -> ID
}

// quiesce stops or pauses what uses volume vol (or container ctr) as opts says: with
// QuiesceStop, swarm services mounting the volume are scaled to 0 (and their tasks awaited)
// and other containers are stopped; with QuiescePause every running container using it is
// paused. What was done is recorded even on error, so that resume undoes it.
func quiesce(ctx context.Context, cli Engine, vol, ctr string, opts BackupOptions) (*quiesced, error) {
	q := &quiesced{cli: cli, ids: map[string]string{}, replicas: map[string]uint64{}, svcIDs: map[string]string{}}
	if opts.Quiesce == QuiesceNone {
		return q, nil
	}
	if opts.Quiesce == QuiesceStop {
		if err := q.scaleDown(ctx, vol, opts.StopTimeout); err != nil {
			return q, err
		}
	}
	users, err := volumeUsers(ctx, cli, vol, ctr)
	if err != nil {
		return q, err
	}
	for _, c := range users {
		if opts.Quiesce == QuiesceStop && c.Labels[serviceLabel] != "" {
			continue // its service was scaled to 0; a stopped task would be replaced
		}
		if err := q.container(ctx, c, opts); err != nil {
			return q, err
		}
	}
	return q, nil
}

func (q *quiesced) container(ctx context.Context, c container.Summary, opts BackupOptions) error {
	name := c.ID[:min(12, len(c.ID))]
	if len(c.Names) > 0 {
		name = strings.TrimPrefix(c.Names[0], "/")
	}
	q.ids[name] = c.ID
	// Recorded before the request: the engine may act on it even when its answer is lost (a
	// cancelled ctx), and resume must undo that too.
	if opts.Quiesce == QuiescePause {
		q.paused = append(q.paused, name)
		if _, err := q.cli.ContainerPause(ctx, c.ID, client.ContainerPauseOptions{}); err != nil {
			return fmt.Errorf("volume: pause %s before the backup: %w", name, err)
		}
		return nil
	}
	q.stopped = append(q.stopped, name)
	if _, err := q.cli.ContainerStop(ctx, c.ID, client.ContainerStopOptions{Timeout: opts.StopTimeout}); err != nil {
		return fmt.Errorf("volume: stop %s before the backup: %w", name, err)
	}
	return nil
}

// scaleDown scales every replicated service mounting vol to 0 and waits until their tasks'
// containers have stopped. A global service cannot be scaled: that is an error, before any
// change.
func (q *quiesced) scaleDown(ctx context.Context, vol string, stopTimeout *int) error {
	services, err := volumeServices(ctx, q.cli, vol)
	if err != nil {
		return err
	}
	for _, s := range services {
		if s.Spec.Mode.Replicated == nil || s.Spec.Mode.Replicated.Replicas == nil {
			return fmt.Errorf("volume: service %s uses volume %q and is not replicated, so it cannot be scaled to 0 for the backup (use pause): %w",
				s.Spec.Name, vol, cerrdefs.ErrFailedPrecondition)
		}
	}
	for _, s := range services {
		q.scaled = append(q.scaled, s.Spec.Name) // before the request, as in container
		q.replicas[s.Spec.Name], q.svcIDs[s.Spec.Name] = *s.Spec.Mode.Replicated.Replicas, s.ID
		if err := q.scale(ctx, s.ID, 0); err != nil {
			return err
		}
	}
	wait := 40 * time.Second
	if stopTimeout != nil && *stopTimeout > 0 {
		wait += time.Duration(*stopTimeout) * time.Second
	}
	for _, s := range services {
		if err := waitNoTasks(ctx, q.cli, s, wait); err != nil {
			return err
		}
	}
	return nil
}

// scale sets the replicas of service id with swarm.Scale, without waiting: scaleDown waits for
// the containers on this engine itself.
func (q *quiesced) scale(ctx context.Context, id string, replicas uint64) error {
	if _, err := swarmsvc.Scale(ctx, q.cli, id, replicas, swarmsvc.ScaleOptions{}); err != nil {
		return fmt.Errorf("volume: scale service %s to %d: %w", id, replicas, err)
	}
	return nil
}

// waitNoTasks waits until no container of service s runs on this engine.
func waitNoTasks(ctx context.Context, cli Engine, s swarm.Service, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	f := client.Filters{}.Add("label", serviceLabel+"="+s.ID).Add("status", "running")
	for {
		list, err := cli.ContainerList(ctx, client.ContainerListOptions{Filters: f})
		if err == nil && len(list.Items) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("volume: service %s still has running tasks after being scaled to 0: %w", s.Spec.Name, cmpErr(err, ctx.Err()))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// resume starts the stopped containers, unpauses the paused ones and scales services back,
// even when ctx is done, and returns every failure.
func (q *quiesced) resume(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var errs []error
	for _, name := range q.stopped {
		if _, err := q.cli.ContainerStart(ctx, q.ids[name], client.ContainerStartOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("volume: start %s again after the backup: %w", name, err))
		}
	}
	for _, name := range q.paused {
		_, err := q.cli.ContainerUnpause(ctx, q.ids[name], client.ContainerUnpauseOptions{})
		if err != nil && !cerrdefs.IsConflict(err) { // conflict: not paused (the pause never happened)
			errs = append(errs, fmt.Errorf("volume: unpause %s after the backup: %w", name, err))
		}
	}
	for _, name := range q.scaled {
		if err := q.scale(ctx, q.svcIDs[name], q.replicas[name]); err != nil {
			errs = append(errs, fmt.Errorf("%w (after the backup; scale it back by hand)", err))
		}
	}
	return errors.Join(errs...)
}
