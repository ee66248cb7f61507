package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"

	cerrdefs "github.com/containerd/errdefs"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
)

// The stack group: `berth stack deploy|plan|rm|ls|services|ps|config`, the Docker CLI's stack
// verbs plus plan and config.

func init() { addGroup(newStackCommand) }

func newStackCommand() *cobra.Command {
	return newGroup("stack", "Manage Swarm stacks",
		newStackDeploy(), newStackPlan(), newStackRm(), newStackLs(), newStackServices(), newStackPs(), newStackConfig())
}

// loadStack loads and compiles the stack name from the Compose files.
func loadStack(ctx context.Context, files []string, name, apiVersion string) (*stack.Stack, *stack.Spec, error) {
	if len(files) == 0 {
		return nil, nil, errors.New("Specify a Compose file (with --compose-file)")
	}
	st, err := stack.Load(ctx, name, files...)
	if err != nil {
		return nil, nil, err
	}
	spec, err := st.CompileFor(apiVersion)
	if err != nil {
		return nil, nil, err
	}
	warn(spec.Warnings)
	return st, spec, nil
}

func warn[T any](ws []T) {
	for _, w := range ws {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
}

// newStackConfig prints the merged, interpolated Compose file as `docker stack config` does
// (STACK is optional), or with --format json the Engine specs of the compiled stack (named
// STACK, or after the first file's directory). Inline secret data shows as <redacted>.
func newStackConfig() *cobra.Command {
	var files []string
	var format string
	cmd := newVerb("config [OPTIONS] [STACK]", "Outputs the final config file, after doing merges and interpolations", rangeArgs(0, 1), func(cmd *cobra.Command, args []string) error {
		if len(files) == 0 {
			return usageFail(cmd, 1, "Specify a Compose file (with --compose-file)")
		}
		switch format {
		case "", "compose":
			out, err := stack.MergedCompose(cmd.Context(), files...)
			if err != nil {
				return err
			}
			_, err = stdout().Write(out)
			return err
		case "json":
			if len(args) == 0 {
				abs, _ := filepath.Abs(files[0])
				args = []string{loader.NormalizeProjectName(filepath.Base(filepath.Dir(abs)))}
			}
			_, spec, err := loadStack(cmd.Context(), files, args[0], "")
			if err != nil {
				return err
			}
			e := json.NewEncoder(stdout())
			e.SetIndent("", "  ")
			e.SetEscapeHTML(false)
			return e.Encode(spec)
		}
		return usageFail(cmd, 125, fmt.Sprintf("--format %q: want compose or json", format))
	})
	cmd.Flags().StringSliceVarP(&files, "compose-file", "c", nil, `Path to a Compose file, or "-" to read from stdin`)
	cmd.Flags().StringVar(&format, "format", "compose", `"compose": the merged, interpolated Compose file (as docker stack config); "json": the Engine specs`)
	return cmd
}

// deployFlags are the flags stack deploy and stack plan share.
type deployFlags struct {
	files         []string
	prune         bool
	resolve       stack.ResolveMode
	registryAuth  bool
	skipPreflight bool
}

func (d *deployFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVarP(&d.files, "compose-file", "c", nil, `Path to a Compose file, or "-" to read from stdin (repeatable or comma-separated; later files override earlier ones)`)
	f.BoolVar(&d.prune, "prune", false, "Prune services, networks, secrets and configs that are no longer referenced")
	f.StringVar((*string)(&d.resolve), "resolve-image", string(stack.ResolveAlways), `Query the registry to resolve image digest and supported platforms ("always", "changed", "never")`)
	f.BoolVar(&d.registryAuth, "with-registry-auth", false, "Send registry authentication details to Swarm agents")
	f.BoolVar(&d.skipPreflight, "skip-preflight", false, "Skip the checks against the live swarm before the first write (constraints no node matches yet, for workers that join later)")
	cmd.ValidArgsFunction = completeNames(stackNames)
}

func (d *deployFlags) check(cmd *cobra.Command) error {
	switch d.resolve {
	case stack.ResolveAlways, stack.ResolveChanged, stack.ResolveNever:
		return nil
	}
	return usageFail(cmd, 125, fmt.Sprintf("invalid argument %q for \"--resolve-image\" flag: want always, changed or never", string(d.resolve)))
}

// verb is stack deploy or stack plan: run gets the stack STACK compiled for the engine.
func (d *deployFlags) verb(use, short string, run func(*cobra.Command, *client.Client, *stack.Spec) error) *cobra.Command {
	cmd := engineVerb(use, short, exactArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		if err := d.check(cmd); err != nil {
			return err
		}
		_, spec, err := loadStack(cmd.Context(), d.files, args[0], cli.ClientVersion())
		if err != nil {
			return err
		}
		return run(cmd, cli, spec)
	})
	d.add(cmd)
	return cmd
}

