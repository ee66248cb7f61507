package ingress_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/examples/goimage"
	"github.com/berthdev/berth/image"
	"github.com/berthdev/berth/ingress"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
	"github.com/berthdev/berth/swarm/dind"
)

// ingressLab is a lab with the echo service (2 replicas on the worker, dnsrr, routed by
// berth.ingress.port) and the ingress stack on the manager, whose port 80 is published on
// the host.
type ingressLab struct {
	lab   *dind.Cluster
	url   string // http://127.0.0.1:PORT/ on the host, through the ingress
	admin string // the ingress's stats page on the host
}

func startIngressLab(t testing.TB, ctx context.Context) *ingressLab {
	t.Helper()
	host := testenv.Engine(t)
	for _, k := range []fixtures.Kind{fixtures.Dind, fixtures.Registry} {
		testenv.Image(t, host, k)
	}
	b := make([]byte, 3)
	rand.Read(b)
	id := hex.EncodeToString(b)
	tags := map[string]string{"echo": "berth-ingress-test/echo:" + id, "ingress": "berth-ingress-test/ingress:" + id}
	pkgs := map[string]string{"echo": "github.com/berthdev/berth/examples/echo", "ingress": "github.com/berthdev/berth/ingress/cmd/ingress"}
	for k, tag := range tags {
		if _, err := goimage.Build(ctx, host, pkgs[k], tag); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { image.Remove(context.Background(), host, tag, image.RemoveOptions{Force: true}) })
	}
	lab := testenv.StartLab(t, ctx, host, dind.Options{
		Name: testenv.Name(t, "ingr"), Workers: 1,
		Push:    []string{tags["echo"], tags["ingress"]},
		Publish: []dind.Publish{{NodePort: 80}, {NodePort: 8081}},
		Swarm:   swarm.InitOptions{DefaultAddrPool: []string{"10.204.0.0/16"}, SubnetSize: 24},
	})
	mgr := lab.Manager.Client
	if _, err := mgr.NetworkCreate(ctx, "web", client.NetworkCreateOptions{Driver: "overlay", Attachable: true}); err != nil {
		t.Fatal(err)
	}
	echo := swarm.NewService("echo").Image(lab.Images[tags["echo"]]).Replicas(2).
		Constraint("node.role != manager").EndpointMode("dnsrr").Network("web").
		Label(ingress.LabelPort, "8080").Label(ingress.LabelHealthPath, "/").Label(ingress.LabelHealthInterval, "1s").
		StopGracePeriod(2 * time.Second).
		UpdateConfig(swarmapi.UpdateConfig{Parallelism: 1, Order: swarmapi.UpdateOrderStartFirst})
	watch := swarm.WatchOptions{Stable: time.Second, Timeout: 2 * time.Minute}
	if _, err := swarm.Create(ctx, mgr, echo, swarm.CreateOptions{Wait: true, Watch: watch}); err != nil {
		t.Fatalf("create echo: %v", err)
	}
	spec, err := ingress.Stack(ingress.StackOptions{Image: lab.Images[tags["ingress"]], Network: "web"}).Compile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Deploy(ctx, mgr, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}, Wait: true, Watch: watch}); err != nil {
		t.Fatalf("deploy the ingress stack: %v", err)
	}
	il := &ingressLab{lab: lab, url: "http://" + lab.Manager.PublishedAddr(80) + "/", admin: "http://" + lab.Manager.PublishedAddr(8081) + "/"}
	body, err := testenv.GetUntil(ctx, il.url, "Hello Docker!!", 60*time.Second)
	if err != nil {
		t.Fatalf("GET %s through the ingress: %v\n%s", il.url, err, il.logs(ctx))
	}
	t.Logf("GET %s → %s", il.url, strings.SplitN(body, "\n", 2)[0])
	return il
}

// logs returns the ingress's last log lines, to say why a request failed.
func (il *ingressLab) logs(ctx context.Context) string {
	var b strings.Builder
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for l, err := range swarm.Logs(lctx, il.lab.Manager.Client, "ingress_proxy", swarm.LogsOptions{Tail: 30}) {
		if err != nil {
			break
		}
		fmt.Fprintf(&b, "  %s\n", l.Text)
	}
	return b.String()
}

