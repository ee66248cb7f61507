package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
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

// fault is what faultClient does to the one write it picks.
type fault int

const (
	noFault      fault = iota
	refuse             // the write is not sent; an engine-like error is returned
	loseAnswer         // the write is done, but its answer is lost (a broken connection)
	cancelBefore       // the deploy's context is cancelled, then the write is sent with it
	cancelAfter        // the write is done, then the context is cancelled and its error returned
	engineGone         // the write and every call after it fail as if the engine had gone away
)

var errGone = errors.New("injected: dial unix /var/run/docker.sock: connect: connection refused")

// faultClient is the real engine client with one write (network, secret, config or service
// create, service update; the deploy lock excluded) hit by a fault: pick sees every write in
// order (n counts from 0) and chooses. Writes after the fault pass (they are the undo's).
type faultClient struct {
	*client.Client
	pick   func(n int, op, name string) fault
	cancel context.CancelFunc

	mu    sync.Mutex
	n     int
	fired string
	gone  bool
}

// call fails once the engine is gone.
func (f *faultClient) call(ctx context.Context, call func(context.Context) error) error {
	f.mu.Lock()
	gone := f.gone
	f.mu.Unlock()
	if gone {
		return errGone
	}
	return call(ctx)
}

func (f *faultClient) write(ctx context.Context, op, name string, call func(context.Context) error) error {
	if strings.HasPrefix(name, stack.LockName("")) {
		return f.call(ctx, call)
	}
	f.mu.Lock()
	if f.gone {
		f.mu.Unlock()
		return errGone
	}
	k := noFault
	if f.fired == "" {
		if k = f.pick(f.n, op, name); k != noFault {
			f.fired = op + " " + name
		}
	}
	f.n++
	f.mu.Unlock()
	switch k {
	case engineGone:
		f.mu.Lock()
		f.gone = true
		f.mu.Unlock()
		return errGone
	case refuse:
		return fmt.Errorf("injected: %s %s refused: %w", op, name, cerrdefs.ErrUnavailable)
	case loseAnswer:
		if err := call(context.WithoutCancel(ctx)); err != nil {
			return err
		}
		return fmt.Errorf("injected: connection lost after %s %s", op, name)
	case cancelBefore:
		f.cancel()
	case cancelAfter:
		err := call(context.WithoutCancel(ctx))
		f.cancel()
		if err != nil {
			return err
		}
		return ctx.Err()
	}
	return call(ctx)
}

func (f *faultClient) NetworkCreate(ctx context.Context, name string, o client.NetworkCreateOptions) (r client.NetworkCreateResult, err error) {
	err = f.write(ctx, "NetworkCreate", name, func(ctx context.Context) (err error) { r, err = f.Client.NetworkCreate(ctx, name, o); return })
	return r, err
}

func (f *faultClient) SecretCreate(ctx context.Context, o client.SecretCreateOptions) (r client.SecretCreateResult, err error) {
	err = f.write(ctx, "SecretCreate", o.Spec.Name, func(ctx context.Context) (err error) { r, err = f.Client.SecretCreate(ctx, o); return })
	return r, err
}

func (f *faultClient) ConfigCreate(ctx context.Context, o client.ConfigCreateOptions) (r client.ConfigCreateResult, err error) {
	err = f.write(ctx, "ConfigCreate", o.Spec.Name, func(ctx context.Context) (err error) { r, err = f.Client.ConfigCreate(ctx, o); return })
	return r, err
}

func (f *faultClient) ServiceCreate(ctx context.Context, o client.ServiceCreateOptions) (r client.ServiceCreateResult, err error) {
	err = f.write(ctx, "ServiceCreate", o.Spec.Name, func(ctx context.Context) (err error) { r, err = f.Client.ServiceCreate(ctx, o); return })
	return r, err
}

func (f *faultClient) ServiceUpdate(ctx context.Context, id string, o client.ServiceUpdateOptions) (r client.ServiceUpdateResult, err error) {
	err = f.write(ctx, "ServiceUpdate", o.Spec.Name, func(ctx context.Context) (err error) { r, err = f.Client.ServiceUpdate(ctx, id, o); return })
	return r, err
}

