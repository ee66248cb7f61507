package container

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/berthdev/berth/internal/streamlines"
)

// Stream names the output stream a line came from.
type Stream string

const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// Line is one line a container or an exec wrote.
type Line struct {
	Stream Stream
	Time   time.Time // when the engine logged it (Logs only)
	Text   string    // without the trailing newline
}

// demux splits r (the engine's multiplexed stream, or a TTY's single stream) into lines sent
// on out until r ends or ctx is done. With stamped, each line starts with the engine's
// RFC 3339 timestamp.
func demux(ctx context.Context, r io.Reader, tty, stamped bool, out chan<- Line) error {
	return streamlines.Split(r, tty, func(stderr bool, text string) error {
		l := Line{Stream: Stdout, Text: text}
		if stderr {
			l.Stream = Stderr
		}
		if stamped {
			if ts, rest, ok := strings.Cut(text, " "); ok {
				if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
					l.Time, l.Text = t, rest
				}
			}
		}
		select {
		case out <- l:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// lines runs demux in the background and yields its lines; the iterator ends when the stream
// does (an error then is yielded unless ctx ended), or when the caller stops.
func lines(ctx context.Context, r io.Reader, tty, stamped bool, yield func(Line, error) bool) (stopped bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan Line)
	done := make(chan error, 1)
	go func() { done <- demux(ctx, r, tty, stamped, out) }()
	for {
		select {
		case l := <-out:
			if !yield(l, nil) {
				return true, nil
			}
		case err := <-done:
			return false, err
		}
	}
}
