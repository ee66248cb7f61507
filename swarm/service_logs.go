package swarm

import (
	"context"
	"fmt"
	"io"
	"iter"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth/internal/streamlines"
	"github.com/moby/moby/client"
)

// LogsOptions configures Logs and LogsTo, as `docker service logs` names them.
type LogsOptions struct {
	// Follow keeps the stream open and yields new lines until ctx ends.
	Follow bool
	// Since shows lines from this time on: a duration before now ("10m"), an RFC 3339 time or
	// a Unix timestamp, as the Docker CLI accepts them. Empty shows everything.
	Since string
	// Tail shows only the last n lines of each task; 0 shows them all.
	Tail int
	// Stdout and Stderr select the streams; when both are false, both are shown.
	Stdout, Stderr bool
}

// Stream names the output stream a log line came from.
type Stream string

const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// LogLine is one line a task wrote.
type LogLine struct {
	Stream Stream
	Time   time.Time // when the engine logged it
	TaskID string
	NodeID string
	Text   string // without the trailing newline
}

func (o LogsOptions) api() client.ServiceLogsOptions {
	out := client.ServiceLogsOptions{ShowStdout: o.Stdout, ShowStderr: o.Stderr, Follow: o.Follow,
		Since: o.Since, Timestamps: true, Details: true}
	if !o.Stdout && !o.Stderr {
		out.ShowStdout, out.ShowStderr = true, true
	}
	if o.Tail > 0 {
		out.Tail = strconv.Itoa(o.Tail)
	}
	return out
}

// Logs yields the log lines of a service's tasks (name or ID), decoding the engine's
// multiplexed stream (or the raw stream of a service with a TTY, whose lines are all Stdout).
// With Follow it runs until ctx ends or the caller stops; ctx ending then is not an error.
// The service's log driver must be readable (json-file, local, journald).
func Logs(ctx context.Context, cli client.ServiceAPIClient, service string, opts LogsOptions) iter.Seq2[LogLine, error] {
	return func(yield func(LogLine, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		svc, err := inspectService(ctx, cli, service)
		if err != nil {
			yield(LogLine{}, err)
			return
		}
		rc, err := cli.ServiceLogs(ctx, svc.ID, opts.api())
		if err != nil {
			yield(LogLine{}, fmt.Errorf("logs of service %s: %w", svc.Spec.Name, err))
			return
		}
		defer rc.Close()
		tty := svc.Spec.TaskTemplate.ContainerSpec != nil && svc.Spec.TaskTemplate.ContainerSpec.TTY
		lines := make(chan LogLine)
		done := make(chan error, 1)
		go func() { done <- decodeLogs(ctx, rc, tty, lines) }()
		for {
			select {
			case l := <-lines:
				if !yield(l, nil) {
					return
				}
			case err := <-done:
				if err != nil && ctx.Err() == nil {
					yield(LogLine{}, fmt.Errorf("logs of service %s: %w", svc.Spec.Name, err))
				}
				return
			}
		}
	}
}

// LogsTo copies the text of a service's log lines to stdout and stderr, one line each, and
// returns when the stream ends (or, with Follow, when ctx ends).
func LogsTo(ctx context.Context, cli client.ServiceAPIClient, service string, opts LogsOptions, stdout, stderr io.Writer) error {
	for l, err := range Logs(ctx, cli, service, opts) {
		if err != nil {
			return err
		}
		w := stdout
		if l.Stream == Stderr {
			w = stderr
		}
		if _, err := io.WriteString(w, l.Text+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// decodeLogs demultiplexes r into lines sent on out until r ends or ctx is done.
func decodeLogs(ctx context.Context, r io.Reader, tty bool, out chan<- LogLine) error {
	return streamlines.Split(r, tty, func(stderr bool, line string) error {
		stream := Stdout
		if stderr {
			stream = Stderr
		}
		select {
		case out <- parseLogLine(stream, line):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// parseLogLine splits "TIMESTAMP DETAILS TEXT", as the engine writes service log lines with
// timestamps and details on; the details are URL-encoded key=value pairs separated by commas.
func parseLogLine(stream Stream, line string) LogLine {
	l := LogLine{Stream: stream, Text: line}
	ts, rest, ok := strings.Cut(line, " ")
	if !ok {
		return l
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return l
	}
	l.Time, l.Text = t, rest
	details, text, _ := strings.Cut(rest, " ")
	if !strings.Contains(details, "=") {
		return l
	}
	for _, kv := range strings.Split(details, ",") {
		k, v, _ := strings.Cut(kv, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		switch k {
		case "com.docker.swarm.task.id":
			l.TaskID = v
		case "com.docker.swarm.node.id":
			l.NodeID = v
		}
	}
	l.Text = text
	return l
}
