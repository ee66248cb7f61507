package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/network"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// TestConformance deploys each Compose file of testdata/conformance (berth's own, one per
// converted feature and defect) and of testdata/conformance/corpus (public stack files, see
// its README) once with `docker stack deploy` and once with berth on the same engine, and
// compares the services, networks, secrets and configs that the engine reports, field by
// field, after replacing each stack's name and each object ID by a placeholder and applying
// the intended differences (intendedDifferences). Services need not converge: images point at
// a registry on loopback that does not exist. Files run in parallel: each has its own
// published ports and object names.
func TestConformance(t *testing.T) {
	cli := testenv.Swarm(t)
	testenv.DockerCLI(t)
	prefix := testenv.Name(t, "ext")
	t.Setenv("BERTH_CONF_PREFIX", prefix)
	createExternals(t, context.Background(), cli, prefix) // its cleanup runs after the stacks are removed
	own := composeFiles(t, "testdata/conformance/*.yml")
	corpus := composeFiles(t, "testdata/conformance/corpus/*.yml")
	var files, refused, services, identicalFiles, identicalServices atomic.Int64
	t.Run("files", func(t *testing.T) {
		for _, file := range append(own, corpus...) {
			t.Run(strings.TrimSuffix(filepath.Base(file), ".yml"), func(t *testing.T) {
				t.Parallel()
				n, same, compared := conform(t, cli, file)
				if !compared {
					refused.Add(1)
					return
				}
				files.Add(1)
				services.Add(int64(n))
				identicalServices.Add(int64(same))
				if same == n && !t.Failed() {
					identicalFiles.Add(1)
				}
			})
		}
	})
	t.Logf("conformance: %d of %d files compared and %d of %d services identical to docker stack deploy; %d refused by berth as intended (%d own files, %d corpus files)",
		identicalFiles.Load(), files.Load(), identicalServices.Load(), services.Load(), refused.Load(), len(own), len(corpus))
}

// conform deploys one file with both and compares; it returns the number of services and how
// many are identical, or compared false for a file that berth refuses as intended.
func conform(t *testing.T, cli *client.Client, file string) (services, identical int, compared bool) {
	ctx := testenv.Context(t, 4*time.Minute)
	nameA, nameB := testenv.Name(t, "cli"), testenv.Name(t, "berth")
	st, err := stack.Load(ctx, nameB, file)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := st.Compile()
	base := strings.TrimSuffix(filepath.Base(file), ".yml")
	if want, ok := refusedByCompile[base]; ok {
		// Stricter validation: the Docker CLI deploys a service whose tasks can never start.
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want Compile to refuse %s with %q, got %v", base, want, err)
		}
		return 0, 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	createSpecExternals(t, ctx, cli, spec) // its cleanup runs after the stacks are removed
	t.Cleanup(func() { removeStack(t, nameA); removeStack(t, nameB) })

	// Deploy with the Docker CLI, record, remove (published ports are exclusive).
	out, err := exec.CommandContext(ctx, "docker", "stack", "deploy", "--resolve-image", "never", "--detach=true", "-c", file, nameA).CombinedOutput()
	if err != nil {
		t.Fatalf("docker stack deploy: %v\n%s", err, out)
	}
	want := snapshot(t, ctx, cli, nameA)
	noChanges := stack.PlanOptions{ResolveImage: stack.ResolveNever, SkipPreflight: true}
	for _, a := range planFile(t, cli, nameA, file, noChanges).Changes() { // redeploying over the CLI writes nothing
		t.Errorf("berth over docker stack deploy plans a change: %s\n%s", a, a.Diff)
	}
	removeStack(t, nameA)
	waitServicesGone(t, ctx, cli, nameA)

	_, err = stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever}})
	if errors.Is(err, stack.ErrPreflight) {
		// Stricter validation: what the preflight refuses (constraints no node of this
		// single-node swarm matches, a host port wanted twice on a node) the Docker CLI deploys
		// as tasks that stay pending. Compare the specs all the same.
		t.Logf("preflight refused what docker stack deploy deploys (intended): %v", err)
		_, err = stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever, SkipPreflight: true}})
	}
	if err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, ctx, cli, nameB)
	for _, a := range planFile(t, cli, nameB, file, noChanges).Changes() {
		t.Errorf("redeploying plans a change: %s\n%s", a, a.Diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("engine state after berth differs from docker stack deploy (-docker +berth):\n%s", diff)
	}
	wantSvcs, _ := want["services"].(map[string]any)
	gotSvcs, _ := got["services"].(map[string]any)
	for name, w := range wantSvcs {
		if cmp.Equal(w, gotSvcs[name]) {
			identical++
		}
	}
	return len(wantSvcs), identical, true
}

