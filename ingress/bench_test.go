package ingress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/berthdev/berth/ingress"
)

// BenchmarkProxy compares a request through the ingress with the same request straight to
// the task, on loopback: sequential requests report p50 and p99 latency, parallel ones
// requests per second. With -cpu 1 (as `make bench` runs it) client, proxy and task share one
// core, so the ingress's rate is what one core gives the whole path through it.
func BenchmarkProxy(b *testing.B) {
	ts := newTaskSet(b, 1)
	s, err := ingress.NewServer(ingress.Options{Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	front := httptest.NewServer(s)
	defer front.Close()
	s.Update(ingress.Snapshot{Routes: []ingress.Route{route("r", "svc", ts.port, nil, "/")},
		Endpoints: map[string][]ingress.Endpoint{"svc": ts.endpoints("svc")}})
	waitHealthy(b, s, 1)
	targets := map[string]string{"direct": "http://" + ts.lns[0].Addr().String() + "/", "ingress": front.URL + "/"}
	for _, name := range []string{"direct", "ingress"} {
		url := targets[name]
		b.Run(name+"/sequential", func(b *testing.B) {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var lat []time.Duration
			for b.Loop() {
				begin := time.Now()
				hit(b, c, url)
				lat = append(lat, time.Since(begin))
			}
			b.ReportMetric(float64(quantile(lat, 0.5).Microseconds()), "p50-µs")
			b.ReportMetric(float64(quantile(lat, 0.99).Microseconds()), "p99-µs")
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.SetParallelism(8)
			begin := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					hit(b, c, url)
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(begin).Seconds(), "req/s")
		})
	}
}

func hit(b *testing.B, c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %s", url, resp.Status)
	}
}
