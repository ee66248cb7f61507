package stack_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
)

// writeScaleStack writes a Compose file of n services with the fields stacks commonly use,
// written so that both berth and `docker stack config` accept it, plus its secret and config
// files. Services have replicas (0 for the engine benchmark: it measures berth's requests, not
// hundreds of containers starting on a shared machine).
func writeScaleStack(tb testing.TB, n, replicas int) string {
	dir := tb.TempDir()
	for _, f := range []string{"key.txt", "app.conf"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	var b strings.Builder
	b.WriteString("services:\n")
	for i := range n {
		fmt.Fprintf(&b, `  svc%03d:
    image: 127.0.0.1:5000/bench/svc%d:1
    command: [serve, --port, "80"]
    environment:
      INDEX: "%d"
      MODE: bench
      A: "1"
    labels:
      svc: "%d"
    healthcheck:
      test: [CMD, "true"]
      interval: 10s
      retries: 3
    secrets: [key]
    configs:
      - source: conf
        target: /etc/conf
    volumes:
      - data:/data
      - type: tmpfs
        target: /tmp
        tmpfs:
          size: 1048576
    networks: [front, back]
    ports:
      - target: 80
        published: %d
        mode: host
    stop_grace_period: 1s
    deploy:
      replicas: %d
      labels:
        team: bench
      resources:
        limits:
          cpus: "0.5"
          memory: 64M
      restart_policy:
        condition: on-failure
      update_config:
        parallelism: 1
        delay: 10s
      placement:
        constraints: [node.platform.os==linux]
`, i, i, i, i, 20000+i, replicas)
	}
	b.WriteString(`networks:
  front:
    driver: overlay
    attachable: true
  back:
    driver: overlay
    internal: true
volumes:
  data: {}
secrets:
  key:
    file: ./key.txt
configs:
  conf:
    file: ./app.conf
`)
	file := filepath.Join(dir, fmt.Sprintf("stack-%d.yml", n))
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return file
}

var scaleSizes = []int{50, 200, 500}

// measure runs f and returns how long it took and how many bytes it allocated.
func measure(f func()) (time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return d, after.TotalAlloc - before.TotalAlloc
}

// BenchmarkLoadVsCLI compares, on the same file in one run, berth loading a Compose file with
// `docker stack config -c FILE` (which loads, interpolates and prints it) at 50, 200 and 500
// services: berth's Load in this process, and both CLIs as whole processes (each loads, merges,
// interpolates and prints the Compose file). It reports the median CPU time (user + system, all
// threads: the garbage collector's too) per load, which a machine busy with other work
// disturbs far less than the wall time (also reported), and the ratios of CPU times.
//
// Run it with: go test ./stack -run '^$' -bench LoadVsCLI -benchtime 5x
func BenchmarkLoadVsCLI(b *testing.B) {
	testenv.DockerCLI(b)
	berthBin := filepath.Join(b.TempDir(), "berth")
	if out, err := exec.Command("go", "build", "-o", berthBin, "../cmd/berth").CombinedOutput(); err != nil {
		b.Fatalf("build berth: %v\n%s", err, out)
	}
	run := func(b *testing.B, name string, args ...string) (wall, cpu time.Duration) {
		start := time.Now()
		cmd := exec.Command(name, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	for _, n := range scaleSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			file := writeScaleStack(b, n, 1)
			var load, berthCLI, dockerCLI, loadWall, berthWall, dockerWall []time.Duration
			for b.Loop() { // interleaved, so that the machine's load weighs on both alike
				before := selfCPU()
				start := time.Now()
				if _, err := stack.Load(context.Background(), "bench", file); err != nil {
					b.Fatal(err)
				}
				loadWall = append(loadWall, time.Since(start))
				load = append(load, selfCPU()-before)
				w, c := run(b, berthBin, "stack", "config", "-c", file, "bench")
				berthWall, berthCLI = append(berthWall, w), append(berthCLI, c)
				w, c = run(b, "docker", "stack", "config", "-c", file)
				dockerWall, dockerCLI = append(dockerWall, w), append(dockerCLI, c)
			}
			ms := func(ds []time.Duration) float64 { return float64(median(ds)) / 1e6 }
			b.ReportMetric(ms(load), "berth-load-cpu-ms")
			b.ReportMetric(ms(berthCLI), "berth-config-cpu-ms")
			b.ReportMetric(ms(dockerCLI), "docker-config-cpu-ms")
			b.ReportMetric(ms(load)/ms(dockerCLI), "load/docker")
			b.ReportMetric(ms(berthCLI)/ms(dockerCLI), "berth/docker")
			b.ReportMetric(ms(loadWall), "berth-load-wall-ms")
			b.ReportMetric(ms(berthWall), "berth-config-wall-ms")
			b.ReportMetric(ms(dockerWall), "docker-config-wall-ms")
		})
	}
}

// selfCPU is the CPU time this process has used, all threads.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkScale takes stacks of 50, 200 and 500 services through load, compile, plan (of the
// new stack, and again of the applied, unchanged one) and apply on the engine, reporting each
// phase's time (ms) and allocations (MB). The plan of the live 500-service stack must take
// under a second.
//
// Run it with: BERTH_REQUIRE_ENGINE=1 go test ./stack -run '^$' -bench Scale -benchtime 1x -timeout 30m
func BenchmarkScale(b *testing.B) {
	cli := testenv.Swarm(b)
	ctx := context.Background()
	for _, n := range scaleSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			file := writeScaleStack(b, n, 0)
			report := func(phase string, f func()) time.Duration {
				d, bytes := measure(f)
				b.ReportMetric(float64(d)/1e6, phase+"-ms")
				b.ReportMetric(float64(bytes)/(1<<20), phase+"-MB")
				return d
			}
			for b.Loop() {
				name := testenv.Name(b, "scale")
				b.Cleanup(func() { removeAndWait(cli, name) })
				var st *stack.Stack
				var spec *stack.Spec
				var plan *stack.Plan
				var err error
				report("load", func() { st, err = stack.Load(ctx, name, file) })
				if err != nil {
					b.Fatal(err)
				}
				report("compile", func() { spec, err = st.Compile() })
				if err != nil {
					b.Fatal(err)
				}
				opts := stack.PlanOptions{ResolveImage: stack.ResolveNever}
				report("plan-new", func() { plan, err = spec.Plan(ctx, cli, opts) })
				if err != nil {
					b.Fatal(err)
				}
				report("apply", func() { _, err = plan.Apply(ctx, cli, stack.ApplyOptions{}) })
				if err != nil {
					b.Fatal(err)
				}
				d := report("plan-live", func() { plan, err = spec.Plan(ctx, cli, opts) })
				if err != nil || plan.HasChanges() {
					b.Fatalf("plan of the applied stack: %v\n%s", err, plan)
				}
				if n == 500 && d > time.Second {
					b.Errorf("plan of the live 500-service stack took %s, want under 1s", d)
				}
				removeAndWait(cli, name)
			}
		})
	}
}