// refusedByCompile are the corpus files that berth refuses and the Docker CLI deploys, with
// the reason (the "validation" row of the package doc's table of intended differences).
var refusedByCompile = map[string]string{
	// volumes: [volume1]: the CLI makes an anonymous volume at target "volume1", which the
	// engine refuses when it creates each task's container (not an absolute path).
	"02-cli-stack-with-named-resources": `services/web/volumes[0]: target "volume1" is not an absolute path`,
}

// intendedDifferences are the rows of the package doc's table of intended differences, each
// with how this test applies it; TestIntendedDifferencesDocumented checks that the doc has
// every row.
var intendedDifferences = []struct{ row, applied string }{
	{"validation", "refusedByCompile; a preflight refusal is logged and the file deployed with SkipPreflight"},
	{".env next to the first file", "no file of the corpus has a .env file: nothing to apply"},
	{"secret and config labels", "dropBerthLabels removes LabelObject and LabelContentHash"},
	{"changed secret or config content", "TestConformanceUpdate compares specs after an update, not object names"},
	{"unchanged service on redeploy", "TestConformanceUpdate ignores services berth did not update"},
	{"credential_spec.config", "no corpus file uses it; TestIssue15CredentialSpec checks the refusal"},
	{"two files merged", "TestConformanceUpdate merges two files whose services avoid the rule differences"},
}

func TestIntendedDifferencesDocumented(t *testing.T) {
	doc, err := os.ReadFile("stack.go")
	if err != nil {
		t.Fatal(err)
	}
	table := string(doc)[strings.Index(string(doc), "# Intended differences"):]
	for _, d := range intendedDifferences {
		if !strings.Contains(table, "//\t| "+d.row+" ") {
			t.Errorf("the package doc's table has no row %q", d.row)
		}
	}
	if rows := strings.Count(table[:strings.Index(table, "package stack")], "//\t| ") - 1; rows != len(intendedDifferences) {
		t.Errorf("the doc's table has %d rows, the test knows %d", rows, len(intendedDifferences))
	}
}

