package ingress_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// load is an open-loop load generator: it starts a GET of url every 1/rate, whatever the
// answers take, until ctx ends, and records each outcome.
type load struct {
	mu        sync.Mutex
	latencies []time.Duration
	failures  []string
	codes     map[int]int
}

// run sends the requests and returns when ctx ended and every request finished. Each request
// has its own 10s bound; a failure is an error, a status other than 200 or a body without want.
func (l *load) run(ctx context.Context, url string, rate int, want string) {
	l.codes = map[int]int{}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	defer c.CloseIdleConnections()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		wg.Go(func() {
			begin := time.Now()
			code, body, err := fetch(c, url)
			d := time.Since(begin)
			l.mu.Lock()
			defer l.mu.Unlock()
			l.latencies = append(l.latencies, d)
			l.codes[code]++
			switch {
			case err != nil:
				l.failures = append(l.failures, err.Error())
			case code != http.StatusOK || !strings.Contains(body, want):
				l.failures = append(l.failures, fmt.Sprintf("%d %q", code, body))
			}
		})
	}
}

func fetch(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// summary returns the count, the failures and the p50 and p99 latencies.
func (l *load) summary() (n, failed int, p50, p99 time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.latencies), len(l.failures), quantile(l.latencies, 0.50), quantile(l.latencies, 0.99)
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*q))]
}
