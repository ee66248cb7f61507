package main

import (
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
)

// The workflow runs end to end and leaves none of its containers or volumes behind.
func TestDataVolumeWorkflow(t *testing.T) {
	cli := testenv.Engine(t)
	testenv.Image(t, cli, fixtures.Busybox)
	ctx := testenv.Context(t, 3*time.Minute)
	before := leftovers(t, cli)
	if err := run(ctx); err != nil {
		t.Fatal(err)
	}
	if after := leftovers(t, cli); after != before {
		t.Errorf("left behind:\nbefore: %s\nafter:  %s", before, after)
	}
}

func leftovers(t *testing.T, cli *client.Client) string {
	ctx := testenv.Context(t, time.Minute)
	var names []string
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Items {
		for _, n := range c.Names {
			if strings.Contains(n, "berth-demo-") {
				names = append(names, n)
			}
		}
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Items {
		if strings.HasPrefix(v.Name, "berth-demo-") {
			names = append(names, v.Name)
		}
	}
	return strings.Join(names, " ")
}
