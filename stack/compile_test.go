package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/stack"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	swarmapi "github.com/moby/moby/api/types/swarm"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, lineDiff(string(want), string(got)))
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "first difference at line " + strconv.Itoa(i+1) + ":\n- " + a + "\n+ " + b
		}
	}
	return ""
}

// specJSON renders a spec with the test data directory replaced, so golden files do not depend
// on where the repository is checked out.
func specJSON(t *testing.T, spec *stack.Spec) []byte {
	t.Helper()
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata")
	return append(bytes.ReplaceAll(b, []byte(abs), []byte("TESTDATA")), '\n')
}

func TestGoldenCompose(t *testing.T) {
	t.Setenv("BERTH_CONF_PREFIX", "golden")
	for _, file := range composeFiles(t, conformanceFiles) {
		name := strings.TrimSuffix(filepath.Base(file), ".yml")
		t.Run(name, func(t *testing.T) {
			st, err := stack.Load(context.Background(), "demo", file)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := st.Compile()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".json", specJSON(t, spec))
		})
	}
}

// echoStack is the stack of issue 3's example.
func echoStack() *stack.Stack {
	st := stack.New("echo")
	st.Network("ch03").External()
	st.Service("api").Image("registry:5000/example/echo:latest").Replicas(3).
		Constraint("node.role != manager").Network("ch03")
	st.Service("nginx").Image("registry:5000/example/proxy:latest").Replicas(3).
		Env("BACKEND_HOST", "echo_api:8080").Network("ch03")
	return st
}

func TestGoldenBuilder(t *testing.T) {
	spec, err := echoStack().Compile()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "builder-echo.json", specJSON(t, spec))

	spec, err = shopStack().Compile()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "builder-shop.json", specJSON(t, spec))
}

func TestCompileDeterministic(t *testing.T) {
	t.Setenv("BERTH_CONF_PREFIX", "golden")
	st, err := stack.Load(context.Background(), "demo", "testdata/conformance/full.yml")
	if err != nil {
		t.Fatal(err)
	}
	first, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	a := specJSON(t, first)
	for range 5 {
		again, err := st.Compile()
		if err != nil {
			t.Fatal(err)
		}
		if b := specJSON(t, again); !bytes.Equal(a, b) {
			t.Fatal("two compiles of the same stack differ")
		}
	}
}

func TestModifyRunsLastAndDoesNotAlias(t *testing.T) {
	st := stack.New("m")
	svc := st.Service("a").Image("127.0.0.1:5000/a:1").LimitMemory(10 << 20).
		Modify(func(s *swarmapi.ServiceSpec) {
			s.TaskTemplate.Resources.Limits.MemoryBytes = 20 << 20
			s.TaskTemplate.ContainerSpec.Groups = []string{"video"}
		})
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	cs := spec.Services[0].Spec
	if cs.TaskTemplate.Resources.Limits.MemoryBytes != 20<<20 || cs.TaskTemplate.ContainerSpec.Groups[0] != "video" {
		t.Fatalf("Modify not applied: %+v", cs.TaskTemplate)
	}
	own, err := svc.Spec()
	if err != nil {
		t.Fatal(err)
	}
	if own.TaskTemplate.Resources.Limits.MemoryBytes != 20<<20 {
		t.Fatalf("Modify should apply to every compile, got %d", own.TaskTemplate.Resources.Limits.MemoryBytes)
	}
	spec.Services[0].Spec.TaskTemplate.Resources.Limits.MemoryBytes = 99 << 20
	again, _ := st.Compile()
	if got := again.Services[0].Spec.TaskTemplate.Resources.Limits.MemoryBytes; got != 20<<20 {
		t.Fatalf("editing a compiled spec changed the builder: %d", got)
	}
}