func (f *faultClient) ServiceInspect(ctx context.Context, id string, o client.ServiceInspectOptions) (r client.ServiceInspectResult, err error) {
	err = f.call(ctx, func(ctx context.Context) (err error) { r, err = f.Client.ServiceInspect(ctx, id, o); return })
	return r, err
}

func (f *faultClient) ServiceList(ctx context.Context, o client.ServiceListOptions) (r client.ServiceListResult, err error) {
	err = f.call(ctx, func(ctx context.Context) (err error) { r, err = f.Client.ServiceList(ctx, o); return })
	return r, err
}

func (f *faultClient) ServiceRemove(ctx context.Context, id string, o client.ServiceRemoveOptions) (r client.ServiceRemoveResult, err error) {
	err = f.call(ctx, func(ctx context.Context) (err error) { r, err = f.Client.ServiceRemove(ctx, id, o); return })
	return r, err
}

func (f *faultClient) NetworkRemove(ctx context.Context, id string, o client.NetworkRemoveOptions) (r client.NetworkRemoveResult, err error) {
	err = f.call(ctx, func(ctx context.Context) (err error) { r, err = f.Client.NetworkRemove(ctx, id, o); return })
	return r, err
}

func (f *faultClient) SecretRemove(ctx context.Context, id string, o client.SecretRemoveOptions) (r client.SecretRemoveResult, err error) {
	err = f.call(ctx, func(ctx context.Context) (err error) { r, err = f.Client.SecretRemove(ctx, id, o); return })
	return r, err
}

func (f *faultClient) ConfigRemove(ctx context.Context, id string, o client.ConfigRemoveOptions) (r client.ConfigRemoveResult, err error) {
	err = f.call(ctx, func(ctx context.Context) (err error) { r, err = f.Client.ConfigRemove(ctx, id, o); return })
	return r, err
}

// stackState is what a stack has on the engine: its services' stored specs (JSON) and its
// networks', secrets' and configs' IDs, by name.
type stackState struct {
	Services, Networks, Secrets, Configs map[string]string
}

func snap(t *testing.T, cli *client.Client, name string) stackState {
	t.Helper()
	ctx := context.Background()
	f := client.Filters{}.Add("label", stack.LabelNamespace+"="+name)
	s := stackState{map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}}
	svcs, err1 := cli.ServiceList(ctx, client.ServiceListOptions{Filters: f})
	nets, err2 := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	secs, err3 := cli.SecretList(ctx, client.SecretListOptions{Filters: f})
	cfgs, err4 := cli.ConfigList(ctx, client.ConfigListOptions{Filters: f})
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	for _, x := range svcs.Items {
		b, _ := json.Marshal(x.Spec)
		s.Services[x.Spec.Name] = string(b)
	}
	for _, x := range nets.Items {
		s.Networks[x.Name] = x.ID
	}
	for _, x := range secs.Items {
		s.Secrets[x.Spec.Name] = x.ID
	}
	for _, x := range cfgs.Items {
		s.Configs[x.Spec.Name] = x.ID
	}
	return s
}

