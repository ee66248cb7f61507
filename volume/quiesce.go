package volume

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

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
		return nil, fmt.Errorf("volume: containers using %q: %w", cmpOrString(vol, ctr), err)
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

func cmpOrString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// quiesced remembers what quiesce did, so that resume can undo exactly that.
type quiesced struct {
	cli     Engine
	stopped []string // names
	paused  []string
	ids     map[string]string // name -> ID
}

// quiesce stops or pauses users as opts says. On error, what was already done is recorded so
// that resume undoes it.
func quiesce(ctx context.Context, cli Engine, users []container.Summary, opts BackupOptions) (*quiesced, error) {
	q := &quiesced{cli: cli, ids: map[string]string{}}
	for _, c := range users {
		name := c.ID[:min(12, len(c.ID))]
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		q.ids[name] = c.ID
		switch opts.Quiesce {
		case QuiesceStop:
			if _, err := cli.ContainerStop(ctx, c.ID, client.ContainerStopOptions{Timeout: opts.StopTimeout}); err != nil {
				return q, fmt.Errorf("volume: stop %s before the backup: %w", name, err)
			}
			q.stopped = append(q.stopped, name)
		case QuiescePause:
			if _, err := cli.ContainerPause(ctx, c.ID, client.ContainerPauseOptions{}); err != nil {
				return q, fmt.Errorf("volume: pause %s before the backup: %w", name, err)
			}
			q.paused = append(q.paused, name)
		}
	}
	return q, nil
}

// resume starts the stopped containers and unpauses the paused ones, even when ctx is done,
// and returns every failure.
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
		if _, err := q.cli.ContainerUnpause(ctx, q.ids[name], client.ContainerUnpauseOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("volume: unpause %s after the backup: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
