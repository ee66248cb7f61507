package stack_test

import (
	"context"
	"errors"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
	cerrdefs "github.com/containerd/errdefs"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// watchFast converges a service after one second of stability, to keep tests short.
var watchFast = swarm.WatchOptions{Stable: time.Second, Timeout: 90 * time.Second}

// versions returns each service's version index, by name.
func versions(t *testing.T, cli *client.Client, name string) map[string]uint64 {
	t.Helper()
	svcs, err := stack.Services(t.Context(), cli, name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, s := range svcs {
		out[s.Spec.Name] = s.Version.Index
	}
	return out
}

func TestLifecycle(t *testing.T) {
	cli := testenv.Swarm(t)
	_, image := testenv.Registry(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 4*time.Minute)
	name := testenv.Name(t, "life")
	t.Cleanup(func() { stack.Remove(context.Background(), cli, name, stack.RemoveOptions{Wait: true}) })

	build := func(replicas uint64, secret string, worker bool) *stack.Spec {
		st := stack.New(name)
		st.Secret("key").Data([]byte(secret))
		st.Config("conf").Data([]byte("listen 80\n# " + secret + "\n"))
		st.Network("back")
		st.Service("api").Image(image).Command("sleep", "3600").Replicas(replicas).Network("back").
			Secret("key", "").Config("conf", "/etc/app.conf").StopGracePeriod(time.Second)
		if worker {
			st.Service("worker").Image(image).Command("sleep", "3600").Network("back").StopGracePeriod(time.Second)
		}
		spec, err := st.Compile()
		if err != nil {
			t.Fatal(err)
		}
		return spec
	}
	deploy := func(spec *stack.Spec, prune bool) *stack.DeployResult {
		t.Helper()
		res, err := stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{Prune: prune}, Wait: true, Watch: watchFast})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	// create
	res := deploy(build(2, "v1", true), false)
	if got := refNames(res.Created, stack.KindService); !slices.Equal(got, []string{name + "_api", name + "_worker"}) {
		t.Fatalf("created services %v", got)
	}
	svcs, err := stack.Services(ctx, cli, name)
	if err != nil || len(svcs) != 2 || svcs[0].ServiceStatus.RunningTasks != 2 {
		t.Fatalf("services after create: %v %+v", err, svcs)
	}
	pinned := svcs[0].Spec.TaskTemplate.ContainerSpec.Image
	if !strings.Contains(pinned, "@sha256:") {
		t.Errorf("image not pinned to a digest: %s", pinned)
	}

	// unchanged redeploy: nothing written, versions unchanged
	before := versions(t, cli, name)
	res = deploy(build(2, "v1", true), false)
	if res.Plan.HasChanges() || len(res.Created)+len(res.Updated)+len(res.Removed) != 0 {
		t.Fatalf("unchanged redeploy wrote: %s %+v", res.Plan, res.Result)
	}
	if after := versions(t, cli, name); !maps.Equal(before, after) {
		t.Fatalf("versions changed on an unchanged redeploy: %v -> %v", before, after)
	}

	// update: the plan names the field, only api is updated
	plan, err := build(3, "v1", true).Plan(ctx, cli, stack.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ch := plan.Changes(); len(ch) != 1 || ch[0].Op != stack.OpUpdate || !strings.Contains(ch[0].String(), "replicas: 2 → 3") {
		t.Fatalf("plan of a scale-up:\n%s", plan)
	}
	res = deploy(build(3, "v1", true), false)
	after := versions(t, cli, name)
	if after[name+"_api"] == before[name+"_api"] || after[name+"_worker"] != before[name+"_worker"] {
		t.Fatalf("versions after updating api: %v -> %v", before, after)
	}

	// secret rotation: a new secret named with the content hash, api repointed, old one removed
	res = deploy(build(3, "v2", true), false)
	newSecrets := refNames(res.Created, stack.KindSecret)
	if len(newSecrets) != 1 || !strings.HasPrefix(newSecrets[0], name+"_key-") {
		t.Fatalf("rotation created secrets %v", newSecrets)
	}
	if got := refNames(res.Removed, stack.KindSecret); !slices.Equal(got, []string{name + "_key"}) {
		t.Fatalf("rotation removed secrets %v (warnings %v)", got, res.Warnings)
	}
	api, err := cli.ServiceInspect(ctx, name+"_api", client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if refs := api.Service.Spec.TaskTemplate.ContainerSpec.Secrets; len(refs) != 1 || refs[0].SecretName != newSecrets[0] || refs[0].File.Name != "key" {
		t.Fatalf("api secret refs %+v", refs)
	}
	if got := refNames(res.Removed, stack.KindConfig); !slices.Equal(got, []string{name + "_conf"}) || len(refNames(res.Created, stack.KindConfig)) != 1 {
		t.Fatalf("config rotation: created %v, removed %v", refNames(res.Created, stack.KindConfig), got)
	}
	if got := refNames(res.Updated, stack.KindService); !slices.Equal(got, []string{name + "_api"}) {
		t.Fatalf("rotation updated services %v, want only api", got)
	}
	if plan, _ := build(3, "v2", true).Plan(ctx, cli, stack.PlanOptions{}); plan.HasChanges() {
		t.Fatalf("plan after rotation:\n%s", plan)
	}

	// prune
	res = deploy(build(3, "v2", false), true)
	if got := refNames(res.Removed, stack.KindService); !slices.Equal(got, []string{name + "_worker"}) {
		t.Fatalf("prune removed %v", got)
	}

	// the Docker CLI sees berth's stack
	if out, err := exec.Command("docker", "stack", "ls", "--format", "{{.Name}} {{.Services}}").CombinedOutput(); err != nil || !strings.Contains(string(out), name+" 1") {
		t.Fatalf("docker stack ls: %v\n%s", err, out)
	}
	stacks, err := stack.List(ctx, cli)
	if err != nil || !slices.Contains(stacks, stack.Summary{Name: name, Services: 1}) {
		t.Fatalf("List: %v %v", err, stacks)
	}
	tasks, err := stack.Tasks(ctx, cli, name)
	if err != nil || len(tasks) < 3 {
		t.Fatalf("Tasks: %v %d", err, len(tasks))
	}

	// removal: everything gone, networks included
	if err := stack.Remove(ctx, cli, name, stack.RemoveOptions{Wait: true}); err != nil {
		t.Fatal(err)
	}
	f := client.Filters{}.Add("label", stack.LabelNamespace+"="+name)
	nets, _ := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	secs, _ := cli.SecretList(ctx, client.SecretListOptions{Filters: f})
	cfgs, _ := cli.ConfigList(ctx, client.ConfigListOptions{Filters: f})
	left, _ := stack.Services(ctx, cli, name)
	if len(nets.Items)+len(secs.Items)+len(cfgs.Items)+len(left) != 0 {
		t.Fatalf("left after Remove: %d networks, %d secrets, %d configs, %d services", len(nets.Items), len(secs.Items), len(cfgs.Items), len(left))
	}
	if err := stack.Remove(ctx, cli, name, stack.RemoveOptions{Wait: true}); !errors.Is(err, stack.ErrNoStack) {
		t.Fatalf("second Remove: %v", err)
	}
}

// nothingWritten fails the test when anything carries the stack's label.
func nothingWritten(t *testing.T, cli *client.Client, name string) {
	t.Helper()
	ctx := t.Context()
	f := client.Filters{}.Add("label", stack.LabelNamespace+"="+name)
	nets, _ := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	secs, _ := cli.SecretList(ctx, client.SecretListOptions{Filters: f})
	svcs, _ := cli.ServiceList(ctx, client.ServiceListOptions{Filters: f})
	if n := len(nets.Items) + len(secs.Items) + len(svcs.Items); n != 0 {
		t.Fatalf("%d objects written for stack %s", n, name)
	}
}

func TestDeployFailures(t *testing.T) {
	cli := testenv.Swarm(t)
	_, image := testenv.Registry(t, cli, fixtures.Busybox)
	missing := strings.Replace(image, "berth-test/fixture:1", "berth-test/no-such-image:1", 1)

	deploy := func(t *testing.T, resolve stack.ResolveMode, svc func(st *stack.Stack)) (string, error) {
		name := testenv.Name(t, "fail")
		t.Cleanup(func() { stack.Remove(context.Background(), cli, name, stack.RemoveOptions{Wait: true}) })
		st := stack.New(name)
		st.Secret("s").Data([]byte("x"))
		svc(st)
		spec, err := st.Compile()
		if err != nil {
			t.Fatal(err)
		}
		_, err = stack.Deploy(testenv.Context(t, 2*time.Minute), cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: resolve}, Wait: true, Watch: watchFast})
		return name, err
	}

	t.Run("missing image: preflight", func(t *testing.T) {
		t.Parallel()
		name, err := deploy(t, stack.ResolveAlways, func(st *stack.Stack) {
			st.Service("a").Image(missing).Secret("s", "")
			st.Service("b").Image(image).Constraint("node.labels.berth-none==x")
		})
		t.Log(err)
		var pe *stack.PreflightError
		if !errors.As(err, &pe) || len(pe.Problems) != 2 || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "node.labels.berth-none==x") {
			t.Fatalf("want both problems reported together, got %v", err)
		}
		nothingWritten(t, cli, name)
	})

	t.Run("missing image: watch", func(t *testing.T) {
		t.Parallel()
		_, err := deploy(t, stack.ResolveNever, func(st *stack.Stack) { st.Service("a").Image(missing) })
		t.Log(err)
		var ce *swarm.ConvergeError // a rejection, not the watch's timeout: it failed fast
		if !errors.As(err, &ce) || ce.Kind != swarm.FailureRejected || !strings.Contains(err.Error(), "no-such-image") {
			t.Fatalf("want a rejection naming the image, got %v", err)
		}
	})

	t.Run("unsatisfiable constraint", func(t *testing.T) {
		t.Parallel()
		name, err := deploy(t, stack.ResolveNever, func(st *stack.Stack) {
			st.Service("a").Image(image).Constraint("node.role==worker")
		})
		if !errors.Is(err, stack.ErrPreflight) || !strings.Contains(err.Error(), "node.role==worker") {
			t.Fatalf("want a preflight error, got %v", err)
		}
		nothingWritten(t, cli, name)
	})

	t.Run("host port twice on one node", func(t *testing.T) {
		t.Parallel()
		name, err := deploy(t, stack.ResolveNever, func(st *stack.Stack) {
			st.Service("a").Image(image).Replicas(2).
				PublishPort(swarmapi.PortConfig{TargetPort: 80, PublishedPort: 18999, PublishMode: swarmapi.PortConfigPublishModeHost})
		})
		if !errors.Is(err, stack.ErrPreflight) || !strings.Contains(err.Error(), "18999") {
			t.Fatalf("want a preflight error, got %v", err)
		}
		nothingWritten(t, cli, name)
	})

	t.Run("crashing container", func(t *testing.T) {
		t.Parallel()
		_, err := deploy(t, stack.ResolveNever, func(st *stack.Stack) {
			st.Service("a").Image(image).Command("sh", "-c", "echo going-down; exit 3")
		})
		t.Log(err)
		var ce *swarm.ConvergeError
		if !errors.As(err, &ce) || ce.Kind != swarm.FailureCrashed || ce.ExitCode == nil || *ce.ExitCode != 3 {
			t.Fatalf("want a crash with exit code 3, got %v", err)
		}
	})
}

