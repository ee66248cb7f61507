package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	swarmtypes "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
)

// The service group: `berth service create|scale|ls|ps|rm|logs`, with the Docker CLI's flags
// for the common cases.

func init() {
	register(command{path: "service create", usage: "create a service: [OPTIONS] IMAGE [COMMAND] [ARG...]", run: serviceCreate})
	register(command{path: "service scale", usage: "scale replicated services: SERVICE=REPLICAS...", run: serviceScale})
	register(command{path: "service ls", usage: "list services", run: serviceList})
	register(command{path: "service ps", usage: "list the tasks of services: SERVICE...", run: servicePs})
	register(command{path: "service update", usage: "update a service: [--image I] [--replicas N] [--env-add K=V]... [--force] SERVICE", run: serviceUpdate})
	register(command{path: "service rollback", usage: "return a service to its spec before the last update: SERVICE", run: serviceRollback})
	register(command{path: "service rm", usage: "remove services: SERVICE...", run: serviceRemove})
	register(command{path: "service logs", usage: "show the logs of a service: [-f] [--since T] [--tail N] SERVICE", run: serviceLogs})
}

// serviceCreateFlags are the flags of `service create`.
type serviceCreateFlags struct {
	name, mode, endpointMode, user, workdir string
	replicas                                uint64
	replicasSet, detach                     bool
	env, constraints, publish, networks     stringList
	mounts                                  stringList
	labels, containerLabels                 keyValues
	stopGrace                               time.Duration
}

func newServiceCreateFlags() (*flag.FlagSet, *serviceCreateFlags) {
	fs := newFlags("service create", "[OPTIONS] IMAGE [COMMAND] [ARG...]")
	f := &serviceCreateFlags{labels: keyValues{}, containerLabels: keyValues{}}
	fs.StringVar(&f.name, "name", "", "service name")
	fs.Func("replicas", "number of tasks", func(s string) error {
		n, err := strconv.ParseUint(s, 10, 64)
		f.replicas, f.replicasSet = n, true
		return err
	})
	fs.StringVar(&f.mode, "mode", swarm.ModeReplicated, "replicated, global, replicated-job or global-job")
	fs.Var(&f.env, "env", "set an environment variable KEY=VALUE, or KEY to pass this shell's value (repeatable)")
	fs.Var(&f.env, "e", "shorthand for --env")
	fs.Var(f.labels, "label", "service label KEY=VALUE (repeatable)")
	fs.Var(f.containerLabels, "container-label", "container label KEY=VALUE (repeatable)")
	fs.Var(&f.constraints, "constraint", "placement constraint, e.g. node.role!=manager (repeatable)")
	fs.Var(&f.publish, "publish", "publish a port: [PUBLISHED:]TARGET[/PROTO] or published=P,target=T[,protocol=udp][,mode=host] (repeatable)")
	fs.Var(&f.publish, "p", "shorthand for --publish")
	fs.Var(&f.networks, "network", "attach the service to a network (repeatable)")
	fs.Var(&f.mounts, "mount", "attach a mount: type=volume|bind|tmpfs,source=S,target=T[,readonly] (repeatable)")
	fs.StringVar(&f.endpointMode, "endpoint-mode", "", "vip (default) or dnsrr")
	fs.StringVar(&f.user, "user", "", "user[:group] the command runs as")
	fs.StringVar(&f.user, "u", "", "shorthand for --user")
	fs.StringVar(&f.workdir, "workdir", "", "working directory of the command")
	fs.StringVar(&f.workdir, "w", "", "shorthand for --workdir")
	fs.DurationVar(&f.stopGrace, "stop-grace-period", 0, "time to wait before killing a container (default 10s)")
	fs.BoolVar(&f.detach, "detach", false, "return at once instead of waiting for the service to converge")
	fs.BoolVar(&f.detach, "d", false, "shorthand for --detach")
	return fs, f
}

