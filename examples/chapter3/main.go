// Command chapter3 runs the swarm chapter end to end on a local multi-node lab, without any
// traffic leaving the machine:
//
//  1. a lab from package swarm/dind: a registry, a manager and 3 workers (Docker-in-Docker);
//  2. the echo API (examples/echo) and a small reverse proxy (examples/proxy), Go binaries in
//     FROM scratch images, built and pushed to the lab registry;
//  3. a service echo created with one replica through the manager, scaled to 6, its placement
//     per node printed, removed;
//  4. a stack echo with an api (3 replicas on the workers, endpoint_mode dnsrr) and the proxy
//     in front of it (3 replicas, BACKEND_HOST=echo_api:8080) on the attachable overlay
//     network ch03, deployed with package stack;
//  5. a request through the proxy from a one-off container on ch03, which answers
//     "Hello Docker!!";
//  6. the placement printed as a table of nodes and tasks, and everything torn down.
//
// It uses the fixture images when the engine has them (berth-fixtures/*:local, see `make
// fixtures`) and docker:dind, registry:2 and busybox:latest otherwise; those must be on the
// engine already (nothing is pulled). Flags or BERTH_DIND_IMAGE, BERTH_REGISTRY_IMAGE and
// BERTH_BUSYBOX_IMAGE choose others.
//
//	go run ./examples/chapter3
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/examples/goimage"
	"github.com/berthdev/berth/image"
	berthnetwork "github.com/berthdev/berth/network"
	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
	"github.com/berthdev/berth/swarm/dind"
)

// config is what the flags choose.
type config struct {
	Name          string // lab name; a unique one when empty
	Workers       int
	DindImage     string // empty: the fixture or docker:dind
	RegistryImage string // empty: the fixture or registry:2
	BusyboxImage  string // empty: the fixture or busybox:latest
}

func main() {
	var c config
	flag.StringVar(&c.Name, "name", "", "lab name (default ch03-RANDOM)")
	flag.IntVar(&c.Workers, "workers", 3, "worker nodes")
	flag.StringVar(&c.DindImage, "dind-image", os.Getenv("BERTH_DIND_IMAGE"), "Docker-in-Docker node image (default $BERTH_DIND_IMAGE, the fixture, or docker:dind)")
	flag.StringVar(&c.RegistryImage, "registry-image", os.Getenv("BERTH_REGISTRY_IMAGE"), "registry image (default $BERTH_REGISTRY_IMAGE, the fixture, or registry:2)")
	flag.StringVar(&c.BusyboxImage, "busybox-image", os.Getenv("BERTH_BUSYBOX_IMAGE"), "busybox image for the in-cluster request (default $BERTH_BUSYBOX_IMAGE, the fixture, or busybox:latest)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chapter3:", err)
		os.Exit(1)
	}
}

// cleanup runs undo steps in reverse order, even when the context was cancelled.
type cleanup []func(context.Context)

func (c *cleanup) add(f func(context.Context)) { *c = append(*c, f) }

func (c *cleanup) run() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, f := range slices.Backward(*c) {
		f(ctx)
	}
}

// chapter holds what the steps share.
type chapter struct {
	out  io.Writer
	host *client.Client
	lab  *dind.Cluster
	refs map[string]string // echo, proxy, busybox → in-cluster reference
	step int
}

func (ch *chapter) say(format string, args ...any) {
	ch.step++
	fmt.Fprintf(ch.out, "%d. %s\n", ch.step, fmt.Sprintf(format, args...))
}

func (ch *chapter) detail(format string, args ...any) {
	fmt.Fprintf(ch.out, "   %s\n", fmt.Sprintf(format, args...))
}

func run(ctx context.Context, c config, out io.Writer) error {
	begin := time.Now()
	host, err := berth.Connect(ctx)
	if err != nil {
		return err
	}
	defer host.Close()
	var undo cleanup
	ch := &chapter{out: out, host: host}
	err = ch.chapter(ctx, c, &undo)
	ch.say("tear everything down (the lab's containers, network and volumes, the built images)")
	undo.run() // also when a step failed
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "chapter 3 done in %s\n", time.Since(begin).Round(time.Second))
	return nil
}

