package stack_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
)

// docker runs the docker CLI and returns its trimmed output.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestDeployResolveImage pushes an image to a registry on loopback and checks that
// --resolve-image always pins its digest, and that changed keeps the pinned reference when the
// image did not change.
func TestDeployResolveImage(t *testing.T) {
	cli := testenv.Swarm(t)
	registry := testenv.Image(t, cli, fixtures.Registry)
	busybox := testenv.Image(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 2*time.Minute)
	reg := testenv.Name(t, "reg")
	docker(t, "run", "-d", "--name", reg, "-p", "127.0.0.1::5000", registry)
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "-v", reg).Run() })
	addr := docker(t, "port", reg, "5000/tcp")
	ref := addr + "/berth-resolve/bb:1"
	docker(t, "tag", busybox, ref)
	t.Cleanup(func() { exec.Command("docker", "rmi", ref).Run() })
	var err error
	for range 50 { // the registry takes a moment to listen
		if err = exec.Command("docker", "push", ref).Run(); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}

	name := testenv.Name(t, "res")
	t.Cleanup(func() { removeStack(t, name) })
	st := stack.New(name)
	st.Service("bb").Image(ref).Command("sleep", "3600").Replicas(0)
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveAlways}}); err != nil {
		t.Fatal(err)
	}
	got := inspect(t, cli, name+"_bb")
	pinned := got.Spec.TaskTemplate.ContainerSpec.Image
	if !strings.HasPrefix(pinned, ref+"@sha256:") || got.Spec.Labels[stack.LabelImage] != ref {
		t.Fatalf("image %q (label %q), want %s pinned to a digest", pinned, got.Spec.Labels[stack.LabelImage], ref)
	}
	if _, err := stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveChanged}}); err != nil {
		t.Fatal(err)
	}
	if again := inspect(t, cli, name+"_bb").Spec.TaskTemplate.ContainerSpec.Image; again != pinned {
		t.Fatalf("resolve changed with an unchanged image: %q, want the pinned %q", again, pinned)
	}
	if _, err := stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}}); err != nil {
		t.Fatal(err)
	}
	if again := inspect(t, cli, name+"_bb").Spec.TaskTemplate.ContainerSpec.Image; again != pinned {
		t.Fatalf("resolve never with an unchanged image: %q, want the pinned %q (as the Docker CLI keeps it)", again, pinned)
	}

	// Scale to one replica and wait for it to run (the image is pulled from the loopback registry).
	st.Lookup("bb").Replicas(1)
	spec, err = st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	waitCtx := testenv.Context(t, time.Minute)
	if _, err := stack.Deploy(waitCtx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveChanged}, Wait: true}); err != nil {
		t.Fatalf("deploy and wait: %v", err)
	}
}
