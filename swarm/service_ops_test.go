package swarm_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/mount"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/swarm"
)

// quick makes a test service start and stop fast: busybox sleep ignores SIGTERM as PID 1,
// and a rolling update replaces every task at once.
func quick(s *swarm.Service) *swarm.Service {
	return s.StopGracePeriod(300 * time.Millisecond).
		UpdateConfig(swarmapi.UpdateConfig{Parallelism: 0, Monitor: time.Second, FailureAction: swarmapi.UpdateFailureActionPause}).
		RollbackConfig(swarmapi.UpdateConfig{Parallelism: 0, Monitor: time.Second})
}

// TestServiceOperations walks one service through its life on the single-node swarm: create,
// tasks, logs, scale up and down, update (with a conflict), rollback, remove.
func TestServiceOperations(t *testing.T) {
	cli := testenv.Swarm(t)
	_, ref := testenv.Registry(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 3*time.Minute)
	name := testenv.Name(t, "ops")
	svc := quick(swarm.NewService(name).Image(ref).Env("WHO", "one").
		Command("sh", "-c", `echo "hello $WHO from $(hostname)"; echo "oops $WHO" >&2; exec sleep 3600`).Replicas(1))
	created, err := swarm.Create(ctx, cli, svc, swarm.CreateOptions{Wait: true, Watch: swarm.WatchOptions{Stable: -1}})
	if created.ID != "" {
		t.Cleanup(func() { swarm.Remove(context.Background(), cli, created.ID, swarm.RemoveOptions{MissingOK: true}) })
	}
	if err != nil {
		t.Fatalf("create: %v", err)
	}

	if _, err := swarm.Create(ctx, cli, svc, swarm.CreateOptions{}); !cerrdefs.IsConflict(err) {
		t.Errorf("create a second service %s: %v; want a conflict", name, err)
	}

	tasks, err := swarm.Tasks(ctx, cli, name, swarm.TasksOptions{})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("tasks: %v %v; want one", tasks, err)
	}
	tk := tasks[0]
	if tk.Name != name+".1" || tk.State != swarmapi.TaskStateRunning || tk.Node == "" || tk.NodeID == "" || tk.Image != ref {
		t.Errorf("task: %+v", tk)
	}

	t.Run("logs", func(t *testing.T) {
		want := []string{"stderr oops one", "stdout hello one"}
		var got []string
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			got = nil
			for l, err := range swarm.Logs(ctx, cli, name, swarm.LogsOptions{}) {
				if err != nil {
					t.Fatal(err)
				}
				if l.TaskID != tk.ID || l.NodeID != tk.NodeID || l.Time.IsZero() {
					t.Errorf("line %+v: want task %s on %s with a time", l, tk.ID, tk.NodeID)
				}
				got = append(got, string(l.Stream)+" "+strings.Fields(l.Text)[0]+" "+strings.Fields(l.Text)[1])
			}
			if len(got) >= 2 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("logs: %q; want %q", got, want)
		}
		var out, errOut strings.Builder
		if err := swarm.LogsTo(ctx, cli, name, swarm.LogsOptions{Stderr: true, Tail: 2}, &out, &errOut); err != nil {
			t.Fatal(err)
		}
		if out.String() != "" || errOut.String() != "oops one\n" {
			t.Errorf("stderr only: %q %q", out.String(), errOut.String())
		}
		// Follow: the first line arrives, then stopping the loop ends the stream.
		fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		n := 0
		for _, err := range swarm.Logs(fctx, cli, name, swarm.LogsOptions{Follow: true, Since: "10m"}) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 2 {
				break
			}
		}
		if n != 2 || fctx.Err() != nil {
			t.Errorf("follow: %d lines, %v", n, fctx.Err())
		}
	})

	t.Run("scale", func(t *testing.T) {
		p, err := swarm.Scale(ctx, cli, name, 3, swarm.ScaleOptions{Wait: true})
		if err != nil || p.Running != 3 || p.Desired != 3 {
			t.Fatalf("scale to 3: %v %v", p, err)
		}
		tasks, err := swarm.Tasks(ctx, cli, name, swarm.TasksOptions{})
		if err != nil || len(tasks) != 3 || swarm.Placement(tasks)[tk.Node] != 3 {
			t.Errorf("after scale: %d tasks %v, %v", len(tasks), swarm.Placement(tasks), err)
		}
		if p, err = swarm.Scale(ctx, cli, name, 1, swarm.ScaleOptions{Wait: true}); err != nil || p.Running != 1 {
			t.Fatalf("scale to 1: %v %v", p, err)
		}
	})

	t.Run("update, conflict, rollback", func(t *testing.T) {
		before, err := cli.ServiceInspect(ctx, name, client.ServiceInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := swarm.Update(ctx, cli, name, func(s *swarmapi.ServiceSpec) error {
			c := s.TaskTemplate.ContainerSpec
			c.Env = []string{"WHO=two"}
			return nil
		}, swarm.UpdateOptions{Wait: true, Watch: swarm.WatchOptions{Stable: -1}})
		if err != nil || !res.Changed {
			t.Fatalf("update: %+v %v", res, err)
		}
		// The replaced task stays in the history, shut down.
		all, err := swarm.Tasks(ctx, cli, name, swarm.TasksOptions{History: true})
		if err != nil || len(all) < 2 || all[0].Slot != 1 || all[0].State != swarmapi.TaskStateRunning || all[1].DesiredState != swarmapi.TaskStateShutdown {
			t.Errorf("history after update: %d tasks %v, %v", len(all), all, err)
		}
		after, _ := cli.ServiceInspect(ctx, name, client.ServiceInspectOptions{})
		if got := after.Service.Spec.TaskTemplate.ContainerSpec.Env; !slices.Equal(got, []string{"WHO=two"}) {
			t.Errorf("env after update: %v", got)
		}
		// The same change again writes nothing.
		res, err = swarm.Update(ctx, cli, name, func(s *swarmapi.ServiceSpec) error { return nil }, swarm.UpdateOptions{})
		if err != nil || res.Changed {
			t.Errorf("no-op update: %+v %v", res, err)
		}
		// A change computed against the old version is refused.
		_, err = swarm.Update(ctx, cli, name, func(s *swarmapi.ServiceSpec) error {
			s.Labels = map[string]string{"stale": "yes"}
			return nil
		}, swarm.UpdateOptions{Version: before.Service.Version})
		var vc *swarm.VersionConflictError
		if !errors.As(err, &vc) || !cerrdefs.IsConflict(err) || vc.Sent != before.Service.Version {
			t.Errorf("stale update: %v; want a *VersionConflictError", err)
		}
		// A change function's error stops the update before any write.
		boom := errors.New("boom")
		if _, err := swarm.Update(ctx, cli, name, func(*swarmapi.ServiceSpec) error { return boom }, swarm.UpdateOptions{}); !errors.Is(err, boom) {
			t.Errorf("failing change: %v", err)
		}
		// Replace with the builder, then roll back to the update before.
		if _, err := swarm.Replace(ctx, cli, name, quick(swarm.NewService(name).Image(ref).Env("WHO", "three").
			Command("sleep", "3600").Replicas(1)), swarm.UpdateOptions{}); err != nil {
			t.Fatalf("replace: %v", err)
		}
		if _, err := swarm.Replace(ctx, cli, name, swarm.NewService("other").Image(ref), swarm.UpdateOptions{}); !errors.Is(err, berth.ErrInvalid) {
			t.Errorf("replace under another name: %v", err)
		}
		if _, err := swarm.Rollback(ctx, cli, name, swarm.UpdateOptions{Wait: true, Watch: swarm.WatchOptions{Stable: -1}}); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		rolled, _ := cli.ServiceInspect(ctx, name, client.ServiceInspectOptions{})
		if got := rolled.Service.Spec.TaskTemplate.ContainerSpec.Env; !slices.Equal(got, []string{"WHO=two"}) {
			t.Errorf("env after rollback: %v; want WHO=two", got)
		}
	})

	t.Run("remove", func(t *testing.T) {
		if err := swarm.Remove(ctx, cli, name, swarm.RemoveOptions{Wait: true}); err != nil {
			t.Fatal(err)
		}
		if err := swarm.Remove(ctx, cli, name, swarm.RemoveOptions{}); !cerrdefs.IsNotFound(err) {
			t.Errorf("remove again: %v; want not found", err)
		}
		if err := swarm.Remove(ctx, cli, name, swarm.RemoveOptions{MissingOK: true}); err != nil {
			t.Errorf("remove again, missing ok: %v", err)
		}
		if _, err := swarm.Tasks(ctx, cli, name, swarm.TasksOptions{}); !cerrdefs.IsNotFound(err) {
			t.Errorf("tasks of a removed service: %v", err)
		}
	})
}

