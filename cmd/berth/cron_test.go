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
	if code := run(ctx, []string{"cron", "run", "--file", jobs, "--state", state, "--shutdown-grace", "20s"}); code != 0 {
		t.Fatalf("cron run: exit %d", code)
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
	bg := context.Background()
	if code := run(bg, []string{"cron", "ls", "--state", state}); code != 0 {
		t.Errorf("cron ls --state: exit %d", code)
	}
	if code := run(bg, []string{"cron", "ls", "--file", jobs}); code != 0 {
		t.Errorf("cron ls --file: exit %d", code)
	}
	if code := run(bg, []string{"cron", "history", name, "--state", state, "--output"}); code != 0 {
		t.Errorf("cron history: exit %d", code)
	}
	if code := run(bg, []string{"cron", "history", "--state", state, "nope"}); code != 1 {
		t.Errorf("history of an unknown job: exit %d; want 1", code)
	}
	if code := run(bg, []string{"cron", "run"}); code != 1 {
		t.Errorf("cron run with nothing to schedule: exit %d; want 1", code)
	}
}
