//go:build faults

package stack_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
	"github.com/berthdev/berth/swarm/dind"
)

// faultLab starts a dind lab of its own (a unique name), with busybox in its registry, and
// removes it when the test ends. The host's dockerd is never stopped or restarted: the faults
// happen to the lab's nodes.
func faultLab(t *testing.T, workers int) (*dind.Cluster, dind.Engine, string) {
	t.Helper()
	host := testenv.Engine(t)
	busybox := testenv.Image(t, host, fixtures.Busybox)
	ctx := testenv.Context(t, 3*time.Minute)
	lab := testenv.StartLab(t, ctx, host, dind.Options{Name: testenv.Name(t, "flt"), Workers: workers, Push: []string{busybox},
		Swarm: swarm.InitOptions{DefaultAddrPool: []string{"10.78.0.0/16"}, SubnetSize: 24}})
	return lab, host, lab.Images[busybox]
}

// reconnect waits for the node container's dockerd to answer again after a restart (its
// published port may have changed) and to be an active swarm manager, and returns a client.
func reconnect(t *testing.T, ctx context.Context, host dind.Engine, id string) *client.Client {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for ; time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		ins, err := host.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil || !ins.Container.State.Running {
			continue
		}
		var port string
		for _, b := range ins.Container.NetworkSettings.Ports {
			if len(b) > 0 {
				port = b[0].HostPort
			}
		}
		if port == "" {
			continue
		}
		cli, err := client.New(client.WithHost("tcp://127.0.0.1:" + port))
		if err != nil {
			t.Fatal(err)
		}
		info, err := cli.Info(ctx, client.InfoOptions{})
		if err == nil && info.Info.Swarm.LocalNodeState == swarmapi.LocalNodeStateActive && info.Info.Swarm.ControlAvailable {
			if _, err := cli.ServiceList(ctx, client.ServiceListOptions{}); err == nil { // raft has a leader again
				t.Cleanup(func() { cli.Close() })
				return cli
			}
		}
		cli.Close()
	}
	t.Fatalf("the node's dockerd did not come back as a swarm manager within 2 minutes")
	return nil
}

func faultStack(name, image string, services int) *stack.Spec {
	st := stack.New(name)
	st.Network("back").Attachable()
	st.Config("conf").Data([]byte("c"))
	st.Secret("key").Data([]byte("k"))
	for i := range services {
		st.Service(fmt.Sprintf("s%02d", i)).Image(image).Command("sleep", "3600").Replicas(1).
			Network("back").Config("conf", "/etc/conf").Secret("key", "")
	}
	spec, err := st.Compile()
	if err != nil {
		panic(err)
	}
	return spec
}

// The manager's dockerd is killed and restarted in the middle of Apply: the deploy fails with
// an error saying the engine went away; deploying again converges, with each service, network,
// config and secret once.
func TestFaultEngineRestartDuringApply(t *testing.T) {
	t.Parallel()
	lab, host, image := faultLab(t, 0)
	ctx := testenv.Context(t, 6*time.Minute)
	const n = 16
	name := "flt"
	var created atomic.Int32
	var kill sync.Once
	killed := make(chan error, 1)
	opts := stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}, Progress: func(ev stack.Event) {
		if ev.Type == stack.EventAction && strings.HasPrefix(ev.String(), "Creating service") && created.Add(1) == 5 {
			kill.Do(func() {
				_, err := host.ContainerKill(context.Background(), lab.Manager.ContainerID, client.ContainerKillOptions{Signal: "KILL"})
				killed <- err
			})
		}
	}}
	_, err := stack.Deploy(ctx, lab.Manager.Client, faultStack(name, image, n), opts)
	if kerr := <-killed; kerr != nil {
		t.Fatalf("kill the manager's dockerd: %v", kerr)
	}
	t.Logf("deploy with the engine killed after %d creates: %v", created.Load(), err)
	if err == nil {
		t.Fatal("the deploy succeeded although its engine was killed in the middle")
	}
	if !strings.Contains(err.Error(), "create service") && !strings.Contains(err.Error(), "connect") {
		t.Errorf("the error does not say what failed: %v", err)
	}

	if _, err := host.ContainerStart(ctx, lab.Manager.ContainerID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start the manager again: %v", err)
	}
	cli := reconnect(t, ctx, host, lab.Manager.ContainerID)
	redeploy := stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}, Wait: true,
		Watch: swarm.WatchOptions{Timeout: 3 * time.Minute, Stable: time.Second, PendingGrace: time.Minute}}
	if _, err := stack.Deploy(ctx, cli, faultStack(name, image, n), redeploy); err != nil {
		t.Fatalf("deploy again after the restart: %v", err)
	}
	assertOnce(t, ctx, cli, name, n)
}

