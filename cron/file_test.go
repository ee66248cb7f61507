package cron

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth"
	"github.com/moby/moby/api/types/mount"
)

const goodFile = `
jobs:
  - name: stamp
    schedule: "@every 5s"
    timeout: 30s
    container:
      image: busybox:latest
      command: [sh, -c, "date >> /data/log"]
      volumes: ["stamps:/data", "/srv/in:/in:ro"]
  - name: reindex
    schedule: "CRON_TZ=Europe/Paris 0 3 * * *"
    overlap: replace
    exec: {label: app=web, command: [true]}
  - name: report
    schedule: "@daily"
    service: {name: report, replicas: 2}
`

func TestParseFile(t *testing.T) {
	jobs, err := ParseFile([]byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 || jobs[0].Timeout != 30*time.Second || jobs[1].Overlap != Replace || jobs[2].Source != SourceFile {
		t.Fatalf("%+v", jobs)
	}
	c := jobs[0].Task.(*ContainerTask)
	want := []mount.Mount{{Type: mount.TypeVolume, Source: "stamps", Target: "/data"}, {Type: mount.TypeBind, Source: "/srv/in", Target: "/in", ReadOnly: true}}
	if len(c.Mounts) != 2 || c.Mounts[0] != want[0] || c.Mounts[1] != want[1] {
		t.Errorf("mounts: %+v", c.Mounts)
	}
	if s := jobs[2].Task.(*ServiceTask); s.Service != "report" || s.Replicas != 2 {
		t.Errorf("service: %+v", s)
	}
}

func TestParseFileProblems(t *testing.T) {
	_, err := ParseFile([]byte(`
jobs:
  - name: a
    schedule: "*/0 * * * *"
    timeout: soon
    container: {image: x, volumes: ["nocolon"]}
    exec: {container: c, command: [x]}
  - schedule: "@weekly2"
    overlap: maybe
`))
	for _, want := range []string{
		"cron/jobs/a/schedule", "cron/jobs/a/timeout", "cron/jobs/a/container/volumes[0]", "cron/jobs/a/task: 2 of container",
		"cron/jobs/#2/schedule", "cron/jobs/#2/overlap", "cron/jobs/#2/task: missing",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, err := ParseFile([]byte("jobs:\n  - name: a\n    shedule: x\n")); !errors.Is(err, berth.ErrInvalid) || !strings.Contains(err.Error(), "shedule") {
		t.Errorf("unknown field: %v", err)
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add([]byte(goodFile))
	f.Add([]byte("jobs: [{name: a, schedule: '@every 1s', exec: {container: c, command: [x]}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		jobs, err := ParseFile(data)
		if err != nil && !errors.Is(err, berth.ErrInvalid) {
			t.Fatalf("error %v does not match berth.ErrInvalid", err)
		}
		for _, j := range jobs {
			if _, err := j.validate(); err != nil {
				t.Fatalf("ParseFile returned an invalid job: %v", err)
			}
		}
	})
}

// A command written as a string is split with the Docker CLI's shell-word rules: operators
// stay words (the exec gets them; a shell would need sh -c).
func TestParseFileCommandString(t *testing.T) {
	jobs, err := ParseFile([]byte("jobs:\n  - name: s\n    schedule: \"@daily\"\n    container:\n      image: busybox:latest\n      entrypoint: /bin/sh -c\n      command: 'echo \"a b\" && date'\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := jobs[0].Task.(*ContainerTask)
	if strings.Join(c.Entrypoint, "|") != "/bin/sh|-c" || strings.Join(c.Cmd, "|") != "echo|a b|&&|date" {
		t.Errorf("entrypoint %q command %q", c.Entrypoint, c.Cmd)
	}
	if _, err := ParseFile([]byte("jobs:\n  - name: s\n    schedule: \"@daily\"\n    exec: {container: web, command: 'echo \"open'}\n")); err == nil {
		t.Error("an unterminated quote was accepted")
	}
}