func (s stackState) diff(o stackState) string {
	var out []string
	for _, kind := range []struct {
		name string
		a, b map[string]string
	}{{"service", s.Services, o.Services}, {"network", s.Networks, o.Networks}, {"secret", s.Secrets, o.Secrets}, {"config", s.Configs, o.Configs}} {
		for _, k := range slices.Sorted(maps.Keys(kind.a)) {
			if v, ok := kind.b[k]; !ok {
				out = append(out, fmt.Sprintf("%s %s gone", kind.name, k))
			} else if v != kind.a[k] {
				out = append(out, fmt.Sprintf("%s %s changed:\n  before %s\n  after  %s", kind.name, k, kind.a[k], v))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(kind.b)) {
			if _, ok := kind.a[k]; !ok {
				out = append(out, fmt.Sprintf("%s %s added", kind.name, k))
			}
		}
	}
	return strings.Join(out, "\n")
}

// lockReleased fails the test when the stack's deploy lock is still there.
func lockReleased(t *testing.T, cli *client.Client, name string) {
	t.Helper()
	if _, err := cli.ConfigInspect(context.Background(), stack.LockName(name), client.ConfigInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("deploy lock of %s not released: %v", name, err)
	}
}

// rollbackStack is the stack of the rollback tests: v1 is the deployed state; v2 adds a
// network, a secret and a service, rotates a secret and a config and updates both services.
func rollbackStack(t *testing.T, name string, v int) *stack.Spec {
	t.Helper()
	st := stack.New(name)
	st.Network("front")
	st.Secret("key").Data(fmt.Appendf(nil, "key %d", v))
	st.Config("conf").Data(fmt.Appendf(nil, "conf %d", v))
	a := st.Service("a").Image(rbImage).Env("V", fmt.Sprint(v)).Network("front").Secret("key", "").Config("conf", "/conf").Replicas(0)
	st.Service("b").Image(rbImage).Env("V", fmt.Sprint(v)).Replicas(0)
	if v > 1 {
		st.Network("back")
		st.Secret("extra").Data([]byte("extra"))
		a.Network("back").Secret("extra", "")
		st.Service("c").Image(rbImage).Network("back").Replicas(0)
	}
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// rbImage is never pulled: the services of these tests have no replicas.
const rbImage = "127.0.0.1:5000/berth-rollback/x:1"

// stackTest returns the engine, a context and a unique stack name, removed at the end.
func stackTest(t *testing.T, prefix string, d time.Duration) (*client.Client, context.Context, string) {
	t.Helper()
	cli := testenv.Swarm(t)
	name := testenv.Name(t, prefix)
	t.Cleanup(func() { removeStack(t, name) })
	return cli, testenv.Context(t, d), name
}

var deployNever = stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}}

// TestDeployRollsBack injects a failure at each step of a deploy (a network, a secret, a
// config, the nth service; refused, its answer lost, the context cancelled before or after
// the write) on the real engine: the deploy fails with a *DeployError that says it was
// rolled back, the stack's objects and services' specs are those before the deploy, the lock
// is released, and the same deploy run again succeeds without duplicates.
func TestDeployRollsBack(t *testing.T) {
	cli := testenv.Swarm(t)
	on := func(op string, nth int, k fault) func(int, string, string) fault {
		seen := 0
		return func(_ int, o, _ string) fault {
			if !strings.HasPrefix(o, op) {
				return noFault
			}
			seen++
			if seen == nth {
				return k
			}
			return noFault
		}
	}
	cases := []struct {
		name string
		pick func(int, string, string) fault
		want error // also matched, besides ErrRolledBack
	}{
		{"network refused", on("NetworkCreate", 1, refuse), cerrdefs.ErrUnavailable},
		{"after networks: secret refused", on("SecretCreate", 1, refuse), cerrdefs.ErrUnavailable},
		{"after secrets: config refused", on("ConfigCreate", 1, refuse), cerrdefs.ErrUnavailable},
		{"first service refused", on("Service", 1, refuse), cerrdefs.ErrUnavailable},
		{"third service refused", on("Service", 3, refuse), cerrdefs.ErrUnavailable},
		{"network answer lost", on("NetworkCreate", 1, loseAnswer), nil},
		{"secret answer lost", on("SecretCreate", 2, loseAnswer), nil},
		{"service create answer lost", on("ServiceCreate", 1, loseAnswer), nil},
		{"service update answer lost", on("ServiceUpdate", 1, loseAnswer), nil},
		{"cancelled at a network", on("NetworkCreate", 1, cancelBefore), context.Canceled},
		{"cancelled after a secret", on("SecretCreate", 1, cancelAfter), context.Canceled},
		{"cancelled at a config", on("ConfigCreate", 1, cancelBefore), context.Canceled},
		{"cancelled after a service create", on("ServiceCreate", 1, cancelAfter), context.Canceled},
		{"cancelled after a service update", on("ServiceUpdate", 2, cancelAfter), context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testenv.Context(t, 2*time.Minute)
			name := testenv.Name(t, "rb")
			t.Cleanup(func() { removeStack(t, name) })
			if _, err := stack.Deploy(ctx, cli, rollbackStack(t, name, 1), deployNever); err != nil {
				t.Fatal(err)
			}
			before := snap(t, cli, name)
			dctx, cancel := context.WithCancel(ctx)
			defer cancel()
			fc := &faultClient{Client: cli, pick: tc.pick, cancel: cancel}
			var undo []string
			opts := deployNever
			opts.Progress = func(ev stack.Event) {
				if ev.Type == stack.EventUndo {
					undo = append(undo, ev.String())
				}
			}
			_, err := stack.Deploy(dctx, fc, rollbackStack(t, name, 2), opts)
			t.Logf("fault at %s: %v\nundo: %q", fc.fired, err, undo)
			if fc.fired == "" {
				t.Fatal("the fault was never injected")
			}
			var de *stack.DeployError
			if !errors.As(err, &de) || !de.RolledBack || len(de.NotUndone) != 0 || !errors.Is(err, stack.ErrRolledBack) || errors.Is(err, stack.ErrLeft) {
				t.Fatalf("want a *DeployError rolled back completely, got %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("the error does not match %v", tc.want)
			}
			if len(undo) != len(de.Undone) {
				t.Errorf("%d undo events for %d writes undone", len(undo), len(de.Undone))
			}
			if d := before.diff(snap(t, cli, name)); d != "" {
				t.Fatalf("the stack is not as it was before the deploy:\n%s", d)
			}
			lockReleased(t, cli, name)
			// re-running the deploy converges, with one object of each name
			if _, err := stack.Deploy(ctx, cli, rollbackStack(t, name, 2), deployNever); err != nil {
				t.Fatalf("deploy again: %v", err)
			}
			after := snap(t, cli, name)
			if len(after.Services) != 3 || len(after.Networks) != 3 || len(after.Secrets) != 3 || len(after.Configs) != 2 {
				t.Fatalf("after deploying again: %+v", after)
			}
		})
	}
}

