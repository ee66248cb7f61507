package container

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
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
	o := &lineWriter{ctx: ctx, stream: Stdout, stamped: stamped, out: out}
	e := &lineWriter{ctx: ctx, stream: Stderr, stamped: stamped, out: out}
	var err error
	if tty {
		_, err = io.Copy(o, r)
	} else {
		_, err = stdcopy.StdCopy(o, e, r)
	}
	o.flush()
	e.flush()
	return err
}

// lineWriter cuts what it is given into lines and sends each.
type lineWriter struct {
	ctx     context.Context
	stream  Stream
	stamped bool
	out     chan<- Line
	buf     []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if err := w.send(line); err != nil {
			return 0, err
		}
	}
}

func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.send(string(w.buf))
		w.buf = nil
	}
}

func (w *lineWriter) send(text string) error {
	l := Line{Stream: w.stream, Text: strings.TrimSuffix(text, "\r")}
	if w.stamped {
		if ts, rest, ok := strings.Cut(l.Text, " "); ok {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				l.Time, l.Text = t, rest
			}
		}
	}
	select {
	case w.out <- l:
		return nil
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
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
