package testenv

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth"
	"github.com/moby/moby/client"
)

// CountingTransport is an http.RoundTripper that records every request an Engine client
// sends, so a test can prove that an operation wrote nothing.
type CountingTransport struct {
	Base http.RoundTripper

	mu       sync.Mutex
	requests []string // "METHOD /path"
}

// RoundTrip records the request and sends it with Base.
func (c *CountingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.requests = append(c.requests, r.Method+" "+r.URL.Path)
	c.mu.Unlock()
	return c.Base.RoundTrip(r)
}

// Requests returns every request sent so far, in order.
func (c *CountingTransport) Requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.requests)
}

// Writes returns the requests that can change the engine's state: POST, PUT, PATCH and DELETE
// (a HEAD of /_ping, or a GET, is a read).
func (c *CountingTransport) Writes() []string {
	var out []string
	for _, r := range c.Requests() {
		switch method, _, _ := strings.Cut(r, " "); method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			out = append(out, r)
		}
	}
	return out
}

// Reset forgets the requests recorded so far.
func (c *CountingTransport) Reset() {
	c.mu.Lock()
	c.requests = nil
	c.mu.Unlock()
}

// CountingEngine returns a client of the engine under test (as Engine) whose requests all go
// through a new CountingTransport, and that transport. The client is closed when the test ends.
func CountingEngine(t testing.TB) (*client.Client, *CountingTransport) {
	t.Helper()
	shared := Engine(t)
	u, err := client.ParseHostURL(shared.DaemonHost())
	if err != nil {
		t.Fatalf("engine host %s: %v", shared.DaemonHost(), err)
	}
	proto, addr := u.Scheme, u.Host // for unix, Host is the socket's path
	if addr == "" {
		addr = u.Path
	}
	base := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, proto, addr)
	}}
	ct := &CountingTransport{Base: base}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Connect applies the environment first (the host, as for Engine), then this HTTP client.
	cli, err := berth.Connect(ctx, client.WithHTTPClient(&http.Client{Transport: ct}))
	if err != nil {
		t.Fatalf("counting engine client: %v", err)
	}
	t.Cleanup(func() { cli.Close(); base.CloseIdleConnections() })
	ct.Reset() // the ping of Connect
	return cli, ct
}
