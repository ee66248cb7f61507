package stack_test

import (
	"context"
	"maps"
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

// TestPlanUnchangedIsEmpty deploys each conformance file with the Docker CLI, and then with
// berth, and checks that berth plans no change against either (the same file, --resolve-image
// never for both).
func TestPlanUnchangedIsEmpty(t *testing.T) {
	cli := testenv.Swarm(t)
	files := composeFiles(t, conformanceFiles)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yml"), func(t *testing.T) {
			ctx := testenv.Context(t, 3*time.Minute)
			nameA, nameB := testenv.Name(t, "pcli"), testenv.Name(t, "pberth")
			prefix := testenv.Name(t, "ext")
			t.Setenv("BERTH_CONF_PREFIX", prefix)
			createExternals(t, ctx, cli, prefix)
			t.Cleanup(func() {
				for _, n := range []string{nameA, nameB} {
					stack.Remove(context.Background(), cli, n, stack.RemoveOptions{Wait: true}) // waits for the networks
				}
			})
			opts := stack.PlanOptions{ResolveImage: stack.ResolveNever, SkipPreflight: true}

			if out, err := exec.CommandContext(ctx, "docker", "stack", "deploy", "--resolve-image", "never", "--detach=true", "-c", file, nameA).CombinedOutput(); err != nil {
				t.Fatalf("docker stack deploy: %v\n%s", err, out)
			}
			plan := planFile(t, cli, nameA, file, opts)
			for _, a := range plan.Changes() {
				t.Errorf("after docker stack deploy: %s\n%s", a, a.Diff)
			}
			removeStack(t, nameA)
			waitServicesGone(t, ctx, cli, nameA)

			spec := compileFile(t, nameB, file)
			if _, err := stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever, SkipPreflight: true}}); err != nil {
				t.Fatal(err)
			}
			plan = planFile(t, cli, nameB, file, opts)
			for _, a := range plan.Changes() {
				t.Errorf("after berth: %s\n%s", a, a.Diff)
			}
		})
	}
}

func compileFile(t *testing.T, name string, files ...string) *stack.Spec {
	t.Helper()
	st, err := stack.Load(t.Context(), name, files...)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func planFile(t *testing.T, cli stack.Client, name, file string, opts stack.PlanOptions) *stack.Plan {
	t.Helper()
	plan, err := compileFile(t, name, file).Plan(t.Context(), cli, opts)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestPlanDockerDeployedResolved deploys a stack with `docker stack deploy` (images resolved to
// digests, as by default) and checks that berth, resolving too, plans and writes nothing.
func TestPlanDockerDeployedResolved(t *testing.T) {
	cli := testenv.Swarm(t)
	_, image := testenv.Registry(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "pres")
	t.Cleanup(func() { stack.Remove(context.Background(), cli, name, stack.RemoveOptions{Wait: true}) })
	file := filepath.Join(t.TempDir(), "stack.yml")
	body := "services:\n  web:\n    image: " + image + "\n    command: [sleep, '3600']\n    secrets: [key]\n    configs: [{source: conf, target: /conf}]\n    deploy:\n      replicas: 0\n" +
		"secrets:\n  key:\n    file: ./key.txt\nconfigs:\n  conf:\n    file: ./key.txt\n"
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(file), "key.txt"), []byte("k1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "docker", "stack", "deploy", "--detach=true", "-c", file, name).CombinedOutput(); err != nil {
		t.Fatalf("docker stack deploy: %v\n%s", err, out)
	}
	before := settledVersions(t, cli, name)
	plan := planFile(t, cli, name, file, stack.PlanOptions{})
	if plan.HasChanges() {
		for _, a := range plan.Changes() {
			t.Errorf("%s\n%s", a, a.Diff)
		}
	}
	if _, err := stack.Deploy(ctx, cli, compileFile(t, name, file), stack.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	if after := versions(t, cli, name); !maps.Equal(before, after) {
		t.Fatalf("berth wrote a CLI-deployed, unchanged stack: versions %v -> %v", before, after)
	}
}

// settledVersions waits until swarm stops bumping the versions of just-created services (its
// allocator writes them once more) and returns them.
func settledVersions(t *testing.T, cli *client.Client, name string) map[string]uint64 {
	t.Helper()
	prev := versions(t, cli, name)
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		cur := versions(t, cli, name)
		if maps.Equal(prev, cur) {
			return cur
		}
		prev = cur
	}
	t.Fatal("service versions keep changing")
	return nil
}
