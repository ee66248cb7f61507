package ingress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type atomicTable = atomic.Pointer[table]

// errNoTask is the error of a request that found no healthy task within RetryTimeout.
var errNoTask = errors.New("no healthy task")

// retryTransport sends a request to a task of its route, picked at each attempt from the
// current table, so a task that left the pool is never tried again and a new one is. A request
// without a body is retried on another task when the connection cannot be made (refused, no
// route, timeout: nothing was sent), whatever its method, and after any other failure before
// the answer's header when its method is idempotent (GET, HEAD, OPTIONS, TRACE). A request
// with a body is sent once.
type retryTransport Server

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s := (*Server)(t)
	name, _ := req.Context().Value(routeKey{}).(string)
	deadline := time.Now().Add(s.opts.RetryTimeout)
	tried := map[*backend]bool{}
	var last error
	for {
		rt := s.table.Load().byName[name]
		var b *backend
		if rt != nil {
			b = rt.pick(tried)
		}
		if b == nil {
			if time.Now().After(deadline) {
				if last != nil {
					return nil, fmt.Errorf("%w for route %s in %s; last error: %w", errNoTask, name, s.opts.RetryTimeout, last)
				}
				return nil, fmt.Errorf("%w for route %s in %s", errNoTask, name, s.opts.RetryTimeout)
			}
			// Every task was tried or none is healthy: wait for the table or a health check
			// to change, then try them all again.
			if err := sleep(req.Context(), 50*time.Millisecond); err != nil {
				return nil, err
			}
			clear(tried)
			continue
		}
		resp, err := s.attempt(req, rt, b)
		if err == nil {
			return resp, nil
		}
		last = err
		if !retryable(req, err) {
			return nil, err
		}
		tried[b] = true
	}
}

// attempt sends req to b once; b's counters and the per-task metrics end with the body.
func (s *Server) attempt(req *http.Request, rt *liveRoute, b *backend) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Host = b.addr
	b.inflight.Add(1)
	begin := time.Now()
	resp, err := s.transport.RoundTrip(out)
	if err != nil {
		b.inflight.Add(-1)
		b.errors.Add(1)
		b.setErr(err.Error())
		if dialFailed(err) {
			// Passive health: a task that refuses is out until its next check passes.
			b.healthy.Store(false)
		}
		s.metrics.taskError(rt.Name, b.name, errKind(err))
		return nil, err
	}
	resp.Body = &doneBody{ReadCloser: resp.Body, done: func() {
		d := time.Since(begin)
		b.inflight.Add(-1)
		b.requests.Add(1)
		b.nanos.Add(int64(d))
		s.metrics.taskRequest(rt.Name, b.name, resp.StatusCode, d)
	}}
	return resp, nil
}

// doneBody calls done once, when the body is closed.
type doneBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (d *doneBody) Close() error {
	err := d.ReadCloser.Close()
	d.once.Do(d.done)
	return err
}

func retryable(req *http.Request, err error) bool {
	if req.Context().Err() != nil || req.Body != nil && req.Body != http.NoBody {
		return false // a body is read once: it cannot be sent again
	}
	if dialFailed(err) {
		return true
	}
	idempotent := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions || req.Method == http.MethodTrace
	return idempotent && (req.Body == nil || req.Body == http.NoBody)
}

// dialFailed reports whether err is a failure to connect, before any byte was sent.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "reset"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case dialFailed(err):
		return "dial"
	}
	return "other"
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// check health-checks b at its interval until b leaves the pool; the first check runs at once
// so that a new task joins as soon as it answers.
func (s *Server) check(b *backend) {
	timeout := min(b.health.Interval, time.Second)
	client := &http.Client{Transport: s.transport, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tick := time.NewTicker(b.health.Interval)
	defer tick.Stop()
	for {
		err := probe(client, b, timeout)
		was := b.healthy.Load()
		b.healthy.Store(err == nil)
		first := !b.checked.Swap(true)
		switch {
		case err == nil && (!was || first):
			s.log.Info("ingress: task healthy", "task", b.name, "addr", b.addr)
		case err != nil && (was || first):
			b.setErr(err.Error())
			s.log.Warn("ingress: task unhealthy", "task", b.name, "addr", b.addr, "err", err)
		}
		select {
		case <-b.stop:
			return
		case <-tick.C:
		}
	}
}

// probe runs one health check: an HTTP GET of the health path (2xx or 3xx), else a TCP
// connect.
func probe(client *http.Client, b *backend, timeout time.Duration) error {
	if b.health.Path == "" {
		c, err := net.DialTimeout("tcp", b.addr, timeout)
		if err != nil {
			return err
		}
		return c.Close()
	}
	resp, err := client.Get("http://" + b.addr + b.health.Path)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: %s", b.health.Path, resp.Status)
	}
	return nil
}