func (ch *chapter) chapter(ctx context.Context, c config, undo *cleanup) error {
	if err := ch.setUp(ctx, c, undo); err != nil {
		return err
	}
	if err := ch.service(ctx); err != nil {
		return err
	}
	if err := ch.stack(ctx); err != nil {
		return err
	}
	return ch.ingress(ctx, undo)
}

// setUp builds the two images and starts the lab with them and busybox in its registry.
func (ch *chapter) setUp(ctx context.Context, c config, undo *cleanup) error {
	id := suffix()
	c.Name = cmp.Or(c.Name, "ch03-"+id)
	busybox, err := imageOr(ctx, ch.host, c.BusyboxImage, "berth-fixtures/busybox:local", "busybox:latest")
	if err != nil {
		return err
	}
	if c.DindImage, err = imageOr(ctx, ch.host, c.DindImage, "berth-fixtures/dind:local", dind.DefaultImage); err != nil {
		return err
	}
	if c.RegistryImage, err = imageOr(ctx, ch.host, c.RegistryImage, "berth-fixtures/registry:local", dind.DefaultRegistryImage); err != nil {
		return err
	}
	ch.say("build the echo API and the proxy (Go, static, FROM scratch)")
	tags := map[string]string{"echo": "berth-ch03/echo:" + id, "proxy": "berth-ch03/proxy:" + id}
	for _, name := range []string{"echo", "proxy"} {
		if _, err := goimage.Build(ctx, ch.host, "github.com/berthdev/berth/examples/"+name, tags[name]); err != nil {
			return err
		}
		undo.add(func(ctx context.Context) { image.Remove(ctx, ch.host, tags[name], image.RemoveOptions{Force: true}) })
		ch.detail("%s", tags[name])
	}
	ch.say("start lab %s: a registry, a manager and %d workers, and push the images", c.Name, c.Workers)
	lab, err := dind.Start(ctx, ch.host, dind.Options{
		Name: c.Name, Workers: c.Workers, Image: c.DindImage, RegistryImage: c.RegistryImage,
		Push:  []string{tags["echo"], tags["proxy"], busybox},
		Swarm: swarm.InitOptions{DefaultAddrPool: []string{"10.203.0.0/16"}, SubnetSize: 24},

		// The visualizer's and the ingress's ports, on 127.0.0.1 of the host.
		Publish: []dind.Publish{visualizerPublish, {NodePort: ingressPort}},
	})
	if err != nil {
		return err
	}
	undo.add(func(ctx context.Context) { lab.Close(ctx) })
	ch.lab = lab
	for _, w := range lab.Warnings {
		ch.detail("note: %s", w)
	}
	ch.detail("up in %s; registry %s from this host, %s from the nodes", lab.Elapsed.Round(time.Millisecond), lab.Registry.HostAddr, lab.Registry.ClusterAddr)
	ch.refs = map[string]string{"echo": lab.Images[tags["echo"]], "proxy": lab.Images[tags["proxy"]], "busybox": lab.Images[busybox]}
	for _, k := range []string{"echo", "proxy", "busybox"} {
		ch.detail("%-7s %s", k, ch.refs[k])
	}
	return ch.visualizer(ctx, undo)
}

// imageOr returns ref when given, else the local fixture (`make fixtures`) or the public image;
// the one chosen must be on the engine: nothing is pulled.
func imageOr(ctx context.Context, cli client.ImageAPIClient, ref string, fixture, public string) (string, error) {
	if ref != "" {
		return image.FirstPresent(ctx, cli, ref)
	}
	return image.FirstPresent(ctx, cli, fixture, public)
}

