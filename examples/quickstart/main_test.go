package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/berth/internal/testenv"
)

// The demo runs end to end and leaves none of its containers, volumes or image tags behind.
func TestQuickstartRunsAndCleansUp(t *testing.T) {
	cli := testenv.Engine(t)
	ctx := testenv.Context(t, 5*time.Minute)
	before := leftovers(t, cli)

	out := captureStdout(t, func() {
		if err := run(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if !strings.Contains(out, "Hello Docker!!") || !strings.Contains(out, "request: GET /quickstart") {
		t.Errorf("demo output lacks the echo answer:\n%s", out)
	}
	if after := leftovers(t, cli); after != before {
		t.Errorf("demo left things behind:\nbefore: %s\nafter:  %s", before, after)
	}
}

// leftovers lists the quickstart's containers, volumes and images currently on the engine.
func leftovers(t *testing.T, cli *client.Client) string {
	ctx := testenv.Context(t, time.Minute)
	var names []string
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Items {
		names = append(names, c.Names...)
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Items {
		names = append(names, v.Name)
	}
	is, err := cli.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range is.Items {
		names = append(names, i.RepoTags...)
	}
	var ours []string
	for _, n := range names {
		if strings.Contains(n, "quickstart") || strings.Contains(n, "example/echo") {
			ours = append(ours, n)
		}
	}
	return strings.Join(ours, " ")
}

func captureStdout(t *testing.T, f func()) string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, r)
		done <- b.String()
	}()
	defer func() {
		os.Stdout = orig
	}()
	f()
	w.Close()
	os.Stdout = orig
	return <-done
}
