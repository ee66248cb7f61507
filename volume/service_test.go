package volume

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// probeWriter calls probe once, on the first write, while the backup is reading.
type probeWriter struct {
	probe func()
	done  bool
}

func (w *probeWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.done = true
		w.probe()
	}
	return len(p), nil
}

// With QuiesceStop a replicated service mounting the volume is scaled to 0 for the read and
// back afterwards. The service's image is on a closed loopback port: its tasks never run and
// nothing is pulled; the test asserts on the service's spec.
func TestBackupStopScalesServices(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, 2*time.Minute)
	vol := newTestVolume(t, cli)
	replicas := uint64(2)
	name := testenv.Name(t, "bsvc")
	svc, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: map[string]string{"berth.test": "1"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: "127.0.0.1:1/berth-never-pulled:1", Mounts: []mount.Mount{Named(vol, "/data")}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.ServiceRemove(context.Background(), svc.ID, client.ServiceRemoveOptions{}) })
	replicasNow := func() uint64 {
		res, err := cli.ServiceInspect(ctx, svc.ID, client.ServiceInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *res.Service.Spec.Mode.Replicated.Replicas
	}
	var during uint64 = 99
	res, err := Backup(ctx, cli, VolumeSource(vol), &probeWriter{probe: func() { during = replicasNow() }}, BackupOptions{Quiesce: QuiesceStop})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Scaled, []string{name}) {
		t.Errorf("scaled %v; want [%s]", res.Scaled, name)
	}
	if during != 0 {
		t.Errorf("replicas during the read = %d; want 0", during)
	}
	if after := replicasNow(); after != 2 {
		t.Errorf("replicas after the backup = %d; want 2", after)
	}
}
