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

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"
)

// deployFlags are the flags stack deploy and stack plan share.
type deployFlags struct {
	fs            *flag.FlagSet
	files         *stringList
	prune         *bool
	resolve       *string
	registryAuth  *bool
	skipPreflight *bool
}

func newDeployFlags(name, usageLine string) *deployFlags {
	fs, files := stackFlags(name, usageLine)
	return &deployFlags{fs: fs, files: files,
		prune:         fs.Bool("prune", false, "remove services, networks, secrets and configs of the stack that the Compose files no longer have"),
		resolve:       fs.String("resolve-image", stack.ResolveAlways, `query the registry to pin image digests: "always", "changed" or "never"`),
		registryAuth:  fs.Bool("with-registry-auth", false, "send registry credentials from the Docker CLI's config file to the swarm agents"),
		skipPreflight: fs.Bool("skip-preflight", false, "skip the checks against the live swarm before the first write (e.g. constraints no node matches yet, for workers that join later)"),
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
	switch *d.resolve {
	case stack.ResolveAlways, stack.ResolveChanged, stack.ResolveNever:
	default:
		return nil, &exitError{code: 2, err: fmt.Errorf("--resolve-image %q: want always, changed or never", *d.resolve)}
	}
	return pos, nil
}

func (d *deployFlags) planOptions() stack.PlanOptions {
	o := stack.PlanOptions{Prune: *d.prune, ResolveImage: *d.resolve, SkipPreflight: *d.skipPreflight}
	if *d.registryAuth {
		o.RegistryAuth = dockerConfigAuth
	}
	return o
}

func stackDeploy(ctx context.Context, args []string) error {
	d := newDeployFlags("stack deploy", "-c FILE [-c FILE...] [--prune] [--resolve-image always|changed|never] [--with-registry-auth] [--skip-preflight] [--detach[=false]] [--timeout DURATION] STACK")
	detach := d.fs.Bool("detach", false, "exit once the stack is applied instead of waiting for its services to converge")
	d.fs.BoolVar(detach, "d", false, "same as --detach")
	timeout := d.fs.Duration("timeout", 10*time.Minute, "how long to wait for the services to converge")
	quiet := d.fs.Bool("quiet", false, "print no progress")
	d.fs.BoolVar(quiet, "q", false, "same as --quiet")
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
	plan, err := spec.Plan(ctx, cli, d.planOptions())
	if err != nil {
		return err
	}
	warn(plan.Warnings)
	out := io.Writer(os.Stdout)
	if *quiet {
		out = io.Discard
	}
	res, err := plan.Apply(ctx, cli, stack.ApplyOptions{Progress: func(a stack.Action) { fmt.Fprintln(out, a.Verb()) }})
	if res != nil {
		warn(res.Warnings)
	}
	if err != nil {
		return err
	}
	if !plan.HasChanges() {
		fmt.Fprintf(out, "Stack %s is up to date: nothing to do\n", spec.Stack)
	}
	if *detach || len(res.Services()) == 0 {
		return nil
	}
	return watchStack(ctx, cli, spec.Stack, res.Services(), swarm.WatchOptions{Timeout: *timeout}, out)
}

// watchStack follows the services and prints their progress: redrawn in place on a terminal,
// one line per change otherwise.
func watchStack(ctx context.Context, cli stack.WatchClient, name string, ids []string, opts swarm.WatchOptions, out io.Writer) error {
	live := out == io.Writer(os.Stdout) && isTerminal(os.Stdout)
	var order []string
	lines := map[string]string{}
	drawn := 0
	for ev, err := range stack.Watch(ctx, cli, name, ids, opts) {
		if err != nil {
			return err
		}
		if !live {
			fmt.Fprintln(out, ev.Progress)
			continue
		}
		if _, ok := lines[ev.ServiceID]; !ok {
			order = append(order, ev.ServiceID)
		}
		lines[ev.ServiceID] = ev.Progress.String()
		if drawn > 0 {
			fmt.Fprintf(out, "\x1b[%dA", drawn)
		}
		for _, id := range order {
			fmt.Fprintf(out, "\x1b[2K%s\n", lines[id])
		}
		drawn = len(order)
	}
	fmt.Fprintf(out, "Stack %s converged\n", name)
	return nil
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
		enc, _ := berth.EncodeAuth(&ac)
		return enc
	}
	return ""
}
