// Command berth is a thin CLI over the berth library. Its verbs mirror the Docker CLI's:
// `berth stack deploy -c f.yml NAME` works where `docker stack deploy` does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/berthdev/berth"
)

// command is one verb, possibly with sub-verbs ("stack deploy"). Each group lives in its own
// file and registers itself with register, so groups can be added without touching this file.
type command struct {
	path  string // "stack deploy"
	usage string // one line: arguments and what it does
	run   func(ctx context.Context, args []string) error
}

var commands []command

func register(c command) { commands = append(commands, c) }

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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(os.Stdout, "")
		return 0
	}
	cmd, rest, ok := find(args)
	if !ok && len(args) == 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") {
		usage(os.Stdout, args[0]) // `berth stack --help`: the group's commands
		return 0
	}
	if !ok {
		fmt.Fprintf(os.Stderr, "berth: unknown command %q\n\n", strings.Join(args, " "))
		usage(os.Stderr, args[0])
		return 1
	}
	err := cmd.run(ctx, rest)
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
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

// find picks the longest registered path that prefixes args.
func find(args []string) (command, []string, bool) {
	var best command
	n := 0
	for _, c := range commands {
		words := strings.Fields(c.path)
		if len(words) > n && len(words) <= len(args) && slices.Equal(words, args[:len(words)]) {
			best, n = c, len(words)
		}
	}
	return best, args[n:], n > 0
}

func usage(w *os.File, group string) {
	if !slices.ContainsFunc(commands, func(c command) bool { return strings.HasPrefix(c.path, group) }) {
		group = ""
	}
	fmt.Fprintln(w, "berth deploys containers to Docker Engine and Docker Swarm.")
	fmt.Fprintln(w, "\nUsage: berth COMMAND [OPTIONS] [ARGS]\n\nCommands:")
	list := slices.Clone(commands)
	slices.SortFunc(list, func(a, b command) int { return strings.Compare(a.path, b.path) })
	for _, c := range list {
		if group == "" || strings.HasPrefix(c.path, group) {
			fmt.Fprintf(w, "  %-22s %s\n", c.path, c.usage)
		}
	}
	fmt.Fprintln(w, "\nRun 'berth COMMAND --help' for a command's options.")
}

// newFlags returns a flag set for a command that prints its usage line first.
func newFlags(c string, usageLine string) *flag.FlagSet {
	fs := flag.NewFlagSet("berth "+c, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: berth %s %s\n\nOptions:\n", c, usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// engine connects to the engine from the environment.
var engine = berth.Connect