func (d *deployFlags) planOptions() stack.PlanOptions {
	o := stack.PlanOptions{Prune: d.prune, ResolveImage: d.resolve, SkipPreflight: d.skipPreflight}
	if d.registryAuth {
		o.RegistryAuth = registryAuthFor
	}
	return o
}

func newStackDeploy() *cobra.Command {
	var d deployFlags
	var detach, quiet, noRollback bool
	var timeout time.Duration
	var progress string
	cmd := d.verb("deploy [OPTIONS] STACK", "Deploy a new stack or update an existing stack", func(cmd *cobra.Command, cli *client.Client, spec *stack.Spec) error {
		out := io.Writer(stdout())
		if quiet {
			out = io.Discard
		}
		view, err := newProgress(out, progress)
		if err != nil {
			return err
		}
		res, err := stack.Deploy(cmd.Context(), cli, spec, stack.DeployOptions{PlanOptions: d.planOptions(), Progress: showEvent(view),
			Wait: !detach, Watch: swarm.WatchOptions{Timeout: timeout}, NoRollback: noRollback})
		if res != nil {
			warn(res.Warnings)
		}
		switch {
		case err != nil:
			return err
		case !res.Plan.HasChanges():
			view.Line(fmt.Sprintf("Stack %s is up to date: nothing to do", spec.Stack))
		case !detach && len(res.Services()) > 0:
			view.Line(fmt.Sprintf("Stack %s converged", spec.Stack))
		}
		return nil
	})
	f := cmd.Flags()
	f.BoolVarP(&detach, "detach", "d", false, "Exit immediately instead of waiting for the stack services to converge")
	f.BoolVarP(&quiet, "quiet", "q", false, "Suppress progress output")
	f.BoolVar(&noRollback, "no-rollback", false, "Keep what a failed deploy wrote instead of undoing it")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "How long to wait for the services to converge")
	addProgressFlag(cmd, &progress)
	cmd.Aliases = []string{"up"}
	return cmd
}

// showEvent shows a stack's events on view: actions and undos as lines, services' progress
// redrawn per service.
func showEvent(view *progressView) func(stack.Event) {
	return func(ev stack.Event) {
		if ev.Type == stack.EventProgress {
			view.Set(ev.ServiceID, ev.Progress.String())
			return
		}
		view.Line(ev.String())
	}
}

func newStackPlan() *cobra.Command {
	var d deployFlags
	var asJSON, exitCode bool
	cmd := d.verb("plan [OPTIONS] STACK", "Show what deploy would change, writing nothing", func(cmd *cobra.Command, cli *client.Client, spec *stack.Spec) error {
		ctx := cmd.Context()
		plan, perr := spec.Plan(ctx, cli, d.planOptions())
		if plan == nil {
			return perr
		}
		warn(plan.Warnings)
		if asJSON {
			e := json.NewEncoder(stdout())
			e.SetIndent("", "  ")
			if err := e.Encode(plan); err != nil {
				return err
			}
		} else {
			fmt.Fprint(stdout(), plan)
		}
		switch {
		case perr != nil:
			return perr
		case exitCode && plan.HasChanges():
			return &exitError{code: 2}
		}
		return nil
	})
	cmd.Flags().BoolVar(&asJSON, "json", false, "Print the plan as JSON")
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "Exit 2 when the plan has changes, 0 when it has none")
	return cmd
}

