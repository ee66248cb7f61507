package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
)

// Flag helpers shared by every command group.

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// keyValues is a repeatable KEY=VALUE flag.
type keyValues map[string]string

func (kv keyValues) String() string { return "" }

func (kv keyValues) Set(s string) error {
	k, v, _ := strings.Cut(s, "=")
	if k == "" {
		return fmt.Errorf("%q: want KEY=VALUE", s)
	}
	kv[k] = v
	return nil
}

// parseAll parses flags placed before, between and after positional arguments, as the Docker
// CLI accepts them (`berth node update NODE --availability drain`), and returns the positional
// arguments; "--" ends the flags.
func parseAll(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// wantArgs checks the number of positional arguments, printing the usage when it is wrong.
func wantArgs(fs *flag.FlagSet, pos []string, min, max int) error {
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		fs.Usage()
		return &exitError{code: 2, err: fmt.Errorf("%s: wrong number of arguments (%d)", fs.Name(), len(pos))}
	}
	return nil
}

// connect parses fs (flags anywhere), checks that there are min to max positional arguments
// (max < 0: no limit) and connects to the engine. The caller closes the client.
func connect(ctx context.Context, fs *flag.FlagSet, args []string, min, max int) ([]string, *client.Client, error) {
	pos, err := parseAll(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if err := wantArgs(fs, pos, min, max); err != nil {
		return nil, nil, err
	}
	cli, err := engine(ctx)
	if err != nil {
		return nil, nil, err
	}
	return pos, cli, nil
}
