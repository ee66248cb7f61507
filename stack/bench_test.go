package stack_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthdev/berth/stack"
	"github.com/moby/moby/api/types/container"
	swarmapi "github.com/moby/moby/api/types/swarm"
)

// hundredServices builds a stack of 100 services using the common fields.
func hundredServices() *stack.Stack {
	st := stack.New("bench")
	st.Network("front").Attachable()
	st.Network("back").Internal()
	st.Volume("data").Driver("local")
	st.Secret("key").Data([]byte("k"))
	st.Config("conf").Data([]byte("c"))
	d := 10 * time.Second
	for i := range 100 {
		st.Service(fmt.Sprintf("svc%03d", i)).Image(fmt.Sprintf("127.0.0.1:5000/bench/svc%d:1", i)).
			Command("serve", "--port", "80").
			Env("INDEX", fmt.Sprint(i)).Env("MODE", "bench").Env("A", "1").
			Label("team", "bench").ContainerLabel("svc", fmt.Sprint(i)).
			Healthcheck(container.HealthConfig{Test: []string{"CMD", "true"}, Interval: d}).
			Secret("key", "").Config("conf", "/etc/conf").
			Volume("data", "/data", false).Tmpfs("/tmp", 1<<20).
			Network("front").Network("back").
			Port(fmt.Sprintf("%d:80", 20000+i)).
			Replicas(2).LimitCPUs("0.5").LimitMemory(64 << 20).
			RestartPolicy(swarmapi.RestartPolicy{Condition: swarmapi.RestartPolicyConditionOnFailure}).
			Constraint("node.role==worker").
			UpdateConfig(swarmapi.UpdateConfig{Parallelism: 1, Delay: d})
	}
	return st
}

// BenchmarkCompile100 compiles a 100-service stack; issue 3 wants under 50 ms per compile.
// The timing lives here, not in a test: a loaded machine must not fail `make test`.
func BenchmarkCompile100(b *testing.B) {
	st := hundredServices()
	for b.Loop() {
		if _, err := st.Compile(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadCompile100 loads the same stack from a Compose file and compiles it.
func BenchmarkLoadCompile100(b *testing.B) {
	out, err := hundredServices().Compose()
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "stack.yml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		st, err := stack.Load(context.Background(), "bench", file)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Compile(); err != nil {
			b.Fatal(err)
		}
	}
}
