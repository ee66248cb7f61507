package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthdev/berth/cron"
	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
)

func TestCronRunLsHistory(t *testing.T) {
	cli := testenv.Engine(t)
	img := testenv.Image(t, cli, fixtures.Busybox)
	dir := t.TempDir()
	jobs := filepath.Join(dir, "jobs.yaml")
	name := testenv.Name(t, "cli")
	os.WriteFile(jobs, []byte(`jobs:
  - name: `+name+`
    schedule: "@every 1s"
    container: {image: `+img+`, command: [sh, -c, "echo from-cli"]}
`), 0o644)
	state := filepath.Join(dir, "state.json")
	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	if err := cronRun(ctx, []string{"--file", jobs, "--state", state, "--shutdown-grace", "20s"}); err != nil {
		t.Fatal(err)
	}
	var st cronState
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Jobs) != 1 || st.Jobs[0].Name != name || len(st.Jobs[0].History) == 0 {
		t.Fatalf("state: %s", data)
	}
	var ok bool
	for _, r := range st.Jobs[0].History {
		ok = ok || r.Status == cron.Succeeded && r.Stdout == "from-cli\n"
	}
	if !ok {
		t.Errorf("no successful run in %s", data)
	}
	if err := cronLs(context.Background(), []string{"--state", state}); err != nil {
		t.Error(err)
	}
	if err := cronLs(context.Background(), []string{"--file", jobs}); err != nil {
		t.Error(err)
	}
	if err := cronHistory(context.Background(), []string{"--state", state, "--output", name}); err != nil {
		t.Error(err)
	}
	if err := cronHistory(context.Background(), []string{"--state", state, "nope"}); err == nil {
		t.Error("history of an unknown job: no error")
	}
	if err := cronRun(context.Background(), nil); err == nil {
		t.Error("cron run with nothing to schedule: no error")
	}
}
