package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthdev/berth/stack"
	"github.com/compose-spec/compose-go/v2/loader"
)

func init() {
	register(command{path: "stack deploy", usage: "deploy a new stack or update an existing one from Compose files, and wait for it", run: stackDeploy})
	register(command{path: "stack plan", usage: "show what deploy would change, writing nothing", run: stackPlan})
	register(command{path: "stack rm", usage: "remove stacks and wait for their networks to be gone", run: stackRm})
	register(command{path: "stack ls", usage: "list stacks", run: stackLs})
	register(command{path: "stack services", usage: "list the services of a stack", run: stackServices})
	register(command{path: "stack ps", usage: "list the tasks of a stack", run: stackPs})
	register(command{path: "stack config", usage: "print the merged Compose file, as docker stack config, or the Engine specs (--format json)", run: stackConfig})
}

func stackFlags(name, usageLine string) (*flag.FlagSet, *stringList) {
	fs := newFlags(name, usageLine)
	files := &stringList{}
	fs.Var(files, "c", "path to a Compose file (repeatable; later files override earlier ones)")
	fs.Var(files, "compose-file", "same as -c")
	return fs, files
}

// loadStack loads and compiles the stack named by the single positional argument.
func loadStack(ctx context.Context, fs *flag.FlagSet, files stringList, args []string, apiVersion string) (*stack.Stack, *stack.Spec, error) {
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

// stackConfig prints the merged, interpolated Compose file as `docker stack config` does
// (STACK is optional), or with --format json the Engine specs of the compiled stack (named
// STACK, or after the first file's directory). Inline secret data shows as <redacted>.
func stackConfig(ctx context.Context, args []string) error {
	fs, files := stackFlags("stack config", "-c FILE [-c FILE...] [--format compose|json] [STACK]")
	format := fs.String("format", "compose", `"compose": the merged, interpolated Compose file (as docker stack config); "json": the Engine specs`)
	pos, err := parseAll(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		fs.Usage()
		return &exitError{code: 2, err: fmt.Errorf("want at most one STACK name, got %d arguments", len(pos))}
	}
	if len(*files) == 0 {
		return &exitError{code: 2, err: fmt.Errorf("no Compose file: give -c FILE")}
	}
	switch *format {
	case "compose":
		out, err := stack.MergedCompose(ctx, *files...)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(out)
		return err
	case "json":
		if len(pos) == 0 {
			abs, _ := filepath.Abs((*files)[0])
			pos = []string{loader.NormalizeProjectName(filepath.Base(filepath.Dir(abs)))}
		}
		_, spec, err := loadStack(ctx, fs, *files, pos, "")
		if err != nil {
			return err
		}
		e := json.NewEncoder(os.Stdout)
		e.SetIndent("", "  ")
		e.SetEscapeHTML(false)
		return e.Encode(spec)
	}
	return &exitError{code: 2, err: fmt.Errorf("--format %q: want compose or json", *format)}
}
