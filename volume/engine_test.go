package volume

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// newTestVolume creates a volume removed when the test ends.
func newTestVolume(t *testing.T, cli *client.Client) string {
	t.Helper()
	name := testenv.Name(t, "bv")
	if _, err := New(name).Label("berth.test", "1").Create(context.Background(), cli); err != nil {
		t.Fatal(err)
	}
	removeVolumeAtEnd(t, cli, name)
	return name
}

func removeVolumeAtEnd(t *testing.T, cli *client.Client, name string) {
	t.Cleanup(func() {
		_, err := cli.VolumeRemove(context.Background(), name, client.VolumeRemoveOptions{Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Logf("cleanup: remove volume %s: %v", name, err)
		}
	})
}

// startBusybox creates and starts a busybox container running script, removed at the end of the
// test. It returns the container's ID.
func startBusybox(t *testing.T, cli *client.Client, hc *container.HostConfig, script string) string {
	t.Helper()
	ctx := context.Background()
	img := testenv.Image(t, cli, fixtures.Busybox)
	hc.NetworkMode = "none"
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:       testenv.Name(t, "bb"),
		Config:     &container.Config{Image: img, Cmd: []string{"sh", "-c", script}, Labels: map[string]string{"berth.test": "1"}},
		HostConfig: hc,
	})
	if err != nil {
		t.Fatalf("create busybox: %v", err)
	}
	t.Cleanup(func() { cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true}) })
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start busybox: %v", err)
	}
	return res.ID
}

// runBusybox runs script to completion in a busybox container and fails the test when it exits
// non-zero.
func runBusybox(t *testing.T, cli *client.Client, hc *container.HostConfig, script string) string {
	t.Helper()
	id := startBusybox(t, cli, hc, script)
	ctx := testenv.Context(t, 5*time.Minute)
	w := cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	var code int64
	select {
	case r := <-w.Result:
		code = r.StatusCode
	case err := <-w.Error:
		t.Fatalf("wait busybox: %v", err)
	}
	logs, _ := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	var out bytes.Buffer
	if logs != nil {
		stdcopy.StdCopy(&out, &out, logs)
		logs.Close()
	}
	if code != 0 {
		t.Fatalf("busybox script exited %d:\n%s", code, out.String())
	}
	return out.String()
}

// populateScript fills /data with every kind of entry the round trip must preserve.
const populateScript = `set -e
cd /data
mkdir -p dir/sub emptydir deep/a/b/c
echo hello > dir/file.txt
: > emptyfile
seq 1 20000 > dir/sub/numbers
head -c 300000 /dev/urandom > random.bin
ln -s dir/file.txt link
ln -s ../../emptydir deep/a/uplink
ln -s missing dangling
ln dir/file.txt hardlink
ln random.bin deep/a/b/c/hard2
echo secret > owned && chown 1234:5678 owned && chmod 0640 owned
echo bin > suid && chmod 4755 suid
echo sg > sgid && chown 0:50 sgid && chmod 2750 sgid
mkdir sticky && chmod 1777 sticky && touch sticky/inside
mkdir -m 2775 setgiddir && chown 1000:1000 setgiddir
mkdir -m 0700 private && chown 65534:65534 private && echo p > private/p && chown 65534 private/p
dd if=/dev/zero of=sparse bs=1 count=0 seek=128M 2>/dev/null
echo end >> sparse
mkfifo fifo
touch -d '2001-02-03 04:05:06' dir/file.txt emptydir
chown 42:43 . && chmod 0751 .
`

// snapshot lists the volume's tree as the engine archives it: one line per entry with type,
// mode, owner, modification time, link target, size and SHA-256 (the same walk gives the same
// hardlink structure).
func snapshot(t *testing.T, cli *client.Client, vol string) []string {
	t.Helper()
	ctx := context.Background()
	h, err := newHelper(ctx, cli, vol, true)
	if err != nil {
		t.Fatal(err)
	}
	defer h.remove(ctx)
	rc, err := cli.CopyFromContainer(ctx, h.id, client.CopyFromContainerOptions{SourcePath: helperMount})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Content.Close()
	var out []string
	tr := tar.NewReader(rc.Content)
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		hash := sha256.New()
		io.Copy(hash, tr)
		out = append(out, fmt.Sprintf("%s type=%c mode=%o uid=%d gid=%d mtime=%d link=%q size=%d sha=%s",
			hd.Name, hd.Typeflag, hd.Mode&07777, hd.Uid, hd.Gid, hd.ModTime.Unix(), hd.Linkname, hd.Size, hex.EncodeToString(hash.Sum(nil))[:16]))
	}
}

