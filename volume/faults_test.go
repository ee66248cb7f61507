//go:build faults

package volume

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/internal/testenv"
)

// smallDisk mounts a tmpfs of size bytes for this test: a real disk that fills up.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	os.Mkdir(dir, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		testenv.Missing(t, "root to mount a small tmpfs", fmt.Sprintf("%v %s", err, out))
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// busyVolume makes a volume holding size random bytes and a running container using it.
func busyVolume(t *testing.T, cli *client.Client, size int) (vol, ctr string) {
	t.Helper()
	vol = newTestVolume(t, cli)
	hc := func() *container.HostConfig { return &container.HostConfig{Mounts: []mount.Mount{Named(vol, "/data")}} }
	runBusybox(t, cli, hc(), fmt.Sprintf("head -c %d /dev/urandom > /data/blob", size))
	ctr = startBusybox(t, cli, hc(), "trap 'exit 0' TERM; while true; do sleep 1; done")
	return vol, ctr
}

func assertEmptyDir(t *testing.T, dir, what string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != "lost+found" {
			names = append(names, e.Name())
		}
	}
	if len(names) > 0 {
		t.Errorf("%s: left %v behind", what, names)
	}
}

// assertNoHelpers fails when a helper container of vol is left.
func assertNoHelpers(t *testing.T, cli *client.Client, vol, what string) {
	t.Helper()
	list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", HelperLabel+"="+vol)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) > 0 {
		t.Errorf("%s: %d helper container(s) of %s left", what, len(list.Items), vol)
		for _, c := range list.Items {
			cli.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true})
		}
	}
}

// A backup whose disk fills up: the error is ENOSPC and names the file, the container stopped
// for the read runs again, and no partial file is left.
func TestFaultBackupDiskFull(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 2*time.Minute)
	disk := smallDisk(t, 256<<10)
	vol, ctr := busyVolume(t, cli, 2<<20) // random bytes do not compress: 2 MiB never fit
	spool := t.TempDir()
	name := filepath.Join(disk, "backup.tar.gz")
	stop := 1
	res, err := BackupFile(ctx, cli, VolumeSource(vol), name, BackupOptions{Quiesce: QuiesceStop, StopTimeout: &stop, TempDir: spool})
	t.Log(err)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), name) {
		t.Fatalf("want ENOSPC naming %s, got %v", name, err)
	}
	if len(res.Stopped) != 1 {
		t.Errorf("stopped %v, want the container using the volume", res.Stopped)
	}
	assertRunning(t, cli, ctr)
	assertEmptyDir(t, disk, "full disk")
	assertEmptyDir(t, spool, "manifest spool")
	assertNoHelpers(t, cli, vol, "full disk")
}

// cancellingTransport carries a client's requests to the engine's socket and cancels the
// context of the call in flight at request number at: before sending it (mode "before": the
// engine never sees it) or after the engine has answered (mode "after": the engine did the
// work, the caller sees only the cancellation, as when a ctx ends while a request is out).
type cancellingTransport struct {
	base   http.RoundTripper
	mu     sync.Mutex
	n, at  int
	mode   string
	cancel context.CancelFunc
	fired  string // the request cancelled
}

func (c *cancellingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	hit := c.n == c.at && c.cancel != nil
	c.mu.Unlock()
	if !hit {
		return c.base.RoundTrip(r)
	}
	c.fired = r.Method + " " + r.URL.Path
	if c.mode == "before" {
		c.cancel()
		if err := r.Context().Err(); err != nil { // a call detached from ctx goes on
			return nil, err
		}
		return c.base.RoundTrip(r)
	}
	res, err := c.base.RoundTrip(r)
	c.cancel()
	if cerr := r.Context().Err(); cerr != nil && err == nil {
		res.Body.Close()
		return nil, cerr
	}
	return res, err
}

// countingClient is a client of the test engine whose requests go through a cancellingTransport.
func countingClient(t *testing.T) (*client.Client, *cancellingTransport) {
	t.Helper()
	host := cmp(os.Getenv("DOCKER_HOST"), "unix:///var/run/docker.sock")
	sock, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		testenv.Missing(t, "an engine on a unix socket", "DOCKER_HOST is "+host)
	}
	ct := &cancellingTransport{base: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	cli, err := client.New(client.WithHost(host), client.WithHTTPClient(&http.Client{Transport: ct}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli, ct
}

// Context cancelled at each step of a backup (each request to the engine, either before the
// engine sees it or after it acted on it, and in the middle of the stream): nothing
// half-written is left: no partial archive, no manifest spool, no helper container, and the
// container stopped for the read runs again.
func TestFaultBackupCancelledAtEachStep(t *testing.T) {
	engine := testenv.Engine(t)
	vol, ctr := busyVolume(t, engine, 256<<10)
	cli, ct := countingClient(t)
	dir, spool := t.TempDir(), t.TempDir()
	stop := 1
	opts := BackupOptions{Quiesce: QuiesceStop, StopTimeout: &stop, TempDir: spool}
	name := filepath.Join(dir, "b.tar.gz")
	for _, mode := range []string{"before", "after"} {
		for at := 1; ; at++ {
			ctx, cancel := context.WithCancel(testenv.Context(t, time.Minute))
			ct.mu.Lock()
			ct.n, ct.at, ct.mode, ct.cancel, ct.fired = 0, at, mode, cancel, ""
			ct.mu.Unlock()
			_, err := BackupFile(ctx, cli, VolumeSource(vol), name, opts)
			cancel()
			what := fmt.Sprintf("cancelled %s request %d (%s)", mode, at, ct.fired)
			if ct.fired == "" { // the backup made fewer requests: every step has been cut
				if err != nil {
					t.Fatalf("uncut backup: %v", err)
				}
				if at < 5 {
					t.Fatalf("only %d requests: the test cut nothing of interest", at-1)
				}
				os.Remove(name)
				break
			}
			t.Logf("%s: %v", what, err)
			if err == nil {
				// The cut fell on a request made after the archive was complete (resume,
				// cleanup, both detached from ctx): the backup stands.
				os.Remove(name)
			} else if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: error %v is not context.Canceled", what, err)
			}
			assertEmptyDir(t, dir, what)
			assertEmptyDir(t, spool, what)
			assertNoHelpers(t, engine, vol, what)
			assertRunning(t, engine, ctr)
		}
	}

	// In the middle of the archive stream.
	ctx, cancel := context.WithCancel(testenv.Context(t, time.Minute))
	ct.mu.Lock()
	ct.cancel = nil
	ct.mu.Unlock()
	slow := BackupOptions{Quiesce: QuiesceStop, StopTimeout: &stop, TempDir: spool, Format: FormatTarZstd, Level: 4}
	go func() {
		for ctx.Err() == nil {
			if m, _ := filepath.Glob(filepath.Join(dir, ".b.tar.gz.partial-*")); len(m) > 0 {
				if fi, err := os.Stat(m[0]); err == nil && fi.Size() > 0 {
					cancel()
					return
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	_, err := BackupFile(ctx, cli, VolumeSource(vol), name, slow)
	cancel()
	t.Logf("cancelled mid-stream: %v", err)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("mid-stream: error %v is not context.Canceled", err)
	}
	if err == nil {
		os.Remove(name) // the stream was faster than the watcher: nothing was cut
	}
	assertEmptyDir(t, dir, "mid-stream")
	assertEmptyDir(t, spool, "mid-stream")
	assertNoHelpers(t, engine, vol, "mid-stream")
	assertRunning(t, engine, ctr)
}
