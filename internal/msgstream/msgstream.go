// Package msgstream decodes the engine's JSON message streams (build, pull, push, import,
// load) and turns an error inside the stream into a Go error, so that no caller can miss one.
package msgstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"
)

// StreamError is an error the engine reported inside a JSON message stream, after the HTTP
// request itself had succeeded: a failing RUN step, "manifest unknown", "connection refused".
type StreamError struct {
	Code    int
	Message string
	// Output holds the last lines of build output before the error (a failing RUN step's own
	// output), when the stream carried any.
	Output []string
}

func (e *StreamError) Error() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = fmt.Sprintf("the engine reported an error without a message (code %d)", e.Code)
	}
	if len(e.Output) > 0 {
		msg += "\n" + strings.Join(e.Output, "\n")
	}
	return msg
}

// tail is how many lines of build output a StreamError keeps.
const tail = 20

// Decode yields each message of r in order. A message that carries an error ends the sequence
// with a *StreamError; a malformed stream ends it with a decoding error.
func Decode(r io.Reader) iter.Seq2[jsonstream.Message, error] {
	return func(yield func(jsonstream.Message, error) bool) {
		dec := json.NewDecoder(r)
		var recent []string
		for {
			var raw struct {
				jsonstream.Message
				ErrorMessage string `json:"error,omitempty"` // older engines' form of errorDetail
			}
			err := dec.Decode(&raw)
			m := raw.Message
			if m.Error == nil && raw.ErrorMessage != "" {
				m.Error = &jsonstream.Error{Message: raw.ErrorMessage}
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(m, fmt.Errorf("decode engine message stream: %w", err))
				return
			}
			if m.Error != nil {
				yield(m, &StreamError{Code: m.Error.Code, Message: m.Error.Message, Output: recent})
				return
			}
			recent = keepTail(recent, m.Stream)
			if !yield(m, nil) {
				return
			}
		}
	}
}

func keepTail(lines []string, stream string) []string {
	for _, l := range strings.Split(strings.TrimRight(stream, "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		lines = append(lines, l)
		if len(lines) > tail {
			lines = lines[1:]
		}
	}
	return lines
}
