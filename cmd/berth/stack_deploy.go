package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"
)

// deployFlags are the flags stack deploy and stack plan share.
type deployFlags struct {
	fs           *flag.FlagSet
	files        *stringList
	prune        *bool
	resolve      *string
	registryAuth *bool
}

func newDeployFlags(name, usageLine string) *deployFlags {
	fs, files := stackFlags(name, usageLine)
	return &deployFlags{fs: fs, files: files,
		prune:        fs.Bool("prune", false, "remove services, networks, secrets and configs of the stack that the Compose files no longer have"),
		resolve:      fs.String("resolve-image", string(stack.ResolveAlways), `query the registry to pin image digests: "always", "changed" or "never"`),
		registryAuth: fs.Bool("with-registry-auth", false, "send registry credentials from the Docker CLI's config file to the swarm agents"),
	}
}

// parse parses the flags; a flag error exits 125, as with the Docker CLI.
func (d *deployFlags) parse(args []string) ([]string, error) {
	pos, err := parseAll(d.fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &exitError{code: 125, err: err}
	}
	if err := stack.ResolveMode(*d.resolve).Validate(); err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("--resolve-image %q: want always, changed or never", *d.resolve)}
	}
	return pos, nil
}

func (d *deployFlags) planOptions() stack.PlanOptions {
	o := stack.PlanOptions{Prune: *d.prune, ResolveImage: stack.ResolveMode(*d.resolve)}
	if *d.registryAuth {
		o.RegistryAuth = dockerConfigAuth
	}
	return o
}

func stackDeploy(ctx context.Context, args []string) error {
	d := newDeployFlags("stack deploy", "-c FILE [-c FILE...] [--prune] [--resolve-image always|changed|never] [--with-registry-auth] [--detach[=false]] [--no-rollback] [--timeout DURATION] STACK")
	detach := d.fs.Bool("detach", false, "exit once the stack is applied instead of waiting for its services to converge")
	d.fs.BoolVar(detach, "d", false, "same as --detach")
	timeout := d.fs.Duration("timeout", 10*time.Minute, "how long to wait for the services to converge")
	quiet := d.fs.Bool("quiet", false, "print no progress")
	d.fs.BoolVar(quiet, "q", false, "same as --quiet")
	noRollback := d.fs.Bool("no-rollback", false, "keep what a failed deploy wrote instead of undoing it")
	pos, err := d.parse(args)
	if err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	_, spec, err := loadStack(ctx, d.fs, *d.files, pos, cli.ClientVersion())
	if err != nil {
		return err
	}
	out := io.Writer(os.Stdout)
	if *quiet {
		out = io.Discard
	}
	p := &eventPrinter{out: out, live: out == io.Writer(os.Stdout) && isTerminal(os.Stdout), lines: map[string]string{}}
	res, err := stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: d.planOptions(), Progress: p.print,
		Wait: !*detach, Watch: swarm.WatchOptions{Timeout: *timeout}, NoRollback: *noRollback})
	if res != nil {
		warn(res.Warnings)
	}
	switch {
	case err != nil:
		return err
	case !res.Plan.HasChanges():
		fmt.Fprintf(out, "Stack %s is up to date: nothing to do\n", spec.Stack)
	case !*detach && len(res.Services()) > 0:
		fmt.Fprintf(out, "Stack %s converged\n", spec.Stack)
	}
	return nil
}

// eventPrinter prints a deploy's events: actions one per line; services' progress redrawn in
// place on a terminal, one line per change otherwise.
type eventPrinter struct {
	out   io.Writer
	live  bool
	order []string
	lines map[string]string
	drawn int
}

func (p *eventPrinter) print(ev stack.Event) {
	if ev.Type != stack.EventProgress || !p.live {
		fmt.Fprintln(p.out, ev)
		p.drawn = 0
		return
	}
	if _, ok := p.lines[ev.ServiceID]; !ok {
		p.order = append(p.order, ev.ServiceID)
	}
	p.lines[ev.ServiceID] = ev.Progress.String()
	if p.drawn > 0 {
		fmt.Fprintf(p.out, "\x1b[%dA", p.drawn)
	}
	for _, id := range p.order {
		fmt.Fprintf(p.out, "\x1b[2K%s\n", p.lines[id])
	}
	p.drawn = len(p.order)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

func warn(ws []string) {
	for _, w := range ws {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
}

func stackPlan(ctx context.Context, args []string) error {
	d := newDeployFlags("stack plan", "-c FILE [-c FILE...] [--prune] [--resolve-image always|changed|never] [--json] [--exit-code] STACK")
	asJSON := d.fs.Bool("json", false, "print the plan as JSON")
	exitCode := d.fs.Bool("exit-code", false, "exit 2 when the plan has changes, 0 when it has none")
	pos, err := d.parse(args)
	if err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	_, spec, err := loadStack(ctx, d.fs, *d.files, pos, cli.ClientVersion())
	if err != nil {
		return err
	}
	plan, perr := spec.Plan(ctx, cli, d.planOptions())
	if plan == nil {
		return perr
	}
	warn(plan.Warnings)
	if *asJSON {
		e := json.NewEncoder(os.Stdout)
		e.SetIndent("", "  ")
		if err := e.Encode(plan); err != nil {
			return err
		}
	} else {
		fmt.Print(plan)
	}
	switch {
	case perr != nil:
		return perr
	case *exitCode && plan.HasChanges():
		return &exitError{code: 2}
	}
	return nil
}

// dockerConfigAuth returns the encoded credentials the Docker CLI's config file holds for an
// image's registry ($DOCKER_CONFIG/config.json or ~/.docker/config.json, "auths" entries;
// credential helpers are not consulted), or "".
func dockerConfigAuth(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	host := reference.Domain(named)
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".docker")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return ""
	}
	var cfg struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			IdentityToken string `json:"identitytoken"`
		} `json:"auths"`
	}
	if json.Unmarshal(raw, &cfg) != nil {
		return ""
	}
	for key, a := range cfg.Auths {
		k := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://"), "/")
		if k != host && !(host == "docker.io" && strings.HasPrefix(k, "index.docker.io")) {
			continue
		}
		ac := registry.AuthConfig{ServerAddress: key, IdentityToken: a.IdentityToken}
		if dec, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
			ac.Username, ac.Password, _ = strings.Cut(string(dec), ":")
		}
		b, _ := json.Marshal(ac)
		return base64.URLEncoding.EncodeToString(b)
	}
	return ""
}
