package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // CRON_TZ works in a FROM scratch image with no zoneinfo

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/cron"
)

// `berth cron run` also runs as a container, FROM scratch with the static binary and the
// engine socket mounted:
//
//	CGO_ENABLED=0 go build -o berth ./cmd/berth
//	printf 'FROM scratch\nCOPY berth /berth\nENTRYPOINT ["/berth", "cron", "run"]\n' > Dockerfile
//	docker build -t berth-cron . && docker run -d -v /var/run/docker.sock:/var/run/docker.sock berth-cron --labels

// cronState is what `berth cron run` writes to its state file for `cron ls` and `cron history`.
type cronState struct {
	Written time.Time      `json:"written"`
	Jobs    []cronStateJob `json:"jobs"`
}

type cronStateJob struct {
	Name     string        `json:"name"`
	Schedule string        `json:"schedule"`
	Source   string        `json:"source,omitempty"`
	Task     string        `json:"task"`
	Overlap  string        `json:"overlap"`
	Timeout  string        `json:"timeout,omitempty"`
	Next     time.Time     `json:"next"`
	Running  int           `json:"running"`
	History  []cron.Result `json:"history"`
}

func defaultCronState() string { return filepath.Join(os.TempDir(), "berth-cron", "state.json") }

func init() {
	addGroup(func() *cobra.Command {
		return newGroup("cron", "Run scheduled jobs against the engine", newCronRun(), newCronLs(), newCronHistory())
	})
}

func newCronRun() *cobra.Command {
	cmd := newVerb("run [OPTIONS]", "Run scheduled jobs in the foreground (--labels, --file jobs.yaml)", noArgs, nil)
	f := cmd.Flags()
	labels := f.Bool("labels", false, "Schedule jobs declared by berth.cron.* and swarm.cronjob.* labels")
	file := f.String("file", "", "A jobs file (YAML or JSON)")
	state := f.String("state", defaultCronState(), "Where to write the jobs and their history for `cron ls` and `cron history`")
	reconcile := f.Duration("reconcile", 30*time.Second, "Period of the full label reconcile")
	grace := f.Duration("shutdown-grace", 0, "On SIGINT/SIGTERM, wait this long for runs in progress before cancelling them")
	history := f.Int("history", 20, "Runs kept per job")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return cronRun(cmd.Context(), labels, file, state, reconcile, grace, history)
	}
	return cmd
}

// cronRun runs the scheduler until ctx ends.
func cronRun(ctx context.Context, labels *bool, file, state *string, reconcile, grace *time.Duration, history *int) error {
	if !*labels && *file == "" {
		return errors.New("cron run: nothing to schedule: give --labels, --file jobs.yaml or both")
	}
	var jobs []cron.Job
	if *file != "" {
		var err error
		if jobs, err = cron.LoadFile(*file); err != nil {
			return err
		}
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	opts := []cron.Option{cron.WithShutdownGrace(*grace), cron.WithHistory(*history)}
	if *labels {
		opts = append(opts, cron.WithLabels(cron.LabelOptions{Reconcile: *reconcile}))
	}
	s, err := cron.New(cli, opts...)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := s.Add(j); err != nil {
			return err
		}
	}
	return runAndReport(ctx, s, *state)
}

// runAndReport runs s until ctx ends, printing events and keeping the state file current.
func runAndReport(ctx context.Context, s *cron.Scheduler, state string) error {
	evctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	events := s.Events(evctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range events {
			if err != nil {
				fmt.Fprintln(os.Stderr, "berth cron:", err)
				continue
			}
			fmt.Fprintln(stdout(), ev)
			if err := writeCronState(s, state); err != nil {
				fmt.Fprintln(os.Stderr, "berth cron: state:", err)
			}
		}
	}()
	fmt.Fprintf(stdout(), "berth cron: %d jobs scheduled; state in %s; stop with Ctrl-C\n", len(s.Jobs()), state)
	writeCronState(s, state)
	err := s.Run(ctx)
	writeCronState(s, state)
	stop()
	<-done
	return err
}

