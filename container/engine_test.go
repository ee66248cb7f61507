package container_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/container"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/volume"
	cerrdefs "github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
)

// busybox returns a builder of the busybox fixture named uniquely for t, removed (with its
// anonymous volumes) when t ends.
func busybox(t *testing.T, cli *client.Client, cmd ...string) *container.Container {
	t.Helper()
	name := testenv.Name(t, "ctr")
	t.Cleanup(func() {
		container.Remove(context.Background(), cli, name, container.RemoveOptions{Force: true, Volumes: true})
	})
	return container.New(testenv.Image(t, cli, fixtures.Busybox)).Name(name).Label("dev.berth.test", "container").Command(cmd...)
}

func TestRunWaitExitAndLogs(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	c := busybox(t, cli, "sh", "-c", `echo "out $GREETING"; echo err >&2; exit 3`).Env("GREETING", "hello")
	res, err := container.Run(ctx, cli, c, container.RunOptions{Wait: container.WaitExit})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || res.ID == "" || !strings.HasPrefix(res.Name, "ctr-") {
		t.Fatalf("result %+v", res)
	}
	var got []string
	for l, err := range container.Logs(ctx, cli, res.Name, container.LogsOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if l.Time.IsZero() {
			t.Errorf("line %q has no time", l.Text)
		}
		got = append(got, string(l.Stream)+":"+l.Text)
	}
	slices.Sort(got) // stdout and stderr are separate streams: their order is the engine's
	if want := []string{"stderr:err", "stdout:out hello"}; !slices.Equal(got, want) {
		t.Errorf("logs %q, want %q", got, want)
	}
}

// Output gets the lines as the container writes them, not once it exited: the first line
// comes while the container still runs (it sleeps 2 s before the second).
func TestRunOutputStreams(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	c := busybox(t, cli, "sh", "-c", "echo first; sleep 2; echo second >&2")
	var got []string
	var firstAt time.Time
	opts := container.RunOptions{Wait: container.WaitExit, Output: func(l container.Line) {
		if firstAt.IsZero() {
			firstAt = time.Now()
		}
		got = append(got, string(l.Stream)+":"+l.Text)
	}}
	res, err := container.Run(ctx, cli, c, opts)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %v, %+v", err, res)
	}
	if want := []string{"stdout:first", "stderr:second"}; !slices.Equal(got, want) {
		t.Fatalf("output %q, want %q", got, want)
	}
	info, err := container.Inspect(ctx, cli, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	finished, err := time.Parse(time.RFC3339Nano, info.State.FinishedAt)
	if err != nil {
		t.Fatal(err)
	}
	if early := finished.Sub(firstAt); early < time.Second {
		t.Errorf("the first line came %s before the container finished, want at least 1s (it sleeps 2s after it)", early)
	}
}

// Output does not depend on the logs: a container that keeps none still shows its output.
func TestRunOutputWithoutLogs(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	c := busybox(t, cli, "echo", "unlogged").Modify(func(s *container.Spec) { s.HostConfig.LogConfig.Type = "none" })
	var got []string
	res, err := container.Run(ctx, cli, c, container.RunOptions{Wait: container.WaitExit, Output: func(l container.Line) { got = append(got, l.Text) }})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %v, %+v", err, res)
	}
	if !slices.Equal(got, []string{"unlogged"}) {
		t.Errorf("output %q, want [unlogged]", got)
	}
}

func TestRunWaitHealthy(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	hc := ctypes.HealthConfig{Test: []string{"CMD-SHELL", "test -f /tmp/ready"}, Interval: 100 * time.Millisecond, Retries: 100}
	c := busybox(t, cli, "sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 300").Healthcheck(hc)
	start := time.Now()
	if _, err := container.Run(ctx, cli, c, container.RunOptions{Wait: container.WaitHealthy}); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Errorf("healthy after %s, before the check could pass", time.Since(start))
	}
	// A container that exits before it is healthy fails the wait at once, with its exit code.
	bad := busybox(t, cli, "sh", "-c", "exit 7").Healthcheck(hc)
	_, err := container.Run(ctx, cli, bad, container.RunOptions{Wait: container.WaitHealthy})
	if err == nil || !strings.Contains(err.Error(), "exited with code 7 before it was healthy") {
		t.Fatalf("want an early exit error, got %v", err)
	}
}

