package stack_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	apiversions "github.com/moby/moby/client/pkg/versions"
)

// badInput is one invalid stack file: the stage that must refuse it (load: the Compose loader;
// compile: Compile's rules; preflight: the checks against the live swarm), and text that the
// error must contain (the field's path).
type badInput struct {
	name, stage, yaml, want string
}

const badImage = "127.0.0.1:1/berth-bad/app:1"

// svc is a file with one service "a" of image badImage plus extra (indented under it) and
// top-level extra.
func svc(extra, top string) string {
	return "services:\n  a:\n    image: " + badImage + "\n" + indent(extra, "    ") + top
}

func indent(s, by string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = by + l
	}
	return strings.Join(lines, "\n") + "\n"
}

var badInputs = []badInput{
	// The Compose loader (compose-go's schema and consistency checks, and berth's reading).
	{"unknown top-level key", "load", svc("", "servicez: {}\n"), "servicez"},
	{"unknown service key", "load", svc("imagee: x\n", ""), "imagee"},
	{"replicas not a number", "load", svc("deploy:\n  replicas: two\n", ""), "replicas"},
	{"duration not a duration", "load", svc("stop_grace_period: ten\n", ""), "stop_grace_period"},
	{"port target not a number", "load", svc("ports:\n  - target: eighty\n", ""), "ports"},
	{"undefined network", "load", svc("networks: [nowhere]\n", ""), "nowhere"},
	{"undefined secret", "load", svc("secrets: [nothing]\n", ""), "nothing"},
	{"undefined volume", "load", svc("volumes: [\"novol:/data\"]\n", ""), "novol"},
	{"command unterminated quote", "compile", svc("command: 'echo \"abc'\n", ""), "services/a/command"},
	{"entrypoint trailing backslash", "compile", svc("entrypoint: 'sh -c \\'\n", ""), "services/a/entrypoint"},
	{"env_file key with a space", "compile", svc("env_file: bad.env\n", ""), "services/a/env_file"},
	{"published range malformed", "load", svc("ports: [\"9-x:80\"]\n", ""), "9-x"},
	{"credential spec from a config", "compile", svc("credential_spec:\n  config: cs\n", ""), "services/a/credential_spec/config"},
	{"negative replicas", "load", svc("deploy:\n  replicas: -1\n", ""), "services.a.deploy.replicas"},

	// Compile: the builder's rules and swarm's (swarmkit validateServiceSpec, the engine's
	// container checks).
	{"image reference", "compile", "services:\n  a:\n    image: \"Bad Image\"\n", "services/a/image"},
	{"no image", "load", "services:\n  a:\n    command: [x]\n", `service "a" has neither an image`},
	{"unknown mode", "compile", svc("deploy:\n  mode: sometimes\n", ""), "services/a/deploy/mode"},
	{"replicas with global", "compile", svc("deploy:\n  mode: global\n  replicas: 2\n", ""), "services/a/deploy/replicas"},
	{"job with update_config", "compile", svc("deploy:\n  mode: replicated-job\n  update_config:\n    parallelism: 1\n", ""), "services/a/deploy/update_config"},
	{"global job with update_config", "compile", svc("deploy:\n  mode: global-job\n  update_config:\n    delay: 1s\n", ""), "services/a/deploy/update_config"},
	{"constraint syntax", "compile", svc("deploy:\n  placement:\n    constraints: [\"node.role!=\"]\n", ""), "services/a/deploy/placement/constraints[0]"},
	{"restart condition", "compile", svc("deploy:\n  restart_policy:\n    condition: sometimes\n", ""), "services/a/deploy/restart_policy/condition"},
	{"negative restart delay", "compile", svc("deploy:\n  restart_policy:\n    delay: -5s\n", ""), "services/a/deploy/restart_policy/delay"},
	{"max failure ratio", "compile", svc("deploy:\n  update_config:\n    max_failure_ratio: 2\n", ""), "services/a/deploy/update_config/max_failure_ratio"},
	{"update order", "load", svc("deploy:\n  update_config:\n    order: sideways\n", ""), "services.a.deploy.update_config.order"},
	{"negative update delay", "compile", svc("deploy:\n  update_config:\n    delay: -1s\n", ""), "services/a/deploy/update_config/delay"},
	{"negative rollback monitor", "compile", svc("deploy:\n  rollback_config:\n    monitor: -1s\n", ""), "services/a/deploy/rollback_config/monitor"},
	{"negative stop grace period", "compile", svc("stop_grace_period: -1s\n", ""), "services/a/stop_grace_period"},
	{"negative healthcheck retries", "load", svc("healthcheck:\n  test: [CMD, \"true\"]\n  retries: -1\n", ""), "healthcheck.retries"},
	{"healthcheck interval below 1ms", "compile", svc("healthcheck:\n  test: [CMD, \"true\"]\n  interval: 100us\n", ""), "services/a/healthcheck/interval"},
	{"healthcheck test kind", "load", svc("healthcheck:\n  test: [RUN, \"true\"]\n", ""), "healthcheck.test"},
	{"relative working_dir", "compile", svc("working_dir: srv\n", ""), "services/a/working_dir"},
	{"extra host not an IP", "compile", svc("extra_hosts: [\"db:not-an-ip\"]\n", ""), "services/a/extra_hosts[0]"},
	{"dns not an IP", "compile", svc("dns: [8.8.8.x]\n", ""), "services/a/dns[0]"},
	{"ulimit soft above hard", "compile", svc("ulimits:\n  nofile:\n    soft: 200\n    hard: 100\n", ""), "services/a/ulimits/nofile"},
	{"unknown ulimit", "compile", svc("ulimits:\n  nofiles: 10\n", ""), "services/a/ulimits/nofiles"},
	{"endpoint mode", "compile", svc("deploy:\n  endpoint_mode: round-robin\n", ""), "services/a/deploy/endpoint_mode"},
	{"dnsrr with an ingress port", "compile", svc("ports: [\"21900:80\"]\ndeploy:\n  endpoint_mode: dnsrr\n", ""), "services/a/ports[0]/mode"},
	{"port out of range", "compile", svc("ports:\n  - target: 70000\n", ""), "services/a/ports[0]/target"},
	{"port published twice", "compile", svc("ports: [\"21901:80\", \"21901:81\"]\n", ""), "services/a/ports[1]/published"},
	{"cpu limit below 0.001", "compile", svc("deploy:\n  resources:\n    limits:\n      cpus: \"0.0001\"\n", ""), "services/a/deploy/resources/limits/cpus"},
	{"memory limit below 4MiB", "compile", svc("deploy:\n  resources:\n    limits:\n      memory: 1000b\n", ""), "services/a/deploy/resources/limits/memory"},
	{"memory reservation above limit", "compile", svc("deploy:\n  resources:\n    limits:\n      memory: 64M\n    reservations:\n      memory: 128M\n", ""), "services/a/deploy/resources/reservations/memory"},
	{"unknown capability", "compile", svc("cap_add: [NOT_A_CAP]\n", ""), "services/a/cap_add"},
	{"unknown dropped capability", "compile", svc("cap_drop: [CAP_NOPE]\n", ""), "services/a/cap_drop"},
	{"stop signal", "compile", svc("stop_signal: SIGFOO\n", ""), "services/a/stop_signal"},
	{"sysctl not namespaced", "compile", svc("sysctls:\n  vm.swappiness: \"10\"\n", ""), "services/a/sysctls/vm.swappiness"},
	{"net sysctl on the host network", "compile", svc("networks: [host]\nsysctls:\n  net.core.somaxconn: \"1024\"\n", "networks:\n  host:\n    external: true\n"), "services/a/sysctls/net.core.somaxconn"},
	{"isolation", "compile", svc("isolation: weird\n", ""), "services/a/isolation"},
	{"oom score", "load", svc("oom_score_adj: 5000\n", ""), "oom_score_adj"},
	{"mount target relative", "compile", svc("volumes:\n  - type: tmpfs\n    target: tmp\n", ""), "services/a/volumes[0]"},
	{"mount target twice", "compile", svc("volumes:\n  - vol1:/data\n  - vol2:/data/\n", "volumes:\n  vol1: {}\n  vol2: {}\n"), "services/a/volumes[1]/target"},
	{"bind propagation", "compile", svc("volumes:\n  - type: bind\n    source: /srv\n    target: /srv\n    bind:\n      propagation: sideways\n", ""), "services/a/volumes[0]/bind/propagation"},
	{"config target twice", "compile", svc("configs:\n  - source: c\n    target: /etc/x\n  - source: d\n    target: /etc/x\n", "configs:\n  c:\n    content: x\n  d:\n    content: y\n"), "services/a/configs[1]/target"},
	{"secret target twice", "compile", svc("secrets:\n  - source: s\n    target: t\n  - source: u\n    target: t\n", "secrets:\n  s:\n    file: ./bad.env\n  u:\n    file: ./bad.env\n"), "services/a/secrets[1]/target"},
	{"secret name", "compile", svc("secrets: [s]\n", "secrets:\n  s:\n    name: \"bad name!\"\n    file: ./bad.env\n"), "stack/bad/secrets/s"},
	{"config name", "compile", svc("configs: [c]\n", "configs:\n  c:\n    name: \"-dash\"\n    content: x\n"), "stack/bad/configs/c"},
	{"config too large", "compile", svc("configs: [c]\n", "configs:\n  c:\n    content: ${BERTH_BIG_CONTENT}\n"), "stack/bad/configs/c"},
	{"secret without content", "compile", svc("secrets: [s]\n", "secrets:\n  s:\n    environment: BERTH_SURELY_UNSET_VAR\n"), "stack/bad/secrets/s"},
	{"subnet", "compile", svc("networks: [n]\n", "networks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.0.0.0/33\n"), "stack/bad/networks/n/ipam/config[0]/subnet"},
	{"service name too long", "compile", "services:\n  " + strings.Repeat("s", 62) + ":\n    image: " + badImage + "\n", "services/" + strings.Repeat("s", 62)},

	{"restart policy name", "compile", svc("restart: often\n", ""), "services/a/restart"},
	{"restart retries on always", "compile", svc("restart: always:3\n", ""), "services/a/restart"},
	{"spread descriptor empty", "compile", svc("deploy:\n  placement:\n    preferences:\n      - spread: \"\"\n", ""), "services/a/deploy/placement/preferences[0]/spread"},
	{"generic resource without kind", "compile", svc("deploy:\n  resources:\n    reservations:\n      generic_resources:\n        - discrete_resource_spec:\n            kind: \"\"\n            value: 1\n", ""), "generic_resources"},
	{"update failure action", "compile", svc("deploy:\n  update_config:\n    failure_action: explode\n", ""), "services/a/deploy/update_config/failure_action"},
	{"config with file and content", "load", svc("configs: [c]\n", "configs:\n  c:\n    file: ./bad.env\n    content: x\n"), "configs.c"},
	{"service key with a space", "load", "services:\n  \"a b\":\n    image: " + badImage + "\n", "a b"},

	// The preflight (what the live swarm would refuse later).
	{"external network missing", "preflight", svc("networks: [n]\n", "networks:\n  n:\n    external: true\n    name: berth-surely-missing-net\n"), "berth-surely-missing-net"},
	{"external secret missing", "preflight", svc("secrets: [s]\n", "secrets:\n  s:\n    external: true\n    name: berth-surely-missing-secret\n"), "berth-surely-missing-secret"},
	{"external config missing", "preflight", svc("configs: [c]\n", "configs:\n  c:\n    external: true\n    name: berth-surely-missing-config\n"), "berth-surely-missing-config"},
	{"external volume missing", "preflight", svc("volumes: [\"vol1:/data\"]\n", "volumes:\n  vol1:\n    external: true\n    name: berth-surely-missing-volume\n"), "berth-surely-missing-volume"},
	{"constraint matching no node", "preflight", svc("deploy:\n  placement:\n    constraints: [node.labels.berth-surely-missing==x]\n", ""), "placement constraints"},
	{"host port taken twice on a node", "preflight", svc("deploy:\n  replicas: 2\nports:\n  - target: 80\n    published: 21902\n    mode: host\n", ""), "host port 21902/tcp"},
}

