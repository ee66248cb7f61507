package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
)

// The service group: `berth service create|inspect|logs|ls|ps|rm|rollback|scale|update`, with
// the Docker CLI's flags.

func init() { addGroup(newServiceCommand) }

func newServiceCommand() *cobra.Command {
	return newGroup("service", "Manage Swarm services",
		newServiceCreate(), newServiceInspect(), newServiceLogs(), newServiceLs(), newServicePs(),
		newServiceRm(), newServiceRollback(), newServiceScale(), newServiceUpdate())
}

// serviceCreateFlags are the flags of `service create` beyond the shared spec flags.
type serviceCreateFlags struct {
	serviceSpecFlags
	name, mode string
	replicas   uint64
	progress   string
}

func newServiceCreateFlags(fs *pflag.FlagSet) *serviceCreateFlags {
	f := &serviceCreateFlags{}
	f.register(fs)
	fs.StringVar(&f.name, "name", "", "Service name")
	fs.StringVar(&f.mode, "mode", swarm.ModeReplicated, `Service mode ("replicated", "global", "replicated-job", "global-job")`)
	fs.Uint64Var(&f.replicas, "replicas", 0, "Number of tasks")
	fs.StringVar(&f.progress, "progress", "auto", `Progress output: "auto", "tty" or "plain"`)
	return f
}

// serviceFromFlags parses `service create` arguments into a spec. Flags end at the image, as
// in the Docker CLI: what follows is the command.
func serviceFromFlags(args []string) (swarm.RawSpec, *serviceCreateFlags, error) {
	fs := pflag.NewFlagSet("service create", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	f := newServiceCreateFlags(fs)
	if err := fs.Parse(args); err != nil {
		return swarm.RawSpec{}, nil, err
	}
	if fs.NArg() == 0 {
		return swarm.RawSpec{}, nil, errors.New("'berth service create' requires at least 1 argument")
	}
	spec, err := f.spec(fs, fs.Args())
	return spec, f, err
}

// spec compiles the flags and IMAGE [COMMAND] [ARG...] into a service spec.
func (f *serviceCreateFlags) spec(fs *pflag.FlagSet, args []string) (swarm.RawSpec, error) {
	if f.name == "" {
		return swarm.RawSpec{}, berth.Invalid("service create/name", "give the service a --name (berth does not make one up)")
	}
	s := swarm.NewService(f.name).Image(args[0]).Mode(f.mode)
	if len(args) > 1 {
		s.Command(args[1:]...)
	}
	if fs.Changed("replicas") {
		s.Replicas(f.replicas)
	}
	base, err := s.Spec()
	if err != nil {
		return swarm.RawSpec{}, err
	}
	if err := f.apply(fs, &base, "service create"); err != nil {
		return swarm.RawSpec{}, err
	}
	return swarm.RawSpec(base), nil
}

func newServiceCreate() *cobra.Command {
	var f *serviceCreateFlags
	cmd := newVerb("create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new service", minArgs(1), func(cmd *cobra.Command, args []string) error {
		spec, err := f.spec(cmd.Flags(), args)
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		s := swarmtypes.ServiceSpec(spec)
		if err := swarm.ResolveReferences(ctx, cli, &s); err != nil {
			return err
		}
		opts := swarm.CreateOptions{ResolveImage: swarm.ResolveAlways}
		if f.noResolve {
			opts.ResolveImage = swarm.ResolveNever
		}
		if f.registryAuth {
			opts.Auth = registryAuthFor(serviceImage(s))
		}
		res, err := swarm.Create(ctx, cli, swarm.RawSpec(s), opts)
		if err != nil {
			return err
		}
		warn(res.Warnings)
		fmt.Fprintln(stdout(), res.ID)
		if f.detach {
			return nil
		}
		return waitService(ctx, cli, res.ID, f.quiet, f.progress)
	})
	cmd.Flags().SetInterspersed(false)
	f = newServiceCreateFlags(cmd.Flags())
	completeSpecFlags(cmd)
	return cmd
}

// waitService follows a service until it converges, showing its progress on stderr.
func waitService(ctx context.Context, cli swarm.ServiceClient, id string, quiet bool, mode string) error {
	view, err := newProgress(os.Stderr, mode)
	if err != nil {
		return err
	}
	return watchServices(ctx, cli, []string{id}, swarm.WatchOptions{}, quiet, view)
}

// watchServices shows one line per service, redrawn on a terminal, until all converge.
func watchServices(ctx context.Context, cli swarm.ServiceClient, ids []string, opts swarm.WatchOptions, quiet bool, view *progressView) error {
	for p, err := range swarm.Watch(ctx, cli, ids, opts) {
		if err != nil {
			return err
		}
		if !quiet {
			view.Set(p.ServiceID, p.String())
		}
	}
	return nil
}

func newServiceScale() *cobra.Command {
	var detach bool
	var progress string
	cmd := newVerb("scale SERVICE=REPLICAS [SERVICE=REPLICAS...]", "Scale one or multiple replicated services", minArgs(1), func(cmd *cobra.Command, args []string) error {
		type target struct {
			service string
			n       uint64
		}
		var targets []target
		var p berth.Problems
		for i, a := range args {
			name, count, _ := strings.Cut(a, "=")
			n, err := strconv.ParseUint(count, 10, 64)
			if name == "" || err != nil {
				p.Add(fmt.Sprintf("service scale/args[%d]", i), "%q: want SERVICE=REPLICAS, e.g. web=3", a)
			}
			targets = append(targets, target{name, n})
		}
		if err := p.Err(); err != nil {
			return err
		}
		ctx := cmd.Context()
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		view, err := newProgress(stdout(), progress)
		if err != nil {
			return err
		}
		var errs []error
		var scaled []string
		for _, tg := range targets {
			if _, err := swarm.Scale(ctx, cli, tg.service, tg.n, swarm.ScaleOptions{}); err != nil {
				errs = append(errs, err)
				continue
			}
			scaled = append(scaled, tg.service)
			view.Line(fmt.Sprintf("%s scaled to %d", tg.service, tg.n))
		}
		if !detach && len(scaled) > 0 {
			// all services converge together, one progress line each, as docker's
			errs = append(errs, watchServices(ctx, cli, scaled, swarm.WatchOptions{Stable: -1}, false, view))
		}
		return errors.Join(errs...)
	})
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "Exit immediately instead of waiting for the service to converge")
	addProgressFlag(cmd, &progress)
	cmd.ValidArgsFunction = completeNames(serviceNames)
	return cmd
}

