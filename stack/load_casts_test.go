package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
)

// modelWith reads the files' model (interpolated, normalised) as readModel does, or as
// compose-go alone does it (all its casts, its own passes), and returns it as JSON or the
// error's text.
func modelWith(t *testing.T, files []string, fast bool) (out string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			out = fmt.Sprint("error: compose-go panicked: ", r)
		}
	}()
	ctx := context.Background()
	opts, err := projectOptions("fast", files)
	if err != nil {
		t.Fatal(err)
	}
	var dict map[string]any
	if fast {
		var m *model
		m, err = readModel(ctx, opts, true)
		if m != nil {
			dict = m.dict
		}
	} else {
		dict, err = composeGoModel(ctx, opts)
	}
	if err != nil {
		return "error: " + err.Error()
	}
	b, err := json.Marshal(dict)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func composeGoModel(ctx context.Context, opts *cli.ProjectOptions) (map[string]any, error) {
	wd, err := opts.GetWorkingDir()
	if err != nil {
		return nil, err
	}
	details, err := opts.ReadConfigFiles(ctx, wd, opts)
	if err != nil {
		return nil, err
	}
	details.Environment = opts.Environment
	return loader.LoadModelWithContext(ctx, *details, func(o *loader.Options) {
		o.SetProjectName(opts.Name, true)
		o.ResolvePaths = true
		o.Profiles = []string{"*"}
	})
}

// sameFast checks that berth's fast load (only the needed casts, its own run of the default
// values and relative paths passes) gives compose-go's model or error.
func sameFast(t *testing.T, files ...string) {
	t.Helper()
	full, fast := modelWith(t, files, false), modelWith(t, files, true)
	if strings.HasPrefix(full, "error:") && strings.HasPrefix(fast, "error:") {
		// Both refuse the file. Which problem compose-go reports first among several depends
		// on map order, so the texts may differ from one load to the next.
		return
	}
	if full != fast {
		t.Fatalf("%v: models differ\ncompose-go:\n%s\nberth:\n%s", files, full, fast)
	}
}

// The values compose-go casts (numbers and booleans written as strings or interpolated), in
// every place a pattern can reach: top-level objects, services, lists, merge keys, aliases.
const castsFile = `x-common: &common
  read_only: "${RO:-true}"
  stdin_open: "yes"
services:
  web:
    <<: *common
    image: x:1
    cpu_count: "2"
    init: "${INIT:-false}"
    ulimits:
      nofile: {soft: "${SOFT:-1024}", hard: "2048"}
      nproc: "${NPROC:-64}"
    ports:
      - target: "${PORT:-80}"
        published: "8080"
    volumes:
      - type: volume
        source: v
        target: /v
        read_only: "${VRO:-true}"
        volume: {nocopy: "true"}
    healthcheck: {test: [CMD, "true"], retries: "${RETRIES:-3}"}
    deploy:
      replicas: ${REPLICAS:-2}
      update_config: {parallelism: "2", max_failure_ratio: "0.5"}
      restart_policy: {max_attempts: "${MAX:-3}"}
      placement: {max_replicas_per_node: "1"}
  other:
    image: x:1
    deploy:
      replicas: "${BAD_REPLICAS:-two}"
networks:
  n: {external: "${EXT:-false}", attachable: "true"}
volumes:
  v: {external: "false"}
`

// Every place compose-go sets a default value or resolves a relative path.
const pathsFile = `services:
  web:
    image: x:1
    build: {}
    env_file: [./web.env, {path: ./more.env, required: false}]
    label_file: ./labels
    volumes:
      - ./data:/data
      - {type: bind, source: ../up, target: /up}
      - {type: volume, source: v, target: /v}
      - ~/home:/home
    secrets: [s, {source: s, target: /x}]
    configs: [{source: c}]
    ports: ["8080:80", {target: 81}]
    gpus: [{driver: nvidia}]
    develop: {watch: [{path: ./src, action: sync, target: /src}]}
    deploy:
      resources: {reservations: {devices: [{capabilities: [gpu]}]}}
  built:
    build: {context: ./ctx, additional_contexts: {a: ./a}, ssh: [default=./key]}
x-top.volumes: {}
volumes:
  v: {}
  local: {driver: local, driver_opts: {type: none, o: bind, device: ./dev}}
secrets:
  s: {file: ./s.txt}
configs:
  c: {file: ./c.txt}
`

func TestFastLoadChangesNothing(t *testing.T) {
	t.Setenv("RO", "false")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	casts := write("casts.yml", castsFile)
	good := write("good.yml", castsFile[:len(castsFile)-len("  other:\n    image: x:1\n    deploy:\n      replicas: \"${BAD_REPLICAS:-two}\"\nnetworks:\n  n: {external: \"${EXT:-false}\", attachable: \"true\"}\nvolumes:\n  v: {external: \"false\"}\n")]+"volumes:\n  v: {}\n")
	override := write("override.yml", "services:\n  web:\n    deploy:\n      replicas: \"5\"\n    tty: \"true\"\n")
	if got := modelWith(t, []string{casts}, false); got[:6] != "error:" {
		t.Fatalf("a replicas of \"two\" loaded:\n%s", got)
	}
	if got := modelWith(t, []string{good}, true); got[:6] == "error:" {
		t.Fatalf("the file of casts does not load: %s", got)
	}
	sameFast(t, casts)
	sameFast(t, good)
	sameFast(t, good, override)
	for _, glob := range []string{"testdata/conformance/*.yml", "testdata/conformance/corpus/*.yml", "testdata/golden/*.yml", "testdata/update/*.yml"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			sameFast(t, f)
		}
	}
	paths := write("paths.yml", pathsFile)
	if got := modelWith(t, []string{paths}, true); !strings.Contains(got, `"source":"`+filepath.Join(dir, "data")+`"`) {
		t.Fatalf("the file of paths does not load with its paths resolved: %s", got)
	}
	sameFast(t, paths)
	sameFast(t, paths, override)
	// Files that reach other files keep compose-go's own passes, which run per file.
	write("sub/base.yml", "services:\n  base:\n    image: x:1\n    build: {}\n    volumes: [./data:/data]\n")
	include := write("include.yml", "include: [sub/base.yml]\nservices:\n  web: {image: x:1, volumes: [./web:/web]}\n")
	extends := write("extends.yml", "services:\n  web:\n    extends: {file: sub/base.yml, service: base}\n    env_file: [./web.env]\n")
	for _, f := range []string{include, extends} {
		if got := modelWith(t, []string{f}, true); !strings.Contains(got, filepath.Join(dir, "sub", "data")) {
			t.Fatalf("%s does not load with the paths of sub/base.yml resolved there: %s", f, got)
		}
		sameFast(t, f)
	}
	sameFast(t, "testdata/merge/base.yml", "testdata/merge/override.yml")
	sameFast(t, filepath.Join(dir, "missing.yml"))
}

// FuzzFastLoad: for any file, berth's fast load gives what compose-go alone gives, the same
// model or an error.
func FuzzFastLoad(f *testing.F) {
	f.Add([]byte(castsFile))
	f.Add([]byte("services:\n  a:\n    image: x\n    deploy: {replicas: \"3\"}\n"))
	f.Add([]byte("networks.n:\n  external: \"true\"\nservices: {a: {image: x, networks: [n]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(t.TempDir(), "stack.yml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sameFast(t, file)
	})
}
