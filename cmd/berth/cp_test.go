package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/container"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/moby/moby/client"
)

// The trees both directions copy from: a file, a directory with a subdirectory, a link.
const cpTree = "mkdir -p src/dir/sub && echo f > src/file && echo a > src/dir/a && echo b > src/dir/sub/b && ln -s file src/link"

// Where each copy goes: a fresh directory holding an existing directory and an existing file.
const cpTarget = "mkdir -p existing-dir && echo old > existing-file"

// cpCases are docker cp's rules: a file or a directory to a new name, into an existing
// directory, with a trailing "/" or "/.", onto a file; links with and without -L; the errors.
var cpCases = []struct{ flags, src, dst string }{
	{"", "src/file", "new"},
	{"", "src/file", "existing-dir"},
	{"", "src/file", "existing-dir/"},
	{"", "src/file", "existing-file"},
	{"", "src/file", "missing/"},
	{"", "src/file", "nodir/new"},
	{"", "src/dir", "new"},
	{"", "src/dir/", "new"},
	{"", "src/dir", "existing-dir"},
	{"", "src/dir/.", "existing-dir"},
	{"", "src/dir", "existing-file"},
	{"", "src/link", "new"},
	{"-L", "src/link", "new"},
	{"", "src/nope", "new"},
}

// TestCpLikeDocker copies with berth and with docker cp 28.2.2, case by case, out of and into
// one container, and compares what each leaves (names, types, modes, contents, link targets)
// and whether each failed.
func TestCpLikeDocker(t *testing.T) {
	ctx := testenv.Context(t, 3*time.Minute)
	cli, name := cpContainer(t, ctx, "true")
	host := t.TempDir()
	sh(t, host, cpTree)
	for i, c := range cpCases {
		t.Run(fmt.Sprintf("out/%s_%s_%s", c.flags, c.src, c.dst), func(t *testing.T) {
			var got [2]string
			for j, tool := range []string{"berth", "docker"} {
				dir := filepath.Join(host, fmt.Sprintf("out-%d-%s", i, tool))
				os.Mkdir(dir, 0o755)
				sh(t, dir, cpTarget)
				args := cpArgs(c.flags, name+":/w/"+c.src, dir+"/"+c.dst)
				got[j] = cpOutcome(runCp(t, ctx, tool, args)) + hostTree(t, dir)
			}
			if got[0] != got[1] {
				t.Errorf("berth cp %s:\n%s\ndocker cp:\n%s", c.src+" "+c.dst, got[0], got[1])
			}
		})
		t.Run(fmt.Sprintf("in/%s_%s_%s", c.flags, c.src, c.dst), func(t *testing.T) {
			var got [2]string
			for j, tool := range []string{"berth", "docker"} {
				dir := fmt.Sprintf("/in-%d-%s", i, tool)
				if _, err := container.Exec(ctx, cli, name, []string{"sh", "-c", "mkdir " + dir + " && cd " + dir + " && " + cpTarget}, container.ExecOptions{}); err != nil {
					t.Fatal(err)
				}
				args := cpArgs(c.flags, host+"/"+c.src, name+":"+dir+"/"+c.dst)
				got[j] = cpOutcome(runCp(t, ctx, tool, args)) + containerTree(t, ctx, name, dir)
			}

			if got[0] != got[1] {
				t.Errorf("berth cp %s:\n%s\ndocker cp:\n%s", c.src+" "+c.dst, got[0], got[1])
			}
		})
	}
}