// createSpecExternals creates the external networks, secrets, configs and volumes a compiled
// stack names that do not exist yet (the corpus files name theirs bc-N-...), and removes them
// when the test ends.
func createSpecExternals(t *testing.T, ctx context.Context, cli *client.Client, spec *stack.Spec) {
	t.Helper()
	var undo []func() error
	// ensure creates an object that does not exist yet, and records how to remove it.
	ensure := func(exists error, create func() (func() error, error)) {
		if exists == nil {
			return
		}
		rm, err := create()
		if err != nil {
			t.Fatal(err)
		}
		undo = append(undo, rm)
	}
	bg := context.Background()
	for _, n := range spec.Networks {
		if !n.External || n.Name == "host" || n.Name == "bridge" || n.Name == "none" {
			continue
		}
		_, exists := cli.NetworkInspect(ctx, n.Name, client.NetworkInspectOptions{})
		ensure(exists, func() (func() error, error) {
			r, err := cli.NetworkCreate(ctx, n.Name, client.NetworkCreateOptions{Driver: "overlay", Attachable: true})
			return func() error { _, err := cli.NetworkRemove(bg, r.ID, client.NetworkRemoveOptions{}); return err }, err
		})
	}
	for _, x := range spec.Secrets {
		if !x.External {
			continue
		}
		_, exists := cli.SecretInspect(ctx, x.Spec.Name, client.SecretInspectOptions{})
		ensure(exists, func() (func() error, error) {
			r, err := cli.SecretCreate(ctx, client.SecretCreateOptions{Spec: swarmapi.SecretSpec{Annotations: swarmapi.Annotations{Name: x.Spec.Name}, Data: []byte("x")}})
			return func() error { _, err := cli.SecretRemove(bg, r.ID, client.SecretRemoveOptions{}); return err }, err
		})
	}
	for _, x := range spec.Configs {
		if !x.External {
			continue
		}
		_, exists := cli.ConfigInspect(ctx, x.Spec.Name, client.ConfigInspectOptions{})
		ensure(exists, func() (func() error, error) {
			r, err := cli.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: swarmapi.ConfigSpec{Annotations: swarmapi.Annotations{Name: x.Spec.Name}, Data: []byte("x")}})
			return func() error { _, err := cli.ConfigRemove(bg, r.ID, client.ConfigRemoveOptions{}); return err }, err
		})
	}
	for _, v := range spec.Volumes {
		if !v.External {
			continue
		}
		_, exists := cli.VolumeInspect(ctx, v.Name, client.VolumeInspectOptions{})
		ensure(exists, func() (func() error, error) {
			_, err := cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: v.Name})
			return func() error {
				_, err := cli.VolumeRemove(bg, v.Name, client.VolumeRemoveOptions{Force: true})
				return err
			}, err
		})
	}
	t.Cleanup(func() {
		for range 50 { // swarm counts removed services as users for a moment
			var left []func() error
			for _, u := range undo {
				if err := u(); err != nil && !cerrdefs.IsNotFound(err) {
					left = append(left, u)
				}
			}
			if undo = left; len(undo) == 0 {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("%d external objects could not be removed", len(undo))
	})
}

// createExternals creates the objects that external.yml declares external, and removes them
// when the test ends.
func createExternals(t *testing.T, ctx context.Context, cli *client.Client, prefix string) {
	t.Helper()
	nw, err := cli.NetworkCreate(ctx, prefix+"-net", client.NetworkCreateOptions{Driver: "overlay", Attachable: true})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := cli.SecretCreate(ctx, client.SecretCreateOptions{Spec: swarmapi.SecretSpec{Annotations: swarmapi.Annotations{Name: prefix + "-secret"}, Data: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := cli.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: swarmapi.ConfigSpec{Annotations: swarmapi.Annotations{Name: prefix + "-config"}, Data: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	vol, err := cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: prefix + "-vol"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		defer cli.VolumeRemove(ctx, vol.Volume.Name, client.VolumeRemoveOptions{Force: true})
		// Cleanups run last-in first-out: the stacks are gone by now. Retry while swarm still
		// counts their services as users of the objects.
		for range 50 {
			_, e1 := cli.SecretRemove(ctx, sec.ID, client.SecretRemoveOptions{})
			_, e2 := cli.ConfigRemove(ctx, cfg.ID, client.ConfigRemoveOptions{})
			_, e3 := cli.NetworkRemove(ctx, nw.ID, client.NetworkRemoveOptions{})
			if (e1 == nil || cerrdefs.IsNotFound(e1)) && (e2 == nil || cerrdefs.IsNotFound(e2)) && (e3 == nil || cerrdefs.IsNotFound(e3)) {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("could not remove the external objects of %s", prefix)
	})
}

// removeStack removes a stack and waits for its networks to be gone (`docker stack rm` does
// not wait, and leaves networks behind when a test ends right after it).
func removeStack(t *testing.T, name string) {
	err := stack.Remove(context.Background(), testenv.Engine(t), name, stack.RemoveOptions{Wait: true})
	if err != nil && !errors.Is(err, stack.ErrNoStack) {
		t.Logf("remove stack %s: %v", name, err)
	}
}

func waitServicesGone(t *testing.T, ctx context.Context, cli *client.Client, name string) {
	f := client.Filters{}.Add("label", stack.LabelNamespace+"="+name)
	for ctx.Err() == nil {
		l, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: f})
		if err == nil && len(l.Items) == 0 {
			time.Sleep(time.Second) // let the ingress ports be released
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("services of %s not removed", name)
}

// snapshot returns the normalised specs of everything labelled with the stack's namespace, as
// generic JSON so that a difference in any field shows.
func snapshot(t *testing.T, ctx context.Context, cli *client.Client, name string) map[string]any {
	t.Helper()
	f := client.Filters{}.Add("label", stack.LabelNamespace+"="+name)
	ids := map[string]string{} // object ID -> normalised name
	nets := allocatedNetworks(t, ctx, cli, f)
	netOut := map[string]any{}
	for _, n := range nets.Items {
		ids[n.ID] = "net:" + n.Name
		delete(n.Options, "com.docker.network.driver.overlay.vxlanid_list") // allocated by the engine
		netOut[n.Name] = map[string]any{"Driver": n.Driver, "Options": n.Options, "Labels": n.Labels, "Internal": n.Internal,
			"Attachable": n.Attachable, "Scope": n.Scope, "IPAM": ipamConfig(n.IPAM.Config)}
	}
	secOut := map[string]any{}
	secs, err := cli.SecretList(ctx, client.SecretListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs.Items {
		ids[s.ID] = "secret:" + s.Spec.Name
		dropBerthLabels(s.Spec.Labels)
		secOut[s.Spec.Name] = s.Spec
	}
	cfgOut := map[string]any{}
	cfgs, err := cli.ConfigList(ctx, client.ConfigListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfgs.Items {
		ids[c.ID] = "config:" + c.Spec.Name
		dropBerthLabels(c.Spec.Labels)
		cfgOut[c.Spec.Name] = c.Spec
	}
	svcOut := map[string]any{}
	svcs, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs.Items {
		// The Docker CLI orders two references to the same secret or config by chance.
		if c := s.Spec.TaskTemplate.ContainerSpec; c != nil {
			slices.SortStableFunc(c.Secrets, swarm.CompareSecretRefs)
			slices.SortStableFunc(c.Configs, swarm.CompareConfigRefs)
		}
		svcOut[s.Spec.Name] = s.Spec
	}
	raw, err := json.Marshal(map[string]any{"services": svcOut, "networks": netOut, "secrets": secOut, "configs": cfgOut})
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for id, n := range ids {
		text = strings.ReplaceAll(text, id, n)
	}
	text = strings.ReplaceAll(text, name, "STACK")
	var out map[string]any
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// allocatedNetworks lists the networks that match f once swarm's allocator has given each its
// driver state: until then the engine lists a new network with no driver and no options.
func allocatedNetworks(t *testing.T, ctx context.Context, cli *client.Client, f client.Filters) client.NetworkListResult {
	t.Helper()
	for try := 0; ; try++ {
		nets, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(nets.Items, func(n network.Summary) bool { return n.Driver == "" }) || try == 30 {
			return nets
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dropBerthLabels removes the labels berth adds to its secrets and configs to recognise
// their content (the Docker CLI has no such labels; they change nothing else).
func dropBerthLabels(labels map[string]string) {
	delete(labels, stack.LabelObject)
	delete(labels, stack.LabelContentHash)
}

// ipamConfig keeps the subnets the Compose files set explicitly (in 10.231.0.0/16): the
// engine picks the others, differently for each stack.
func ipamConfig(cfgs []network.IPAMConfig) []string {
	var out []string
	for _, c := range cfgs {
		if s := c.Subnet.String(); strings.HasPrefix(s, "10.231.") {
			out = append(out, s)
		}
	}
	return out
}

// TestConformanceUpdate deploys full.yml, then full.yml merged with update/v2.yml over it,
// once with the Docker CLI and once with berth, and compares the specs and previous specs.
func TestConformanceUpdate(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, 3*time.Minute)
	files := []string{"testdata/conformance/full.yml", "testdata/update/v2.yml"}
	nameA, nameB := testenv.Name(t, "cliup"), testenv.Name(t, "berthup")
	t.Cleanup(func() { removeStack(t, nameA); removeStack(t, nameB) })

	for _, f := range [][]string{files[:1], files} {
		args := []string{"stack", "deploy", "--resolve-image", "never", "--detach=true"}
		for _, file := range f {
			args = append(args, "-c", file)
		}
		if out, err := exec.CommandContext(ctx, "docker", append(args, nameA)...).CombinedOutput(); err != nil {
			t.Fatalf("docker stack deploy: %v\n%s", err, out)
		}
	}
	want := snapshot(t, ctx, cli, nameA)
	wantPrev := previousSpecs(t, ctx, cli, nameA)
	removeStack(t, nameA)
	waitServicesGone(t, ctx, cli, nameA)

	for _, f := range [][]string{files[:1], files} {
		st, err := stack.Load(ctx, nameB, f...)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := st.Compile()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{ResolveImage: stack.ResolveNever, SkipPreflight: true}}); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(want, snapshot(t, ctx, cli, nameB)); diff != "" {
		t.Errorf("after the update (-docker +berth):\n%s", diff)
	}
	gotPrev := previousSpecs(t, ctx, cli, nameB)
	for k, v := range gotPrev {
		// berth does not update a service whose spec did not change (the Docker CLI does,
		// losing its rollback target); the snapshot above shows that its spec is right.
		if v == "none" {
			delete(gotPrev, k)
			delete(wantPrev, k)
		}
	}
	if len(gotPrev) == 0 {
		t.Error("berth updated no service")
	}
	if diff := cmp.Diff(wantPrev, gotPrev); diff != "" {
		t.Errorf("previous specs after the update (-docker +berth):\n%s", diff)
	}
}

// previousSpecs returns which services have a previous spec and their image label then.
func previousSpecs(t *testing.T, ctx context.Context, cli *client.Client, name string) map[string]string {
	t.Helper()
	svcs, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", stack.LabelNamespace+"="+name)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range svcs.Items {
		key := strings.TrimPrefix(s.Spec.Name, name)
		if s.PreviousSpec == nil {
			out[key] = "none"
			continue
		}
		out[key] = s.PreviousSpec.Labels[stack.LabelImage]
	}
	return out
}
