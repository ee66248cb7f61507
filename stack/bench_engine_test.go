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

	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
)

// BenchmarkDeployVsDockerCLI deploys the same 20-service stack with `docker stack deploy
// --resolve-image never` and with berth (Load, Compile, Deploy) on the same engine, and
// reports both times and their ratio (cli/berth > 1 means berth is faster).
func BenchmarkDeployVsDockerCLI(b *testing.B) {
	cli := testenv.Swarm(b)
	var sb strings.Builder
	sb.WriteString("services:\n")
	for i := range 20 {
		fmt.Fprintf(&sb, "  s%02d:\n    image: 127.0.0.1:5000/berth-bench/s%d:1\n    environment: [N=%d]\n    deploy:\n      replicas: 0\n", i, i, i)
	}
	file := filepath.Join(b.TempDir(), "stack.yml")
	if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	var cliTime, berthTime time.Duration
	for b.Loop() {
		nameA, nameB := testenv.Name(b, "bcli"), testenv.Name(b, "bberth")
		start := time.Now()
		if out, err := exec.Command("docker", "stack", "deploy", "--resolve-image", "never", "-c", file, nameA).CombinedOutput(); err != nil {
			b.Fatalf("docker stack deploy: %v\n%s", err, out)
		}
		cliTime += time.Since(start)

		start = time.Now()
		ctx := context.Background()
		st, err := stack.Load(ctx, nameB, file)
		if err != nil {
			b.Fatal(err)
		}
		spec, err := st.Compile()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := stack.Deploy(ctx, cli, spec, stack.DeployOptions{ResolveImage: stack.ResolveNever}); err != nil {
			b.Fatal(err)
		}
		berthTime += time.Since(start)
		b.StopTimer()
		exec.Command("docker", "stack", "rm", nameA, nameB).Run()
		b.StartTimer()
	}
	b.ReportMetric(float64(cliTime.Milliseconds())/float64(b.N), "cli-ms/op")
	b.ReportMetric(float64(berthTime.Milliseconds())/float64(b.N), "berth-ms/op")
	b.ReportMetric(float64(cliTime)/float64(berthTime), "cli/berth")
}