// assertOnce checks that the stack has each of its n services, its network, config and
// secret exactly once.
func assertOnce(t *testing.T, ctx context.Context, cli *client.Client, name string, n int) {
	t.Helper()
	f := make(client.Filters).Add("label", stack.LabelNamespace+"="+name)
	svcs, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: f})
	nets, err2 := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	cfgs, err3 := cli.ConfigList(ctx, client.ConfigListOptions{Filters: f})
	secs, err4 := cli.SecretList(ctx, client.SecretListOptions{Filters: f})
	if err := errors.Join(err, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, s := range svcs.Items {
		names[s.Spec.Name]++
	}
	for _, nw := range nets.Items {
		names["network "+nw.Name]++
	}
	for _, c := range cfgs.Items {
		names["config "+c.Spec.Name]++
	}
	for _, s := range secs.Items {
		names["secret "+s.Spec.Name]++
	}
	for k, c := range names {
		if c != 1 {
			t.Errorf("%s exists %d times", k, c)
		}
	}
	if len(svcs.Items) != n || len(cfgs.Items) != 1 || len(secs.Items) != 1 || len(nets.Items) < 1 {
		t.Errorf("%d services (want %d), %d networks, %d configs, %d secrets", len(svcs.Items), n, len(nets.Items), len(cfgs.Items), len(secs.Items))
	}
}

// A worker stops while a stack converges: Watch follows it, swarm moves the worker's tasks to
// the other worker, and the deploy ends converged, every task running on the live worker.
func TestFaultWorkerStoppedDuringConvergence(t *testing.T) {
	t.Parallel()
	lab, host, image := faultLab(t, 2)
	ctx := testenv.Context(t, 6*time.Minute)
	st := stack.New("flt")
	st.Service("web").Image(image).Command("sleep", "3600").Replicas(4).Constraint("node.role==worker")
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	gone, live := lab.Workers[0], lab.Workers[1]
	var lines []string
	var mu sync.Mutex
	var stop sync.Once
	stopped := make(chan error, 1)
	opts := stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}, Wait: true,
		Watch: swarm.WatchOptions{Timeout: 4 * time.Minute, Stable: 20 * time.Second, PendingGrace: time.Minute},
		Progress: func(ev stack.Event) {
			line := ev.String()
			mu.Lock()
			lines = append(lines, line)
			mu.Unlock()
			if strings.Contains(line, "web 4/4 settling") { // all running, some on the worker about to stop
				stop.Do(func() {
					go func() { // stop the worker while the deploy watches
						zero := 0
						_, err := host.ContainerStop(context.Background(), gone.ContainerID, client.ContainerStopOptions{Timeout: &zero})
						stopped <- err
					}()
				})
			}
		}}
	_, err = stack.Deploy(ctx, lab.Manager.Client, spec, opts)
	if serr := <-stopped; serr != nil {
		t.Fatalf("stop worker %s: %v", gone.Name, serr)
	}
	mu.Lock()
	t.Logf("progress:\n  %s", strings.Join(lines, "\n  "))
	mu.Unlock()
	if err != nil {
		var ce *swarm.ConvergeError
		if !errors.As(err, &ce) || ce.Reason == "" {
			t.Fatalf("the deploy failed without a reason: %v", err)
		}
		t.Fatalf("the deploy did not converge after the worker stopped (swarm should reschedule): %v", err)
	}
	tasks, err := lab.Manager.Client.TaskList(ctx, client.TaskListOptions{Filters: make(client.Filters).
		Add("service", "flt_web").Add("desired-state", "running")})
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, task := range tasks.Items {
		if task.Status.State == swarmapi.TaskStateRunning && task.NodeID == live.NodeID {
			running++
		}
	}
	if running != 4 {
		t.Errorf("%d tasks running on the live worker %s when the deploy said converged; want 4", running, live.Name)
	}
}
