package swarm

import (
	"context"
	"io"
)

// DecodeLogs exposes decodeLogs to the external tests: it returns every line of r.
func DecodeLogs(ctx context.Context, r io.Reader, tty bool) []LogLine {
	ch := make(chan LogLine)
	done := make(chan error, 1)
	go func() { done <- decodeLogs(ctx, r, tty, ch) }()
	var out []LogLine
	for {
		select {
		case l := <-ch:
			out = append(out, l)
		case <-done:
			return out
		}
	}
}