// writeBad writes one bad file (and the bad env file some cases use) into a new directory.
func writeBad(t *testing.T, b badInput) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "stack.yml")
	if err := os.WriteFile(file, []byte(b.yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "bad.env"), []byte("GOOD=1\nBAD KEY=2\n"), 0o644)
	return file
}

// loadAndCompile runs the pure stages; it returns the stage that refused the file, or "".
func loadAndCompile(t *testing.T, file string) (*stack.Spec, string, error) {
	t.Setenv("BERTH_BIG_CONTENT", strings.Repeat("x", 1001<<10))
	st, err := stack.Load(context.Background(), "bad", file)
	if err != nil {
		return nil, "load", err
	}
	spec, err := st.Compile()
	if err != nil {
		return nil, "compile", err
	}
	return spec, "", nil
}

// TestBadInputRefusedBeforeEngine checks, without an engine, that the loader and Compile
// refuse each of their bad files, at their stage, with an error that names the field.
func TestBadInputRefusedBeforeEngine(t *testing.T) {
	for _, b := range badInputs {
		if b.stage == "preflight" {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			_, stage, err := loadAndCompile(t, writeBad(t, b))
			if stage != b.stage || !errors.Is(err, berth.ErrInvalid) || !strings.Contains(err.Error(), b.want) {
				t.Errorf("refused at %q (want %q) with %v; want ErrInvalid naming %q", stage, b.stage, err, b.want)
			}
		})
	}
}

