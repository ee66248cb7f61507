package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berthdev/berth/stack"
	cerrdefs "github.com/containerd/errdefs"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// parseStackArgs parses flags and wants at least min stack names (exactly one when one).
func parseStackArgs(fs *flag.FlagSet, args []string, many bool) ([]string, error) {
	pos, err := parseAll(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &exitError{code: 125, err: err}
	}
	if len(pos) == 0 || !many && len(pos) != 1 {
		fs.Usage()
		return nil, &exitError{code: 2, err: fmt.Errorf("want %s STACK name, got %d arguments", map[bool]string{true: "at least one", false: "exactly one"}[many], len(pos))}
	}
	return pos, nil
}

func stackRm(ctx context.Context, args []string) error {
	fs := newFlags("stack rm", "[--detach] [--timeout DURATION] STACK [STACK...]")
	detach := fs.Bool("detach", false, "do not wait for the stack's networks to be gone")
	fs.BoolVar(detach, "d", false, "same as --detach")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for the networks to be gone")
	names, err := parseStackArgs(fs, args, true)
	if err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	var errs []error
	for _, name := range names {
		opts := stack.RemoveOptions{Timeout: *timeout, Wait: !*detach, Progress: func(ev stack.Event) { fmt.Println(ev) }}
		err := stack.Remove(ctx, cli, name, opts)
		switch {
		case errors.Is(err, stack.ErrNoStack):
			fmt.Fprintf(os.Stderr, "Nothing found in stack: %s\n", name) // exit 0, as the Docker CLI
		case err != nil:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func stackLs(ctx context.Context, args []string) error {
	fs := newFlags("stack ls", "")
	if _, err := parseAll(fs, args); err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	stacks, err := stack.List(ctx, cli)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tSERVICES")
	for _, s := range stacks {
		fmt.Fprintf(w, "%s\t%d\n", s.Name, s.Services)
	}
	return w.Flush()
}

func stackServices(ctx context.Context, args []string) error {
	fs := newFlags("stack services", "STACK")
	quiet := fs.Bool("q", false, "print only IDs")
	pos, err := parseStackArgs(fs, args, false)
	if err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	svcs, err := stack.Services(ctx, cli, pos[0])
	if err != nil {
		return err
	}
	if len(svcs) == 0 {
		fmt.Fprintf(os.Stderr, "Nothing found in stack: %s\n", pos[0])
		return nil
	}
	printServices(os.Stdout, svcs, *quiet)
	return nil
}

func mode(m swarmapi.ServiceMode) string {
	switch {
	case m.Global != nil:
		return "global"
	case m.ReplicatedJob != nil:
		return "replicated job"
	case m.GlobalJob != nil:
		return "global job"
	}
	return "replicated"
}

func replicas(s swarmapi.Service) string {
	if st := s.ServiceStatus; st != nil {
		if s.Spec.Mode.ReplicatedJob != nil || s.Spec.Mode.GlobalJob != nil {
			return fmt.Sprintf("%d/%d (%d/%d completed)", st.RunningTasks, st.DesiredTasks, st.CompletedTasks, st.DesiredTasks)
		}
		return fmt.Sprintf("%d/%d", st.RunningTasks, st.DesiredTasks)
	}
	return ""
}

// serviceImage is the image without the digest a resolution pinned, as the Docker CLI shows it.
func serviceImage(spec swarmapi.ServiceSpec) string {
	if spec.TaskTemplate.ContainerSpec == nil {
		return ""
	}
	img, _, _ := strings.Cut(spec.TaskTemplate.ContainerSpec.Image, "@")
	return img
}

func ports(s swarmapi.Service) string {
	var out []string
	for _, p := range s.Endpoint.Ports {
		if p.PublishedPort != 0 {
			out = append(out, fmt.Sprintf("*:%d->%d/%s", p.PublishedPort, p.TargetPort, p.Protocol))
		}
	}
	return strings.Join(out, ", ")
}

func stackPs(ctx context.Context, args []string) error {
	fs := newFlags("stack ps", "[-q] [--no-trunc] STACK")
	quiet := fs.Bool("q", false, "print only IDs")
	noTrunc := fs.Bool("no-trunc", false, "do not truncate IDs and errors")
	pos, err := parseStackArgs(fs, args, false)
	if err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	tasks, err := stack.Tasks(ctx, cli, pos[0])
	if err != nil {
		return err
	}
	if len(tasks) == 0 {
		return fmt.Errorf("nothing found in stack: %s: %w", pos[0], cerrdefs.ErrNotFound)
	}
	names, nodes := stackTaskNames(ctx, cli, pos[0])
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 3, ' ', 0)
	if !*quiet {
		fmt.Fprintln(w, "ID\tNAME\tIMAGE\tNODE\tDESIRED STATE\tCURRENT STATE\tERROR")
	}
	for _, t := range tasks {
		id, errMsg := shortID(t.ID), t.Status.Err
		if *noTrunc {
			id = t.ID
		} else if len(errMsg) > 30 {
			errMsg = errMsg[:29] + "…"
		}
		if *quiet {
			fmt.Fprintln(w, id)
			continue
		}
		name := names[t.ServiceID] + "." + fmt.Sprint(t.Slot)
		if t.Slot == 0 {
			name = names[t.ServiceID] + "." + t.NodeID
		}
		img := ""
		if t.Spec.ContainerSpec != nil {
			img, _, _ = strings.Cut(t.Spec.ContainerSpec.Image, "@")
		}
		since := time.Since(t.Status.Timestamp).Round(time.Second)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s %s ago\t%s\n", id, name, img, nodes[t.NodeID], t.DesiredState, t.Status.State, since, errMsg)
	}
	return w.Flush()
}

// stackTaskNames returns service names by ID and node host names by ID.
func stackTaskNames(ctx context.Context, cli *client.Client, name string) (map[string]string, map[string]string) {
	svcs, _ := stack.Services(ctx, cli, name)
	names := map[string]string{}
	for _, s := range svcs {
		names[s.ID] = s.Spec.Name
	}
	nodes := map[string]string{}
	if list, err := cli.NodeList(ctx, client.NodeListOptions{}); err == nil {
		for _, n := range list.Items {
			nodes[n.ID] = n.Description.Hostname
		}
	}
	return names, nodes
}