// service creates the echo service with one replica, scales it to 6, prints where its tasks
// run and removes it.
func (ch *chapter) service(ctx context.Context) error {
	mgr := ch.lab.Manager.Client
	ch.say("create the service echo with one replica (docker service create --name echo --replicas 1)")
	svc := swarm.NewService("echo").Image(ch.refs["echo"]).Replicas(1).StopGracePeriod(2 * time.Second)
	watch := swarm.WatchOptions{Stable: -1, Timeout: 90 * time.Second}
	res, err := swarm.Create(ctx, mgr, svc, swarm.CreateOptions{Wait: true, Watch: watch})
	if err != nil {
		return err
	}
	ch.detail("service %s running 1/1", res.ID)
	ch.say("scale it to 6 (docker service scale echo=6)")
	p, err := swarm.Scale(ctx, mgr, "echo", 6, swarm.ScaleOptions{Wait: true, Watch: watch})
	if err != nil {
		return err
	}
	ch.detail("%d/%d running", p.Running, p.Desired)
	tasks, err := swarm.Tasks(ctx, mgr, "echo", swarm.TasksOptions{})
	if err != nil {
		return err
	}
	placement := swarm.Placement(tasks)
	tw := tabwriter.NewWriter(ch.out, 0, 4, 2, ' ', 0)
	for _, n := range ch.lab.Nodes() {
		fmt.Fprintf(tw, "   %s\t%d tasks\n", n.Name, placement[n.Name])
	}
	tw.Flush()
	ch.say("remove it (docker service rm echo)")
	return swarm.Remove(ctx, mgr, "echo", swarm.RemoveOptions{Wait: true})
}

// stack deploys the echo stack, sends one request through the proxy and prints the placement.
func (ch *chapter) stack(ctx context.Context) error {
	mgr := ch.lab.Manager.Client
	ch.say("create the attachable overlay network ch03 (docker network create --driver=overlay --attachable ch03)")
	if _, err := berthnetwork.Create(ctx, mgr, "ch03", berthnetwork.CreateOptions{Driver: "overlay", Attachable: true}); err != nil {
		return err
	}
	ch.say("deploy the stack echo: api (3 replicas, node.role != manager, dnsrr) and proxy (3 replicas) on ch03")
	st := echoStack(ch.refs["echo"], ch.refs["proxy"])
	spec, err := st.Compile()
	if err != nil {
		return err
	}
	// Deploy plans, applies and waits: it fails fast, with the task's reason, when a task cannot
	// be placed or crashes.
	res, err := stack.Deploy(ctx, mgr, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever},
		Progress: func(ev stack.Event) { ch.detail("%s", ev) },
		Wait:     true, Watch: swarm.WatchOptions{Stable: 2 * time.Second, Timeout: 2 * time.Minute}})
	if err != nil {
		return err
	}
	var created []string
	for _, ref := range res.Created {
		if ref.Kind == stack.KindService {
			created = append(created, ref.Name)
		}
	}
	ch.detail("converged: %s", strings.Join(created, ", "))
	ch.say("one request through the proxy, from a container on ch03 (nc echo_proxy 8080)")
	answer, err := ch.request(ctx)
	if err != nil {
		return fmt.Errorf("%w\nlast lines of the proxy's log:\n%s", err, ch.lastLogs(ctx, "echo_proxy", 10))
	}
	for _, l := range strings.Split(strings.TrimSpace(answer), "\n") {
		ch.detail("| %s", strings.TrimRight(l, "\r"))
	}
	if !strings.Contains(answer, "Hello Docker!!") {
		return fmt.Errorf("the proxy answered without Hello Docker!!:\n%s", answer)
	}
	ch.say("where the stack's tasks run")
	return ch.placement(ctx, []string{"echo_api", "echo_proxy"})
}

// echoStack is the chapter's stack: the same as its compose file would be, in Go.
func echoStack(echoRef, proxyRef string) *stack.Stack {
	st := stack.New("echo")
	st.Network("ch03").External()
	st.Service("api").Image(echoRef).Replicas(3).
		Constraint("node.role != manager").EndpointMode("dnsrr").Network("ch03").StopGracePeriod(2 * time.Second)
	st.Service("proxy").Image(proxyRef).Replicas(3).
		Env("BACKEND_HOST", "echo_api:8080").Env("SERVICE_PORTS", "8080").EndpointMode("dnsrr").Network("ch03").StopGracePeriod(2 * time.Second)
	return st
}