// TestBadInputZeroWrites deploys every bad file through an Engine client whose transport
// counts requests: each is refused, naming the field, and the engine saw no write (no POST,
// PUT, PATCH or DELETE).
func TestBadInputZeroWrites(t *testing.T) {
	testenv.Swarm(t)
	cli, counter := testenv.CountingEngine(t)
	if len(badInputs) < 40 {
		t.Fatalf("only %d bad inputs", len(badInputs))
	}
	var refused int
	for _, b := range badInputs {
		t.Run(b.name, func(t *testing.T) {
			counter.Reset()
			ctx := testenv.Context(t, time.Minute)
			spec, stage, err := loadAndCompile(t, writeBad(t, b))
			if err == nil {
				_, err = stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}})
				stage = "preflight"
				if !errors.Is(err, stack.ErrPreflight) {
					stage = "deploy"
				}
			}
			if err == nil {
				stack.Remove(context.Background(), testenv.Engine(t), spec.Stack, stack.RemoveOptions{})
				t.Fatalf("deployed")
			}
			if stage == "preflight" && len(counter.Requests()) == 0 {
				t.Fatal("the preflight read nothing through the counting transport: it is not in the client's path")
			}
			if w := counter.Writes(); len(w) > 0 {
				t.Errorf("%d writes before the refusal: %v", len(w), w)
			}
			if stage != b.stage || !strings.Contains(err.Error(), b.want) {
				t.Errorf("refused at %q (want %q): %v; want it to name %q", stage, b.stage, err, b.want)
				return
			}
			refused++
		})
	}
	t.Logf("%d bad stack files refused with 0 writes (of %d)", refused, len(badInputs))
}