// TestDeployRollsBackRefusedSpec deploys a service whose spec the engine itself refuses (a
// published port another service outside the stack holds): the stack is as it was.
func TestDeployRollsBackRefusedSpec(t *testing.T) {
	cli, ctx, name := stackTest(t, "rbport", 2*time.Minute)
	holder := testenv.Name(t, "port-holder")
	port := uint32(20000 + time.Now().UnixNano()%9000)
	res, err := swarm.Create(ctx, cli, swarm.NewService(holder).Image(rbImage).Replicas(0).
		PublishPort(swarmapi.PortConfig{TargetPort: 80, PublishedPort: port}), swarm.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.RemoveService(cli, res.ID) })
	if _, err := stack.Deploy(ctx, cli, rollbackStack(t, name, 1), deployNever); err != nil {
		t.Fatal(err)
	}
	before := snap(t, cli, name)
	v2 := rollbackStack(t, name, 2)
	for i := range v2.Services {
		if v2.Services[i].Spec.Name == name+"_c" {
			v2.Services[i].Spec.EndpointSpec = &swarmapi.EndpointSpec{Ports: []swarmapi.PortConfig{{Protocol: "tcp", TargetPort: 80, PublishedPort: port}}}
		}
	}
	_, err = stack.Deploy(ctx, cli, v2, deployNever)
	t.Log(err)
	if !errors.Is(err, stack.ErrRolledBack) || !strings.Contains(err.Error(), fmt.Sprint(port)) {
		t.Fatalf("want the engine's refusal, rolled back; got %v", err)
	}
	if d := before.diff(snap(t, cli, name)); d != "" {
		t.Fatalf("the stack is not as it was before the deploy:\n%s", d)
	}
}