func TestRoundTrip(t *testing.T) {
	cli := testenv.Engine(t)
	src := newTestVolume(t, cli)
	runBusybox(t, cli, &container.HostConfig{Mounts: []mount.Mount{Named(src, "/data")}}, populateScript)
	before := snapshot(t, cli, src)
	for _, want := range []string{"data/ type=5 mode=751 uid=42 gid=43", "data/suid type=0 mode=4755", "data/sticky/ type=5 mode=1777",
		"data/owned type=0 mode=640 uid=1234 gid=5678", "data/hardlink type=1", "data/fifo type=6", "data/setgiddir/ type=5 mode=2775"} {
		if !slices.ContainsFunc(before, func(l string) bool { return strings.HasPrefix(l, want) }) {
			t.Fatalf("populated volume has no %q:\n%s", want, strings.Join(before, "\n"))
		}
	}
	for _, f := range []Format{FormatTarGzip, FormatTarZstd, FormatTar} {
		t.Run(string(f), func(t *testing.T) {
			ctx := testenv.Context(t, 3*time.Minute)
			var buf bytes.Buffer
			res, err := Backup(ctx, cli, VolumeSource(src), &buf, BackupOptions{Format: f, TempDir: t.TempDir()})
			if err != nil {
				t.Fatalf("Backup: %v", err)
			}
			t.Logf("backup: %v, %d bytes of archive", res.Summary, buf.Len())
			if res.Hardlinks != 2 || res.Symlinks != 3 || len(res.Skipped) != 0 {
				t.Errorf("backup summary %+v", res)
			}
			sum, err := Verify(bytes.NewReader(buf.Bytes()), VerifyOptions{TempDir: t.TempDir()})
			if err != nil || sum.Entries != res.Entries {
				t.Fatalf("Verify = %+v, %v", sum, err)
			}
			dst := testenv.Name(t, "bv-restored")
			removeVolumeAtEnd(t, cli, dst)
			rr, err := Restore(ctx, cli, bytes.NewReader(buf.Bytes()), dst, RestoreOptions{Verify: VerifyOptions{TempDir: t.TempDir()}})
			if err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if !rr.Created || rr.Entries != res.Entries {
				t.Errorf("restore result %+v", rr)
			}
			if after := snapshot(t, cli, dst); !slices.Equal(before, after) {
				t.Errorf("restored volume differs:\n%s", diffLines(before, after))
			}
		})
	}
}

func diffLines(a, b []string) string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func TestRestoreModes(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 2*time.Minute)
	src := newTestVolume(t, cli)
	runBusybox(t, cli, &container.HostConfig{Mounts: []mount.Mount{Named(src, "/data")}}, "echo one > /data/a && mkdir /data/d && echo two > /data/d/b")
	var buf bytes.Buffer
	if _, err := Backup(ctx, cli, VolumeSource(src), &buf, BackupOptions{}); err != nil {
		t.Fatal(err)
	}
	archive := buf.Bytes()

	// An existing volume is refused in the default mode, and left alone.
	dst := newTestVolume(t, cli)
	runBusybox(t, cli, &container.HostConfig{Mounts: []mount.Mount{Named(dst, "/data")}}, "echo old > /data/a && echo keep > /data/extra && ln -s /etc /data/d")
	if _, err := Restore(ctx, cli, bytes.NewReader(archive), dst, RestoreOptions{}); !cerrdefs.IsConflict(err) {
		t.Fatalf("Restore into an existing volume without a mode = %v; want a conflict", err)
	}
	// Merge: archive entries win, other files stay.
	if _, err := Restore(ctx, cli, bytes.NewReader(archive), dst, RestoreOptions{Mode: RestoreMerge}); err != nil {
		t.Fatalf("merge: %v", err)
	}
	out := runBusybox(t, cli, &container.HostConfig{Mounts: []mount.Mount{Named(dst, "/data")}}, "cat /data/a /data/extra /data/d/b; [ -L /data/d ] && echo still a symlink; true")
	if out != "one\nkeep\ntwo\n" { // the symlink d was replaced by the archive's directory d
		t.Errorf("after merge: %q", out)
	}
	// Replace refuses while a container (even a stopped one) uses the volume...
	if _, err := Restore(ctx, cli, bytes.NewReader(archive), dst, RestoreOptions{Mode: RestoreReplace}); !cerrdefs.IsConflict(err) {
		t.Fatalf("replace of a volume in use = %v; want a conflict", err)
	}
	// ... and empties it first once none does.
	list, _ := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("volume", dst)})
	for _, c := range list.Items {
		cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
	}
	if _, err := Restore(ctx, cli, bytes.NewReader(archive), dst, RestoreOptions{Mode: RestoreReplace}); err != nil {
		t.Fatalf("replace: %v", err)
	}
	if got, want := snapshot(t, cli, dst), snapshot(t, cli, src); !slices.Equal(got, want) {
		t.Errorf("after replace:\n%s", diffLines(want, got))
	}
}

