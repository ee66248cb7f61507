package stack_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	"github.com/moby/moby/client"
)

// writeBenchStack writes a Compose file of n busybox services (sleep) with the given replicas.
func writeBenchStack(b *testing.B, image string, n, replicas int) string {
	var sb strings.Builder
	sb.WriteString("services:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  s%03d:\n    image: %s\n    command: [sleep, '3600']\n    stop_grace_period: 1s\n    environment: [N=%d]\n    deploy:\n      replicas: %d\n", i, image, i, replicas)
	}
	file := filepath.Join(b.TempDir(), fmt.Sprintf("stack-%d.yml", n))
	if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return file
}

// serviceVersions returns the sum of the version indexes of a stack's services and their
// count; an unchanged sum means no service was written.
func serviceVersions(b *testing.B, cli *client.Client, name string) map[string]uint64 {
	svcs, err := stack.Services(context.Background(), cli, name)
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]uint64{}
	for _, s := range svcs {
		out[s.Spec.Name] = s.Version.Index
	}
	return out
}

func countChanged(before, after map[string]uint64) int {
	n := 0
	for k, v := range before {
		if after[k] != v {
			n++
		}
	}
	return n
}

func loadSpec(b *testing.B, name, file string) *stack.Spec {
	st, err := stack.Load(context.Background(), name, file)
	if err != nil {
		b.Fatal(err)
	}
	spec, err := st.Compile()
	if err != nil {
		b.Fatal(err)
	}
	return spec
}

func removeAndWait(cli *client.Client, names ...string) {
	for _, n := range names {
		stack.Remove(context.Background(), cli, n, stack.RemoveOptions{Wait: true, Timeout: 2 * time.Minute})
	}
}

// BenchmarkStackDeploy measures, on the same engine in one run:
//
//   - a 20-service stack (one busybox replica each, pulled from a registry on loopback) from
//     nothing to converged: `docker stack deploy --detach=false` vs berth's Deploy with Wait
//     (both resolve images, both wait for swarm's default 5 s stability period). The Docker
//     CLI waits for the services one after another (waitOnServices calls WaitOnService for
//     each in turn, each with its own stability period); berth watches them all at once, so
//     most of the ratio is that difference, not the speed of the requests;
//   - the unchanged redeploy of that stack: how many services each one writes (counted by
//     service versions: the Docker CLI updates every service, berth none);
//   - the plan of a 100-service stack against the live stack.
//
// Run it with: BERTH_REQUIRE_ENGINE=1 go test ./stack -run '^$' -bench StackDeploy -benchtime 1x -timeout 30m
// (or bash hack/bench-deploy.sh).
func BenchmarkStackDeploy(b *testing.B) {
	cli := testenv.Swarm(b)
	testenv.DockerCLI(b)
	_, image := testenv.Registry(b, cli, fixtures.Busybox)
	file20 := writeBenchStack(b, image, 20, 1)
	file100 := writeBenchStack(b, image, 100, 0)
	ctx := context.Background()
	var cliTime, berthTime, planTime time.Duration
	var cliUpdates, berthUpdates int
	for b.Loop() {
		nameA, nameB, nameC := testenv.Name(b, "bcli"), testenv.Name(b, "bberth"), testenv.Name(b, "bplan")
		b.Cleanup(func() { removeAndWait(cli, nameA, nameB, nameC) })

		start := time.Now()
		if out, err := exec.Command("docker", "stack", "deploy", "--detach=false", "-c", file20, nameA).CombinedOutput(); err != nil {
			b.Fatalf("docker stack deploy: %v\n%s", err, out)
		}
		cliTime += time.Since(start)
		before := serviceVersions(b, cli, nameA)
		if out, err := exec.Command("docker", "stack", "deploy", "--detach=true", "-c", file20, nameA).CombinedOutput(); err != nil {
			b.Fatalf("docker stack deploy (unchanged): %v\n%s", err, out)
		}
		cliUpdates += countChanged(before, serviceVersions(b, cli, nameA))
		removeAndWait(cli, nameA)

		start = time.Now()
		if _, err := stack.Deploy(ctx, cli, loadSpec(b, nameB, file20), stack.DeployOptions{Wait: true}); err != nil {
			b.Fatal(err)
		}
		berthTime += time.Since(start)
		before = serviceVersions(b, cli, nameB)
		if _, err := stack.Deploy(ctx, cli, loadSpec(b, nameB, file20), stack.DeployOptions{Wait: true}); err != nil {
			b.Fatal(err)
		}
		berthUpdates += countChanged(before, serviceVersions(b, cli, nameB))
		removeAndWait(cli, nameB)

		spec100 := loadSpec(b, nameC, file100)
		if _, err := stack.Deploy(ctx, cli, spec100, stack.DeployOptions{}); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		plan, err := loadSpec(b, nameC, file100).Plan(ctx, cli, stack.PlanOptions{})
		planTime += time.Since(start)
		if err != nil || plan.HasChanges() || len(plan.Actions) != 101 {
			b.Fatalf("plan of the unchanged 100-service stack: %v\n%s", err, plan)
		}
		removeAndWait(cli, nameC)
	}
	n := float64(b.N)
	b.ReportMetric(cliTime.Seconds()/n, "cli-deploy-s")
	b.ReportMetric(berthTime.Seconds()/n, "berth-deploy-s")
	b.ReportMetric(float64(berthTime)/float64(cliTime), "berth/cli")
	b.ReportMetric(float64(cliUpdates)/n, "cli-updates")
	b.ReportMetric(float64(berthUpdates)/n, "berth-updates")
	b.ReportMetric(float64(planTime.Milliseconds())/n, "plan100-ms")
}