func TestRunInvalidMakesNoRequest(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	c := busybox(t, cli, "true").Restart("always").AutoRemove(true).Publish("x")
	_, err := container.Run(ctx, cli, c, container.RunOptions{})
	if !errors.Is(err, berth.ErrInvalid) || len(berth.ValidationErrors(err)) != 2 {
		t.Fatalf("want two validation errors, got %v", err)
	}
	spec, _ := c.Compile()
	if _, err := container.Inspect(ctx, cli, spec.Name); !cerrdefs.IsNotFound(err) {
		t.Errorf("an invalid Run created a container: %v", err)
	}
}

func TestRunStartFailureRemovesTheContainer(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	c := busybox(t, cli).Entrypoint("/no/such/binary")
	_, err := container.Run(ctx, cli, c, container.RunOptions{})
	if err == nil {
		t.Fatal("a missing entrypoint started")
	}
	spec, _ := c.Compile()
	if _, err := container.Inspect(ctx, cli, spec.Name); !cerrdefs.IsNotFound(err) {
		t.Errorf("the container that failed to start is still there: %v", err)
	}
}

func TestExec(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	res, err := container.Run(ctx, cli, busybox(t, cli, "sleep", "300"), container.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := container.Exec(ctx, cli, res.ID, []string{"sh", "-c", `echo "$X $(id -u) $(pwd)"; echo oops >&2; exit 2`},
		container.ExecOptions{Env: []string{"X=hi"}, User: "65534", WorkingDir: "/tmp"})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Stdout) != "hi 65534 /tmp\n" || string(out.Stderr) != "oops\n" || out.ExitCode != 2 {
		t.Errorf("exec result %q %q %d", out.Stdout, out.Stderr, out.ExitCode)
	}
	var exit *container.ExitError
	if !errors.As(out.Err(), &exit) || exit.Code != 2 || exit.Stderr != "oops\n" {
		t.Errorf("Err() = %v", out.Err())
	}
	in, err := container.Exec(ctx, cli, res.ID, []string{"cat"}, container.ExecOptions{Stdin: strings.NewReader("through stdin")})
	if err != nil || string(in.Stdout) != "through stdin" || in.Err() != nil {
		t.Errorf("stdin: %q %v %v", in.Stdout, err, in.Err())
	}
	tty, err := container.Exec(ctx, cli, res.ID, []string{"sh", "-c", "tty; echo e >&2"}, container.ExecOptions{TTY: true})
	if err != nil || !strings.HasPrefix(string(tty.Stdout), "/dev/pts/") || !strings.Contains(string(tty.Stdout), "e\r\n") || len(tty.Stderr) != 0 {
		t.Errorf("tty: %q %q %v", tty.Stdout, tty.Stderr, err)
	}
	if _, err := container.Exec(ctx, cli, "no-such-container-"+res.ID[:8], []string{"true"}, container.ExecOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("exec in a missing container: %v", err)
	}
}