func newServiceLs() *cobra.Command {
	var o listOptions
	cmd := engineVerb("ls [OPTIONS]", "List services", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		f, err := o.filterArgs("id", "label", "mode", "name")
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		svcs, err := listServices(ctx, cli, f)
		if err != nil {
			return err
		}
		return printRows(stdout(), o, serviceTable, serviceRows(o, svcs), func(r serviceRow) string { return r.ID })
	})
	addListFlags(cmd, &o, "IDs", "id, label, mode, name", false)
	cmd.Aliases = []string{"list"}
	return cmd
}

func newServicePs() *cobra.Command {
	var o listOptions
	var noResolve bool
	cmd := engineVerb("ps [OPTIONS] SERVICE [SERVICE...]", "List the tasks of one or more services", minArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		f, err := o.filterArgs("id", "name", "node", "desired-state")
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		for _, s := range args {
			res, err := cli.ServiceInspect(ctx, s, client.ServiceInspectOptions{})
			if err != nil {
				return fmt.Errorf("no such service: %s: %w", s, err)
			}
			f.Add("service", res.Service.ID)
		}
		tasks, err := swarm.ListTasks(ctx, cli, f)
		if err != nil {
			return err
		}
		rows := taskRows(o, tasks, time.Now(), noResolve)
		return printRows(stdout(), o, taskTable, rows, func(r taskRow) string { return r.ID })
	})
	addListFlags(cmd, &o, "task IDs", "id, name, node, desired-state", true)
	cmd.Flags().BoolVar(&noResolve, "no-resolve", false, "Do not map IDs to Names")
	cmd.ValidArgsFunction = completeNames(serviceNames)
	return cmd
}

func newServiceInspect() *cobra.Command {
	cmd := inspectVerb("inspect [OPTIONS] SERVICE [SERVICE...]", "Display detailed information on one or more services",
		func(ctx context.Context, cli *client.Client, name string) (swarmtypes.Service, error) {
			res, err := cli.ServiceInspect(ctx, name, client.ServiceInspectOptions{})
			if err != nil {
				return swarmtypes.Service{}, fmt.Errorf("no such service: %s: %w", name, err)
			}
			return res.Service, nil
		}, printServicePretty)
	cmd.ValidArgsFunction = completeNames(serviceNames)
	return cmd
}