func TestWarnings(t *testing.T) {
	st, err := stack.Load(context.Background(), "demo", "testdata/conformance/voting-app.yml")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range spec.Warnings {
		got = append(got, w.String())
	}
	want := []string{
		"stack/demo/services/result: depends_on: ignored by docker stack deploy",
		"stack/demo/services/vote: depends_on: ignored by docker stack deploy",
		"stack/demo/services/worker: depends_on: ignored by docker stack deploy",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestValidation checks that every bad input is reported, all at once, with its path.
func TestValidation(t *testing.T) {
	st := stack.New("echo")
	st.Service("api").Image("registry:5000/Bad Image").Mode("sometimes").
		Constraint("node.role!=").Constraint("node.role ~ manager").Constraint("node.labels.zone==east").
		Port("70000:80").Port("80/icmp").
		Mount(mountAt("relative/target")).Bind("./rel", "/x", false).
		Network("nowhere").Secret("missing", "").Config("absent", "").Volume("novol", "/v", false).
		ExtraHost("db", "not-an-ip").DNS("8.8.8.x").StopGracePeriod(-time.Second).
		Ulimit("nofile", 200, 100).LimitCPUs("-1").EndpointMode("round-robin").
		RestartPolicy(swarmapi.RestartPolicy{Condition: "sometimes"}).Restart("often")
	st.Service("api").Image("ok:1")
	st.Service("glob").Image("ok:1").Global().Replicas(2)
	st.Network("bad").Subnet("10.0.0.0/33")
	_, err := st.Compile()
	if !errors.Is(err, berth.ErrInvalid) || !cerrdefs.IsInvalidArgument(err) {
		t.Fatalf("want an ErrInvalid, InvalidArgument error, got %v", err)
	}
	var paths []string
	for _, ve := range berth.ValidationErrors(err) {
		paths = append(paths, ve.Path)
	}
	for _, want := range []string{
		"stack/echo/services/api",
		"stack/echo/services/api/image",
		"stack/echo/services/api/deploy/mode",
		"stack/echo/services/api/deploy/placement/constraints[0]",
		"stack/echo/services/api/deploy/placement/constraints[1]",
		"stack/echo/services/api/ports[0]",
		"stack/echo/services/api/ports[1]",
		"stack/echo/services/api/volumes[0]",
		"stack/echo/services/api/volumes[1]",
		"stack/echo/services/api/networks/nowhere",
		"stack/echo/services/api/secrets[0]",
		"stack/echo/services/api/configs[0]",
		"stack/echo/services/api/volumes[2]/source",
		"stack/echo/services/api/extra_hosts[0]",
		"stack/echo/services/api/dns[0]",
		"stack/echo/services/api/stop_grace_period",
		"stack/echo/services/api/ulimits/nofile",
		"stack/echo/services/api/deploy/resources/limits/cpus",
		"stack/echo/services/api/deploy/endpoint_mode",
		"stack/echo/services/api/deploy/restart_policy/condition",
		"stack/echo/services/api/restart",
		"stack/echo/services/glob/deploy/replicas",
		"stack/echo/networks/bad/ipam/config[0]/subnet",
	} {
		if !contains(paths, want) {
			t.Errorf("no problem reported at %s; got:\n%v", want, err)
		}
	}
	for _, p := range paths {
		if strings.Contains(p, "constraints[2]") {
			t.Errorf("a valid constraint was reported: %s", p)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCompileForAPIVersion(t *testing.T) {
	st := stack.New("v")
	st.Service("a").Image("x:1").OomScoreAdj(100).
		Healthcheck(container.HealthConfig{Test: []string{"CMD", "true"}, StartInterval: time.Second})
	_, err := st.CompileFor("1.41")
	if err == nil {
		t.Fatal("want errors for fields newer than API 1.41")
	}
	for _, want := range []string{
		"stack/v/services/a/oom_score_adj: needs Engine API 1.46 or newer; the engine speaks 1.41",
		"stack/v/services/a/healthcheck/start_interval: needs Engine API 1.44 or newer; the engine speaks 1.41",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if _, err := st.CompileFor("1.47"); err != nil {
		t.Errorf("API 1.47 carries both fields: %v", err)
	}
}

func TestLoadBadCompose(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.yml")
	os.WriteFile(file, []byte("services:\n  api:\n    image: x:1\n    deploy:\n      mode: sometimes\n      replicas: 2\n      placement:\n        constraints: ['node.role!=']\n    ports: ['8080:80']\n    networks: [nowhere]\n"), 0o644)
	st, err := stack.Load(context.Background(), "bad", file)
	if err != nil {
		// compose-go refuses undeclared networks itself; that is fine too, as long as it is typed.
		if !errors.Is(err, berth.ErrInvalid) {
			t.Fatalf("load error is not ErrInvalid: %v", err)
		}
		return
	}
	_, err = st.Compile()
	if !errors.Is(err, berth.ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
}

// shopStack uses every builder method.
func shopStack() *stack.Stack {
	st := stack.New("shop")
	st.Network("front").Driver("overlay").Attachable().Label("team", "web").Option("encrypted", "")
	st.Network("back").Internal().Subnet("10.231.5.0/24")
	st.Volume("data").Driver("local").Option("type", "tmpfs").Label("keep", "yes")
	st.Volume("shared").External()
	st.Secret("key").Data([]byte("s3cret")).Label("rotated", "2026")
	st.Secret("tls").External()
	st.Secret("token").Named("org_token").File("/etc/token")
	st.Config("conf").Data([]byte("a=b")).TemplateDriver("golang")
	ten := 10 * time.Second
	three := uint64(3)
	st.Service("web").Image("127.0.0.1:5000/shop/web:2").
		Entrypoint("/web").Command("--port", "80").
		Env("Z", "1").Env("A", "2").EnvUnset("PROXY").
		Label("tier", "front").ContainerLabel("logs", "json").
		Hostname("web").User("nobody").WorkingDir("/srv").
		ExtraHost("db", "10.0.0.9").DNS("10.0.0.2").DNSSearch("shop.internal").
		Healthcheck(container.HealthConfig{Test: []string{"CMD", "/web", "-check"}, Interval: ten, Retries: 2}).
		StopGracePeriod(ten).StopSignal("SIGINT").Init(true).ReadOnly(true).
		CapAdd("net_bind_service", "ALL").CapDrop("chown").
		Sysctl("net.ipv4.ip_forward", "1").Ulimit("nofile", 100, 200).
		Logging("json-file", map[string]string{"max-file": "3"}).
		Secret("key", "").Secret("tls", "/etc/tls/cert.pem").Secret("token", "tok").
		Config("conf", "/etc/web.conf").
		Volume("data", "/data", false).Volume("shared", "/shared", true).Bind("/etc/hosts", "/etc/hosts2", true).Tmpfs("/run", 1<<20).
		Network("front", "www").Network("back").
		Port("80").Port("8080:80").Port("127.0.0.1:9000-9001:9000-9001/udp").
		PublishPort(swarmapi.PortConfig{TargetPort: 443, PublishedPort: 443, PublishMode: swarmapi.PortConfigPublishModeHost}).
		EndpointMode("vip").Replicas(4).
		LimitCPUs("1.5").LimitMemory(128 << 20).LimitPids(100).ReserveCPUs("0.3").ReserveMemory(64 << 20).
		RestartPolicy(swarmapi.RestartPolicy{Condition: swarmapi.RestartPolicyConditionAny, Delay: &ten, MaxAttempts: &three}).
		Constraint("node.labels.zone==east").Spread("node.labels.rack").MaxReplicasPerNode(2).
		UpdateConfig(swarmapi.UpdateConfig{Parallelism: 2, Delay: ten, Order: swarmapi.UpdateOrderStartFirst}).
		RollbackConfig(swarmapi.UpdateConfig{Parallelism: 1, FailureAction: swarmapi.UpdateFailureActionPause})
	st.Service("cron").Image("127.0.0.1:5000/shop/cron:2").Mode("global-job").Restart("no")
	st.Service("agent").Image("127.0.0.1:5000/shop/agent:2").Global().Restart("on-failure:5").NoHealthcheck()
	return st
}

func TestLoadMergeAndEnv(t *testing.T) {
	st, err := stack.Load(context.Background(), "m", "testdata/merge/base.yml", "testdata/merge/override.yml")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Services) != 2 {
		t.Fatalf("services: %+v", spec.Services)
	}
	web := spec.Services[1].Spec
	c := web.TaskTemplate.ContainerSpec
	if c.Image != "127.0.0.1:5000/merge/web:2.0" || *web.Mode.Replicated.Replicas != 4 ||
		strings.Join(c.Env, ",") != "KEEP=base,LEVEL=debug" || web.TaskTemplate.Placement.Constraints[0] != "node.role == worker" ||
		web.EndpointSpec.Ports[0].PublishedPort != 8080 {
		t.Fatalf("merged spec: %+v %+v", web, c)
	}
	if len(spec.Warnings) != 1 || !strings.Contains(spec.Warnings[0].String(), "services/extra: build: ignored") {
		t.Fatalf("warnings: %v", spec.Warnings)
	}
}

func TestLoadEnvironmentWinsOverDotEnv(t *testing.T) {
	t.Setenv("TAG", "from-env")
	st, err := stack.Load(context.Background(), "m", "testdata/merge/base.yml")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if img := spec.Services[0].Spec.TaskTemplate.ContainerSpec.Image; img != "127.0.0.1:5000/merge/web:from-env" {
		t.Fatalf("image %s", img)
	}
}

func TestLoadKeepsServicesWithProfiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.yml")
	os.WriteFile(file, []byte("services:\n  a:\n    image: x:1\n  debug:\n    image: y:1\n    profiles: [debug]\n"), 0o644)
	st, err := stack.Load(context.Background(), "p", file)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Services) != 2 || len(spec.Warnings) != 1 || !strings.Contains(spec.Warnings[0].Msg, "profiles") {
		t.Fatalf("services %d, warnings %v", len(spec.Services), spec.Warnings)
	}
}