func TestExecStream(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	res, err := container.Run(ctx, cli, busybox(t, cli, "sleep", "300"), container.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var last error
	for l, err := range container.ExecStream(ctx, cli, res.ID, []string{"sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.1; done; exit 4"}, container.ExecOptions{}) {
		if err != nil {
			last = err
			continue
		}
		got = append(got, l.Text)
	}
	if want := []string{"line 1", "line 2", "line 3"}; !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
	var exit *container.ExitError
	if !errors.As(last, &exit) || exit.Code != 4 {
		t.Errorf("want exit code 4 last, got %v", last)
	}
	// Stopping early returns at once, even though the process goes on.
	start := time.Now()
	for l := range container.ExecStream(ctx, cli, res.ID, []string{"sh", "-c", "echo first; sleep 30"}, container.ExecOptions{}) {
		if l.Text != "first" {
			t.Errorf("first line %q", l.Text)
		}
		break
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("stopping the stream took %s", time.Since(start))
	}
}

func TestLogsTailAndFollow(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	res, err := container.Run(ctx, cli, busybox(t, cli, "sh", "-c", "for i in 1 2 3 4; do echo $i; done; sleep 1; echo 5; exec sleep 300"), container.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	var tail []string
	for l, err := range container.Logs(ctx, cli, res.ID, container.LogsOptions{Tail: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		tail = append(tail, l.Text)
	}
	if !slices.Equal(tail, []string{"3", "4"}) {
		t.Errorf("tail 2: %q", tail)
	}
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var followed []string
	var fifth time.Time
	for l, err := range container.Logs(fctx, cli, res.ID, container.LogsOptions{Follow: true, Stdout: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if followed = append(followed, l.Text); l.Text == "5" {
			fifth = l.Time
			cancel()
		}
	}
	if !slices.Equal(followed, []string{"1", "2", "3", "4", "5"}) {
		t.Errorf("followed %q", followed)
	}
	// The fifth line came a second after the others: Since its time shows it alone.
	var since []string
	for l, err := range container.Logs(ctx, cli, res.ID, container.LogsOptions{Since: fifth.Add(-100 * time.Millisecond).Format(time.RFC3339Nano)}) {
		if err != nil {
			t.Fatal(err)
		}
		since = append(since, l.Text)
	}
	if !slices.Equal(since, []string{"5"}) {
		t.Errorf("since the fifth line: %q", since)
	}
}

func TestStopStartRestartWaitRemove(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 2*time.Minute)
	c := busybox(t, cli, "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done").Volume("", "/anon", false)
	res, err := container.Run(ctx, cli, c, container.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	one := time.Second
	if err := container.Stop(ctx, cli, res.ID, container.StopOptions{Timeout: &one}); err != nil {
		t.Fatal(err)
	}
	if code, err := container.Wait(ctx, cli, res.ID); err != nil || code != 0 {
		t.Errorf("wait after a graceful stop: %d %v", code, err)
	}
	if err := container.Start(ctx, cli, res.ID); err != nil {
		t.Fatal(err)
	}
	before, _ := container.Inspect(ctx, cli, res.ID)
	if err := container.Restart(ctx, cli, res.ID, container.StopOptions{Signal: "KILL"}); err != nil {
		t.Fatal(err)
	}
	after, err := container.Inspect(ctx, cli, res.ID)
	if err != nil || !after.State.Running || after.State.StartedAt == before.State.StartedAt {
		t.Errorf("restart: running %v, started %s then %s (%v)", after.State.Running, before.State.StartedAt, after.State.StartedAt, err)
	}
	var anon string
	for _, m := range after.Mounts {
		if m.Destination == "/anon" {
			anon = m.Name
		}
	}
	if err := container.Remove(ctx, cli, res.ID, container.RemoveOptions{}); !cerrdefs.IsConflict(err) {
		t.Errorf("removing a running container without Force: %v", err)
	}
	if err := container.Remove(ctx, cli, res.ID, container.RemoveOptions{Force: true, Volumes: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.VolumeInspect(ctx, anon, client.VolumeInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("anonymous volume %q is still there: %v", anon, err)
	}
	if err := container.Remove(ctx, cli, res.ID, container.RemoveOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("removing a removed container: %v", err)
	}
}

func TestList(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	mark := testenv.Name(t, "mark")
	running, err := container.Run(ctx, cli, busybox(t, cli, "sleep", "300").Label(mark, "run"), container.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created, err := container.Create(ctx, cli, busybox(t, cli, "true").Label(mark, "create"))
	if err != nil {
		t.Fatal(err)
	}
	ids := func(opts container.ListOptions) []string {
		list, err := container.List(ctx, cli, opts)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.ID)
		}
		slices.Sort(out)
		return out
	}
	if got := ids(container.ListOptions{Labels: []string{mark}}); !slices.Equal(got, []string{running.ID}) {
		t.Errorf("running with the label: %q", got)
	}
	all := []string{running.ID, created.ID}
	slices.Sort(all)
	if got := ids(container.ListOptions{All: true, Labels: []string{mark}}); !slices.Equal(got, all) {
		t.Errorf("all with the label: %q, want %q", got, all)
	}
	if got := ids(container.ListOptions{All: true, Labels: []string{mark + "=create"}, Filters: client.Filters{}.Add("status", "created")}); !slices.Equal(got, []string{created.ID}) {
		t.Errorf("created with label value: %q", got)
	}
}

func TestCopyAndVolumesFrom(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	data := testenv.Name(t, "data")
	if _, err := volume.CreateDataContainer(ctx, cli, data, volume.DataContainerOptions{Paths: []string{"/var/lib/mysql"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		container.Remove(context.Background(), cli, data, container.RemoveOptions{Force: true, Volumes: true})
	})
	res, err := container.Run(ctx, cli, busybox(t, cli, "sleep", "300").VolumesFrom(data, false), container.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := container.WriteFile(ctx, cli, res.ID, "/var/lib/mysql/note.txt", []byte("kept in the data container\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "dir/a", Typeflag: tar.TypeReg, Mode: 0o600, Size: 1})
	tw.Write([]byte("a"))
	tw.Close()
	if err := container.CopyTo(ctx, cli, res.ID, "/var/lib/mysql", &buf); err != nil {
		t.Fatal(err)
	}
	// A second container with the same VolumesFrom sees both.
	reader, err := container.Run(ctx, cli, busybox(t, cli, "sleep", "300").VolumesFrom(data, true), container.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := container.ReadFile(ctx, cli, reader.ID, "/var/lib/mysql/note.txt")
	if err != nil || string(got) != "kept in the data container\n" {
		t.Fatalf("read back %q %v", got, err)
	}
	rc, st, err := container.CopyFrom(ctx, cli, reader.ID, "/var/lib/mysql/dir")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if !st.Mode.IsDir() || st.Name != "dir" {
		t.Errorf("stat %+v", st)
	}
	var names []string
	for tr := tar.NewReader(rc); ; {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if !slices.Equal(names, []string{"dir/", "dir/a"}) {
		t.Errorf("copied out %q", names)
	}
	if _, err := container.Exec(ctx, cli, reader.ID, []string{"touch", "/var/lib/mysql/x"}, container.ExecOptions{}); err != nil {
		t.Fatal(err)
	} else if out, _ := container.Exec(ctx, cli, reader.ID, []string{"touch", "/var/lib/mysql/x"}, container.ExecOptions{}); out.ExitCode == 0 {
		t.Error("a read-only VolumesFrom is writable")
	}
}

func TestPublishAndInspect(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	c := busybox(t, cli, "sleep", "300").Publish("127.0.0.1::8080").Init(true).Restart("unless-stopped").Memory(64 << 20)
	res, err := container.Run(ctx, cli, c, container.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := container.Inspect(ctx, cli, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	var hostPort string
	for port, b := range info.NetworkSettings.Ports {
		if port.Num() == 8080 && len(b) > 0 {
			hostPort = b[0].HostPort
		}
	}
	if hostPort == "" || hostPort == "0" {
		t.Errorf("8080 got no host port: %v", info.NetworkSettings.Ports)
	}
	if info.HostConfig.RestartPolicy.Name != "unless-stopped" || info.HostConfig.Memory != 64<<20 || info.HostConfig.Init == nil || !*info.HostConfig.Init {
		t.Errorf("host config %+v", info.HostConfig)
	}
}

// The same flags create the same container through RunFlags as through the Docker CLI's
// `docker create`, on the same engine.
func TestRunFlagsMatchDockerCreate(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	docker := testenv.DockerCLI(t)
	img := testenv.Image(t, cli, fixtures.Busybox)
	vol := testenv.Name(t, "vol")
	t.Cleanup(func() { cli.VolumeRemove(context.Background(), vol, client.VolumeRemoveOptions{Force: true}) })
	grace := 7 * time.Second
	f := container.RunFlags{Env: []string{"A=1", "B=two words"}, Labels: []string{"app=ch03"}, Publish: []string{"127.0.0.1::8080", "9090/udp"},
		Volumes: []string{vol + ":/data:ro", "/scratch"}, Restart: "on-failure:2", User: "65534", Workdir: "/tmp", Init: true,
		Memory: 64 << 20, CPUs: "0.5", StopSignal: "SIGINT", StopTimeout: &grace, Hostname: "box"}
	ours, theirs := testenv.Name(t, "ours"), testenv.Name(t, "theirs")
	for _, n := range []string{ours, theirs} {
		t.Cleanup(func() {
			container.Remove(context.Background(), cli, n, container.RemoveOptions{Force: true, Volumes: true})
		})
	}
	f.Name = ours
	if _, err := container.Create(ctx, cli, f.Container(img, "sleep", "1")); err != nil {
		t.Fatal(err)
	}
	args := []string{"create", "--name", theirs, "-e", "A=1", "-e", "B=two words", "-l", "app=ch03", "-p", "127.0.0.1::8080", "-p", "9090/udp",
		"-v", vol + ":/data:ro", "-v", "/scratch", "--restart", "on-failure:2", "-u", "65534", "-w", "/tmp", "--init",
		"-m", "64m", "--cpus", "0.5", "--stop-signal", "SIGINT", "--stop-timeout", "7", "-h", "box", img, "sleep", "1"}
	if out, err := exec.CommandContext(ctx, docker, args...).CombinedOutput(); err != nil {
		t.Fatalf("docker create: %v: %s", err, out)
	}
	type view struct {
		Env, Cmd                         []string
		Labels                           map[string]string
		User, WorkingDir, Hostname, Stop string
		StopTimeout                      int
		Restart                          string
		Retries                          int
		Init                             bool
		Memory, NanoCPUs                 int64
		Ports, Mounts                    []string
	}
	describe := func(name string) view {
		info, err := container.Inspect(ctx, cli, name)
		if err != nil {
			t.Fatal(err)
		}
		v := view{Env: info.Config.Env, Cmd: info.Config.Cmd, Labels: info.Config.Labels, User: info.Config.User,
			WorkingDir: info.Config.WorkingDir, Hostname: info.Config.Hostname, Stop: info.Config.StopSignal,
			Restart: string(info.HostConfig.RestartPolicy.Name), Retries: info.HostConfig.RestartPolicy.MaximumRetryCount,
			Init: info.HostConfig.Init != nil && *info.HostConfig.Init, Memory: info.HostConfig.Memory, NanoCPUs: info.HostConfig.NanoCPUs}
		if info.Config.StopTimeout != nil {
			v.StopTimeout = *info.Config.StopTimeout
		}
		for port, bs := range info.HostConfig.PortBindings {
			for _, b := range bs {
				v.Ports = append(v.Ports, port.String()+"@"+b.HostIP.String()+":"+b.HostPort)
			}
		}
		for _, m := range info.Mounts {
			n := m.Name
			if n != vol {
				n = "anonymous"
			}
			v.Mounts = append(v.Mounts, fmt.Sprintf("%s %s %s rw=%v", m.Type, n, m.Destination, m.RW))
		}
		slices.Sort(v.Ports)
		slices.Sort(v.Mounts)
		// The Docker CLI merges -e through a map, so its order varies from run to run: compare
		// the environment as a set.
		slices.Sort(v.Env)
		return v
	}
	a, b := describe(ours), describe(theirs)
	t.Logf("%+v", a)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("RunFlags and docker create differ\nberth:  %+v\ndocker: %+v", a, b)
	}
}

// A field the engine's API version would drop is refused before the request.
func TestCreateRefusesFieldsTheEngineWouldDrop(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	c := busybox(t, cli, "true").Healthcheck(ctypes.HealthConfig{Test: []string{"CMD", "true"}, StartInterval: time.Second})
	_, err := container.Create(ctx, cli, c)
	if versions.LessThan(cli.ClientVersion(), "1.44") {
		if !errors.Is(err, berth.ErrInvalid) || !strings.Contains(err.Error(), "1.44") {
			t.Fatalf("API %s: want a refusal naming 1.44, got %v", cli.ClientVersion(), err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
}