func writeCronState(s *cron.Scheduler, path string) error {
	st := cronState{Written: time.Now()}
	for _, j := range s.Jobs() {
		h, _ := s.History(j.Name)
		sj := cronStateJob{Name: j.Name, Schedule: j.Schedule, Source: j.Source, Task: describeTask(j.Task),
			Overlap: string(j.Overlap), Next: j.Next, Running: j.Running, History: h}
		if j.Timeout > 0 {
			sj.Timeout = j.Timeout.String()
		}
		st.Jobs = append(st.Jobs, sj)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func describeTask(t cron.Task) string {
	switch t := t.(type) {
	case *cron.ContainerTask:
		return "container " + t.Image + " " + strings.Join(t.Cmd, " ")
	case *cron.ExecTask:
		target := t.Container
		if target == "" {
			target = "label " + t.Label
		}
		if len(target) > 24 {
			target = target[:12]
		}
		return "exec in " + target + ": " + strings.Join(t.Cmd, " ")
	case *cron.ServiceTask:
		name := t.Service
		if t.Spec != nil && name == "" {
			name = t.Spec.Name
		}
		return "service " + name
	default:
		return fmt.Sprintf("%T", t)
	}
}

func readCronState(path string) (cronState, error) {
	var st cronState
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("no state at %s: is `berth cron run` running (with the same --state)?", path)
	}
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(data, &st)
}

func newCronLs() *cobra.Command {
	cmd := newVerb("ls [OPTIONS]", "List scheduled jobs with their next and last runs", noArgs, nil)
	state := cmd.Flags().String("state", defaultCronState(), "The state file of `berth cron run`")
	file := cmd.Flags().String("file", "", "List the jobs of this file (next runs from now) instead of a running scheduler's")
	cmd.RunE = func(*cobra.Command, []string) error { return cronLs(state, file) }
	return cmd
}

func cronLs(state, file *string) error {
	var st cronState
	if *file != "" {
		jobs, err := cron.LoadFile(*file)
		if err != nil {
			return err
		}
		now := time.Now()
		for _, j := range jobs {
			sc, _ := cron.ParseSchedule(j.Schedule)
			st.Jobs = append(st.Jobs, cronStateJob{Name: j.Name, Schedule: j.Schedule, Source: j.Source, Task: describeTask(j.Task), Next: sc.Next(now)})
		}
	} else {
		var err error
		if st, err = readCronState(*state); err != nil {
			return err
		}
	}
	w := tabwriter.NewWriter(stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSCHEDULE\tNEXT\tLAST\tSTATUS\tRUNNING\tTASK")
	for _, j := range st.Jobs {
		last, status := "-", "-"
		if n := len(j.History); n > 0 {
			r := j.History[n-1]
			last, status = r.Scheduled.Local().Format(time.DateTime), string(r.Status)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", j.Name, j.Schedule, j.Next.Local().Format(time.DateTime), last, status, j.Running, j.Task)
	}
	return w.Flush()
}

func newCronHistory() *cobra.Command {
	cmd := newVerb("history [OPTIONS] JOB", "Show the last runs of a job", exactArgs(1), nil)
	state := cmd.Flags().String("state", defaultCronState(), "The state file of `berth cron run`")
	output := cmd.Flags().Bool("output", false, "Print each run's captured stdout and stderr")
	cmd.RunE = func(_ *cobra.Command, args []string) error { return cronHistory(*state, *output, args[0]) }
	return cmd
}

func cronHistory(stateFile string, output bool, job string) error {
	state := &stateFile
	st, err := readCronState(*state)
	if err != nil {
		return err
	}
	for _, j := range st.Jobs {
		if j.Name != job {
			continue
		}
		w := tabwriter.NewWriter(stdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "RUN\tSCHEDULED\tSTATUS\tEXIT\tDURATION\tERROR")
		for _, r := range j.History {
			fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\n", r.Seq, r.Scheduled.Local().Format(time.DateTime), r.Status, r.ExitCode, r.Duration.Round(time.Millisecond), r.Err)
		}
		w.Flush()
		if output {
			for _, r := range j.History {
				fmt.Fprintf(stdout(), "--- run %d stdout ---\n%s--- run %d stderr ---\n%s", r.Seq, r.Stdout, r.Seq, r.Stderr)
			}
		}
		return nil
	}
	return fmt.Errorf("cron history: no job %q in %s", job, *state)
}