// TestDeployEngineGone loses the engine in the middle of a deploy: the undo cannot reach it
// either, so the *DeployError lists every write it could not undo (ErrLeft) and the deploy
// lock it could not release. Once the engine is back, the same deploy converges: the lock of
// the gone deploy is taken over and the objects it left are used, not duplicated.
func TestDeployEngineGone(t *testing.T) {
	cli, ctx, name := stackTest(t, "gone", 2*time.Minute)
	if _, err := stack.Deploy(ctx, cli, rollbackStack(t, name, 1), deployNever); err != nil {
		t.Fatal(err)
	}
	fc := &faultClient{Client: cli, pick: func(_ int, op, _ string) fault {
		if op == "ServiceCreate" {
			return engineGone
		}
		return noFault
	}}
	_, err := stack.Deploy(ctx, fc, rollbackStack(t, name, 2), deployNever)
	t.Log(err)
	var de *stack.DeployError
	if !errors.As(err, &de) || !errors.Is(err, stack.ErrLeft) || errors.Is(err, stack.ErrRolledBack) || len(de.NotUndone) < 4 {
		t.Fatalf("want a *DeployError listing what it could not undo, got %v", err)
	}
	var kinds []string
	for _, l := range de.NotUndone {
		if !errors.Is(l, errGone) {
			t.Errorf("%s not undone for another reason: %v", l.Name, l.Err)
		}
		kinds = append(kinds, string(l.Kind))
	}
	for _, k := range []string{"network", "secret", "config"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("no %s among the writes not undone: %v", k, de.NotUndone)
		}
	}
	var le *stack.LeftError
	if !errors.As(err, &le) || le.Left[0].Name != stack.LockName(name) {
		t.Errorf("the unreleased deploy lock is not reported: %v", err)
	}
	// the engine is back
	if _, err := stack.Deploy(ctx, cli, rollbackStack(t, name, 2), deployNever); err != nil {
		t.Fatalf("deploy again: %v", err)
	}
	// one object per name of the spec; the replaced key and conf are kept only while a
	// service still used them (the engine went away before or after the update of a)
	s := snap(t, cli, name)
	secrets, configs := slices.Sorted(maps.Keys(s.Secrets)), slices.Sorted(maps.Keys(s.Configs))
	secrets = slices.DeleteFunc(secrets, func(n string) bool { return n == name+"_key" })
	configs = slices.DeleteFunc(configs, func(n string) bool { return n == name+"_conf" })
	if len(s.Services) != 3 || len(s.Networks) != 3 || len(secrets) != 2 || len(configs) != 1 {
		t.Fatalf("after deploying again: %d services, %d networks, secrets %v, configs %v", len(s.Services), len(s.Networks), secrets, configs)
	}
	lockReleased(t, cli, name)
}

// TestDeployNoRollback keeps what a failed deploy wrote.
func TestDeployNoRollback(t *testing.T) {
	cli, ctx, name := stackTest(t, "norb", time.Minute)
	if _, err := stack.Deploy(ctx, cli, rollbackStack(t, name, 1), deployNever); err != nil {
		t.Fatal(err)
	}
	before := snap(t, cli, name)
	fc := &faultClient{Client: cli, pick: func(_ int, op, _ string) fault {
		if op == "ServiceCreate" {
			return refuse
		}
		return noFault
	}}
	opts := deployNever
	opts.NoRollback = true
	res, err := stack.Deploy(ctx, fc, rollbackStack(t, name, 2), opts)
	var de *stack.DeployError
	if !errors.As(err, &de) || de.RolledBack || errors.Is(err, stack.ErrRolledBack) || len(de.Undone) != 0 {
		t.Fatalf("want a *DeployError not rolled back, got %v", err)
	}
	after := snap(t, cli, name)
	if _, ok := after.Networks[name+"_back"]; !ok || before.diff(after) == "" || len(res.Created) == 0 {
		t.Fatalf("the partial state was not kept: %s\n%+v", before.diff(after), res.Result)
	}
	lockReleased(t, cli, name)
}

