package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/berthdev/berth/stack"
)

func init() {
	register(command{path: "stack deploy", usage: "deploy a new stack or update an existing one from Compose files, and wait for it", run: stackDeploy})
	register(command{path: "stack plan", usage: "show what deploy would change, writing nothing", run: stackPlan})
	register(command{path: "stack rm", usage: "remove stacks and wait for their networks to be gone", run: stackRm})
	register(command{path: "stack ls", usage: "list stacks", run: stackLs})
	register(command{path: "stack services", usage: "list the services of a stack", run: stackServices})
	register(command{path: "stack ps", usage: "list the tasks of a stack", run: stackPs})
	register(command{path: "stack config", usage: "print the compiled stack (what deploy would send) or its Compose rendering", run: stackConfig})
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

func stackConfig(ctx context.Context, args []string) error {
	fs, files := stackFlags("stack config", "-c FILE [-c FILE...] [--format json|compose] STACK")
	format := fs.String("format", "json", `"json": the compiled spec; "compose": the stack rendered as a Compose file`)
	pos, err := parseAll(fs, args)
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
