package main

import (
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
)

// The chapter runs end to end: the rows are printed after the new container and after the
// restore, and nothing it made is left: no container, no volume (the data-volume container's
// anonymous one included).
func TestMySQLChapter(t *testing.T) {
	cli := testenv.Engine(t)
	testenv.Image(t, cli, fixtures.MariaDB)
	testenv.Image(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 5*time.Minute)
	var out strings.Builder
	made, err := run(ctx, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gngsn", "docker", "sunny"} {
		if n := strings.Count(out.String(), "| "+name+" "); n != 3 {
			t.Errorf("%s printed %d times, want 3 (first insert, new container, restore)", name, n)
		}
	}
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", Label+"="+made.Suffix)})
	if err != nil || len(cs.Items) != 0 {
		t.Errorf("containers left: %d %v", len(cs.Items), err)
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: client.Filters{}.Add("label", Label+"="+made.Suffix)})
	if err != nil || len(vs.Items) != 0 {
		t.Errorf("volumes left: %d %v", len(vs.Items), err)
	}
	if made.DataVolume == "" {
		t.Fatal("the run did not report the data volume")
	}
	if _, err := cli.VolumeInspect(ctx, made.DataVolume, client.VolumeInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("data volume %s left: %v", made.DataVolume, err)
	}
}
