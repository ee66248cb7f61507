package stack_test

import (
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	"github.com/moby/moby/client"
)

func TestDeployCreateUpdatePrune(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "dep")
	t.Cleanup(func() { removeStack(t, name) })

	build := func(env string, withWorker bool) *stack.Spec {
		st := stack.New(name)
		st.Secret("key").Data([]byte("v1"))
		st.Service("api").Image("127.0.0.1:5000/berth-deploy/api:1").Env("V", env).Secret("key", "").Replicas(0)
		if withWorker {
			st.Service("worker").Image("127.0.0.1:5000/berth-deploy/worker:1").Replicas(0)
		}
		spec, err := st.Compile()
		if err != nil {
			t.Fatal(err)
		}
		return spec
	}
	var lines []string
	opts := stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}, Progress: func(ev stack.Event) { lines = append(lines, ev.String()) }}
	res, err := stack.Deploy(ctx, cli, build("1", true), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(refNames(res.Created, stack.KindService), []string{name + "_api", name + "_worker"}) || !slices.Equal(refNames(res.Created, stack.KindNetwork), []string{name + "_default"}) {
		t.Fatalf("first deploy: %+v", res)
	}
	before := inspect(t, cli, name+"_api")

	opts.Prune = true
	res, err = stack.Deploy(ctx, cli, build("2", false), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(refNames(res.Updated, stack.KindService), []string{name + "_api"}) || !slices.Equal(refNames(res.Removed, stack.KindService), []string{name + "_worker"}) ||
		len(refNames(res.Created, stack.KindSecret)) != 0 || len(refNames(res.Created, stack.KindNetwork)) != 0 {
		t.Fatalf("second deploy: %+v", res)
	}
	after := inspect(t, cli, name+"_api")
	if after.Version.Index <= before.Version.Index || !slices.Contains(after.Spec.TaskTemplate.ContainerSpec.Env, "V=2") {
		t.Fatalf("service not updated: version %d -> %d, env %v", before.Version.Index, after.Version.Index, after.Spec.TaskTemplate.ContainerSpec.Env)
	}
	if len(after.Spec.TaskTemplate.ContainerSpec.Secrets) != 1 || after.Spec.TaskTemplate.ContainerSpec.Secrets[0].SecretID == "" {
		t.Fatalf("secret reference not resolved to an ID: %+v", after.Spec.TaskTemplate.ContainerSpec.Secrets)
	}
	if len(lines) == 0 {
		t.Error("no progress reported")
	}
}

func TestDeployRefusesBadResolveImage(t *testing.T) {
	_, err := stack.Deploy(t.Context(), nil, &stack.Spec{Stack: "x"}, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: "sometimes"}})
	if err == nil {
		t.Fatal("want an error")
	}
}

func TestInvalidStackWritesNothing(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, time.Minute)
	name := testenv.Name(t, "bad")
	st := stack.New(name)
	st.Network("front")
	st.Service("ok").Image("127.0.0.1:5000/x:1").Network("front")
	st.Service("bad").Image("127.0.0.1:5000/x:1").Constraint("node.role!=")
	if _, err := st.Compile(); !errors.Is(err, berth.ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	f := client.Filters{}.Add("label", stack.LabelNamespace+"="+name)
	nets, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil || len(nets.Items) != 0 {
		t.Fatalf("networks of an invalid stack: %v %v", nets.Items, err)
	}
}

func inspect(t *testing.T, cli *client.Client, name string) swarmService {
	t.Helper()
	r, err := cli.ServiceInspect(t.Context(), name, client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Service
}

func TestDeployMissingExternalWritesNothing(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, time.Minute)
	name := testenv.Name(t, "ext")
	t.Cleanup(func() { removeStack(t, name) })
	st := stack.New(name)
	st.Network("own")
	st.Secret("gone").External().Named(name + "-missing")
	st.Service("a").Image("127.0.0.1:5000/x:1").Network("own").Secret("gone", "")
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	res, err := stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}})
	if err == nil || res != nil {
		t.Fatalf("want an error before any write, got %v, %+v", err, res)
	}
}

// refNames returns the sorted names of the refs of one kind.
func refNames(refs []stack.Ref, kind stack.Kind) []string {
	var out []string
	for _, r := range refs {
		if r.Kind == kind {
			out = append(out, r.Name)
		}
	}
	slices.Sort(out)
	return out
}

func TestLoadMissingFile(t *testing.T) {
	_, err := stack.Load(t.Context(), "x", "testdata/does-not-exist.yml")
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, berth.ErrInvalid) {
		t.Fatalf("want a not-exist error that is not ErrInvalid, got %v", err)
	}
}
