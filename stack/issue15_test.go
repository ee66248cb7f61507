package stack_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	swarmapi "github.com/moby/moby/api/types/swarm"
)

// loadIssue15 compiles testdata/conformance/issue15.yml (deployed side by side with the
// Docker CLI by TestConformance) and returns its services by key.
func loadIssue15(t *testing.T) (*stack.Spec, map[string]swarmapi.ServiceSpec) {
	t.Helper()
	spec := compileFile(t, "i15", "testdata/conformance/issue15.yml")
	out := map[string]swarmapi.ServiceSpec{}
	for _, s := range spec.Services {
		out[s.Key] = s.Spec
	}
	return spec, out
}

// Defect 1: a string command is split with the CLI's shell-word rules; && and what follows stay.
func TestIssue15CommandKeepsOperators(t *testing.T) {
	_, svcs := loadIssue15(t)
	c := svcs["cmd"].TaskTemplate.ContainerSpec
	want := []string{"echo", "hello world", "&&", "sleep", "3600", "|", "cat", ">", "/dev/null;", "echo", "it's"}
	if !slices.Equal(c.Args, want) || !slices.Equal(c.Command, []string{"/bin/sh", "-c"}) {
		t.Errorf("command %q args %q; want [/bin/sh -c] %q", c.Command, c.Args, want)
	}
	if !slices.Equal(c.Healthcheck.Test, []string{"CMD-SHELL", "test -f /tmp/ok && exit 0"}) {
		t.Errorf("healthcheck test %q", c.Healthcheck.Test)
	}
}

// Defect 2: env_file values are taken as written, quotes included (the Docker CLI's parser;
// `docker compose` strips them).
func TestIssue15EnvFileKeepsQuotes(t *testing.T) {
	_, svcs := loadIssue15(t)
	env := svcs["envfile"].TaskTemplate.ContainerSpec.Env
	want := []string{"EMPTY_FROM_FILE=", "INDENTED=kept trailing space ", "INLINE=x y", `QUOTED="a b"`, `SINGLE='c d'`}
	if !slices.Equal(env, want) {
		t.Errorf("env %q; want %q", env, want)
	}
}

// Defect 2, the CLI's lookup: an empty value in the file takes the variable of the environment.
func TestIssue15EnvFileEmptyTakesEnvironment(t *testing.T) {
	t.Setenv("EMPTY_FROM_FILE", "from-env")
	_, svcs := loadIssue15(t)
	if env := svcs["envfile"].TaskTemplate.ContainerSpec.Env; !slices.Contains(env, "EMPTY_FROM_FILE=from-env") {
		t.Errorf("env %q", env)
	}
}

// Defect 3: extra_hosts keep the order written.
func TestIssue15ExtraHostsKeepOrder(t *testing.T) {
	_, svcs := loadIssue15(t)
	hosts := svcs["hosts"].TaskTemplate.ContainerSpec.Hosts
	want := []string{"10.0.0.3 zeta.local", "10.0.0.1 alpha.local", "10.0.0.2 mid.local", "10.0.0.9 alpha.local"}
	if !slices.Equal(hosts, want) {
		t.Errorf("hosts %q; want %q", hosts, want)
	}
}

// Defect 4: depends_on a service that is not in the file is a warning, not an error.
func TestIssue15DependsOnUnknownWarns(t *testing.T) {
	spec, _ := loadIssue15(t)
	var found bool
	for _, w := range spec.Warnings {
		found = found || w.Path == "stack/i15/services/deps/depends_on" && strings.Contains(w.Msg, `"not-in-this-file"`)
	}
	if !found {
		t.Errorf("no warning about not-in-this-file in %v", spec.Warnings)
	}
}

// Defect 5: a published range to one target publishes each port to it.
func TestIssue15PublishedRangeToOneTarget(t *testing.T) {
	_, svcs := loadIssue15(t)
	ports := svcs["ports"].EndpointSpec.Ports
	if len(ports) != 2 || ports[0].PublishedPort != 21500 || ports[1].PublishedPort != 21501 || ports[0].TargetPort != 9000 || ports[1].TargetPort != 9000 {
		t.Errorf("ports %+v", ports)
	}
}

// Defect 7: credential_spec becomes Privileges.CredentialSpec; one from a config is refused.
func TestIssue15CredentialSpec(t *testing.T) {
	_, svcs := loadIssue15(t)
	p := svcs["creds"].TaskTemplate.ContainerSpec.Privileges
	if p == nil || p.CredentialSpec == nil || p.CredentialSpec.Registry != "my-cred-spec" {
		t.Fatalf("privileges %+v", p)
	}
	file := filepath.Join(t.TempDir(), "s.yml")
	os.WriteFile(file, []byte("services:\n  a:\n    image: x:1\n    credential_spec:\n      config: cs\n"), 0o644)
	st, err := stack.Load(context.Background(), "c", file)
	if err == nil {
		_, err = st.Compile()
	}
	if err == nil || !strings.Contains(err.Error(), "services/a/credential_spec/config") {
		t.Errorf("a credential spec from a config: %v", err)
	}
}

// Defect 6: the preflight accepts the predefined networks host, bridge and none declared
// external (they exist on every node with local scope), on the real swarm.
func TestIssue15PreflightAcceptsPredefinedNetworks(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, time.Minute)
	st := stack.New(testenv.Name(t, "pre"))
	for _, n := range []string{"host", "bridge", "none"} {
		st.Network(n).External()
	}
	st.Service("h").Image("127.0.0.1:1/berth/app:1").Network("host")
	st.Service("b").Image("127.0.0.1:1/berth/app:1").Network("bridge")
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := spec.Plan(ctx, cli, stack.PlanOptions{ResolveImage: stack.ResolveNever})
	if err != nil {
		t.Fatalf("preflight: %v", err)
	}
	for _, a := range plan.Actions {
		if a.Kind == stack.KindNetwork && a.Writes() {
			t.Errorf("plan creates predefined network: %v", a)
		}
	}
}
