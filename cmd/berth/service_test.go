package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/mount"
	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/swarm"
)

// The flags of `service create` map to the spec `docker service create` sends.
func TestServiceCreateFlags(t *testing.T) {
	t.Setenv("BERTH_TEST_FROM_SHELL", "yes")
	svc, f, err := serviceFromFlags([]string{
		"--name", "web", "--replicas", "3", "-e", "A=1", "--env", "BERTH_TEST_FROM_SHELL", "-e", "BERTH_TEST_ABSENT",
		"--label", "team=x", "--constraint", "node.role!=manager", "-p", "8080:80", "--publish", "published=9090,target=90,mode=host",
		"--network", "front", "--mount", "type=volume,source=data,target=/data,readonly", "--mount", "type=tmpfs,target=/tmp,tmpfs-size=1024",
		"--endpoint-mode", "dnsrr", "-d",
		"registry:5000/web:1", "serve", "--port", "80",
	})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := svc.Spec()
	if err != nil {
		t.Fatal(err)
	}
	c := spec.TaskTemplate.ContainerSpec
	ports := spec.EndpointSpec.Ports
	switch {
	case !f.detach || f.replicas != 3 || spec.Name != "web" || *spec.Mode.Replicated.Replicas != 3 || c.Image != "registry:5000/web:1":
		t.Errorf("name, replicas, image, detach: %+v", spec)
	case !slices.Equal(c.Args, []string{"serve", "--port", "80"}):
		t.Errorf("command: %q", c.Args)
	case !slices.Equal(c.Env, []string{"A=1", "BERTH_TEST_FROM_SHELL=yes"}):
		t.Errorf("env: %q", c.Env)
	case spec.Labels["team"] != "x" || spec.TaskTemplate.Placement.Constraints[0] != "node.role!=manager":
		t.Errorf("labels, constraints: %v %v", spec.Labels, spec.TaskTemplate.Placement)
	case len(ports) != 2 || ports[0].TargetPort != 80 || ports[0].PublishedPort != 8080 || ports[1].PublishMode != swarmtypes.PortConfigPublishModeHost:
		t.Errorf("ports: %+v", ports)
	case spec.TaskTemplate.Networks[0].Target != "front" || spec.EndpointSpec.Mode != swarmtypes.ResolutionModeDNSRR:
		t.Errorf("network, endpoint mode: %+v %+v", spec.TaskTemplate.Networks, spec.EndpointSpec)
	case len(c.Mounts) != 2 || !c.Mounts[0].ReadOnly || c.Mounts[0].Source != "data" || c.Mounts[1].Type != mount.TypeTmpfs || c.Mounts[1].TmpfsOptions.SizeBytes != 1024:
		t.Errorf("mounts: %+v", c.Mounts)
	}

	_, _, err = serviceFromFlags([]string{"--name", "web", "--mount", "kind=volume", "-p", "published=x", "img"})
	var paths []string
	for _, ve := range berth.ValidationErrors(err) {
		paths = append(paths, ve.Path)
	}
	if !slices.Equal(paths, []string{"service create/mount[0]", "service create/publish[0]"}) {
		t.Errorf("bad mount and port: %v (%v)", paths, err)
	}
	if _, _, err := serviceFromFlags([]string{"img"}); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("no name: %v", err)
	}
	if _, _, err := serviceFromFlags([]string{"--name", "x", "--mode", "daemon", "img"}); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("unknown mode: %v", err)
	}
}

// TestServiceCLI drives create, scale, ls, ps, logs and rm against the single-node swarm.
func TestServiceCLI(t *testing.T) {
	cli := testenv.Swarm(t)
	_, ref := testenv.Registry(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "clisvc")
	t.Cleanup(func() {
		swarm.Remove(context.Background(), cli, name, swarm.RemoveOptions{MissingOK: true})
	})
	steps := []struct {
		args []string
		code int
	}{
		{[]string{"service", "create", "--name", name, "--replicas", "1", "-e", "WHO=cli", "--stop-grace-period", "300ms",
			"--endpoint-mode", "dnsrr", ref, "sh", "-c", `echo "hello $WHO"; exec sleep 3600`}, 0},
		{[]string{"service", "scale", name + "=2"}, 0},
		{[]string{"service", "scale", name}, 1},
		{[]string{"service", "ls"}, 0},
		{[]string{"service", "ps", name}, 0},
		{[]string{"service", "ps", "-f", "desired-state=running", "-q", name}, 0},
		{[]string{"service", "logs", "--tail", "5", name}, 0},
		{[]string{"service", "logs", "--tail", "x", name}, 1},
		{[]string{"service", "update", name, "--env-add", "WHO=update", "--env-add", "MORE=1", "--label-add", "tier=web"}, 0},
		{[]string{"service", "update", "--replicas", "3", "-d", name}, 0},
		{[]string{"service", "rollback", name}, 0},
	}
	for _, s := range steps {
		if code := run(ctx, s.args); code != s.code {
			t.Fatalf("berth %s: exit %d; want %d", strings.Join(s.args, " "), code, s.code)
		}
	}
	res, err := cli.ServiceInspect(ctx, name, client.ServiceInspectOptions{})
	// The rollback returned the service to before the last update: replicas 2 again, with the
	// environment and label of the first update.
	if err != nil || *res.Service.Spec.Mode.Replicated.Replicas != 2 || res.Service.Spec.Labels["tier"] != "web" ||
		!slices.Equal(res.Service.Spec.TaskTemplate.ContainerSpec.Env, []string{"MORE=1", "WHO=update"}) {
		t.Fatalf("service after create, scale, update and rollback: %+v %v", res.Service.Spec, err)
	}
	tasks, err := swarm.Tasks(ctx, cli, name, swarm.TasksOptions{})
	if err != nil || len(swarm.Placement(tasks)) != 1 || swarm.Placement(tasks)[tasks[0].Node] != 2 {
		t.Errorf("tasks after scale: %v %v", tasks, err)
	}
	if code := run(ctx, []string{"service", "rm", name}); code != 0 {
		t.Errorf("service rm: exit %d", code)
	}
	if _, err := cli.ServiceInspect(ctx, name, client.ServiceInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("service after rm: %v", err)
	}
	if code := run(ctx, []string{"service", "rm", name}); code != 1 {
		t.Errorf("service rm of a removed service: exit %d; want 1", code)
	}
}
