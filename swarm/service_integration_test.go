package swarm_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/swarm"
	"github.com/moby/moby/api/types/container"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// TestServiceSpecAcceptedByEngine creates a service from a builder spec using many fields, as
// `docker service create` would, and checks what the engine stored.
func TestServiceSpecAcceptedByEngine(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, time.Minute)
	name := testenv.Name(t, "svc")
	d := 5 * time.Second
	spec, err := swarm.NewService(name).Image("127.0.0.1:5000/berth-swarm/web:1").
		Command("serve").Env("B", "2").Env("A", "1").Label("team", "x").ContainerLabel("c", "y").
		Hostname("web").User("1000").WorkingDir("/srv").ExtraHost("db", "10.0.0.5").DNS("10.0.0.2").
		Healthcheck(container.HealthConfig{Test: []string{"CMD", "true"}, Interval: d}).
		StopGracePeriod(d).Init(true).CapAdd("net_admin").Ulimit("nofile", 10, 20).Sysctl("net.core.somaxconn", "512").
		Tmpfs("/tmp", 1<<20).Port("80").EndpointMode("vip").Replicas(0).
		LimitCPUs("0.5").LimitMemory(32 << 20).Restart("on-failure:2").
		Constraint("node.role==manager").Spread("node.labels.zone").MaxReplicasPerNode(1).
		UpdateConfig(swarmapi.UpdateConfig{Parallelism: 1, Delay: d}).
		Spec()
	if err != nil {
		t.Fatal(err)
	}
	r, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.ServiceRemove(context.Background(), r.ID, client.ServiceRemoveOptions{}) })
	got, err := cli.ServiceInspect(ctx, r.ID, client.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := got.Service.Spec
	c := s.TaskTemplate.ContainerSpec
	if !slices.Equal(c.Env, []string{"A=1", "B=2"}) || !slices.Equal(c.CapabilityAdd, []string{"CAP_NET_ADMIN"}) ||
		s.TaskTemplate.Resources.Limits.NanoCPUs != 5e8 || *s.TaskTemplate.RestartPolicy.MaxAttempts != 2 ||
		s.TaskTemplate.Placement.MaxReplicas != 1 || c.Hosts[0] != "10.0.0.5 db" || *s.Mode.Replicated.Replicas != 0 {
		t.Fatalf("engine stored something else: %+v", s)
	}
}
