package stack

import (
	"strings"
	"testing"

	"github.com/berthdev/berth/swarm"
	swarmapi "github.com/moby/moby/api/types/swarm"
)

func compiled(t *testing.T, replicas uint64, image string, env string) swarmapi.ServiceSpec {
	t.Helper()
	st := New("echo")
	st.Service("api").Image(image).Replicas(replicas).Env("MODE", env)
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return spec.Services[0].Spec
}

func TestChangesNameFields(t *testing.T) {
	from := comparableDesired(compiled(t, 3, "registry:5000/example/echo:1", "a"))
	to := comparableDesired(compiled(t, 6, "registry:5000/example/echo:2", "b"))
	a := Action{Op: OpUpdate, Kind: KindService, Name: "echo_api", Changes: changes(from, to)}
	got := a.String()
	for _, want := range []string{"~ service echo_api", "replicas: 3 → 6", "image: registry:5000/example/echo:1 → registry:5000/example/echo:2", "env[0]: MODE=a → MODE=b"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}

func TestEngineDefaultsCompareEqual(t *testing.T) {
	spec := compiled(t, 1, "x:1", "a")
	live := swarm.CloneSpec(spec)
	live.TaskTemplate.Runtime = swarmapi.RuntimeContainer
	live.EndpointSpec = &swarmapi.EndpointSpec{Mode: swarmapi.ResolutionModeVIP}
	live.TaskTemplate.ContainerSpec.Isolation = "default"
	if c := changes(comparableDesired(live), comparableDesired(spec)); len(c) != 0 {
		t.Fatalf("engine defaults seen as changes: %v", c)
	}
	// swarm.CloneSpec does not share memory
	live.TaskTemplate.ContainerSpec.Env[0] = "changed"
	if spec.TaskTemplate.ContainerSpec.Env[0] == "changed" {
		t.Fatal("CloneSpec shares the env slice")
	}
}

func TestPlanString(t *testing.T) {
	p := &Plan{Actions: []Action{
		{Op: OpCreate, Kind: KindNetwork, Name: "echo_ch03"},
		{Op: OpNoop, Kind: KindService, Name: "echo_web"},
		{Op: OpRemove, Kind: KindService, Name: "echo_old", Reason: "prune"},
	}}
	want := "+ network echo_ch03\n- service echo_old   (prune)\n"
	if got := p.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if (&Plan{}).String() != "no changes\n" {
		t.Fatal("empty plan")
	}
}

func TestMatchesConstraint(t *testing.T) {
	n := swarmapi.Node{ID: "n1"}
	n.Spec.Role = swarmapi.NodeRoleManager
	n.Spec.Labels = map[string]string{"zone": "east"}
	n.Description.Hostname = "host1"
	n.Description.Platform = swarmapi.Platform{OS: "linux", Architecture: "x86_64"}
	for expr, want := range map[string]bool{
		"node.role==manager": true, "node.role!=manager": false, "node.role==worker": false,
		"node.labels.zone==east": true, "node.labels.zone!=west": true, "node.labels.none==x": false,
		"node.labels.none!=x": true, "node.hostname==HOST1": true, "node.platform.os==linux": true,
	} {
		c, err := swarm.ParseConstraint(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := matches(c, n); got != want {
			t.Errorf("%s: got %v", expr, got)
		}
	}
	if !platformMatches([]swarmapi.Platform{{OS: "linux", Architecture: "amd64"}}, n.Description.Platform) ||
		platformMatches([]swarmapi.Platform{{OS: "linux", Architecture: "arm64"}}, n.Description.Platform) {
		t.Error("platform matching")
	}
}

func TestHostPorts(t *testing.T) {
	pr := &planner{}
	pr.checkHostPorts(map[string][]portDemand{
		"80/tcp":  {{service: "a", tasks: 1, nodes: []string{"n1"}}, {service: "b", tasks: 1, nodes: []string{"n2"}}},
		"443/tcp": {{service: "a", tasks: 2, nodes: []string{"n1"}}},
	})
	if len(pr.problems) != 1 || !strings.Contains(pr.problems[0], "443/tcp") {
		t.Fatalf("problems %v", pr.problems)
	}
}

func TestRotatedName(t *testing.T) {
	h := contentHash([]byte("v2"))
	if got := rotatedName("echo_key", h); got != "echo_key-"+h[7:19] {
		t.Fatal(got)
	}
}