// TestApplyVersionConflict changes a service between Plan and Apply: Apply refuses to
// overwrite it.
func TestApplyVersionConflict(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, time.Minute)
	name := testenv.Name(t, "conflict")
	t.Cleanup(func() { stack.Remove(context.Background(), cli, name, stack.RemoveOptions{Wait: true}) })
	build := func(env string) *stack.Spec {
		st := stack.New(name)
		st.Service("a").Image("127.0.0.1:5000/berth-conflict/a:1").Env("V", env).Replicas(0)
		spec, err := st.Compile()
		if err != nil {
			t.Fatal(err)
		}
		return spec
	}
	opts := stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}}
	if _, err := stack.Deploy(ctx, cli, build("1"), opts); err != nil {
		t.Fatal(err)
	}
	plan, err := build("2").Plan(ctx, cli, stack.PlanOptions{ResolveImage: stack.ResolveNever})
	if err != nil || len(plan.Changes()) != 1 {
		t.Fatalf("plan: %v\n%s", err, plan)
	}
	// someone else writes the service in between
	cur, err := cli.ServiceInspect(ctx, name+"_a", client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := cur.Service.Spec
	spec.Labels["other.writer"] = "yes"
	if _, err := cli.ServiceUpdate(ctx, cur.Service.ID, client.ServiceUpdateOptions{Version: cur.Service.Version, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	_, err = plan.Apply(ctx, cli, stack.ApplyOptions{})
	t.Log(err)
	var ce *swarm.VersionConflictError
	if !errors.As(err, &ce) || !cerrdefs.IsConflict(err) {
		t.Fatalf("want a *swarm.VersionConflictError, got %v", err)
	}
	after, _ := cli.ServiceInspect(ctx, name+"_a", client.ServiceInspectOptions{})
	if after.Service.Spec.Labels["other.writer"] != "yes" {
		t.Fatal("the other writer's change was lost")
	}
}
