package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// Flag values shared by every command group. Docker's repeatable flags are "list" values (one
// item per use: an env value may hold commas); its comma-separated ones are pflag's
// StringSlice ("strings").

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
func (s *stringList) Type() string       { return "list" }

// keyValues is a repeatable KEY=VALUE flag.
type keyValues map[string]string

func (kv keyValues) String() string { return "" }
func (kv keyValues) Type() string   { return "list" }

func (kv keyValues) Set(s string) error {
	k, v, _ := strings.Cut(s, "=")
	if k == "" {
		return fmt.Errorf("%q: want KEY=VALUE", s)
	}
	kv[k] = v
	return nil
}

// typed wraps a value to show another type name in the help (Docker's "mount", "port",
// "duration", "uint64").
type typed struct {
	pflag.Value
	name string
}

func (t typed) Type() string { return t.name }

// funcValue is a flag parsed by a function.
type funcValue struct {
	set  func(string) error
	kind string
	last string
}

func (f *funcValue) String() string     { return f.last }
func (f *funcValue) Set(s string) error { f.last = s; return f.set(s) }
func (f *funcValue) Type() string       { return f.kind }

func funcFlag(fs *pflag.FlagSet, name, short, kind, usage string, set func(string) error) {
	fs.VarP(&funcValue{set: set, kind: kind}, name, short, usage)
}