func newServiceRm() *cobra.Command {
	cmd := removeVerb("rm SERVICE [SERVICE...]", "Remove one or more services", func(ctx context.Context, cli *client.Client, name string) error {
		return swarm.Remove(ctx, cli, name, swarm.RemoveOptions{})
	})
	cmd.ValidArgsFunction = completeNames(serviceNames)
	return cmd
}

func printServicePretty(w io.Writer, s swarmtypes.Service) {
	fmt.Fprintf(w, "\nID:\t\t%s\nName:\t\t%s\n", s.ID, s.Spec.Name)
	if len(s.Spec.Labels) > 0 {
		fmt.Fprintln(w, "Labels:")
		for k, v := range s.Spec.Labels {
			fmt.Fprintf(w, " %s=%s\n", k, v)
		}
	}
	fmt.Fprintf(w, "Service Mode:\t%s\n", title(mode(s.Spec.Mode)))
	if r := s.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
		fmt.Fprintf(w, " Replicas:\t%d\n", *r.Replicas)
	}
	if c := s.Spec.TaskTemplate.ContainerSpec; c != nil {
		fmt.Fprintf(w, "ContainerSpec:\n Image:\t\t%s\n", c.Image)
		if len(c.Args) > 0 {
			fmt.Fprintf(w, " Args:\t\t%s\n", strings.Join(c.Args, " "))
		}
		if len(c.Env) > 0 {
			fmt.Fprintf(w, " Env:\t\t%s\n", strings.Join(c.Env, " "))
		}
	}
	if s.Spec.EndpointSpec != nil {
		fmt.Fprintf(w, "Endpoint Mode:\t%s\n", s.Spec.EndpointSpec.Mode)
	}
	if p := ports(s); p != "" {
		fmt.Fprintf(w, "Ports:\t\t%s\n", p)
	}
}

// serviceUpdateFlags are the flags of `service update` beyond the shared spec flags.
type serviceUpdateFlags struct {
	serviceSpecFlags
	image, args, progress string
	replicas              uint64
	force, rollback       bool
}

func newServiceUpdateFlags(fs *pflag.FlagSet) *serviceUpdateFlags {
	f := &serviceUpdateFlags{serviceSpecFlags: serviceSpecFlags{update: true}}
	f.register(fs)
	fs.StringVar(&f.image, "image", "", "Service image tag")
	fs.Var(typed{(*stringValue)(&f.args), "command"}, "args", "Service command args")
	fs.Uint64Var(&f.replicas, "replicas", 0, "Number of tasks")
	fs.BoolVar(&f.force, "force", false, "Force update even if no changes require it")
	fs.BoolVar(&f.rollback, "rollback", false, "Rollback to previous specification")
	fs.StringVar(&f.progress, "progress", "auto", `Progress output: "auto", "tty" or "plain"`)
	return f
}

// change returns the change the flags describe.
func (f *serviceUpdateFlags) change(fs *pflag.FlagSet) func(*swarmtypes.ServiceSpec) error {
	return func(s *swarmtypes.ServiceSpec) error {
		if err := f.apply(fs, s, "service update"); err != nil {
			return err
		}
		c := s.TaskTemplate.ContainerSpec
		if fs.Changed("image") {
			c.Image = f.image
		}
		if fs.Changed("args") {
			c.Args = strings.Fields(f.args)
		}
		if fs.Changed("replicas") {
			switch {
			case s.Mode.Replicated != nil:
				s.Mode.Replicated.Replicas = &f.replicas
			case s.Mode.ReplicatedJob != nil:
				s.Mode.ReplicatedJob.TotalCompletions = &f.replicas
			default:
				return berth.Invalid("service update/replicas", "%s is not a replicated service", s.Name)
			}
		}
		return nil
	}
}