// serviceFromFlags parses `service create` arguments into a builder. Flags end at the image,
// as in the Docker CLI: what follows is the command.
func serviceFromFlags(args []string) (*swarm.Service, *serviceCreateFlags, error) {
	fs, f := newServiceCreateFlags()
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil, nil, &exitError{code: 2, err: errors.New("service create: give an IMAGE")}
	}
	name := f.name
	if name == "" {
		return nil, nil, berth.Invalid("service create/name", "give the service a --name (berth does not make one up)")
	}
	s := swarm.NewService(name).Image(fs.Arg(0)).Mode(f.mode)
	if fs.NArg() > 1 {
		s.Command(fs.Args()[1:]...)
	}
	if f.replicasSet {
		s.Replicas(f.replicas)
	}
	for _, e := range f.env {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			if v, ok = os.LookupEnv(k); !ok {
				continue // as the Docker CLI: a variable this shell does not have is left out
			}
		}
		s.Env(k, v)
	}
	for k, v := range f.labels {
		s.Label(k, v)
	}
	for k, v := range f.containerLabels {
		s.ContainerLabel(k, v)
	}
	for _, c := range f.constraints {
		s.Constraint(c)
	}
	for _, n := range f.networks {
		s.Network(n)
	}
	if f.endpointMode != "" {
		s.EndpointMode(f.endpointMode)
	}
	if f.user != "" {
		s.User(f.user)
	}
	if f.workdir != "" {
		s.WorkingDir(f.workdir)
	}
	if f.stopGrace != 0 {
		s.StopGracePeriod(f.stopGrace)
	}
	var p berth.Problems
	for i, pub := range f.publish {
		if !strings.Contains(pub, "=") {
			s.Port(pub)
			continue
		}
		pc, err := parsePortCSV(pub)
		p.AddErr(fmt.Sprintf("service create/publish[%d]", i), err)
		s.PublishPort(pc)
	}
	for i, m := range f.mounts {
		mt, err := parseMountCSV(m)
		p.AddErr(fmt.Sprintf("service create/mount[%d]", i), err)
		s.Mount(mt)
	}
	return s, f, p.Err()
}

// parsePortCSV parses the long --publish syntax: published=8080,target=80,protocol=tcp,mode=host.
func parsePortCSV(s string) (swarmtypes.PortConfig, error) {
	var pc swarmtypes.PortConfig
	for _, field := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(field, "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "published":
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return pc, fmt.Errorf("published=%q is not a port number", v)
			}
			pc.PublishedPort = uint32(n)
		case "target":
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return pc, fmt.Errorf("target=%q is not a port number", v)
			}
			pc.TargetPort = uint32(n)
		case "protocol":
			pc.Protocol = network.IPProtocol(v)
		case "mode":
			pc.PublishMode = swarmtypes.PortConfigPublishMode(v)
		default:
			return pc, fmt.Errorf("%q is not a port field: use published, target, protocol or mode", k)
		}
	}
	return pc, nil
}

// parseMountCSV parses --mount: type=volume|bind|tmpfs,source=S,target=T,readonly.
func parseMountCSV(s string) (mount.Mount, error) {
	m := mount.Mount{Type: mount.TypeVolume}
	for _, field := range strings.Split(s, ",") {
		k, v, hasValue := strings.Cut(field, "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "type":
			m.Type = mount.Type(v)
		case "source", "src":
			m.Source = v
		case "target", "dst", "destination":
			m.Target = v
		case "readonly", "ro":
			ro, err := strconv.ParseBool(v)
			if hasValue && err != nil {
				return m, fmt.Errorf("readonly=%q: want true or false", v)
			}
			m.ReadOnly = !hasValue || ro
		case "tmpfs-size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return m, fmt.Errorf("tmpfs-size=%q is not a number of bytes", v)
			}
			m.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: n}
		default:
			return m, fmt.Errorf("%q is not a mount field: use type, source, target, readonly or tmpfs-size", k)
		}
	}
	return m, nil
}

func serviceCreate(ctx context.Context, args []string) error {
	svc, f, err := serviceFromFlags(args)
	if err != nil {
		return err
	}
	if _, err := svc.Spec(); err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	res, err := swarm.Create(ctx, cli, svc, swarm.CreateOptions{})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	fmt.Println(res.ID)
	if f.detach {
		return nil
	}
	return waitService(ctx, cli, res.ID)
}

// waitService follows a service until it converges, printing its progress on stderr.
func waitService(ctx context.Context, cli swarm.WatchClient, id string) error {
	for p, err := range swarm.Watch(ctx, cli, []string{id}, swarm.WatchOptions{}) {
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, p)
	}
	return nil
}