// TestServiceOperationsRefuse checks what the operations refuse before writing.
func TestServiceOperationsRefuse(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, time.Minute)
	name := testenv.Name(t, "glob")
	// Create compiles first: an invalid builder never reaches the engine.
	if _, err := swarm.Create(ctx, cli, swarm.NewService("bad name"), swarm.CreateOptions{}); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("invalid builder: %v", err)
	}
	// A global service with no task that can run (its constraint matches no node) is enough
	// to check that it cannot be scaled; nothing is pulled.
	spec := swarmapi.ServiceSpec{
		Annotations:  swarmapi.Annotations{Name: name},
		TaskTemplate: swarmapi.TaskSpec{ContainerSpec: &swarmapi.ContainerSpec{Image: "127.0.0.1:1/none:1"}, Placement: &swarmapi.Placement{Constraints: []string{"node.labels.berth-none==1"}}},
		Mode:         swarmapi.ServiceMode{Global: &swarmapi.GlobalService{}},
	}
	res, err := swarm.Create(ctx, cli, swarm.RawSpec(spec), swarm.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { swarm.Remove(context.Background(), cli, res.ID, swarm.RemoveOptions{}) })
	if _, err := swarm.Scale(ctx, cli, name, 2, swarm.ScaleOptions{}); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("scale a global service: %v; want invalid", err)
	}
	if _, err := swarm.Rollback(ctx, cli, name, swarm.UpdateOptions{}); !errors.Is(err, swarm.ErrNoPreviousSpec) || !cerrdefs.IsFailedPrecondition(err) {
		t.Errorf("rollback a service never updated: %v", err)
	}
	if _, err := swarm.Scale(ctx, cli, name+"-none", 2, swarm.ScaleOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("scale a missing service: %v; want not found", err)
	}
}

