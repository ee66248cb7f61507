package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// GetUntil retries a GET of url until it answers 200 with want in its body (any body when
// want is empty) or timeout passes, and returns the body: a task's port, or a proxy's route to
// it, comes up a moment after swarm reports the task running.
func GetUntil(ctx context.Context, url, want string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil && strings.Contains(string(b), want) {
				return string(b), nil
			}
			err = errors.Join(fmt.Errorf("status %s: %q", resp.Status, b), rerr)
		}
		last = err
		select {
		case <-ctx.Done():
			return "", errors.Join(last, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
