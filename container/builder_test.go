package container

import (
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
)

func TestCompileReportsEveryProblem(t *testing.T) {
	_, err := New("Not A Ref").Name("-bad").Workdir("rel").Restart("sometimes").Platform("linux//amd64").
		Publish("80:90:100:1").Publish("1-3:5-9").Env("A=B", "x").Memory(-1).CPUs("lots").
		Volume("data", "relative", false).Healthcheck(container.HealthConfig{Test: []string{"curl"}, Retries: -1}).
		VolumesFrom("no way", false).Network("a").Network("b").AutoRemove(true).Compile()
	if !errors.Is(err, berth.ErrInvalid) || !cerrdefs.IsInvalidArgument(err) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	var paths []string
	for _, ve := range berth.ValidationErrors(err) {
		paths = append(paths, ve.Path)
	}
	want := []string{"cpus", "env/A=B", "health-cmd", "health-retries", "image", "memory", "mount[0]/target", "name", "network",
		"platform", "publish[0]", "publish[1]", "restart", "restart", "volumes-from", "workdir"}
	if !slices.Equal(paths, want) {
		t.Errorf("problem paths\n got %q\nwant %q\n%v", paths, want, err)
	}
}

func TestCompileSpec(t *testing.T) {
	c := New("mariadb:10.11").Name("db").Entrypoint("docker-entrypoint.sh").Command("mariadbd", "--verbose").
		Env("MYSQL_DATABASE", "ch03").Env("A", "1").EnvUnset("B").Env("MYSQL_DATABASE", "other").
		Label("team", "db").User("999:999").Workdir("/var/lib/mysql").Hostname("db1").
		Publish("127.0.0.1:3306:3306").Publish("53/udp").VolumesFrom("mysql-data", false).Tmpfs("/run", 1<<20).
		Network("ch03", "mysql", "db").Platform("linux/amd64").Restart("on-failure:3").Init(true).
		Memory(256 << 20).CPUs("0.5").PidsLimit(100).StopTimeout(5 * time.Second).
		Healthcheck(container.HealthConfig{Test: []string{"CMD", "mariadb-admin", "ping"}, Interval: time.Second})
	s, err := c.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "db" || s.Config.Image != "mariadb:10.11" || s.Config.User != "999:999" || s.Config.WorkingDir != "/var/lib/mysql" {
		t.Errorf("name/image/user/workdir: %+v", s)
	}
	if got := s.Config.Env; !slices.Equal(got, []string{"MYSQL_DATABASE=other", "A=1", "B"}) {
		t.Errorf("env %q", got)
	}
	if !slices.Equal(s.Config.Entrypoint, []string{"docker-entrypoint.sh"}) || !slices.Equal(s.Config.Cmd, []string{"mariadbd", "--verbose"}) {
		t.Errorf("entrypoint %q cmd %q", s.Config.Entrypoint, s.Config.Cmd)
	}
	p3306 := network.MustParsePort("3306/tcp")
	if b := s.HostConfig.PortBindings[p3306]; len(b) != 1 || b[0].HostIP != netip.MustParseAddr("127.0.0.1") || b[0].HostPort != "3306" {
		t.Errorf("3306 bindings %+v", b)
	}
	if _, ok := s.Config.ExposedPorts[network.MustParsePort("53/udp")]; !ok {
		t.Errorf("53/udp not exposed: %v", s.Config.ExposedPorts)
	}
	if !slices.Equal(s.HostConfig.VolumesFrom, []string{"mysql-data:rw"}) {
		t.Errorf("volumes-from %q", s.HostConfig.VolumesFrom)
	}
	if m := s.HostConfig.Mounts; len(m) != 1 || m[0].Type != mount.TypeTmpfs || m[0].TmpfsOptions.SizeBytes != 1<<20 {
		t.Errorf("mounts %+v", m)
	}
	if s.HostConfig.NetworkMode != "ch03" || !slices.Equal(s.Networking.EndpointsConfig["ch03"].Aliases, []string{"mysql", "db"}) {
		t.Errorf("network %q %+v", s.HostConfig.NetworkMode, s.Networking.EndpointsConfig)
	}
	if s.Platform == nil || s.Platform.OS != "linux" || s.Platform.Architecture != "amd64" {
		t.Errorf("platform %+v", s.Platform)
	}
	if rp := s.HostConfig.RestartPolicy; rp.Name != container.RestartPolicyOnFailure || rp.MaximumRetryCount != 3 {
		t.Errorf("restart %+v", rp)
	}
	if s.HostConfig.NanoCPUs != 5e8 || s.HostConfig.Memory != 256<<20 || *s.HostConfig.PidsLimit != 100 || !*s.HostConfig.Init || *s.Config.StopTimeout != 5 {
		t.Errorf("resources/init/stop %+v", s.HostConfig.Resources)
	}
	if _, err := json.Marshal(s.CreateOptions()); err != nil {
		t.Errorf("the request does not marshal: %v", err)
	}
}