// TestCpTarStreams: "-" as the destination writes docker's tar of the source to standard
// output; as the source, a tar on standard input is extracted into a directory.
func TestCpTarStreams(t *testing.T) {
	ctx := testenv.Context(t, 2*time.Minute)
	_, name := cpContainer(t, ctx, "mkdir /berth /docker")
	code, out := capture(t, ctx, "cp", name+":/w/src", "-")
	want, err := exec.CommandContext(ctx, "docker", "cp", name+":/w/src", "-").Output()
	if err != nil || code != 0 {
		t.Fatalf("cp to -: berth exit %d, docker %v", code, err)
	}
	if got, want := tarNames(t, strings.NewReader(out)), tarNames(t, strings.NewReader(string(want))); !slices.Equal(got, want) || len(want) != 7 {
		t.Errorf("cp CTR:/w/src -: berth's tar %q, docker's %q", got, want)
	}
	code, out = capture(t, ctx, "cp", "-L", name+":/w/src/link", "-")
	want, err = exec.CommandContext(ctx, "docker", "cp", "-L", name+":/w/src/link", "-").Output()
	if err != nil || code != 0 {
		t.Fatalf("cp -L to -: berth exit %d, docker %v", code, err)
	}
	if got, want := tarNames(t, strings.NewReader(out)), tarNames(t, strings.NewReader(string(want))); !slices.Equal(got, want) || !slices.Equal(want, []string{"file 0"}) {
		t.Errorf("cp -L CTR:/w/src/link -: berth's tar %q, docker's %q", got, want)
	}

	host := t.TempDir()
	sh(t, host, cpTree+" && tar cf src.tar src")
	for _, tool := range []string{"berth", "docker"} {
		in, err := os.Open(filepath.Join(host, "src.tar"))
		if err != nil {
			t.Fatal(err)
		}
		old := os.Stdin
		os.Stdin = in
		err = runCp(t, ctx, tool, cpArgs("", "-", name+":/"+tool))
		os.Stdin = old
		in.Close()
		if err != nil {
			t.Fatalf("%s cp - CTR:/%s: %v", tool, tool, err)
		}
	}
	if got, want := containerTree(t, ctx, name, "/berth"), containerTree(t, ctx, name, "/docker"); got != want || !strings.Contains(want, "src/dir/sub/b") {
		t.Errorf("cp - CTR:DIR: berth made\n%s\ndocker made\n%s", got, want)
	}
}

func tarNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, fmt.Sprintf("%s %c", h.Name, h.Typeflag))
	}
}

// cpContainer starts a container that holds cpTree in /w and ran setup, for docker cp to
// compare with; it is removed when t ends.
func cpContainer(t *testing.T, ctx context.Context, setup string) (*client.Client, string) {
	t.Helper()
	cli := testenv.Engine(t)
	testenv.DockerCLI(t)
	name := testenv.Name(t, "cp")
	t.Cleanup(func() {
		container.Remove(context.Background(), cli, name, container.RemoveOptions{Force: true, Volumes: true})
	})
	ctr := container.New(testenv.Image(t, cli, fixtures.Busybox)).Name(name).Workdir("/w").
		Command("sh", "-c", "cd /w && "+cpTree+" && "+setup+" && exec sleep 600")
	if _, err := container.Run(ctx, cli, ctr, container.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	return cli, name
}

// cpArgs joins paths by hand: a trailing "/" or "/." is part of the rules, and filepath.Join
// would drop it.
func cpArgs(flags, src, dst string) []string {
	args := []string{"cp"}
	if flags != "" {
		args = append(args, flags)
	}
	return append(args, src, dst)
}

func runCp(t *testing.T, ctx context.Context, tool string, args []string) error {
	t.Helper()
	if tool == "docker" {
		cmd := exec.CommandContext(ctx, "docker", args...)
		cmd.Stdin = os.Stdin // for "-"
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	if code, out := capture(t, ctx, args...); code != 0 {
		return fmt.Errorf("exit %d: %s", code, out)
	}
	return nil
}

func cpOutcome(err error) string {
	if err != nil {
		return "failed\n"
	}
	return "copied\n"
}

func sh(t *testing.T, dir, script string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

// hostTree lists dir: a line per entry, sorted, with its type, mode, content or link target.
func hostTree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		var content string
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			content, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			content = string(b)
		}
		lines = append(lines, entryLine(rel, fi.Mode(), content))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	return strings.Join(lines, "")
}

// containerTree lists dir of the container as hostTree does, from the engine's tar of it.
func containerTree(t *testing.T, ctx context.Context, ctr, dir string) string {
	t.Helper()
	cli := testenv.Engine(t)
	rc, _, err := container.CopyFrom(ctx, cli, ctr, dir+"/.")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var lines []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/") // the tar of DIR/. names DIR "./"
		if rel == "" || rel == "." {
			continue
		}
		content := h.Linkname
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			content = string(b)
		}
		lines = append(lines, entryLine(rel, h.FileInfo().Mode(), content))
	}
	slices.Sort(lines)
	return strings.Join(lines, "")
}

func entryLine(rel string, mode fs.FileMode, content string) string {
	return fmt.Sprintf("%s %s %q\n", rel, mode, content)
}
