package container

import (
	"context"
	"fmt"
	"iter"
	"strconv"

	"github.com/moby/moby/client"
)

// LogsOptions mirror `docker logs`.
type LogsOptions struct {
	// Follow keeps the stream open and yields new lines until ctx ends (`--follow`).
	Follow bool
	// Since and Until bound the lines by time (`--since`, `--until`): a duration before now
	// ("10m"), an RFC 3339 time or a Unix timestamp. Empty means no bound.
	Since, Until string
	// Tail shows only the last n lines (`--tail N`); 0 shows them all.
	Tail int
	// Stdout and Stderr select the streams; when both are false, both are shown.
	Stdout, Stderr bool
}

// Logs yields the lines a container wrote (`docker logs`), demultiplexed into Stdout and
// Stderr (a container with a TTY has only Stdout), each with the engine's timestamp. With
// Follow it runs until the container stops, ctx ends (not an error) or the caller stops.
func Logs(ctx context.Context, cli client.ContainerAPIClient, ctr string, opts LogsOptions) iter.Seq2[Line, error] {
	return func(yield func(Line, error) bool) {
		info, err := Inspect(ctx, cli, ctr)
		if err != nil {
			yield(Line{}, err)
			return
		}
		o := client.ContainerLogsOptions{ShowStdout: opts.Stdout, ShowStderr: opts.Stderr, Follow: opts.Follow,
			Since: opts.Since, Until: opts.Until, Timestamps: true}
		if !opts.Stdout && !opts.Stderr {
			o.ShowStdout, o.ShowStderr = true, true
		}
		if opts.Tail > 0 {
			o.Tail = strconv.Itoa(opts.Tail)
		}
		rc, err := cli.ContainerLogs(ctx, info.ID, o)
		if err != nil {
			yield(Line{}, fmt.Errorf("container: logs of %s: %w", ctr, err))
			return
		}
		defer rc.Close()
		tty := info.Config != nil && info.Config.Tty
		if stopped, err := lines(ctx, rc, tty, true, yield); !stopped && err != nil && ctx.Err() == nil {
			yield(Line{}, fmt.Errorf("container: logs of %s: %w", ctr, err))
		}
	}
}
