package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/image"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/moby/moby/client"
)

func removeLater(t *testing.T, cli client.ImageAPIClient, refs ...string) {
	t.Cleanup(func() {
		for _, r := range refs {
			image.Remove(context.Background(), cli, r, image.RemoveOptions{Force: true})
		}
	})
}

func TestBuildFromFilesInspectTagRemove(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 2*time.Minute)
	ref := "berth-test/" + testenv.Name(t, "img") + ":1"
	removeLater(t, cli, ref)

	src := image.Files{
		{Name: "Dockerfile", Data: []byte("FROM scratch\nCOPY hello.txt /hello.txt\nLABEL org.example=yes\n")},
		{Name: "hello.txt", Data: []byte("hello\n")},
	}
	var steps int
	var id string
	for ev, err := range image.Build(ctx, cli, src, image.BuildOptions{Tags: []string{ref}}) {
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		if strings.HasPrefix(ev.Stream, "Step ") {
			steps++
		}
		if ev.ImageID != "" {
			id = ev.ImageID
		}
	}
	if steps != 3 {
		t.Errorf("saw %d build steps, want 3", steps)
	}
	info, err := image.Inspect(ctx, cli, ref)
	if err != nil {
		t.Fatal(err)
	}
	if id != "" && info.ID != id {
		t.Errorf("inspect ID %s, build reported %s", info.ID, id)
	}
	if info.Platform() != "linux/amd64" && info.OS != "linux" {
		t.Errorf("platform %s", info.Platform())
	}
	if info.Labels["org.example"] != "yes" {
		t.Errorf("labels %v", info.Labels)
	}
	tagged := "berth-test/" + testenv.Name(t, "tag") + ":2"
	if err := image.Tag(ctx, cli, ref, tagged); err != nil {
		t.Fatal(err)
	}
	if err := image.Remove(ctx, cli, tagged, image.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := image.Inspect(ctx, cli, tagged); !cerrdefs.IsNotFound(err) {
		t.Errorf("after remove, inspect: %v, want not found", err)
	}
}

func TestBuildFailingRunStepReturnsItsOutput(t *testing.T) {
	cli := testenv.Engine(t)
	busybox := testenv.Image(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 2*time.Minute)
	src := image.Files{{Name: "Dockerfile", Data: []byte("FROM " + busybox + "\nRUN echo boom-output-123 && exit 3\n")}}
	_, err := image.Wait(image.Build(ctx, cli, src, image.BuildOptions{}))
	if err == nil {
		t.Fatal("build with a failing RUN succeeded")
	}
	var se *image.StreamError
	if !errors.As(err, &se) {
		t.Fatalf("error %T %v is not a *StreamError", err, err)
	}
	if !strings.Contains(err.Error(), "boom-output-123") || !strings.Contains(err.Error(), "non-zero code: 3") {
		t.Errorf("error lacks the step's output or exit code: %v", err)
	}
}

func TestBuildBrokenDockerfile(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	src := image.Files{{Name: "Dockerfile", Data: []byte("FROMM scratch\n")}}
	_, err := image.Wait(image.Build(ctx, cli, src, image.BuildOptions{}))
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "fromm") {
		t.Fatalf("want an error naming the unknown instruction, got %v", err)
	}
}

func TestBuildFromDir(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	dir := t.TempDir()
	writeFile(t, dir+"/Dockerfile", "FROM scratch\nCOPY data /data\n")
	writeFile(t, dir+"/data", "x")
	ref := "berth-test/" + testenv.Name(t, "dir") + ":1"
	removeLater(t, cli, ref)
	res, err := image.Wait(image.Build(ctx, cli, image.Dir(dir), image.BuildOptions{Tags: []string{ref}}))
	if err != nil {
		t.Fatal(err)
	}
	if res.ImageID == "" {
		t.Error("no image ID reported")
	}
}

func TestImportSaveLoad(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	ref := "berth-test/" + testenv.Name(t, "imp") + ":1"
	removeLater(t, cli, ref)
	id, err := image.Import(ctx, cli, rootfs(t, map[string]string{"etc/motd": "hi\n"}), ref,
		image.ImportOptions{Changes: []string{`CMD ["/bin/true"]`, "LABEL imported=1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "sha256:") {
		t.Errorf("import returned ID %q", id)
	}
	info, err := image.Inspect(ctx, cli, ref)
	if err != nil || info.Labels["imported"] != "1" {
		t.Fatalf("inspect imported: %v %v", info, err)
	}
	var saved bytes.Buffer
	if err := image.Save(ctx, cli, &saved, ref); err != nil {
		t.Fatal(err)
	}
	if err := image.Remove(ctx, cli, ref, image.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	loaded, err := image.Load(ctx, cli, &saved)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0] != ref {
		t.Errorf("loaded %v, want [%s]", loaded, ref)
	}
}

func TestPushToRegistryThatIsDown(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	port := closedPort(t)
	ref := "127.0.0.1:" + port + "/berth-test/down:1"
	removeLater(t, cli, ref)
	if _, err := image.Import(ctx, cli, rootfs(t, map[string]string{"a": "a"}), ref, image.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := image.Wait(image.Push(ctx, cli, ref, image.PushOptions{}))
	if err == nil {
		t.Fatal("push to a registry that is down succeeded")
	}
	if !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error should name the reference and the cause: %v", err)
	}
}

func TestInvalidReferenceIsValidationError(t *testing.T) {
	_, err := image.ParseReference("Upper")
	if !errors.Is(err, berth.ErrInvalid) || !cerrdefs.IsInvalidArgument(err) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	_, err = image.Wait(image.Push(context.Background(), nil, "bad ref", image.PushOptions{}))
	if !errors.Is(err, berth.ErrInvalid) {
		t.Fatalf("push of a bad reference: want ErrInvalid before any I/O, got %v", err)
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

// rootfs returns a tar of the given files.
func rootfs(t *testing.T, files map[string]string) *bytes.Buffer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(data))
	}
	tw.Close()
	return &buf
}

// FirstPresent skips a missing reference, takes the first present one and names them all when
// none is there; nothing is pulled.
func TestFirstPresent(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, time.Minute)
	busybox := testenv.Image(t, cli, fixtures.Busybox)
	missing := "berth-test/" + testenv.Name(t, "missing") + ":none"
	got, err := image.FirstPresent(ctx, cli, missing, busybox, "busybox:never")
	if err != nil || got != busybox {
		t.Fatalf("FirstPresent = %q, %v; want %q", got, err, busybox)
	}
	_, err = image.FirstPresent(ctx, cli, missing, missing+"2")
	if !cerrdefs.IsNotFound(err) || !strings.Contains(fmt.Sprint(err), missing+"2") {
		t.Fatalf("FirstPresent of missing images: %v; want not found naming them", err)
	}
}