// TestDeployRollsBackConvergence deploys an update whose new tasks crash, with a secret
// rotation and a new service, under Wait: the deploy is undone, the service runs on its old
// spec and the old secret, which was kept for that. Swarm's update either pauses on the
// failure or rolls back by itself (failure_action: rollback): both end the same way.
func TestDeployRollsBackConvergence(t *testing.T) {
	cli := testenv.Swarm(t)
	_, image := testenv.Registry(t, cli, fixtures.Busybox)
	for _, action := range []swarmapi.FailureAction{swarmapi.UpdateFailureActionPause, swarmapi.UpdateFailureActionRollback} {
		t.Run(string(action), func(t *testing.T) {
			t.Parallel()
			ctx := testenv.Context(t, 3*time.Minute)
			name := testenv.Name(t, "rbconv")
			t.Cleanup(func() { removeStack(t, name) })
			build := func(v int, command ...string) *stack.Spec {
				st := stack.New(name)
				st.Secret("key").Data(fmt.Appendf(nil, "key %d", v))
				st.Service("a").Image(image).Command(command...).Secret("key", "").Replicas(1).StopGracePeriod(time.Second).
					UpdateConfig(swarmapi.UpdateConfig{Monitor: 2 * time.Second, FailureAction: action}).
					RollbackConfig(swarmapi.UpdateConfig{Monitor: time.Second})
				if v > 1 {
					st.Service("c").Image(image).Command("sleep", "3600").Replicas(1).StopGracePeriod(time.Second)
				}
				spec, err := st.Compile()
				if err != nil {
					t.Fatal(err)
				}
				return spec
			}
			opts := stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}, Wait: true, Watch: watchFast}
			if _, err := stack.Deploy(ctx, cli, build(1, "sleep", "3600"), opts); err != nil {
				t.Fatal(err)
			}
			before := snap(t, cli, name)
			_, err := stack.Deploy(ctx, cli, build(2, "sh", "-c", "exit 3"), opts)
			t.Log(err)
			var ce *swarm.ConvergeError
			if !errors.As(err, &ce) || !errors.Is(err, stack.ErrRolledBack) {
				t.Fatalf("want a convergence failure, rolled back; got %v", err)
			}
			if d := before.diff(snap(t, cli, name)); d != "" {
				t.Fatalf("the stack is not as it was before the deploy:\n%s", d)
			}
			// the service converges again on its old spec (a task of the failed update may
			// still crash while swarm replaces it: look again from then on)
			for {
				w := watchFast
				w.Since = time.Now()
				_, err := swarm.Wait(ctx, cli, []string{name + "_a"}, w)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("after the rollback: %v", err)
				}
				t.Logf("after the rollback: %v", err)
				time.Sleep(time.Second)
			}
		})
	}
}

// TestDeployKeepsReplacedObjects rotates a secret and a config without Wait: the replaced
// ones stay (a rollback can return to them) and the next deploy removes them.
func TestDeployKeepsReplacedObjects(t *testing.T) {
	cli, ctx, name := stackTest(t, "keep", time.Minute)
	build := func(v int) *stack.Spec {
		st := stack.New(name)
		st.Secret("key").Data(fmt.Appendf(nil, "key %d", v))
		st.Config("conf").Data(fmt.Appendf(nil, "conf %d", v))
		st.Service("a").Image(rbImage).Secret("key", "").Config("conf", "/conf").Replicas(0)
		spec, err := st.Compile()
		if err != nil {
			t.Fatal(err)
		}
		return spec
	}
	if _, err := stack.Deploy(ctx, cli, build(1), deployNever); err != nil {
		t.Fatal(err)
	}
	res, err := stack.Deploy(ctx, cli, build(2), deployNever)
	if err != nil {
		t.Fatal(err)
	}
	old := []string{name + "_conf", name + "_key"}
	if got := append(refNames(res.Kept, stack.KindConfig), refNames(res.Kept, stack.KindSecret)...); !slices.Equal(got, old) || len(res.Removed) != 0 {
		t.Fatalf("kept %v, removed %v; want %v kept", got, res.Removed, old)
	}
	s := snap(t, cli, name)
	if _, ok := s.Secrets[name+"_key"]; !ok || len(s.Secrets) != 2 || len(s.Configs) != 2 {
		t.Fatalf("after the rotation: %+v", s)
	}
	res, err = stack.Deploy(ctx, cli, build(2), deployNever)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(refNames(res.Removed, stack.KindConfig), refNames(res.Removed, stack.KindSecret)...); !slices.Equal(got, old) {
		t.Fatalf("the next deploy removed %v, want %v", got, old)
	}
	if s := snap(t, cli, name); len(s.Secrets) != 1 || len(s.Configs) != 1 {
		t.Fatalf("after the next deploy: %+v", s)
	}
}