// TestPlanRefusesFieldsTheEngineAPICannotCarry plans, against the real engine, a stack with a
// field newer than the client's negotiated API version (1.41 on this project's engine): Plan
// refuses it naming the field and both versions, and nothing is written.
func TestPlanRefusesFieldsTheEngineAPICannotCarry(t *testing.T) {
	testenv.Swarm(t)
	cli, counter := testenv.CountingEngine(t)
	ctx := testenv.Context(t, time.Minute)
	st := stack.New(testenv.Name(t, "api"))
	st.Service("a").Image(badImage).OomScoreAdj(100)
	spec, err := st.Compile() // no version: Compile alone cannot know the engine
	if err != nil {
		t.Fatal(err)
	}
	_, err = spec.Plan(ctx, cli, stack.PlanOptions{ResolveImage: stack.ResolveNever})
	v := cli.ClientVersion()
	if apiversions.GreaterThanOrEqualTo(v, "1.46") {
		if err != nil {
			t.Fatalf("API %s carries oom_score_adj: %v", v, err)
		}
		return
	}
	want := "services/a/oom_score_adj: needs Engine API 1.46 or newer; the engine speaks " + v
	if !errors.Is(err, berth.ErrInvalid) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Plan on API %s: %v; want %q", v, err, want)
	}
	if _, err := stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}}); !errors.Is(err, berth.ErrInvalid) {
		t.Fatalf("Deploy: %v", err)
	}
	if w := counter.Writes(); len(w) > 0 {
		t.Errorf("writes: %v", w)
	}
}
