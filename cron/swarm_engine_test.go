package cron

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// loopbackImage runs a registry container on 127.0.0.1, pushes the busybox fixture to it and
// returns the reference tasks can pull (127.0.0.1:PORT/...): a swarm task always pulls.
func loopbackImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	ctx := testenv.Context(t, 2*time.Minute)
	busybox := testenv.Image(t, cli, fixtures.Busybox)
	registry := testenv.Image(t, cli, fixtures.Registry)
	port := network.MustParsePort("5000/tcp")
	c, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: testenv.Name(t, "registry"),
		Config:     &container.Config{Image: registry, ExposedPorts: network.PortSet{port: {}}},
		HostConfig: &container.HostConfig{PortBindings: network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cli.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	})
	if _, err := cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	ins, err := cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bound := ins.Container.NetworkSettings.Ports[port]
	if len(bound) == 0 {
		t.Fatalf("registry port not published: %+v", ins.Container.NetworkSettings.Ports)
	}
	addr := "127.0.0.1:" + bound[0].HostPort
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry at %s does not answer", addr)
		}
	}
	ref := addr + "/berth-cron/busybox:test"
	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: busybox, Target: ref}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{}) })
	push, err := cli.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: "e30="}) // "{}"
	if err != nil {
		t.Fatal(err)
	}
	if err := push.Wait(ctx); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref
}

func removeService(t *testing.T, cli *client.Client, name string) {
	t.Cleanup(func() { testenv.RemoveService(cli, name) })
}

func jobSpec(name, img string, labels map[string]string, mode swarm.ServiceMode, script string) swarm.ServiceSpec {
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: labels},
		Mode:        mode,
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: img, Command: []string{"sh", "-c", script}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
		},
	}
}

func TestSwarmJobs(t *testing.T) {
	t.Parallel()
	cli := testenv.Swarm(t)
	img := loopbackImage(t, cli)
	ctx := testenv.Context(t, 3*time.Minute)

	// A replicated job created by the first run and re-run by a forced update.
	created := testenv.Name(t, "svcjob")
	removeService(t, cli, created)
	spec := jobSpec(created, img, nil, swarm.ServiceMode{}, "echo run-$RANDOM-ok; exit 0")

	// A swarm-cronjob service (replicated, 0 replicas) and a berth-labelled job service.
	cronjob := testenv.Name(t, "cronjob")
	removeService(t, cli, cronjob)
	zero := uint64(0)
	if _, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: jobSpec(cronjob, img,
		map[string]string{SwarmCronjobEnable: "true", SwarmCronjobSchedule: "@every 3s", SwarmCronjobSkipRunning: "true"},
		swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}}, "echo from-cronjob; exit 5")}); err != nil {
		t.Fatal(err)
	}
	labelled := testenv.Name(t, "labelled")
	removeService(t, cli, labelled)
	if _, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: jobSpec(labelled, img,
		map[string]string{LabelSchedule: "@every 3s"}, swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{}}, "echo labelled")}); err != nil {
		t.Fatal(err)
	}

	l := startLive(t, cli, []Job{{Name: created, Schedule: "@every 2s", Task: &ServiceTask{Spec: &spec, Poll: 200 * time.Millisecond}, Timeout: time.Minute}},
		WithLabels(LabelOptions{Reconcile: 5 * time.Second}))

	h := l.waitFor(created, 90*time.Second, func(h []Result) bool { return count(h, Succeeded) >= 2 })
	ok := 0
	for _, r := range h {
		if r.Status == Succeeded {
			ok++
			if !strings.Contains(r.Stdout, "-ok") {
				t.Errorf("service job output: %+v", r)
			}
		}
	}
	hc := l.waitFor("service/"+cronjob, 60*time.Second, func(h []Result) bool { return count(h, Failed) >= 1 })
	if r := first(hc, Failed); r.ExitCode != 5 || !strings.Contains(r.Stdout, "from-cronjob") {
		t.Errorf("swarm-cronjob service run: %+v", r)
	}
	hl := l.waitFor("service/"+labelled, 60*time.Second, func(h []Result) bool { return count(h, Succeeded) >= 1 })
	if r := first(hl, Succeeded); !strings.Contains(r.Stdout, "labelled") {
		t.Errorf("labelled job service run: %+v", r)
	}

	// Removing a labelled service drops its job.
	if _, err := cli.ServiceRemove(ctx, labelled, client.ServiceRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, ok := jobNamed(l.s, "service/"+labelled); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job of the removed service still scheduled")
		}
	}
	l.stop()
	for _, j := range []string{created, "service/" + cronjob} {
		h, _ := l.s.History(j)
		for _, r := range h {
			t.Logf("%s #%d %s exit=%d %s stdout=%q err=%q", j, r.Seq, r.Status, r.ExitCode, r.Duration.Round(time.Millisecond), r.Stdout, r.Err)
		}
	}
	got, err := cli.ServiceInspect(ctx, cronjob, client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := *got.Service.Spec.Mode.Replicated.Replicas; n != 0 {
		t.Errorf("swarm-cronjob service left at %d replicas, want 0", n)
	}
}