// rollingUpdates sends rate requests a second through the ingress while the echo service goes
// through one forced rolling update per order (parallelism 1), plus settle before and after,
// and returns the load's summary.
func (il *ingressLab) rollingUpdates(t testing.TB, ctx context.Context, rate int, minLoad time.Duration, orders ...swarmapi.UpdateOrder) *load {
	t.Helper()
	l := &load{}
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { l.run(lctx, il.url, rate, "Hello Docker!!"); close(done) }()
	begin := time.Now()
	time.Sleep(time.Second)
	if len(orders) == 0 { // the baseline: load without an update
		time.Sleep(minLoad)
	}
	for i := 0; len(orders) > 0 && (i == 0 || time.Since(begin) < minLoad); i++ {
		for _, order := range orders {
			ubegin := time.Now()
			_, err := swarm.Update(ctx, il.lab.Manager.Client, "echo", func(s *swarmapi.ServiceSpec) error {
				s.UpdateConfig.Order = order
				s.UpdateConfig.Parallelism = 1
				s.TaskTemplate.ForceUpdate++
				return nil
			}, swarm.UpdateOptions{Wait: true, Watch: swarm.WatchOptions{Stable: time.Second, Timeout: 2 * time.Minute}})
			if err != nil {
				stop()
				<-done
				t.Fatalf("rolling update (%s): %v", order, err)
			}
			t.Logf("rolling update %s done in %s", order, time.Since(ubegin).Round(time.Millisecond))
		}
	}
	time.Sleep(time.Second)
	stop()
	<-done
	if m, err := testenv.GetUntil(ctx, il.admin+"metrics", "berth_ingress", 5*time.Second); err == nil {
		for line := range strings.SplitSeq(m, "\n") {
			if strings.HasPrefix(line, "berth_ingress_task_errors_total") || strings.HasPrefix(line, "berth_ingress_errors_total") {
				t.Logf("  %s", line)
			}
		}
	}
	return l
}

func (l *load) report(t testing.TB, what string) {
	n, failed, p50, p99 := l.summary()
	slow := 0
	for _, d := range l.latencies {
		if d > 100*time.Millisecond {
			slow++
		}
	}
	t.Logf("%s: %d requests, %d failed, p50 %s, p99 %s, %d over 100ms, codes %v", what, n, failed, p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), slow, l.codes)
	for i, f := range l.failures {
		if i == 10 {
			t.Logf("  ... %d more", len(l.failures)-10)
			break
		}
		t.Logf("  failure: %s", f)
	}
}

// TestLab: the chapter's ending on a lab. The host reaches the echo service through the
// ingress on the manager's published port, the stats page lists its tasks, and a rolling
// update of echo under load (start-first then stop-first, parallelism 1) fails no request.
func TestLab(t *testing.T) {
	ctx := testenv.Context(t, 8*time.Minute)
	il := startIngressLab(t, ctx)
	page, err := testenv.GetUntil(ctx, il.admin, "echo.", 10*time.Second)
	if err != nil || !strings.Contains(page, "requests ") {
		t.Errorf("stats page %s: %v\n%s", il.admin, err, page)
	}
	metrics, err := testenv.GetUntil(ctx, il.admin+"metrics", `berth_ingress_requests_total{code="200",route="echo"}`, 10*time.Second)
	if err != nil {
		t.Errorf("/metrics: %v\n%s", err, metrics)
	}
	il.rollingUpdates(t, ctx, 50, 3*time.Second).report(t, "50 req/s, no update (baseline)")
	l := il.rollingUpdates(t, ctx, 50, 0, swarmapi.UpdateOrderStartFirst, swarmapi.UpdateOrderStopFirst)
	l.report(t, "50 req/s during a start-first and a stop-first rolling update")
	if n, failed, _, _ := l.summary(); failed != 0 || n < 100 {
		t.Errorf("%d of %d requests failed during the rolling updates; want 0 of at least 100\n%s", failed, n, il.logs(ctx))
	}
}

// BenchmarkRollingUpdate is the figure of the issue: 200 req/s for at least 30s through the
// ingress while echo goes through start-first and stop-first rolling updates, one after the
// other. `make bench` runs it (-benchtime 1x); it reports failures and p99.
func BenchmarkRollingUpdate(b *testing.B) {
	ctx := testenv.Context(b, 10*time.Minute)
	il := startIngressLab(b, ctx)
	for b.Loop() {
		il.rollingUpdates(b, ctx, 200, 10*time.Second).report(b, "200 req/s, no update (baseline)")
		l := il.rollingUpdates(b, ctx, 200, 30*time.Second, swarmapi.UpdateOrderStartFirst, swarmapi.UpdateOrderStopFirst)
		l.report(b, "200 req/s during rolling updates")
		n, failed, p50, p99 := l.summary()
		b.ReportMetric(float64(n), "requests")
		b.ReportMetric(float64(failed), "failed")
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")

		// One replica: start-first keeps a task at all times; stop-first leaves a moment
		// without any, when requests wait for the new task (up to RetryTimeout, 15s).
		if _, err := swarm.Scale(ctx, il.lab.Manager.Client, "echo", 1, swarm.ScaleOptions{Watch: swarm.WatchOptions{Stable: time.Second, Timeout: time.Minute}}); err != nil {
			b.Fatal(err)
		}
		for _, order := range []swarmapi.UpdateOrder{swarmapi.UpdateOrderStartFirst, swarmapi.UpdateOrderStopFirst} {
			one := il.rollingUpdates(b, ctx, 200, 0, order)
			one.report(b, "200 req/s, 1 replica, "+string(order)+" update")
			_, failed1, _, p99one := one.summary()
			b.ReportMetric(float64(failed1), "failed-1replica-"+string(order))
			b.ReportMetric(float64(p99one.Microseconds())/1000, "p99-ms-1replica-"+string(order))
		}
		b.Logf("the ingress's log (when tasks left and joined):\n%s", il.logs(ctx))
	}
}