// TestConcurrentDeploys deploys one stack twice at once, a new stack and then an update: one
// deploy wins, the other fails with a conflict (the deploy lock, or a stale plan refused and
// rolled back) or, had it planned after the winner was done, has nothing to do; there is one
// object of each name.
func TestConcurrentDeploys(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "twice")
	t.Cleanup(func() { removeStack(t, name) })
	conflicts := 0
	for _, v := range []int{1, 2} {
		var wg sync.WaitGroup
		var res [2]*stack.DeployResult
		var errs [2]error
		start := make(chan struct{})
		for i := range 2 {
			wg.Go(func() {
				<-start
				res[i], errs[i] = stack.Deploy(ctx, cli, rollbackStack(t, name, v), deployNever)
			})
		}
		close(start)
		wg.Wait()
		t.Logf("v%d: %v | %v", v, errs[0], errs[1])
		wrote := 0
		for i := range 2 {
			switch {
			case errs[i] == nil && len(res[i].Created)+len(res[i].Updated) > 0:
				wrote++
			case errs[i] == nil:
			case cerrdefs.IsConflict(errs[i]):
				conflicts++
				var le *stack.LockedError
				var de *stack.DeployError
				if !errors.As(errs[i], &le) && !(errors.As(errs[i], &de) && errors.Is(errs[i], stack.ErrRolledBack)) {
					t.Errorf("a conflict neither locked out nor rolled back: %v", errs[i])
				}
			default:
				t.Errorf("want a conflict, got %v", errs[i])
			}
		}
		if wrote != 1 {
			t.Fatalf("v%d: %d deploys wrote, want 1", v, wrote)
		}
		s := snap(t, cli, name)
		want := map[int][4]int{1: {2, 2, 1, 1}, 2: {3, 3, 3, 2}}[v]
		if got := [4]int{len(s.Services), len(s.Networks), len(s.Secrets), len(s.Configs)}; got != want {
			t.Fatalf("v%d: services, networks, secrets, configs %v, want %v", v, got, want)
		}
		lockReleased(t, cli, name)
	}
	if conflicts == 0 {
		t.Error("no deploy met the other: nothing was tested")
	}
}