func serviceScale(ctx context.Context, args []string) error {
	fs := newFlags("service scale", "[-d] SERVICE=REPLICAS...")
	detach := fs.Bool("detach", false, "return once the counts are recorded, without waiting for the tasks")
	fs.BoolVar(detach, "d", false, "shorthand for --detach")
	pos, err := parseAll(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1, -1); err != nil {
		return err
	}
	type target struct {
		service string
		n       uint64
	}
	var targets []target
	var p berth.Problems
	for i, a := range pos {
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
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	var errs []error
	for _, tg := range targets {
		if _, err := swarm.Scale(ctx, cli, tg.service, tg.n, swarm.ScaleOptions{Wait: !*detach}); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Printf("%s scaled to %d\n", tg.service, tg.n)
	}
	return errors.Join(errs...)
}

func serviceList(ctx context.Context, args []string) error {
	fs := newFlags("service ls", "[-q]")
	quiet := fs.Bool("q", false, "print IDs only")
	_, cli, err := connect(ctx, fs, args, 0, 0)
	if err != nil {
		return err
	}
	defer cli.Close()
	res, err := cli.ServiceList(ctx, client.ServiceListOptions{Status: true})
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	printServices(os.Stdout, res.Items, *quiet)
	return nil
}

// printServices prints services as `docker service ls` and `docker stack services` do.
func printServices(w io.Writer, services []swarmtypes.Service, quiet bool) {
	if quiet {
		for _, s := range services {
			fmt.Fprintln(w, s.ID)
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tMODE\tREPLICAS\tIMAGE\tPORTS")
	for _, s := range services {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", shortID(s.ID), s.Spec.Name, mode(s.Spec.Mode), replicas(s), serviceImage(s.Spec), ports(s))
	}
	tw.Flush()
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func servicePs(ctx context.Context, args []string) error {
	fs := newFlags("service ps", "[-q] [-f desired-state=running] SERVICE...")
	quiet := fs.Bool("q", false, "print task IDs only")
	var filters stringList
	fs.Var(&filters, "filter", "desired-state=running (only the tasks swarm wants running)")
	fs.Var(&filters, "f", "shorthand for --filter")
	pos, err := parseAll(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1, -1); err != nil {
		return err
	}
	opts := swarm.TasksOptions{History: true}
	for _, f := range filters {
		if f != "desired-state=running" {
			return berth.Invalid("service ps/filter", "%q is not supported: use desired-state=running", f)
		}
		opts.History = false
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	var all []swarm.Task
	for _, s := range pos {
		tasks, err := swarm.Tasks(ctx, cli, s, opts)
		if err != nil {
			return err
		}
		all = append(all, tasks...)
	}
	printTasks(os.Stdout, all, *quiet, time.Now())
	return nil
}

func printTasks(w io.Writer, tasks []swarm.Task, quiet bool, now time.Time) {
	if quiet {
		for _, t := range tasks {
			fmt.Fprintln(w, t.ID)
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tIMAGE\tNODE\tDESIRED STATE\tCURRENT STATE\tERROR")
	prev := ""
	for _, t := range tasks {
		name := t.Name
		if name == prev {
			name = ` \_ ` + name // an older task of the same slot, as `docker service ps` shows it
		} else {
			prev = name
		}
		errText := t.Err
		if errText != "" {
			errText = strconv.Quote(errText)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s %s ago\t%s\n", shortID(t.ID), name, t.Image, t.Node,
			swarmTitle(string(t.DesiredState)), swarmTitle(string(t.State)), now.Sub(t.Since).Round(time.Second), errText)
	}
	tw.Flush()
}

// serviceUpdateFlags are the flags of `service update`.
type serviceUpdateFlags struct {
	image                  string
	replicas               *uint64
	envAdd, envRm, labelRm stringList
	labelAdd               keyValues
	force, detach          bool
}

// apply makes the change the flags describe.
func (f *serviceUpdateFlags) apply(s *swarmtypes.ServiceSpec) error {
	c := s.TaskTemplate.ContainerSpec
	if c == nil {
		return berth.Invalid("service update", "%s has no container spec", s.Name)
	}
	if f.image != "" {
		c.Image = f.image
	}
	if f.replicas != nil {
		if s.Mode.Replicated == nil {
			return berth.Invalid("service update/replicas", "%s is not a replicated service", s.Name)
		}
		s.Mode.Replicated.Replicas = f.replicas
	}
	env := map[string]string{}
	for _, e := range slices.Concat(c.Env, f.envAdd) {
		k, _, _ := strings.Cut(e, "=")
		env[k] = e
	}
	for _, k := range f.envRm {
		delete(env, k)
	}
	c.Env = slices.Sorted(maps.Values(env)) // sorted, as the builder compiles it
	if len(f.labelAdd) > 0 && s.Labels == nil {
		s.Labels = map[string]string{}
	}
	for k, v := range f.labelAdd {
		s.Labels[k] = v
	}
	for _, k := range f.labelRm {
		delete(s.Labels, k)
	}
	return nil
}

func serviceUpdate(ctx context.Context, args []string) error {
	fs := newFlags("service update", "[OPTIONS] SERVICE")
	f := &serviceUpdateFlags{labelAdd: keyValues{}}
	fs.StringVar(&f.image, "image", "", "new image reference")
	fs.Func("replicas", "number of tasks", func(s string) error {
		n, err := strconv.ParseUint(s, 10, 64)
		f.replicas = &n
		return err
	})
	fs.Var(&f.envAdd, "env-add", "add or change an environment variable KEY=VALUE (repeatable)")
	fs.Var(&f.envRm, "env-rm", "remove an environment variable KEY (repeatable)")
	fs.Var(f.labelAdd, "label-add", "add or change a service label KEY=VALUE (repeatable)")
	fs.Var(&f.labelRm, "label-rm", "remove a service label KEY (repeatable)")
	fs.BoolVar(&f.force, "force", false, "restart every task even when nothing changed")
	fs.BoolVar(&f.detach, "detach", false, "return at once instead of waiting for the update to converge")
	fs.BoolVar(&f.detach, "d", false, "shorthand for --detach")
	pos, cli, err := connect(ctx, fs, args, 1, 1)
	if err != nil {
		return err
	}
	defer cli.Close()
	res, err := swarm.Update(ctx, cli, pos[0], f.apply, swarm.UpdateOptions{Force: f.force})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	fmt.Println(pos[0])
	if f.detach || !res.Changed {
		return nil
	}
	return waitService(ctx, cli, res.ID)
}

func serviceRollback(ctx context.Context, args []string) error {
	fs := newFlags("service rollback", "[-d] SERVICE")
	detach := fs.Bool("detach", false, "return at once instead of waiting for the rollback to complete")
	fs.BoolVar(detach, "d", false, "shorthand for --detach")
	pos, cli, err := connect(ctx, fs, args, 1, 1)
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := swarm.Rollback(ctx, cli, pos[0], swarm.UpdateOptions{Wait: !*detach}); err != nil {
		return err
	}
	fmt.Println(pos[0])
	return nil
}

func serviceRemove(ctx context.Context, args []string) error {
	fs := newFlags("service rm", "SERVICE...")
	pos, cli, err := connect(ctx, fs, args, 1, -1)
	if err != nil {
		return err
	}
	defer cli.Close()
	var errs []error
	for _, s := range pos {
		if err := swarm.Remove(ctx, cli, s, swarm.RemoveOptions{}); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Println(s)
	}
	return errors.Join(errs...)
}

func serviceLogs(ctx context.Context, args []string) error {
	fs := newFlags("service logs", "[-f] [--since T] [--tail N] SERVICE")
	var o swarm.LogsOptions
	fs.BoolVar(&o.Follow, "follow", false, "follow the output")
	fs.BoolVar(&o.Follow, "f", false, "shorthand for --follow")
	fs.StringVar(&o.Since, "since", "", "show lines since a time (2026-11-26T10:00:00Z) or duration (42m)")
	tail := fs.String("tail", "all", "number of lines to show from the end of each task's log")
	fs.StringVar(tail, "n", "all", "shorthand for --tail")
	timestamps := fs.Bool("timestamps", false, "show timestamps")
	fs.BoolVar(timestamps, "t", false, "shorthand for --timestamps")
	pos, err := parseAll(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1, 1); err != nil {
		return err
	}
	if *tail != "all" {
		n, err := strconv.Atoi(*tail)
		if err != nil || n < 0 {
			return berth.Invalid("service logs/tail", "%q: want a number of lines or all", *tail)
		}
		o.Tail = n
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	names := taskNames{cli: cli, service: pos[0]}
	for l, err := range swarm.Logs(ctx, cli, pos[0], o) {
		if err != nil {
			return err
		}
		w := os.Stdout
		if l.Stream == swarm.Stderr {
			w = os.Stderr
		}
		prefix := names.of(ctx, l.TaskID)
		if *timestamps {
			prefix = l.Time.Format(time.RFC3339Nano) + " " + prefix
		}
		fmt.Fprintf(w, "%s | %s\n", prefix, l.Text)
	}
	return nil
}

// taskNames turns task IDs into `docker service logs` prefixes (NAME.SLOT.ID@NODE), listing the
// service's tasks again when a new one appears.
type taskNames struct {
	cli     swarm.TasksClient
	service string
	known   map[string]string
}

func (n *taskNames) of(ctx context.Context, id string) string {
	if p, ok := n.known[id]; ok {
		return p
	}
	n.known = map[string]string{}
	tasks, _ := swarm.Tasks(ctx, n.cli, n.service, swarm.TasksOptions{History: true})
	for _, t := range tasks {
		n.known[t.ID] = t.Name + "." + shortID(t.ID) + "@" + t.Node
	}
	if _, ok := n.known[id]; !ok {
		n.known[id] = shortID(id)
	}
	return n.known[id]
}
