package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
)

// modelWith reads the files' model as readModel does (interpolated, normalised), with all of
// compose-go's casts or only the needed ones, and returns it as JSON or the error's text.
func modelWith(t *testing.T, files []string, onlyNeeded bool) (out string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			out = fmt.Sprint("error: compose-go panicked: ", r)
		}
	}()
	ctx := context.Background()
	opts, err := projectOptions("casts", files)
	if err != nil {
		t.Fatal(err)
	}
	wd, err := opts.GetWorkingDir()
	if err != nil {
		t.Fatal(err)
	}
	details, err := opts.ReadConfigFiles(ctx, wd, opts)
	if err != nil {
		return "error: " + err.Error()
	}
	details.Environment = opts.Environment
	options := []func(*loader.Options){func(o *loader.Options) {
		o.SetProjectName(opts.Name, true)
		o.ResolvePaths = true
		o.Profiles = []string{"*"}
	}}
	if onlyNeeded {
		options = append(options, withNeededCasts(details.ConfigFiles))
	}
	dict, err := loader.LoadModelWithContext(ctx, *details, options...)
	if err != nil {
		return "error: " + err.Error()
	}
	b, err := json.Marshal(dict)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameWithNeededCasts checks that dropping the casts no string needs changes nothing.
func sameWithNeededCasts(t *testing.T, files ...string) {
	t.Helper()
	full, fast := modelWith(t, files, false), modelWith(t, files, true)
	if strings.HasPrefix(full, "error:") && strings.HasPrefix(fast, "error:") {
		// Both refuse the file. Which problem compose-go reports first among several depends
		// on map order, so the texts may differ from one load to the next.
		return
	}
	if full != fast {
		t.Fatalf("%v: models differ with only the needed casts\nall casts:\n%s\nneeded casts:\n%s", files, full, fast)
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

func TestNeededCastsChangeNothing(t *testing.T) {
	t.Setenv("RO", "false")
	dir := t.TempDir()
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
	sameWithNeededCasts(t, casts)
	sameWithNeededCasts(t, good)
	sameWithNeededCasts(t, good, override)
	conformance, _ := filepath.Glob("testdata/conformance/*.yml")
	for _, f := range conformance {
		sameWithNeededCasts(t, f)
	}
	sameWithNeededCasts(t, "testdata/merge/base.yml", "testdata/merge/override.yml")
	sameWithNeededCasts(t, filepath.Join(dir, "missing.yml"))
}

// FuzzNeededCasts: for any file, loading with only the casts it needs gives what loading with
// all of them gives, the same project or the same error.
func FuzzNeededCasts(f *testing.F) {
	f.Add([]byte(castsFile))
	f.Add([]byte("services:\n  a:\n    image: x\n    deploy: {replicas: \"3\"}\n"))
	f.Add([]byte("networks.n:\n  external: \"true\"\nservices: {a: {image: x, networks: [n]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(t.TempDir(), "stack.yml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sameWithNeededCasts(t, file)
	})
}
