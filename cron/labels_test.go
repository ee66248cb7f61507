package cron

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth"
	"github.com/moby/moby/api/types/swarm"
)

func TestJobFromContainerLabels(t *testing.T) {
	job, ok, err := JobFromContainerLabels("/web", "abc123", map[string]string{
		LabelSchedule: "*/10 * * * * *", LabelCommand: "date >> /log", LabelOverlap: "replace", LabelTimeout: "5s", "other": "x",
	})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	task, _ := job.Task.(*ExecTask)
	if job.Name != "container/web" || job.Source != SourceLabels || job.Overlap != Replace || job.Timeout != 5*time.Second ||
		task == nil || task.Container != "abc123" || !slices.Equal(task.Cmd, []string{"sh", "-c", "date >> /log"}) {
		t.Fatalf("%+v %+v", job, task)
	}
	if _, ok, err := JobFromContainerLabels("/plain", "id", map[string]string{"a": "b"}); ok || err != nil {
		t.Fatalf("unlabelled container: %v %v", ok, err)
	}
}

func TestBadLabels(t *testing.T) {
	_, ok, err := JobFromContainerLabels("/web", "id", map[string]string{
		LabelSchedule: "61 * * * *", LabelOverlap: "sometimes", LabelTimeout: "soon", "berth.cron.shedule": "typo",
	})
	want := map[string]string{
		"cron/jobs/container/web/labels/berth.cron.command":  "missing",
		"cron/jobs/container/web/labels/berth.cron.overlap":  "accepted: skip, allow, replace",
		"cron/jobs/container/web/labels/berth.cron.schedule": "above maximum (59)",
		"cron/jobs/container/web/labels/berth.cron.shedule":  "unknown label; accepted: berth.cron.schedule",
		"cron/jobs/container/web/labels/berth.cron.timeout":  "accepted: a Go duration",
	}
	checkProblems(t, ok, err, want)

	svc := swarm.Service{ID: "sid", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "backup", Labels: map[string]string{
		SwarmCronjobEnable: "true", SwarmCronjobSchedule: "@weekly2", SwarmCronjobSkipRunning: "maybe", SwarmCronjobReplicas: "-1",
		"swarm.cronjob.query-registry": "false", "swarm.cronjob.typo": "x",
	}}}}
	_, ok, err = JobFromServiceLabels(svc)
	checkProblems(t, ok, err, map[string]string{
		"cron/jobs/service/backup/labels/swarm.cronjob.replicas":     "positive whole number",
		"cron/jobs/service/backup/labels/swarm.cronjob.schedule":     "unrecognized descriptor",
		"cron/jobs/service/backup/labels/swarm.cronjob.skip-running": "not a boolean",
		"cron/jobs/service/backup/labels/swarm.cronjob.typo":         "unknown label",
	})
}

func checkProblems(t *testing.T, ok bool, err error, want map[string]string) {
	t.Helper()
	if !ok || !errors.Is(err, berth.ErrInvalid) {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	got := berth.ValidationErrors(err)
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(got), len(want), err)
	}
	for _, ve := range got {
		if w, ok := want[ve.Path]; !ok || !strings.Contains(ve.Msg, w) {
			t.Errorf("problem %s: %s (want it to contain %q)", ve.Path, ve.Msg, w)
		}
	}
}

func TestJobFromServiceLabels(t *testing.T) {
	cases := []struct {
		labels   map[string]string
		ok       bool
		overlap  Overlap
		replicas uint64
	}{
		{map[string]string{SwarmCronjobEnable: "true", SwarmCronjobSchedule: "@every 5s"}, true, Allow, 0},
		{map[string]string{SwarmCronjobEnable: "true", SwarmCronjobSchedule: "@every 5s", SwarmCronjobSkipRunning: "true", SwarmCronjobReplicas: "2"}, true, Skip, 2},
		{map[string]string{SwarmCronjobEnable: "false", SwarmCronjobSchedule: "@every 5s"}, false, "", 0},
		{map[string]string{LabelSchedule: "0 3 * * *", LabelReplicas: "3", LabelTimeout: "1m"}, true, "", 3},
		{map[string]string{"com.docker.stack.namespace": "x"}, false, "", 0},
	}
	for i, c := range cases {
		svc := swarm.Service{ID: "sid", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "job", Labels: c.labels}}}
		job, ok, err := JobFromServiceLabels(svc)
		if err != nil || ok != c.ok {
			t.Fatalf("case %d: ok=%v err=%v", i, ok, err)
		}
		if !ok {
			continue
		}
		task := job.Task.(*ServiceTask)
		if job.Name != "service/job" || job.Overlap != c.overlap || task.Service != "sid" || task.Replicas != c.replicas {
			t.Errorf("case %d: %+v %+v", i, job, task)
		}
	}
}

func FuzzJobFromLabels(f *testing.F) {
	f.Add("@every 1s", "date", "skip", "30s", "2", "true")
	f.Add("61 * * * *", "", "sometimes", "soon", "-1", "maybe")
	f.Fuzz(func(t *testing.T, schedule, command, overlap, timeout, replicas, enable string) {
		_, ok, err := JobFromContainerLabels("/c", "id", map[string]string{LabelSchedule: schedule, LabelCommand: command, LabelOverlap: overlap, LabelTimeout: timeout})
		if !ok || err != nil && !errors.Is(err, berth.ErrInvalid) {
			t.Fatalf("container labels: ok=%v err=%v", ok, err)
		}
		svc := swarm.Service{ID: "s", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "s", Labels: map[string]string{
			SwarmCronjobEnable: enable, SwarmCronjobSchedule: schedule, SwarmCronjobReplicas: replicas, SwarmCronjobSkipRunning: enable}}}}
		if _, _, err := JobFromServiceLabels(svc); err != nil && !errors.Is(err, berth.ErrInvalid) {
			t.Fatalf("service labels: %v", err)
		}
	})
}
