package swarm_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
	swarmapi "github.com/moby/moby/api/types/swarm"
)

func ExampleNewService() {
	spec, err := swarm.NewService("web").
		Image("127.0.0.1:5000/team/web:1.2").
		Env("PORT", "80").Env("MODE", "prod").
		Replicas(3).
		Constraint("node.role == worker").
		Port("8080:80").
		Spec()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spec.Name, *spec.Mode.Replicated.Replicas, spec.TaskTemplate.ContainerSpec.Env)
	fmt.Println(spec.TaskTemplate.Placement.Constraints, spec.EndpointSpec.Ports[0].PublishedPort)
	// Output:
	// web 3 [MODE=prod PORT=80]
	// [node.role == worker] 8080
}

func ExampleService_Modify() {
	spec, _ := swarm.NewService("web").Image("web:1").
		Modify(func(s *swarmapi.ServiceSpec) { s.TaskTemplate.ContainerSpec.Groups = []string{"video"} }).
		Spec()
	fmt.Println(spec.TaskTemplate.ContainerSpec.Groups)
	// Output: [video]
}

func ExampleService_Spec_invalid() {
	_, err := swarm.NewService("web").Image("web:1").Global().Replicas(2).Constraint("node.role!=").Spec()
	for _, ve := range berth.ValidationErrors(err) {
		fmt.Println(ve.Path)
	}
	fmt.Println(errors.Is(err, berth.ErrInvalid))
	// Output:
	// service/web/deploy/placement/constraints[0]
	// service/web/deploy/replicas
	// true
}

func TestParseConstraint(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"node.role==manager", "node.role==manager", ""},
		{"node.role != worker", "node.role!=worker", ""},
		{"node.labels.zone == east-1", "node.labels.zone==east-1", ""},
		{"engine.labels.os==linux", "engine.labels.os==linux", ""},
		{"node.hostname!=host.example", "node.hostname!=host.example", ""},
		{"node.platform.arch==x86_64", "node.platform.arch==x86_64", ""},
		{"node.role!=", "", "has no value"},
		{"node.role ~ manager", "", "has no operator"},
		{"node.role>manager", "", "has no operator"},
		{"node.colour==red", "", "unknown key"},
		{"node.labels.==x", "", "unknown key"},
		{"node.role==boss", "", "manager or worker"},
		{"node.labels.a==b<c", "", "characters swarm refuses"},
		{"==x", "", "key"},
	} {
		c, err := swarm.ParseConstraint(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.err == "" && c.String() != tc.want:
			t.Errorf("%q: got %q, want %q", tc.in, c.String(), tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one containing %q", tc.in, err, tc.err)
		}
	}
}

func TestParsePorts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // target/published/proto, comma separated
		err  bool
	}{
		{"80", "80/0/tcp", false},
		{"8080:80", "80/8080/tcp", false},
		{"8080:80/udp", "80/8080/udp", false},
		{"127.0.0.1:8080:80", "80/8080/tcp", false},
		{"8000-8001:80-81", "80/8000/tcp,81/8001/tcp", false},
		{"9000:80-81", "80/9000/tcp,81/9000/tcp", false},
		{"80-81", "80/0/tcp,81/0/tcp", false},
		{"0", "", true},
		{"70000", "", true},
		{"80/icmp", "", true},
		{"a:80", "", true},
		{"8000-8002:80-81", "", true},
		{"81-80", "", true},
	} {
		ports, err := swarm.ParsePorts(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("%q: want an error, got %v", tc.in, ports)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var got []string
		for _, p := range ports {
			got = append(got, fmt.Sprintf("%d/%d/%s", p.TargetPort, p.PublishedPort, p.Protocol))
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, strings.Join(got, ","), tc.want)
		}
	}
}

func TestParseCPUs(t *testing.T) {
	for in, want := range map[string]int64{"0.5": 5e8, "0.3": 3e8, "2": 2e9, "0.000000001": 1, "1.25": 125e7} {
		got, err := swarm.ParseCPUs(in)
		if err != nil || got != want {
			t.Errorf("ParseCPUs(%q) = %d, %v; want %d", in, got, err, want)
		}
		if back := swarm.FormatCPUs(got); back != in {
			t.Errorf("FormatCPUs(%d) = %q, want %q", got, back, in)
		}
	}
	for _, bad := range []string{"-1", "x", "0.0000000001", "1/2", "1e3"} {
		if _, err := swarm.ParseCPUs(bad); err == nil {
			t.Errorf("ParseCPUs(%q): want an error", bad)
		}
	}
}

func TestServiceSortsLikeTheCLI(t *testing.T) {
	spec, err := swarm.NewService("s").Image("x:1").
		Env("B", "2").Env("A", "1").
		Network("zeta").Network("alpha").
		Secret("b", "").Secret("a", "").
		CapAdd("sys_time", "net_admin").CapDrop("net_admin", "mknod").
		Ulimit("nproc", 1, 2).Ulimit("core", 0, 0).
		Port("9000:90").Port("80").
		Spec()
	if err != nil {
		t.Fatal(err)
	}
	c := spec.TaskTemplate.ContainerSpec
	check := func(what string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	check("env", c.Env, []string{"A=1", "B=2"})
	check("networks", []string{spec.TaskTemplate.Networks[0].Target, spec.TaskTemplate.Networks[1].Target}, []string{"alpha", "zeta"})
	check("secrets", []string{c.Secrets[0].SecretName, c.Secrets[1].SecretName}, []string{"a", "b"})
	check("secret defaults", fmt.Sprintf("%s %s %s %o", c.Secrets[0].File.Name, c.Secrets[0].File.UID, c.Secrets[0].File.GID, c.Secrets[0].File.Mode), "a 0 0 444")
	check("cap add", c.CapabilityAdd, []string{"CAP_NET_ADMIN", "CAP_SYS_TIME"})
	check("cap drop", c.CapabilityDrop, []string{"CAP_MKNOD"})
	check("ulimits", []string{c.Ulimits[0].Name, c.Ulimits[1].Name}, []string{"core", "nproc"})
	check("ports", []uint32{spec.EndpointSpec.Ports[0].TargetPort, spec.EndpointSpec.Ports[1].TargetPort}, []uint32{80, 90})
}

func TestServiceNameValidation(t *testing.T) {
	for _, bad := range []string{"", "-x", "x-", "a b", strings.Repeat("a", 64)} {
		if _, err := swarm.NewService(bad).Image("x:1").Spec(); !errors.Is(err, berth.ErrInvalid) {
			t.Errorf("service name %q: want ErrInvalid, got %v", bad, err)
		}
	}
}

func TestServiceNeedsImage(t *testing.T) {
	_, err := swarm.NewService("s").Spec()
	if ves := berth.ValidationErrors(err); len(ves) != 1 || ves[0].Path != "service/s/image" {
		t.Fatalf("want one problem at service/s/image, got %v", err)
	}
}

func TestServiceDuplicates(t *testing.T) {
	_, err := swarm.NewService("s").Image("x:1").
		Secret("a", "t").Secret("b", "t").
		Config("c", "/etc/c").Config("d", "/etc/c").
		Volume("v", "/data", false).Tmpfs("/data/", 0).
		Port("8080:80").Port("8080:81").Port("8080:82/udp").
		Spec()
	var paths []string
	for _, ve := range berth.ValidationErrors(err) {
		paths = append(paths, ve.Path)
	}
	want := "service/s/configs[1]/target service/s/ports[1] service/s/secrets[1]/target service/s/volumes[1]/target"
	if strings.Join(paths, " ") != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}
