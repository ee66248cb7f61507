// Command berth is a CLI over the berth library whose verbs, flags, help and exit codes mirror
// the Docker CLI's: `berth stack deploy -c f.yml NAME` works where `docker stack deploy` does,
// `berth service ls --format json` prints what `docker service ls --format json` prints, and the
// same binary installed as ~/.docker/cli-plugins/docker-berth runs as `docker berth …`.
//
// It is built on spf13/cobra and spf13/pflag, as the Docker CLI is: GNU long and short flags
// anywhere among the arguments, `--flag=value`, repeated and comma-separated list flags,
// -h/--help on every level, "Did you mean" suggestions, and Docker's exit codes (125 for a flag
// error, 1 for a failed command or a wrong argument count, the command's own code otherwise).
//
// # Adding a verb group
//
// A group is one file. Write a constructor that returns the group's *cobra.Command, made with
// newGroup from verbs made with newVerb (or engineVerb, which hands the verb a connected
// client), and register it from the file's init function:
//
//	func init() { addGroup(newNetworkCommand) }
//
//	func newNetworkCommand() *cobra.Command {
//		var o listOptions
//		ls := engineVerb("ls [OPTIONS]", "List networks", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
//			f, err := o.filterArgs("driver", "id", "label", "name", "scope", "type")
//			…
//			return printRows(stdout(), o, "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", rows, func(r networkRow) string { return r.ID })
//		})
//		addListFlags(ls, &o, "network IDs", "driver, id, label, name, scope, type", true) // --format, -q, -f, --no-trunc
//		rm := removeVerb("rm NETWORK [NETWORK...]", "Remove one or more networks", network.Remove)
//		return newGroup("network", "Manage networks", ls, rm, inspectVerb(…))
//	}
//
// Nothing else changes: help, usage errors, completion (set ValidArgsFunction to
// completeNames(networkNames)), the Docker CLI plugin and the global -H/--host and --context
// flags come with the root. A group registered twice under one name is merged, so a file can
// add verbs to an existing group ("container" has `container data` in volume.go). Run
// TestFlagsMatchDocker afterwards: it compares the new verbs' flags with docker's.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// exitError carries a specific exit code (e.g. `stack plan --exit-code` exits 2 on changes).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

// run runs the CLI with args (without the program name) and returns its exit code.
func run(ctx context.Context, args []string) int {
	args = pluginArgs(args)
	root := newRoot()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ee *exitError
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, ue.Error())
		return ue.code
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "berth:", ee.err)
		}
		return ee.code
	default:
		fmt.Fprintln(os.Stderr, "berth:", err)
		return 1
	}
}
