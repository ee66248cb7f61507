package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/berthdev/berth/stack"
)

func init() {
	register(command{path: "stack deploy", usage: "deploy a new stack or update an existing one from Compose files", run: stackDeploy})
	register(command{path: "stack config", usage: "print the compiled stack (what deploy would send) or its Compose rendering", run: stackConfig})
}

// fileList is a repeatable -c flag.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

// parseInterleaved parses flags that may come before or after the positional arguments, as
// the Docker CLI allows (`stack deploy NAME -c f.yml`).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func stackFlags(name, usageLine string) (*flag.FlagSet, *fileList) {
	fs := newFlags(name, usageLine)
	files := &fileList{}
	fs.Var(files, "c", "path to a Compose file (repeatable; later files override earlier ones)")
	fs.Var(files, "compose-file", "same as -c")
	return fs, files
}

// loadStack loads and compiles the stack named by the single positional argument.
func loadStack(ctx context.Context, fs *flag.FlagSet, files fileList, args []string, apiVersion string) (*stack.Stack, *stack.Spec, error) {
	if len(args) != 1 {
		fs.Usage()
		return nil, nil, &exitError{code: 2, err: fmt.Errorf("want exactly one STACK name, got %d arguments", len(args))}
	}
	if len(files) == 0 {
		return nil, nil, &exitError{code: 2, err: fmt.Errorf("no Compose file: give -c FILE")}
	}
	st, err := stack.Load(ctx, args[0], files...)
	if err != nil {
		return nil, nil, err
	}
	spec, err := st.CompileFor(apiVersion)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range spec.Warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	return st, spec, nil
}

func stackDeploy(ctx context.Context, args []string) error {
	fs, files := stackFlags("stack deploy", "-c FILE [-c FILE...] [--prune] [--resolve-image always|changed|never] [--detach] STACK")
	prune := fs.Bool("prune", false, "remove services of the stack that the Compose files no longer have")
	resolve := fs.String("resolve-image", stack.ResolveAlways, `query the registry to pin image digests: "always", "changed" or "never"`)
	detach := fs.Bool("detach", true, "exit once the stack is sent instead of waiting for its services to run")
	fs.BoolVar(detach, "d", true, "same as --detach")
	quiet := fs.Bool("quiet", false, "print no progress")
	fs.BoolVar(quiet, "q", false, "same as --quiet")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch *resolve {
	case stack.ResolveAlways, stack.ResolveChanged, stack.ResolveNever:
	default:
		return &exitError{code: 2, err: fmt.Errorf("--resolve-image %q: want always, changed or never", *resolve)}
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	_, spec, err := loadStack(ctx, fs, *files, pos, cli.ClientVersion())
	if err != nil {
		return err
	}
	opts := stack.DeployOptions{Prune: *prune, ResolveImage: *resolve, Wait: !*detach}
	if !*quiet {
		opts.Progress = func(line string) { fmt.Println(line) }
	}
	res, err := stack.Deploy(ctx, cli, spec, opts)
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintln(os.Stderr, "warning:", w)
		}
	}
	return err
}

func stackConfig(ctx context.Context, args []string) error {
	fs, files := stackFlags("stack config", "-c FILE [-c FILE...] [--format json|compose] STACK")
	format := fs.String("format", "json", `"json": the compiled spec; "compose": the stack rendered as a Compose file`)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	st, spec, err := loadStack(ctx, fs, *files, pos, "")
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		e := json.NewEncoder(os.Stdout)
		e.SetIndent("", "  ")
		return e.Encode(spec)
	case "compose":
		out, err := st.Compose()
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(out)
		return err
	}
	return &exitError{code: 2, err: fmt.Errorf("--format %q: want json or compose", *format)}
}
