package cron

import (
	"context"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/berthdev/berth"
)

// Overlap says what happens when a run is due while the previous run of the same job is still
// going.
type Overlap string

const (
	// Skip does not start the new run (the default); a Skipped event and history entry say so.
	Skip Overlap = "skip"
	// Allow starts the new run beside the running one.
	Allow Overlap = "allow"
	// Replace cancels the running one (its container is removed) and starts the new run.
	Replace Overlap = "replace"
)

// OverlapForms lists the accepted overlap policies.
const OverlapForms = "skip, allow, replace"

// Job is one scheduled job.
type Job struct {
	// Name identifies the job: letters, digits and "_.-/:@", at most 128 characters.
	Name string
	// Schedule is a cron expression (see ParseSchedule).
	Schedule string
	// Task is what runs: a *ContainerTask, an *ExecTask, a *ServiceTask or a TaskFunc.
	Task Task
	// Overlap is the policy when a run is due while one is still going; empty means Skip.
	Overlap Overlap
	// Timeout cancels a run that lasts longer (its container is killed and removed); 0 means
	// no limit.
	Timeout time.Duration
	// Source says where the job came from ("" for code, "labels", "file"); jobs from labels
	// are added and removed by the label watcher only.
	Source string
}

// Task is what a job runs. Run runs it once, writes what it captures to stdout and stderr, and
// returns the exit code (0 for success). A non-nil error means the run could not be carried
// out (the engine refused, the context ended); a non-zero exit code with a nil error means the
// task ran and failed.
type Task interface {
	Run(ctx context.Context, eng Engine, stdout, stderr io.Writer) (exitCode int, err error)
}

// Validator is implemented by tasks that check their fields; Add calls it before scheduling.
type Validator interface {
	Validate() error
}

// TaskFunc adapts a function to a Task.
type TaskFunc func(ctx context.Context, eng Engine, stdout, stderr io.Writer) (int, error)

// Run calls f.
func (f TaskFunc) Run(ctx context.Context, eng Engine, stdout, stderr io.Writer) (int, error) {
	return f(ctx, eng, stdout, stderr)
}

var jobName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-/:@]{0,127}$`)

// compiled is a validated job.
type compiled struct {
	Job
	sched Schedule
}

// validate checks every field of j and returns all problems, with paths "cron/jobs/NAME/FIELD".
func (j Job) validate() (compiled, error) {
	var p berth.Problems
	path := "cron/jobs/" + j.Name
	if !jobName.MatchString(j.Name) {
		p.Add("cron/jobs/"+j.Name+"/name", "%q is not a job name: want letters, digits and _.-/:@, starting with a letter or digit, at most 128 characters", j.Name)
	}
	sched, err := ParseSchedule(j.Schedule)
	if err != nil {
		p.Add(path+"/schedule", "%s", strings.TrimPrefix(err.Error(), "schedule: "))
	}
	switch j.Overlap {
	case "", Skip, Allow, Replace:
	default:
		p.Add(path+"/overlap", "%q is not an overlap policy; accepted: %s", j.Overlap, OverlapForms)
	}
	if j.Timeout < 0 {
		p.Add(path+"/timeout", "%s is negative; want a positive duration such as 30s, or 0 for no limit", j.Timeout)
	}
	switch t := j.Task.(type) {
	case nil:
		p.Add(path+"/task", "missing; want a *ContainerTask, *ExecTask, *ServiceTask or TaskFunc")
	case Validator:
		for _, ve := range berth.ValidationErrors(t.Validate()) {
			p.Add(path+"/task/"+ve.Path, "%s", ve.Msg)
		}
		if err := t.Validate(); err != nil && len(berth.ValidationErrors(err)) == 0 {
			p.Add(path+"/task", "%v", err)
		}
	}
	if err := p.Err(); err != nil {
		return compiled{}, err
	}
	if j.Overlap == "" {
		j.Overlap = Skip
	}
	return compiled{Job: j, sched: sched}, nil
}

// String returns the policy as labels and files spell it.
func (o Overlap) String() string { return string(o) }