func newServiceUpdate() *cobra.Command {
	var f *serviceUpdateFlags
	cmd := engineVerb("update [OPTIONS] SERVICE", "Update a service", exactArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		ctx := cmd.Context()
		if f.rollback {
			if _, err := swarm.Rollback(ctx, cli, args[0], swarm.UpdateOptions{Wait: !f.detach}); err != nil {
				return err
			}
			fmt.Fprintln(stdout(), args[0])
			return nil
		}
		change := f.change(cmd.Flags())
		withRefs := func(s *swarmtypes.ServiceSpec) error {
			if err := change(s); err != nil {
				return err
			}
			return swarm.ResolveReferences(ctx, cli, s)
		}
		opts := swarm.UpdateOptions{Force: f.force, ResolveImage: swarm.ResolveNever}
		if !f.noResolve && cmd.Flags().Changed("image") {
			opts.ResolveImage = swarm.ResolveAlways
		}
		if f.registryAuth {
			opts.Auth = registryAuthFor(f.image)
		}
		res, err := swarm.Update(ctx, cli, args[0], withRefs, opts)
		if err != nil {
			return err
		}
		warn(res.Warnings)
		fmt.Fprintln(stdout(), args[0])
		if f.detach || !res.Changed {
			return nil
		}
		return waitService(ctx, cli, res.ID, f.quiet, f.progress)
	})
	f = newServiceUpdateFlags(cmd.Flags())
	cmd.ValidArgsFunction = completeNames(serviceNames)
	completeSpecFlags(cmd)
	return cmd
}

func newServiceRollback() *cobra.Command {
	var detach, quiet bool
	cmd := engineVerb("rollback [OPTIONS] SERVICE", "Revert changes to a service's configuration", exactArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		ctx := cmd.Context()
		if _, err := swarm.Rollback(ctx, cli, args[0], swarm.UpdateOptions{Wait: !detach}); err != nil {
			return err
		}
		fmt.Fprintln(stdout(), args[0])
		return nil
	})
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "Exit immediately instead of waiting for the service to converge")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress progress output")
	cmd.ValidArgsFunction = completeNames(serviceNames)
	return cmd
}

func newServiceLogs() *cobra.Command {
	var o swarm.LogsOptions
	var tail string
	var timestamps bool
	var names taskNames
	cmd := newVerb("logs [OPTIONS] SERVICE", "Fetch the logs of a service", exactArgs(1), func(cmd *cobra.Command, args []string) error {
		if tail != "all" {
			n, err := strconv.Atoi(tail)
			if err != nil || n < 0 {
				return berth.Invalid("service logs/tail", "%q: want a number of lines or all", tail)
			}
			o.Tail = n
		}
		ctx := cmd.Context()
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		names.cli, names.service = cli, args[0]
		for l, err := range swarm.Logs(ctx, cli, args[0], o) {
			if err != nil {
				return err
			}
			w := stdout()
			if l.Stream == swarm.Stderr {
				w = os.Stderr
			}
			line := names.of(ctx, l.TaskID) + " | " + l.Text
			if names.raw {
				line = l.Text
			}
			if timestamps {
				line = l.Time.Format(time.RFC3339Nano) + " " + line
			}
			fmt.Fprintln(w, line)
		}
		return nil
	})
	fl := cmd.Flags()
	fl.BoolVarP(&o.Follow, "follow", "f", false, "Follow log output")
	fl.StringVar(&o.Since, "since", "", `Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	fl.StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	fl.BoolVarP(&timestamps, "timestamps", "t", false, "Show timestamps")
	fl.BoolVar(&names.noResolve, "no-resolve", false, "Do not map IDs to Names in output")
	fl.BoolVar(&names.noTaskIDs, "no-task-ids", false, "Do not include task IDs in output")
	fl.BoolVar(&names.noTrunc, "no-trunc", false, "Do not truncate output")
	fl.BoolVar(&names.raw, "raw", false, "Do not neatly format logs")
	cmd.ValidArgsFunction = completeNames(serviceNames)
	return cmd
}

// taskNames turns task IDs into `docker service logs` prefixes (NAME.SLOT.ID@NODE), listing the
// service's tasks again when a new one appears.
type taskNames struct {
	cli                                swarm.TasksClient
	service                            string
	known                              map[string]string
	noResolve, noTaskIDs, noTrunc, raw bool
}

func (n *taskNames) of(ctx context.Context, id string) string {
	if p, ok := n.known[id]; ok {
		return p
	}
	n.known = map[string]string{}
	tasks, _ := swarm.Tasks(ctx, n.cli, n.service, swarm.TasksOptions{History: true})
	for _, t := range tasks {
		name, node, id := t.Name, t.Node, shortID(t.ID)
		if n.noResolve {
			name, node = fmt.Sprintf("%s.%d", t.ServiceID, t.Slot), t.NodeID
		}
		if n.noTrunc {
			id = t.ID
		}
		if n.noTaskIDs {
			n.known[t.ID] = name + "@" + node
		} else {
			n.known[t.ID] = name + "." + id + "@" + node
		}
	}
	if _, ok := n.known[id]; !ok {
		n.known[id] = shortID(id)
	}
	return n.known[id]
}
