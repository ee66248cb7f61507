package ingress_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	swarmapi "github.com/moby/moby/api/types/swarm"

	"github.com/berthdev/berth/ingress"
)

func service(id, name string, labels map[string]string, env []string, networks ...string) swarmapi.Service {
	s := swarmapi.Service{ID: id}
	s.Spec.Name = name
	s.Spec.Labels = labels
	s.Spec.TaskTemplate.ContainerSpec = &swarmapi.ContainerSpec{Env: env}
	for _, n := range networks {
		s.Spec.TaskTemplate.Networks = append(s.Spec.TaskTemplate.Networks, swarmapi.NetworkAttachmentConfig{Target: n})
	}
	return s
}

func task(id, service string, slot int, desired, state swarmapi.TaskState, network, addr string) swarmapi.Task {
	t := swarmapi.Task{ID: id, ServiceID: service, Slot: slot, DesiredState: desired}
	t.Status.State = state
	t.NetworksAttachments = []swarmapi.NetworkAttachment{
		{Network: swarmapi.Network{ID: "ingress-net"}, Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.0.9/24")}},
		{Network: swarmapi.Network{ID: network}, Addresses: []netip.Prefix{netip.MustParsePrefix(addr)}},
	}
	return t
}

// A snapshot holds the routed services on the shared network and only their tasks that run
// and are meant to: a task being stopped (desired state shutdown) is out at once.
func TestBuildSnapshot(t *testing.T) {
	run, shut := swarmapi.TaskStateRunning, swarmapi.TaskStateShutdown
	services := []swarmapi.Service{
		service("s1", "echo_api", map[string]string{ingress.LabelPort: "8080", ingress.LabelPath: "/api"}, nil, "web"),
		service("s2", "echo_nginx", nil, []string{"SERVICE_PORTS=80"}, "other", "web"),
		service("s3", "db", map[string]string{"com.docker.stack.namespace": "x"}, nil, "web"),
		service("s4", "offnet", map[string]string{ingress.LabelPort: "80"}, nil, "other"),
		service("s5", "broken", map[string]string{ingress.LabelPort: "x"}, nil, "web"),
		service("s6", "twin", map[string]string{ingress.LabelPort: "80"}, nil, "web"),
	}
	tasks := []swarmapi.Task{
		task("t1aaaaaaaaaaaaaa", "s1", 1, run, run, "web", "10.1.0.5/24"),
		task("t2", "s1", 2, shut, run, "web", "10.1.0.6/24"), // being stopped
		task("t3", "s1", 3, run, swarmapi.TaskStateStarting, "web", "10.1.0.7/24"),
		task("t4", "s2", 1, run, run, "web", "10.1.0.8/24"),
		task("t5", "s3", 1, run, run, "web", "10.1.0.9/24"),
	}
	snap := ingress.BuildSnapshot(services, tasks, map[string]string{"web": "web"})
	var routes []string
	for _, r := range snap.Routes {
		routes = append(routes, fmt.Sprintf("%s %s:%d", r.Name, r.PathPrefix, r.Port))
	}
	if got, want := fmt.Sprint(routes), "[echo_api /api:8080 echo_nginx /:80]"; got != want {
		t.Errorf("routes %s; want %s", got, want)
	}
	if eps := snap.Endpoints["echo_api"]; len(eps) != 1 || eps[0].Addr.String() != "10.1.0.5" || eps[0].Name != "echo_api.1.t1aaaaaaaaaa" {
		t.Errorf("echo_api endpoints %+v; want only t1 at 10.1.0.5", eps)
	}
	if eps := snap.Endpoints["echo_nginx"]; len(eps) != 1 || eps[0].Addr.String() != "10.1.0.8" {
		t.Errorf("echo_nginx endpoints %+v", eps)
	}
	var problems []string
	for _, p := range snap.Problems {
		problems = append(problems, p.Error())
	}
	all := strings.Join(problems, "\n")
	for _, want := range []string{
		"service/broken/labels/berth.ingress.port: \"x\" is not a port",
		"service/offnet/networks: has routing labels but is on none of the proxy's networks ([web])",
		"service/twin/labels: route twin matches the same hosts [] and path / as route echo_nginx, which is kept",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
}
