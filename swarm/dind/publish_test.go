package dind_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	swarmapi "github.com/moby/moby/api/types/swarm"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/swarm"
	"github.com/berthdev/berth/swarm/dind"
)

func TestParsePublish(t *testing.T) {
	for in, want := range map[string]dind.Publish{
		"8000:80":     {HostPort: 8000, NodePort: 80},
		"80":          {NodePort: 80},
		"5353:53/udp": {HostPort: 5353, NodePort: 53, Protocol: "udp"},
	} {
		got, err := dind.ParsePublish(in)
		if err != nil || got != want {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x:80", "80:0", "70000", ":80"} {
		if _, err := dind.ParsePublish(in); err == nil {
			t.Errorf("ParsePublish(%q) succeeded", in)
		}
	}
}

func TestPublishValidate(t *testing.T) {
	err := dind.Options{Workers: 1, Publish: []dind.Publish{
		{NodePort: 80, HostPort: 8000},
		{Node: "worker2", NodePort: 80},
		{Node: "worker1", NodePort: 0},
		{NodePort: 80, Protocol: "sctp"},
		{NodePort: 80},
		{Node: "worker1", NodePort: 81, HostPort: 8000},
	}}.Validate()
	var paths []string
	for _, ve := range berth.ValidationErrors(err) {
		paths = append(paths, ve.Path)
	}
	want := "[lab/publish[1]/node lab/publish[2]/node_port lab/publish[3]/protocol lab/publish[4] lab/publish[5]/host_port]"
	if fmt.Sprint(paths) != want {
		t.Errorf("paths %v; want %s: %v", paths, want, err)
	}
}

// TestPublishInUse: a host port that is taken fails Start before the lab makes anything.
func TestPublishInUse(t *testing.T) {
	host := testenv.Engine(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	name := testenv.Name(t, "labport")
	ctx := testenv.Context(t, time.Minute)
	_, err = dind.Start(ctx, host, testenv.LabImages(t, host, dind.Options{Name: name, Publish: []dind.Publish{{HostPort: port, NodePort: 80}}}))
	if !cerrdefs.IsConflict(err) || !strings.Contains(err.Error(), fmt.Sprint(port)) {
		t.Errorf("Start with port %d in use: %v; want a conflict naming the port", port, err)
	}
	assertGone(t, host, name)
}

// TestPublish: a service with a host-mode port on the manager answers on the host's loopback
// port that the lab published for it, as the chapter's `8000:80` does.
func TestPublish(t *testing.T) {
	host := testenv.Engine(t)
	busybox := testenv.Image(t, host, fixtures.Busybox)
	ctx := testenv.Context(t, 3*time.Minute)
	lab := startLab(t, ctx, host, dind.Options{
		Name:    testenv.Name(t, "labpub"),
		Push:    []string{busybox},
		Publish: []dind.Publish{{NodePort: 8080}},
	})
	addr := lab.Manager.PublishedAddr(8080)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("PublishedAddr(8080) = %q; published %v", addr, lab.Manager.Published)
	}
	svc := swarm.NewService("web").Image(lab.Images[busybox]).
		Command("sh", "-c", "mkdir -p /www && echo published > /www/index.html && exec httpd -f -p 8080 -h /www").
		PublishPort(swarmapi.PortConfig{TargetPort: 8080, PublishedPort: 8080, PublishMode: swarmapi.PortConfigPublishModeHost})
	if _, err := swarm.Create(ctx, lab.Manager.Client, svc, swarm.CreateOptions{Wait: true}); err != nil {
		t.Fatalf("create web: %v", err)
	}
	body, err := testenv.GetUntil(ctx, "http://"+addr+"/", "", 30*time.Second)
	if err != nil || strings.TrimSpace(body) != "published" {
		t.Errorf("GET http://%s/ = %q, %v; want published", addr, body, err)
	}
}