func TestHostileArchiveLeavesTargetUnchanged(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 2*time.Minute)
	target := newTestVolume(t, cli)
	runBusybox(t, cli, &container.HostConfig{Mounts: []mount.Mount{Named(target, "/data")}}, "echo precious > /data/keep && mkdir /data/sub && ln -s keep /data/link")
	before := snapshot(t, cli, target)
	for name, c := range hostileArchives(t) {
		for _, mode := range []RestoreMode{RestoreMerge, RestoreReplace} {
			_, err := Restore(ctx, cli, bytes.NewReader(c.data), target, RestoreOptions{Mode: mode})
			if !errors.Is(err, c.kind) {
				t.Errorf("%s (mode %d): Restore = %v; want %v", name, mode, err, c.kind)
			}
		}
		fresh := testenv.Name(t, "bv-never")
		removeVolumeAtEnd(t, cli, fresh)
		if _, err := Restore(ctx, cli, bytes.NewReader(c.data), fresh, RestoreOptions{}); !errors.Is(err, c.kind) {
			t.Errorf("%s (new volume): Restore = %v; want %v", name, err, c.kind)
		}
		if _, err := cli.VolumeInspect(ctx, fresh, client.VolumeInspectOptions{}); !cerrdefs.IsNotFound(err) {
			t.Errorf("%s: the refused restore created volume %s (%v)", name, fresh, err)
		}
	}
	if after := snapshot(t, cli, target); !slices.Equal(before, after) {
		t.Errorf("target changed:\n%s", diffLines(before, after))
	}
}

// failingWriter fails after n bytes.
type failingWriter struct{ n int }

var errDiskFull = errors.New("test: disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

func TestBackupStopRestartsEvenOnFailure(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 2*time.Minute)
	vol := newTestVolume(t, cli)
	hc := &container.HostConfig{Mounts: []mount.Mount{Named(vol, "/data")}}
	runBusybox(t, cli, hc, "head -c 2000000 /dev/urandom > /data/blob")
	id := startBusybox(t, cli, &container.HostConfig{Mounts: []mount.Mount{Named(vol, "/data")}}, "trap 'exit 0' TERM; while true; do sleep 1; done")
	stopTimeout := 1

	res, err := Backup(ctx, cli, VolumeSource(vol), &failingWriter{n: 100000}, BackupOptions{Quiesce: QuiesceStop, StopTimeout: &stopTimeout})
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("Backup to a failing writer = %v; want the writer's error", err)
	}
	if len(res.Stopped) != 1 {
		t.Errorf("stopped %v; want the one container", res.Stopped)
	}
	assertRunning(t, cli, id)

	// Pause while the backup reads, and unpause after.
	res, err = Backup(ctx, cli, VolumeSource(vol), io.Discard, BackupOptions{Quiesce: QuiescePause})
	if err != nil || len(res.Paused) != 1 {
		t.Fatalf("Backup with pause = %+v, %v", res, err)
	}
	assertRunning(t, cli, id)
}

func assertRunning(t *testing.T, cli *client.Client, id string) {
	t.Helper()
	info, err := cli.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := info.Container.State; !st.Running || st.Paused {
		t.Errorf("container state %q after the backup; want running", st.Status)
	}
}

