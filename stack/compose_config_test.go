package stack_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// TestMergedComposeMatchesDockerStackConfig prints every conformance file (berth's own and
// the corpus) with MergedCompose and with `docker stack config`, and compares the two as
// data. Two differences of form remain and are normalised here: compose-go writes a long-
// syntax port's default mode (ingress) and protocol (tcp), and it keeps depends_on as a set.
func TestMergedComposeMatchesDockerStackConfig(t *testing.T) {
	testenv.DockerCLI(t)
	t.Setenv("BERTH_CONF_PREFIX", "cfg")
	own, _ := filepath.Glob("testdata/conformance/*.yml")
	corpus, _ := filepath.Glob("testdata/conformance/corpus/*.yml")
	for _, file := range append(own, corpus...) {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yml"), func(t *testing.T) {
			out, err := exec.Command("docker", "stack", "config", "-c", file).Output()
			if err != nil {
				t.Fatalf("docker stack config: %v", err)
			}
			got, err := stack.MergedCompose(context.Background(), file)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(configData(t, out), configData(t, got)); diff != "" {
				t.Errorf("berth's merged file differs from docker stack config (-docker +berth):\n%s\nberth:\n%s", diff, got)
			}
		})
	}
}

func configData(t *testing.T, b []byte) any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	services, _ := doc["services"].(map[string]any)
	for _, s := range services {
		svc, _ := s.(map[string]any)
		ports, _ := svc["ports"].([]any)
		for _, p := range ports {
			if m, ok := p.(map[string]any); ok {
				if m["mode"] == "ingress" {
					delete(m, "mode")
				}
				if m["protocol"] == "tcp" {
					delete(m, "protocol")
				}
			}
		}
		if deps, ok := svc["depends_on"].([]any); ok {
			slices.SortFunc(deps, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
		}
	}
	return doc
}

// TestSecretDataNeverPrinted checks that inline secret data shows as <redacted> in the
// merged Compose file and in a compiled stack's JSON.
func TestSecretDataNeverPrinted(t *testing.T) {
	const data = "s3cret-value"
	st := stack.New("r")
	st.Secret("pw").Data([]byte(data))
	st.Service("a").Image("x:1").Secret("pw", "")
	rendered, err := st.Compose() // the round-trip rendering carries the data, for Load
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "s.yml")
	os.WriteFile(file, rendered, 0o644)
	merged, err := stack.MergedCompose(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	var js strings.Builder
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false) // as berth stack config --format json prints it
	if err := enc.Encode(spec); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"merged compose": string(merged), "spec JSON": js.String()} {
		if strings.Contains(out, data) || !strings.Contains(out, stack.Redacted) {
			t.Errorf("%s shows the secret or no %s:\n%s", name, stack.Redacted, out)
		}
	}
}

// TestPlanNeverPrintsSecretData plans a stack with inline secret data against the engine (a
// read) and checks that the plan's text and JSON do not show it.
func TestPlanNeverPrintsSecretData(t *testing.T) {
	cli := testenv.Swarm(t)
	const data = "s3cret-value"
	st := stack.New(testenv.Name(t, "red"))
	st.Secret("pw").Data([]byte(data))
	st.Service("a").Image("127.0.0.1:1/berth/app:1").Secret("pw", "")
	spec, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := spec.Plan(testenv.Context(t, time.Minute), cli, stack.PlanOptions{ResolveImage: stack.ResolveNever})
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range plan.Actions {
		if strings.Contains(a.Diff, data) {
			t.Errorf("diff of %s shows the secret", a.Name)
		}
	}
	if strings.Contains(plan.String(), data) || strings.Contains(string(js), data) {
		t.Errorf("the plan shows the secret:\n%s\n%s", plan, js)
	}
}