func newStackRm() *cobra.Command {
	var detach bool
	var timeout time.Duration
	cmd := engineVerb("rm [OPTIONS] STACK [STACK...]", "Remove one or more stacks", minArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		ctx := cmd.Context()
		var errs []error
		for _, name := range args {
			opts := stack.RemoveOptions{Timeout: timeout, Wait: !detach, Progress: func(ev stack.Event) { fmt.Fprintln(stdout(), ev) }}
			err := stack.Remove(ctx, cli, name, opts)
			switch {
			case errors.Is(err, stack.ErrNoStack):
				fmt.Fprintf(os.Stderr, "Nothing found in stack: %s\n", name) // exit 0, as the Docker CLI
			case err != nil:
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "Do not wait for stack removal")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "How long to wait for the stack's networks to be gone")
	cmd.Aliases = []string{"remove", "down"}
	cmd.ValidArgsFunction = completeNames(stackNames)
	return cmd
}

type stackRow struct {
	Name, Services string
}

func newStackLs() *cobra.Command {
	var o listOptions
	cmd := engineVerb("ls [OPTIONS]", "List stacks", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		stacks, err := stack.List(cmd.Context(), cli)
		if err != nil {
			return err
		}
		var rows []stackRow
		for _, s := range stacks {
			rows = append(rows, stackRow{Name: s.Name, Services: fmt.Sprint(s.Services)})
		}
		return printRows(stdout(), o, "{{.Name}}\t{{.Services}}", rows, func(r stackRow) string { return r.Name })
	})
	cmd.Flags().StringVar(&o.format, "format", "", "Format output using a custom template ('table', 'table TEMPLATE', 'json', 'TEMPLATE')")
	cmd.Aliases = []string{"list"}
	return cmd
}

func newStackServices() *cobra.Command {
	var o listOptions
	cmd := engineVerb("services [OPTIONS] STACK", "List the services in the stack", exactArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		f, err := o.filterArgs("id", "label", "mode", "name")
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		svcs, err := listServices(ctx, cli, f.Add("label", stack.LabelNamespace+"="+args[0]))
		if err != nil {
			return err
		}
		if len(svcs) == 0 && len(o.filters) == 0 {
			fmt.Fprintf(os.Stderr, "Nothing found in stack: %s\n", args[0])
			return nil
		}
		return printRows(stdout(), o, serviceTable, serviceRows(o, svcs), func(r serviceRow) string { return r.ID })
	})
	addListFlags(cmd, &o, "IDs", "id, label, mode, name", false)
	cmd.ValidArgsFunction = completeNames(stackNames)
	return cmd
}

func newStackPs() *cobra.Command {
	var o listOptions
	var noResolve bool
	cmd := engineVerb("ps [OPTIONS] STACK", "List the tasks in the stack", exactArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		f, err := o.filterArgs("id", "name", "node", "desired-state", "label")
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		tasks, err := swarm.ListTasks(ctx, cli, f.Add("label", stack.LabelNamespace+"="+args[0]))
		if err != nil {
			return err
		}
		if len(tasks) == 0 {
			return fmt.Errorf("nothing found in stack: %s: %w", args[0], cerrdefs.ErrNotFound)
		}
		rows := taskRows(o, tasks, time.Now(), noResolve)
		return printRows(stdout(), o, taskTable, rows, func(r taskRow) string { return r.ID })
	})
	addListFlags(cmd, &o, "task IDs", "id, name, node, desired-state, label", true)
	cmd.Flags().BoolVar(&noResolve, "no-resolve", false, "Do not map IDs to Names")
	cmd.ValidArgsFunction = completeNames(stackNames)
	return cmd
}

// listServices lists services matching filters, with task counts, sorted by name.
func listServices(ctx context.Context, cli client.ServiceAPIClient, f client.Filters) ([]swarmapi.Service, error) {
	res, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: f, Status: true})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	sortServices(res.Items)
	return res.Items, nil
}
