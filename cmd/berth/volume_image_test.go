package main

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
)

// TestVolumeAndImageVerbs drives volume inspect|prune and image ls|history against the
// engine, pruning only this test's volumes (by label).
func TestVolumeAndImageVerbs(t *testing.T) {
	cli := testenv.Engine(t)
	img := testenv.Image(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, time.Minute)
	label := "berth.test.prune=" + testenv.Name(t, "p")
	used, unused := testenv.Name(t, "vused"), testenv.Name(t, "vunused")
	for _, v := range []string{used, unused} {
		t.Cleanup(func() { exec.Command("docker", "volume", "rm", "-f", v).Run() })
		if code, _ := capture(t, ctx, "volume", "create", "--label", label, v); code != 0 {
			t.Fatalf("volume create %s: exit %d", v, code)
		}
	}
	ctr := testenv.Name(t, "vuser")
	if out, err := exec.Command("docker", "create", "--name", ctr, "-v", used+":/data", img, "true").CombinedOutput(); err != nil {
		t.Fatalf("docker create: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", ctr).Run() })

	code, out := capture(t, ctx, "volume", "inspect", used)
	var vols []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &vols) != nil || len(vols) != 1 || vols[0]["Name"] != used {
		t.Fatalf("volume inspect: exit %d %s", code, out)
	}
	if code, out := capture(t, ctx, "volume", "inspect", "-f", "{{.Driver}} {{.Name}}", unused); code != 0 || out != "local "+unused+"\n" {
		t.Errorf("volume inspect -f: exit %d %q", code, out)
	}
	if code, out := capture(t, ctx, "volume", "ls", "-q", "--filter", "label="+label, "--filter", "dangling=true"); code != 0 || out != unused+"\n" {
		t.Errorf("volume ls dangling: exit %d %q", code, out)
	}
	// -a: on an API 1.41 engine every unused volume goes anyway; the label keeps it to ours
	// (an engine of 20.10 keeps volumes created with driver options: those are not used here)
	if code, out := capture(t, ctx, "volume", "prune", "-f", "-a", "--filter", "label="+label); code != 0 || !strings.Contains(out, unused) || strings.Contains(out, used) {
		t.Errorf("volume prune: exit %d %q", code, out)
	}
	if code, out := capture(t, ctx, "volume", "ls", "-q", "--filter", "label="+label); code != 0 || out != used+"\n" {
		t.Errorf("volumes after prune: exit %d %q", code, out)
	}

	repo, tag, _ := strings.Cut(img, ":")
	if code, out := capture(t, ctx, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", img); code != 0 || out != img+"\n" {
		t.Errorf("image ls REF: exit %d %q", code, out)
	}
	code, got := capture(t, ctx, "image", "ls", "--filter", "reference="+repo, "--format", "{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}")
	want, err := exec.Command("docker", "image", "ls", "--filter", "reference="+repo, "--format", "{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}").Output()
	if code != 0 || err != nil || got != string(want) || !strings.Contains(got, tag) {
		t.Errorf("image ls: exit %d\n%s\ndocker:\n%s", code, got, want)
	}
	if code, out := capture(t, ctx, "image", "history", "-q", img); code != 0 || strings.TrimSpace(out) == "" {
		t.Errorf("image history: exit %d %q", code, out)
	}
	code, got = capture(t, ctx, "image", "history", "--format", "{{.ID}} {{.Size}} {{.Comment}}", "--human=false", img)
	want, err = exec.Command("docker", "image", "history", "--format", "{{.ID}} {{.Size}} {{.Comment}}", "--human=false", img).Output()
	if code != 0 || err != nil || got != string(want) {
		t.Errorf("image history: exit %d\n%s\ndocker:\n%s", code, got, want)
	}
}

// TestPushPullAllTags pushes every local tag of a repository to a registry on loopback and
// pulls them all back.
func TestPushPullAllTags(t *testing.T) {
	cli := testenv.Engine(t)
	reg, ref := testenv.Registry(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 2*time.Minute)
	repo := reg.HostAddr + "/" + strings.ToLower(testenv.Name(t, "alltags"))
	for _, tag := range []string{"1", "2"} {
		t.Cleanup(func() { exec.Command("docker", "image", "rm", repo+":"+tag).Run() })
		if code, _ := capture(t, ctx, "tag", ref, repo+":"+tag); code != 0 {
			t.Fatalf("tag: exit %d", code)
		}
	}
	if code, _ := capture(t, ctx, "push", "-a", repo+":1"); code != 1 {
		t.Errorf("push -a of a tag: exit %d; want 1", code)
	}
	if code, out := capture(t, ctx, "push", "--all-tags", "-q", repo); code != 0 || !strings.Contains(out, repo+":1: digest:") || !strings.Contains(out, repo+":2: digest:") {
		t.Fatalf("push --all-tags: exit %d %q", code, out)
	}
	_, path, _ := strings.Cut(repo, "/")
	tags, err := reg.API.Tags(ctx, path)
	slices.Sort(tags)
	if err != nil || strings.Join(tags, ",") != "1,2" {
		t.Errorf("registry tags: %v %v", tags, err)
	}
	for _, tag := range []string{"1", "2"} {
		if code, _ := capture(t, ctx, "image", "rm", repo+":"+tag); code != 0 {
			t.Fatalf("image rm: exit %d", code)
		}
	}
	if code, _ := capture(t, ctx, "pull", "-a", "-q", repo); code != 0 {
		t.Fatalf("pull -a: exit %d", code)
	}
	if code, out := capture(t, ctx, "image", "ls", "--format", "{{.Tag}}", repo); code != 0 || out != "1\n2\n" && out != "2\n1\n" {
		t.Errorf("tags after pull -a: exit %d %q", code, out)
	}
}