// frame is one frame of the engine's multiplexed stream.
func frame(stream byte, s string) []byte {
	h := make([]byte, 8, 8+len(s))
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(s)))
	return append(h, s...)
}

func TestDecodeLogs(t *testing.T) {
	ts := "2026-11-26T12:00:00.123456789Z"
	details := "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t%3D1"
	var stream []byte
	stream = append(stream, frame(1, ts+" "+details+" hello world\n")...)
	stream = append(stream, frame(2, ts+" "+details+" bad ")...)
	stream = append(stream, frame(2, "news\n")...)
	stream = append(stream, frame(1, "no timestamp\n")...)
	var got []string
	for _, l := range swarm.DecodeLogs(context.Background(), strings.NewReader(string(stream)), false) {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s|%s", l.Stream, l.Time.Format(time.RFC3339Nano), l.TaskID, l.NodeID, l.Text))
	}
	want := []string{
		"stdout|" + ts + "|t=1|n1|hello world",
		"stderr|" + ts + "|t=1|n1|bad news",
		"stdout|0001-01-01T00:00:00Z|||no timestamp",
	}
	if !slices.Equal(got, want) {
		t.Errorf("decoded:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecodeLogsTTY(t *testing.T) {
	var got []string
	for _, l := range swarm.DecodeLogs(context.Background(), strings.NewReader("2026-11-26T12:00:00Z com.docker.swarm.task.id=t1 one\r\ntwo"), true) {
		got = append(got, fmt.Sprintf("%s|%s|%s", l.Stream, l.TaskID, l.Text))
	}
	if want := []string{"stdout|t1|one", "stdout||two"}; !slices.Equal(got, want) {
		t.Errorf("tty: %q; want %q", got, want)
	}
}

// FuzzDecodeLogs feeds arbitrary log text to the decoder, raw (a TTY service) and cut into
// frames of the multiplexed stream at arbitrary points: it must end without panic and every
// line's text must come from the input. (Frame headers themselves come from the engine and
// are left to stdcopy.)
func FuzzDecodeLogs(f *testing.F) {
	f.Add("2026-11-26T12:00:00Z com.docker.swarm.task.id=t%zz1 hi\n", uint8(3))
	f.Add("2026-11-26T12:00:00Z a=b", uint8(0))
	f.Add("x\r\n\n\ny", uint8(1))
	f.Fuzz(func(t *testing.T, in string, cut uint8) {
		var framed []byte
		rest := in
		for len(rest) > 0 {
			n := min(len(rest), int(cut)+1)
			framed = append(framed, frame(1, rest[:n])...)
			rest = rest[n:]
		}
		for _, tty := range []bool{true, false} {
			src := in
			if !tty {
				src = string(framed)
			}
			for _, l := range swarm.DecodeLogs(context.Background(), strings.NewReader(src), tty) {
				if !strings.Contains(in, l.Text) {
					t.Errorf("tty %v: text %q is not in the input", tty, l.Text)
				}
			}
		}
	})
}

// Follow the logs of a service until the program is interrupted, as `docker service logs -f`.
func ExampleLogs() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	for l, err := range swarm.Logs(ctx, cli, "echo", swarm.LogsOptions{Follow: true, Tail: 10}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(l.TaskID, l.Stream, l.Text)
	}
}

// TestCloneSpecSharesNothing changes every kind of field of a copy (maps, slices, pointers,
// nested structs) and checks that the original is as it was.
func TestCloneSpecSharesNothing(t *testing.T) {
	spec, err := swarm.NewService("a").Image("127.0.0.1:5000/x:1").Env("A", "1").Label("l", "v").
		Command("sleep", "1").Secret("s", "").Network("n").Replicas(2).
		Mount(mount.Mount{Type: mount.TypeVolume, Source: "data", Target: "/data", VolumeOptions: &mount.VolumeOptions{Labels: map[string]string{"k": "v"}}}).StopGracePeriod(time.Second).Spec()
	if err != nil {
		t.Fatal(err)
	}
	show := func(s swarmapi.ServiceSpec) string { b, _ := json.Marshal(s); return string(b) }
	want := show(spec)
	cp := swarm.CloneSpec(spec)
	cp.Labels["l"] = "changed"
	cs := cp.TaskTemplate.ContainerSpec
	cs.Env[0], cs.Args[0], cs.Secrets[0].SecretName = "B=2", "changed", "changed"
	cs.Mounts[0].Target, cs.Mounts[0].VolumeOptions.Labels["k"] = "/changed", "changed"
	*cs.StopGracePeriod = 0
	*cp.Mode.Replicated.Replicas = 9
	cp.TaskTemplate.Networks[0].Target = "changed"
	if got := show(spec); got != want {
		t.Fatalf("changing the copy changed the original:\n%s\n%s", want, got)
	}
	if d := show(swarm.CloneSpec(spec)); d != want {
		t.Fatalf("the copy differs from the original:\n%s\n%s", want, d)
	}
}

// TestResolveModeValidate refuses an unknown image resolution mode before any write.
func TestResolveModeValidate(t *testing.T) {
	for _, m := range []swarm.ResolveMode{"", swarm.ResolveAlways, swarm.ResolveChanged, swarm.ResolveNever} {
		if err := m.Validate(); err != nil {
			t.Errorf("%q: %v", m, err)
		}
	}
	if err := swarm.ResolveMode("sometimes").Validate(); !errors.Is(err, berth.ErrInvalid) || !strings.Contains(err.Error(), "sometimes") {
		t.Errorf("sometimes: %v", err)
	}
	if _, err := swarm.Create(t.Context(), nil, swarm.NewService("a").Image("x"), swarm.CreateOptions{ResolveImage: "sometimes"}); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("Create with a bad mode: %v", err)
	}
}