// request runs a one-off busybox container on the manager, attached to ch03, which asks the
// proxy until it answers (the overlay's DNS needs a moment), and returns the answer.
func (ch *chapter) request(ctx context.Context) (string, error) {
	mgr := ch.lab.Manager.Client
	ref := ch.refs["busybox"]
	if _, err := image.Wait(image.Pull(ctx, mgr, ref, image.PullOptions{})); err != nil {
		return "", err
	}
	script := `i=0; while [ $i -lt 30 ]; do
  out=$(printf 'GET /chapter3 HTTP/1.0\r\nHost: echo_proxy\r\n\r\n' | nc echo_proxy 8080 2>&1)
  case "$out" in *"Hello Docker!!"*) printf '%s\n' "$out"; exit 0;; esac
  i=$((i+1)); sleep 1
done
printf 'no answer: %s\n' "$out"; exit 1`
	res, err := mgr.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:           &container.Config{Image: ref, Cmd: []string{"sh", "-c", script}},
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{"ch03": {}}},
	})
	if err != nil {
		return "", fmt.Errorf("create the client container: %w", err)
	}
	defer mgr.ContainerRemove(context.WithoutCancel(ctx), res.ID, client.ContainerRemoveOptions{Force: true})
	wait := mgr.ContainerWait(ctx, res.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := mgr.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return "", fmt.Errorf("start the client container: %w", err)
	}
	var code int64
	select {
	case r := <-wait.Result:
		code = r.StatusCode
	case err := <-wait.Error:
		return "", fmt.Errorf("wait for the client container: %w", err)
	}
	logs, err := mgr.ContainerLogs(ctx, res.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", fmt.Errorf("client container logs: %w", err)
	}
	defer logs.Close()
	var b strings.Builder
	if _, err := stdcopy.StdCopy(&b, &b, logs); err != nil {
		return "", err
	}
	if code != 0 {
		return "", fmt.Errorf("the client container exited with %d: %s", code, b.String())
	}
	return b.String(), nil
}

// lastLogs returns the last lines of each task of a service, to say why a request failed.
func (ch *chapter) lastLogs(ctx context.Context, service string, n int) string {
	var b strings.Builder
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for l, err := range swarm.Logs(lctx, ch.lab.Manager.Client, service, swarm.LogsOptions{Tail: n}) {
		if err != nil {
			fmt.Fprintf(&b, "  (%v)\n", err)
			break
		}
		fmt.Fprintf(&b, "  %s %s: %s\n", shortID(l.TaskID), l.Stream, l.Text)
	}
	return b.String()
}

func shortID(id string) string { return id[:min(len(id), 12)] }

// placement prints a table of the lab's nodes and the running tasks of each service.
func (ch *chapter) placement(ctx context.Context, services []string) error {
	mgr := ch.lab.Manager.Client
	per := map[string][]string{} // node → task names
	for _, s := range services {
		tasks, err := swarm.Tasks(ctx, mgr, s, swarm.TasksOptions{})
		if err != nil {
			return err
		}
		for _, t := range tasks {
			if t.State == "running" {
				per[t.Node] = append(per[t.Node], t.Name)
			}
		}
	}
	tw := tabwriter.NewWriter(ch.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "   NODE\tROLE\tTASKS")
	for _, n := range ch.lab.Nodes() {
		fmt.Fprintf(tw, "   %s\t%s\t%s\n", n.Name, n.Role, strings.Join(per[n.Name], " "))
	}
	tw.Flush()
	for node := range maps.Keys(per) {
		if ch.lab.Node(node) == nil {
			return fmt.Errorf("tasks on %q, which is not a lab node", node)
		}
	}
	return nil
}

func suffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}