// TestRemovalsLeftAreErrors makes the engine refuse removals (a service outside the stack
// uses the stack's secret and network): Deploy's prune and Remove name what they left in a
// *LeftError, and do the rest.
func TestRemovalsLeftAreErrors(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "left")
	build := func(withKept bool) *stack.Spec {
		st := stack.New(name)
		st.Network("shared")
		st.Secret("used").Data([]byte("u"))
		if withKept {
			st.Secret("pruned").Data([]byte("p"))
		}
		st.Service("a").Image(rbImage).Network("shared").Replicas(0)
		spec, err := st.Compile()
		if err != nil {
			t.Fatal(err)
		}
		return spec
	}
	if _, err := stack.Deploy(ctx, cli, build(true), deployNever); err != nil {
		t.Fatal(err)
	}
	// a service outside the stack holds the stack's secrets and network
	s := snap(t, cli, name)
	outsider := testenv.Name(t, "outsider")
	res, err := swarm.Create(ctx, cli, swarm.RawSpec(swarmapi.ServiceSpec{Annotations: swarmapi.Annotations{Name: outsider},
		TaskTemplate: swarmapi.TaskSpec{ContainerSpec: &swarmapi.ContainerSpec{Image: rbImage, Secrets: []*swarmapi.SecretReference{
			{SecretName: name + "_pruned", SecretID: s.Secrets[name+"_pruned"], File: &swarmapi.SecretReferenceFileTarget{Name: "p", UID: "0", GID: "0", Mode: 0o444}},
			{SecretName: name + "_used", SecretID: s.Secrets[name+"_used"], File: &swarmapi.SecretReferenceFileTarget{Name: "u", UID: "0", GID: "0", Mode: 0o444}}}},
			Networks: []swarmapi.NetworkAttachmentConfig{{Target: s.Networks[name+"_shared"]}}},
		Mode: swarmapi.ServiceMode{Replicated: &swarmapi.ReplicatedService{Replicas: new(uint64)}}}), swarm.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	removeOutsider := func() { testenv.RemoveService(cli, res.ID) }
	t.Cleanup(func() { removeOutsider(); removeStack(t, name) })

	// a prune that the engine refuses: the deploy did the rest and says what it left
	opts := deployNever
	opts.Prune = true
	dres, err := stack.Deploy(ctx, cli, build(false), opts)
	t.Log(err)
	var le *stack.LeftError
	if !errors.As(err, &le) || !errors.Is(err, stack.ErrLeft) || len(le.Left) != 1 || le.Left[0].Name != name+"_pruned" || le.Left[0].Kind != stack.KindSecret {
		t.Fatalf("want a *LeftError naming the pruned secret, got %v", err)
	}
	if errors.Is(err, stack.ErrRolledBack) || dres == nil {
		t.Fatalf("a prune left behind is not rolled back: %v", err)
	}

	// Remove does everything it can and lists the secrets and the network it could not remove
	err = stack.Remove(ctx, cli, name, stack.RemoveOptions{Wait: true, Timeout: 3 * time.Second})
	t.Log(err)
	if !errors.As(err, &le) || !errors.Is(err, stack.ErrLeft) {
		t.Fatalf("want a *LeftError, got %v", err)
	}
	var left []string
	for _, l := range le.Left {
		left = append(left, string(l.Kind)+" "+l.Name)
	}
	slices.Sort(left)
	if want := []string{"network " + name + "_shared", "secret " + name + "_pruned", "secret " + name + "_used"}; !slices.Equal(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
	if after := snap(t, cli, name); len(after.Services) != 0 {
		t.Fatalf("the stack's service was not removed: %+v", after)
	}
	removeOutsider()
	if err := stack.Remove(ctx, cli, name, stack.RemoveOptions{Wait: true}); err != nil {
		t.Fatalf("remove once the outsider is gone: %v", err)
	}
}

// TestApplyCancelledListsWrites cancels a bare Plan.Apply (no undo) at each step: every
// object it left is listed in its Result, as created or as uncertain (written, answer lost).
func TestApplyCancelledListsWrites(t *testing.T) {
	cli := testenv.Swarm(t)
	for _, op := range []string{"NetworkCreate", "SecretCreate", "ConfigCreate", "ServiceCreate"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			ctx := testenv.Context(t, time.Minute)
			name := testenv.Name(t, "applycancel")
			t.Cleanup(func() { removeStack(t, name) })
			if _, err := stack.Deploy(ctx, cli, rollbackStack(t, name, 1), deployNever); err != nil {
				t.Fatal(err)
			}
			before := snap(t, cli, name)
			plan, err := rollbackStack(t, name, 2).Plan(ctx, cli, deployNever.PlanOptions)
			if err != nil {
				t.Fatal(err)
			}
			actx, cancel := context.WithCancel(ctx)
			defer cancel()
			fc := &faultClient{Client: cli, cancel: cancel, pick: func(_ int, o, _ string) fault {
				if o == op {
					return cancelAfter
				}
				return noFault
			}}
			res, err := plan.Apply(actx, fc, stack.ApplyOptions{})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("want the context's error, got %v", err)
			}
			time.Sleep(time.Second) // let lost writes land
			listed := map[string]bool{}
			for _, r := range slices.Concat(res.Created, res.Uncertain) {
				listed[r.Name] = true
			}
			after := snap(t, cli, name)
			for _, kind := range []struct{ before, after map[string]string }{{before.Networks, after.Networks},
				{before.Secrets, after.Secrets}, {before.Configs, after.Configs}, {before.Services, after.Services}} {
				for n := range kind.after {
					if _, ok := kind.before[n]; !ok && !listed[n] {
						t.Errorf("%s was written but is not in the result %+v", n, res)
					}
				}
			}
			lockReleased(t, cli, name)
		})
	}
}