func TestDataContainer(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 2*time.Minute)
	name := testenv.Name(t, "bdata")
	id, err := CreateDataContainer(ctx, cli, name, DataContainerOptions{Paths: []string{"/var/lib/db"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cli.ContainerRemove(context.Background(), id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	})
	from := &container.HostConfig{VolumesFrom: []string{VolumesFrom(name, false)}}
	runBusybox(t, cli, from, "echo row1 > /var/lib/db/table && mkdir /var/lib/db/idx")
	// A new container (the "database" recreated) sees the data.
	if out := runBusybox(t, cli, &container.HostConfig{VolumesFrom: []string{VolumesFrom(name, true)}}, "cat /var/lib/db/table"); out != "row1\n" {
		t.Fatalf("recreated container reads %q", out)
	}
	var buf bytes.Buffer
	res, err := Backup(ctx, cli, ContainerSource(name, ""), &buf, BackupOptions{})
	if err != nil {
		t.Fatalf("Backup of the data container: %v", err)
	}
	if res.Files != 1 || res.Dirs != 2 {
		t.Errorf("backup summary %+v", res.Summary)
	}
	// The data container's own volume, found by path, takes the backup back with merge.
	held, err := ContainerVolume(ctx, cli, name, "/var/lib/db")
	if err != nil || held == "" {
		t.Fatalf("ContainerVolume = %q, %v", held, err)
	}
	if _, err := Restore(ctx, cli, bytes.NewReader(buf.Bytes()), held, RestoreOptions{Mode: RestoreMerge}); err != nil {
		t.Fatalf("restore into the data container's volume: %v", err)
	}
	if _, err := ContainerVolume(ctx, cli, name, "/elsewhere"); !cerrdefs.IsNotFound(err) {
		t.Errorf("ContainerVolume of a path without a volume = %v; want not found", err)
	}
	dst := testenv.Name(t, "bv-fromdata")
	removeVolumeAtEnd(t, cli, dst)
	if _, err := Restore(ctx, cli, bytes.NewReader(buf.Bytes()), dst, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if out := runBusybox(t, cli, &container.HostConfig{Mounts: []mount.Mount{Named(dst, "/db", ReadOnly())}}, "cat /db/table"); out != "row1\n" {
		t.Errorf("restored volume reads %q", out)
	}
}

func TestVolumeCRUD(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	name := testenv.Name(t, "bv")
	removeVolumeAtEnd(t, cli, name)
	run := testenv.Name(t, "run")
	v, err := New(name).Driver("local").Option("type", "tmpfs").Option("device", "tmpfs").Label("berth.test", run).Create(ctx, cli)
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != name || v.Options["type"] != "tmpfs" || v.Labels["berth.test"] != run {
		t.Errorf("created %+v", v)
	}
	if got, err := Inspect(ctx, cli, name); err != nil || got.Name != name {
		t.Errorf("Inspect = %+v, %v", got, err)
	}
	list, err := List(ctx, cli, ListOptions{Labels: map[string]string{"berth.test": run}})
	if err != nil || len(list) != 1 || list[0].Name != name {
		t.Errorf("List = %v, %v", list, err)
	}
	if err := Remove(ctx, cli, name, RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(ctx, cli, name); !cerrdefs.IsNotFound(err) {
		t.Errorf("Inspect after Remove = %v; want not found", err)
	}
	if err := Remove(ctx, cli, name, RemoveOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("Remove of a missing volume = %v; want not found", err)
	}
}

// A file that shrinks while it is read does not abort the backup: it is reported, and every
// other entry is still backed up. Whether a shrink hits a read is up to timing, so the test
// backs up again and again while a container rewrites a large file, until one read is hit (it
// usually is within a few tries); none hit in two minutes fails the test.
func TestBackupReportsFilesChangedDuringTheRead(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 3*time.Minute)
	vol := newTestVolume(t, cli)
	startBusybox(t, cli, &container.HostConfig{Mounts: []mount.Mount{Named(vol, "/data")}},
		`mkdir -p /data/d; for i in $(seq 1 50); do echo $i > /data/d/f$i; done; touch /data/ready
		while true; do head -c 60000000 /dev/zero > /data/big; sleep 0.2; done`)
	for i := 0; i < 100; i++ {
		if _, err := cli.ContainerStatPath(ctx, newestContainer(t, cli, vol), client.ContainerStatPathOptions{Path: "/data/ready"}); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for try := 0; time.Now().Before(deadline); try++ {
		var buf bytes.Buffer
		res, err := Backup(ctx, cli, VolumeSource(vol), &buf, BackupOptions{Format: FormatTarZstd})
		if err != nil {
			t.Fatalf("backup %d while a file changes: %v", try, err)
		}
		sum, err := Verify(bytes.NewReader(buf.Bytes()), VerifyOptions{})
		if err != nil {
			t.Fatalf("backup %d does not verify: %v", try, err)
		}
		if sum.Files != 52 {
			t.Fatalf("backup %d has %d files; want 52 (changed: %v)", try, sum.Files, res.Changed)
		}
		if len(res.Changed) > 0 {
			if !slices.Equal(res.Changed, []string{"data/big"}) {
				t.Errorf("changed = %v; want [data/big]", res.Changed)
			}
			t.Logf("backup %d: %v changed while read, reported; the rest backed up", try, res.Changed)
			return
		}
	}
	t.Fatal("no backup read was hit by the shrinking file in two minutes: nothing reported a changed file")
}

// newestContainer returns the ID of the running container that mounts vol.
func newestContainer(t *testing.T, cli *client.Client, vol string) string {
	list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{Filters: client.Filters{}.Add("volume", vol)})
	if err != nil || len(list.Items) == 0 {
		t.Fatalf("no container uses %s: %v", vol, err)
	}
	return list.Items[0].ID
}
