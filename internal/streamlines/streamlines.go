// Package streamlines cuts the Engine's output streams into lines: the multiplexed stdout and
// stderr of logs, attach and exec (stdcopy's framing), or the single raw stream of a TTY.
package streamlines

import (
	"bytes"
	"io"
	"strings"

	"github.com/moby/moby/api/pkg/stdcopy"
)

// Split reads r to its end and calls emit for every line, in the order the engine sent them,
// without the newline (and a TTY's carriage return); stderr tells the stream apart (always
// false with tty). A last line without a newline is emitted too. An error from emit stops the
// split and is returned.
func Split(r io.Reader, tty bool, emit func(stderr bool, line string) error) error {
	o := &lineWriter{emit: emit}
	e := &lineWriter{stderr: true, emit: emit}
	var err error
	if tty {
		_, err = io.Copy(o, r)
	} else {
		_, err = stdcopy.StdCopy(o, e, r)
	}
	if err != nil {
		return err
	}
	if err := o.flush(); err != nil {
		return err
	}
	return e.flush()
}

type lineWriter struct {
	stderr bool
	emit   func(bool, string) error
	buf    []byte
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
		if err := w.emit(w.stderr, strings.TrimSuffix(line, "\r")); err != nil {
			return 0, err
		}
	}
}

func (w *lineWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	line := string(w.buf)
	w.buf = nil
	return w.emit(w.stderr, strings.TrimSuffix(line, "\r"))
}