func TestCompileReturnsACopy(t *testing.T) {
	c := New("busybox").Command("sh").Env("A", "1").Label("k", "v").Publish("80")
	c.Modify(func(s *Spec) {
		s.Config.Cmd[0] = "changed"
		s.Config.Labels["k"] = "changed"
		s.Config.Env[0] = "A=changed"
	})
	if _, err := c.Compile(); err != nil {
		t.Fatal(err)
	}
	s, _ := New("busybox").Compile()
	s2, _ := c.Modify(nil).Compile()
	if s.Config.Cmd != nil || s2.Config.Cmd[0] != "changed" {
		t.Fatal("Modify did not run on the compiled copy")
	}
	if c.cfg.Cmd[0] != "sh" || c.cfg.Labels["k"] != "v" || *c.env["A"] != "1" {
		t.Errorf("Modify changed the builder: %q %v", c.cfg.Cmd, c.cfg.Labels)
	}
}

func TestParsePublish(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"80", `{"80/tcp":[{"HostIp":"","HostPort":""}]}`},
		{"8080:80", `{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}`},
		{"127.0.0.1:5000:5000/udp", `{"5000/udp":[{"HostIp":"127.0.0.1","HostPort":"5000"}]}`},
		{"[::1]:53:53/udp", `{"53/udp":[{"HostIp":"::1","HostPort":"53"}]}`},
		{"7000-7001:8000-8001", `{"8000/tcp":[{"HostIp":"","HostPort":"7000"}],"8001/tcp":[{"HostIp":"","HostPort":"7001"}]}`},
		{"127.0.0.1::80", `{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]}`},
	} {
		got, err := ParsePublish(tc.spec)
		if err != nil {
			t.Errorf("%s: %v", tc.spec, err)
			continue
		}
		b, _ := json.Marshal(got)
		if string(b) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.spec, b, tc.want)
		}
	}
	for _, bad := range []string{"", "0", "80/icmp", "a:80", "1:2:3:4", "[::1:80", "70000", "1-2:3-5", "5-3"} {
		if _, err := ParsePublish(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestParseEnvFile(t *testing.T) {
	data := "\xef\xbb\xbf# comment\n\n  MYSQL_USER=gngsn\nQUOTED=\"kept\"\nEMPTY=\nFROM_HOST\nUNKNOWN\nWITH=a=b\r\n"
	lookup := func(k string) (string, bool) { return map[string]string{"FROM_HOST": "h"}[k], k == "FROM_HOST" }
	got, err := ParseEnvFile([]byte(data), lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"MYSQL_USER=gngsn", `QUOTED="kept"`, "EMPTY=", "FROM_HOST=h", "WITH=a=b"} // CRLF ends a line, as bufio.ScanLines (and the Docker CLI) read it
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if _, err := ParseEnvFile([]byte("BAD NAME=1\n"), lookup); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("want a line-numbered error, got %v", err)
	}
	_, err = New("busybox").EnvFile("/nonexistent/env").Compile()
	if !errors.Is(err, berth.ErrInvalid) || !strings.Contains(err.Error(), "env-file") {
		t.Errorf("missing env file: %v", err)
	}
}
