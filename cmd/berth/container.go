package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	units "github.com/docker/go-units"
	containertypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/container"
)

// The container group: the Docker CLI's `container run|exec|logs|stop|start|rm|ls|inspect`
// over package container (`container data` is in volume.go; groups merge), and `run`, `exec`,
// `logs` and `ps` at the top level as docker has them.

func init() {
	addGroup(func() *cobra.Command {
		return newGroup("container", "Manage containers",
			newContainerRun(), newContainerExec(), newContainerLogs(), newContainerStop(), newContainerStart(),
			newContainerRm(), newContainerLs(), newContainerInspect())
	})
	addGroup(newContainerRun)
	addGroup(newContainerExec)
	addGroup(newContainerLogs)
	addGroup(newContainerStop)
	addGroup(newContainerStart)
	addGroup(newContainerRm)
	addGroup(func() *cobra.Command { c := newContainerLs(); c.Use, c.Aliases = "ps [OPTIONS]", nil; return c })
}

func newContainerRun() *cobra.Command {
	var f container.RunFlags
	var memory, entrypoint string
	var stopTimeout int
	cmd := engineVerb("run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image", minArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		if memory != "" {
			n, err := units.RAMInBytes(memory)
			if err != nil {
				return usageFail(cmd, 125, fmt.Sprintf("invalid argument %q for \"-m, --memory\" flag: %v", memory, err))
			}
			f.Memory = n
		}
		if cmd.Flags().Changed("entrypoint") {
			f.Entrypoint = &entrypoint
		}
		if cmd.Flags().Changed("stop-timeout") {
			d := time.Duration(stopTimeout) * time.Second
			f.StopTimeout = &d
		}
		if f.Detach {
			res, err := container.Run(cmd.Context(), cli, f.Container(args[0], args[1:]...), container.RunOptions{})
			warn(res.Warnings)
			if err == nil {
				fmt.Fprintln(stdout(), res.ID)
			}
			return err
		}
		// In the foreground berth prints the container's output as it comes, from its logs,
		// so with --rm it removes the container itself once it exited and its output is read,
		// instead of letting the engine remove it (and its logs) at exit.
		remove := f.AutoRemove
		f.AutoRemove = false
		opts := container.RunOptions{Wait: container.WaitExit, Output: func(l container.Line) { printLine(l, false) }}
		res, err := container.Run(cmd.Context(), cli, f.Container(args[0], args[1:]...), opts)
		warn(res.Warnings)
		return runOutput(cmd.Context(), cli, res, err, remove)
	})
	fl := cmd.Flags()
	fl.SetInterspersed(false) // flags after IMAGE belong to the command, as with docker
	fl.StringVar(&f.Name, "name", "", "Assign a name to the container")
	fl.BoolVarP(&f.Detach, "detach", "d", false, "Run container in background and print container ID")
	fl.BoolVar(&f.AutoRemove, "rm", false, "Automatically remove the container and its associated anonymous volumes when it exits")
	fl.StringArrayVarP(&f.Env, "env", "e", nil, "Set environment variables")
	fl.StringArrayVar(&f.EnvFiles, "env-file", nil, "Read in a file of environment variables")
	fl.StringArrayVarP(&f.Labels, "label", "l", nil, "Set meta data on a container")
	fl.StringArrayVarP(&f.Publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	fl.StringArrayVarP(&f.Volumes, "volume", "v", nil, "Bind mount a volume")
	fl.StringArrayVar(&f.Tmpfs, "tmpfs", nil, "Mount a tmpfs directory")
	fl.StringArrayVar(&f.VolumesFrom, "volumes-from", nil, "Mount volumes from the specified container(s)")
	fl.StringVar(&f.Network, "network", "", "Connect a container to a network")
	fl.StringArrayVar(&f.Aliases, "network-alias", nil, "Add network-scoped alias for the container")
	fl.StringVar(&f.Platform, "platform", "", "Set platform if server is multi-platform capable")
	fl.StringVar(&f.Restart, "restart", "", "Restart policy to apply when a container exits")
	fl.StringVarP(&f.User, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	fl.StringVarP(&f.Workdir, "workdir", "w", "", "Working directory inside the container")
	fl.StringVarP(&f.Hostname, "hostname", "h", "", "Container host name")
	fl.StringVar(&entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	fl.BoolVar(&f.Init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	fl.BoolVarP(&f.TTY, "tty", "t", false, "Allocate a pseudo-TTY")
	fl.StringVarP(&memory, "memory", "m", "", "Memory limit")
	fl.StringVar(&f.CPUs, "cpus", "", "Number of CPUs")
	fl.StringVar(&f.HealthCmd, "health-cmd", "", "Command to run to check health")
	fl.BoolVar(&f.NoHealth, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
	fl.DurationVar(&f.Health.Interval, "health-interval", 0, "Time between running the check (ms|s|m|h) (default 0s)")
	fl.DurationVar(&f.Health.Timeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
	fl.DurationVar(&f.Health.StartPeriod, "health-start-period", 0, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	fl.IntVar(&f.Health.Retries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	fl.StringVar(&f.StopSignal, "stop-signal", "", "Signal to stop the container")
	fl.IntVar(&stopTimeout, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	return cmd
}

// runOutput removes a container that was waited for with --rm and returns its exit code as
// the command's, as `docker run` does.
func runOutput(ctx context.Context, cli *client.Client, res container.RunResult, runErr error, remove bool) error {
	if res.ID == "" {
		return runErr
	}
	if remove {
		defer container.Remove(context.WithoutCancel(ctx), cli, res.ID, container.RemoveOptions{Force: true, Volumes: true})
	}
	if runErr != nil {
		return runErr
	}
	if res.ExitCode != 0 {
		return &exitError{code: res.ExitCode}
	}
	return nil
}

// printLine writes a log or exec line to stdout or stderr, as its stream was.
func printLine(l container.Line, timestamps bool) {
	w := io.Writer(stdout())
	if l.Stream == container.Stderr {
		w = os.Stderr
	}
	if timestamps {
		fmt.Fprintf(w, "%s %s\n", l.Time.Format(time.RFC3339Nano), l.Text)
		return
	}
	fmt.Fprintln(w, l.Text)
}

func newContainerExec() *cobra.Command {
	var o container.ExecOptions
	var interactive, detach bool
	cmd := engineVerb("exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", minArgs(2), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		if interactive {
			o.Stdin = os.Stdin
		}
		if detach {
			o.Stdin = nil
		}
		res, err := container.Exec(cmd.Context(), cli, args[0], args[1:], o)
		if err != nil {
			return err
		}
		stdout().Write(res.Stdout)
		os.Stderr.Write(res.Stderr)
		if res.ExitCode != 0 {
			return &exitError{code: res.ExitCode}
		}
		return nil
	})
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.BoolVarP(&interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	fl.BoolVarP(&o.TTY, "tty", "t", false, "Allocate a pseudo-TTY")
	fl.BoolVarP(&detach, "detach", "d", false, "Detached mode: run command in the background")
	fl.StringVarP(&o.User, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
	fl.StringVarP(&o.WorkingDir, "workdir", "w", "", "Working directory inside the container")
	fl.StringArrayVarP(&o.Env, "env", "e", nil, "Set environment variables")
	fl.BoolVar(&o.Privileged, "privileged", false, "Give extended privileges to the command")
	cmd.ValidArgsFunction = completeNames(containerNames)
	return cmd
}

func newContainerLogs() *cobra.Command {
	var o container.LogsOptions
	var tail string
	var timestamps bool
	cmd := engineVerb("logs [OPTIONS] CONTAINER", "Fetch the logs of a container", exactArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		if tail != "all" {
			if _, err := fmt.Sscan(tail, &o.Tail); err != nil || o.Tail < 0 {
				return usageFail(cmd, 125, fmt.Sprintf("invalid argument %q for \"-n, --tail\" flag: want a number or all", tail))
			}
		}
		for l, err := range container.Logs(cmd.Context(), cli, args[0], o) {
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return nil
				}
				return err
			}
			printLine(l, timestamps)
		}
		return nil
	})
	fl := cmd.Flags()
	fl.BoolVarP(&o.Follow, "follow", "f", false, "Follow log output")
	fl.StringVar(&o.Since, "since", "", "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)")
	fl.StringVar(&o.Until, "until", "", "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)")
	fl.StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	fl.BoolVarP(&timestamps, "timestamps", "t", false, "Show timestamps")
	cmd.ValidArgsFunction = completeNames(containerNames)
	return cmd
}

func newContainerStop() *cobra.Command {
	var o container.StopOptions
	var secs int
	cmd := removeVerb("stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", func(ctx context.Context, cli *client.Client, name string) error {
		return container.Stop(ctx, cli, name, o)
	})
	cmd.PreRun = func(cmd *cobra.Command, _ []string) {
		if cmd.Flags().Changed("timeout") {
			d := time.Duration(secs) * time.Second
			o.Timeout = &d
		}
	}
	cmd.Flags().StringVarP(&o.Signal, "signal", "s", "", "Signal to send to the container")
	cmd.Flags().IntVarP(&secs, "timeout", "t", 0, "Seconds to wait before killing the container")
	cmd.Aliases = nil
	cmd.ValidArgsFunction = completeNames(containerNames)
	return cmd
}

func newContainerStart() *cobra.Command {
	cmd := removeVerb("start [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", func(ctx context.Context, cli *client.Client, name string) error {
		return container.Start(ctx, cli, name)
	})
	cmd.Aliases = nil
	cmd.ValidArgsFunction = completeNames(containerNames)
	return cmd
}

func newContainerRm() *cobra.Command {
	var o container.RemoveOptions
	cmd := removeVerb("rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", func(ctx context.Context, cli *client.Client, name string) error {
		return container.Remove(ctx, cli, name, o)
	})
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	cmd.Flags().BoolVarP(&o.Volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	cmd.ValidArgsFunction = completeNames(containerNames)
	return cmd
}

// containerRow is a line of `container ls`, with the Docker CLI's column names.
type containerRow struct {
	ID, Image, Command, CreatedAt, RunningFor, Ports, State, Status, Names, Labels string
}

func newContainerLs() *cobra.Command {
	var o listOptions
	var all bool
	cmd := engineVerb("ls [OPTIONS]", "List containers", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		f, err := o.filterArgs("ancestor", "before", "exited", "expose", "health", "id", "isolation", "is-task", "label", "name", "network", "publish", "since", "status", "volume")
		if err != nil {
			return err
		}
		list, err := container.List(cmd.Context(), cli, container.ListOptions{All: all, Filters: f})
		if err != nil {
			return err
		}
		rows := make([]containerRow, 0, len(list))
		for _, c := range list {
			rows = append(rows, containerRowOf(o, c))
		}
		return printRows(stdout(), o, "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}", rows,
			func(r containerRow) string { return r.ID })
	})
	addListFlags(cmd, &o, "container IDs", "ancestor, before, exited, health, id, label, name, network, publish, since, status, volume ...", true)
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Show all containers (default shows just running)")
	cmd.Aliases = []string{"list", "ps"}
	return cmd
}

func containerRowOf(o listOptions, c containertypes.Summary) containerRow {
	names := make([]string, len(c.Names))
	for i, n := range c.Names {
		names[i] = strings.TrimPrefix(n, "/")
	}
	command := c.Command
	if !o.noTrunc && len(command) > 20 {
		command = command[:19] + "…"
	}
	var ports []string
	for _, p := range c.Ports {
		if p.PublicPort != 0 {
			ports = append(ports, fmt.Sprintf("%s:%d->%d/%s", p.IP, p.PublicPort, p.PrivatePort, p.Type))
		} else {
			ports = append(ports, fmt.Sprintf("%d/%s", p.PrivatePort, p.Type))
		}
	}
	created := time.Unix(c.Created, 0)
	return containerRow{ID: o.trunc(c.ID), Image: c.Image, Command: fmt.Sprintf("%q", command),
		CreatedAt: created.Format("2006-01-02 15:04:05 -0700 MST"), RunningFor: units.HumanDuration(time.Since(created)) + " ago",
		Ports: strings.Join(ports, ", "), State: string(c.State), Status: c.Status, Names: strings.Join(names, ","), Labels: nodeLabels(c.Labels)}
}

func newContainerInspect() *cobra.Command {
	cmd := inspectVerb("inspect [OPTIONS] CONTAINER [CONTAINER...]", "Display detailed information on one or more containers",
		func(ctx context.Context, cli *client.Client, name string) (containertypes.InspectResponse, error) {
			return container.Inspect(ctx, cli, name)
		}, nil)
	cmd.ValidArgsFunction = completeNames(containerNames)
	return cmd
}

// containerNames completes container names.
func containerNames(ctx context.Context, cli *client.Client) ([]string, error) {
	list, err := container.List(ctx, cli, container.ListOptions{All: true})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range list {
		for _, n := range c.Names {
			out = append(out, strings.TrimPrefix(n, "/"))
		}
	}
	return out, nil
}
