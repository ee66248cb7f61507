package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// groups are the constructors of the top-level commands; each command group's file adds its
// own from init (see the package doc).
var groups []func() *cobra.Command

func addGroup(f func() *cobra.Command) { groups = append(groups, f) }

// usageError is a mistake in how a command was called. Flag errors exit 125, a wrong number
// of arguments or an unknown command 1, as with the Docker CLI.
type usageError struct {
	code int
	msg  string
}

func (e *usageError) Error() string { return e.msg }

// usageFail formats a usage error the way the Docker CLI does: the problem, the usage line and
// where to find more.
func usageFail(cmd *cobra.Command, code int, problem string) error {
	usage := cmd.UseLine()
	if cmd.HasAvailableSubCommands() {
		usage = cmd.CommandPath()
	}
	return &usageError{code: code, msg: fmt.Sprintf("berth: %s\n\nUsage:  %s\n\nRun '%s --help' for more information", problem, usage, cmd.CommandPath())}
}

// newRoot builds the whole command tree. It is built again on every run, so flag values never
// leak from one run to the next (tests run the CLI many times in one process).
func newRoot() *cobra.Command {
	global = globalOptions{}
	root := &cobra.Command{
		Use:   "berth [OPTIONS] COMMAND",
		Short: "Deploy containers to Docker Engine and Docker Swarm",
		Long: "berth deploys containers to Docker Engine and Docker Swarm: stacks planned before they are applied\n" +
			"and watched until they converge, services, nodes, volumes with backups, images, registries and jobs.",
		Version:               version,
		SilenceErrors:         true,
		SilenceUsage:          true,
		TraverseChildren:      true, // global flags go before the command, as with docker
		DisableFlagsInUseLine: true,
		CompletionOptions:     cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetVersionTemplate("berth version {{.Version}}\n")
	f := root.Flags()
	f.VarP((*stringList)(&global.hosts), "host", "H", "Daemon socket to connect to")
	f.StringVarP(&global.context, "context", "c", "", `Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and default context set with "docker context use")`)
	f.StringVar(&global.config, "config", "", `Location of client config files (default "~/.docker")`)
	f.BoolP("version", "v", false, "Print version information and quit")
	f.BoolVar(&global.tlsVerify, "tlsverify", false, "Use TLS and verify the remote")
	f.StringVar(&global.tlsCA, "tlscacert", "", "Trust certs signed only by this CA")
	f.StringVar(&global.tlsCert, "tlscert", "", "Path to TLS certificate file")
	f.StringVar(&global.tlsKey, "tlskey", "", "Path to TLS key file")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageFail(cmd, 125, err.Error())
	})
	cobra.AddTemplateFunc("aliases", func(c *cobra.Command) string {
		parent := c.Parent().CommandPath()
		out := []string{parent + " " + c.Name()}
		for _, a := range c.Aliases {
			out = append(out, parent+" "+a)
		}
		return strings.Join(out, ", ")
	})
	cobra.AddTemplateFunc("padding", func(cs []*cobra.Command) int {
		n := 0
		for _, c := range cs {
			if c.IsAvailableCommand() && len(c.Name()) > n {
				n = len(c.Name())
			}
		}
		return n + 2
	})
	root.SetUsageTemplate(usageTemplate)
	root.SetHelpTemplate(helpTemplate)
	root.Args, root.RunE, root.SuggestionsMinimumDistance = cobra.ArbitraryArgs, runGroup, 2
	for _, g := range groups {
		addMerged(root, g())
	}
	root.AddCommand(pluginMetadataCommand())
	setDefaults(root)
	return root
}

// setDefaults gives every command Docker's usage line and help flag text.
func setDefaults(c *cobra.Command) {
	c.DisableFlagsInUseLine = true
	if c.Flags().Lookup("help") == nil {
		short := "h"
		if c.Flags().ShorthandLookup("h") != nil { // `run -h` is --hostname, as with docker
			short = ""
		}
		c.Flags().BoolP("help", short, false, "Print usage")
	}
	c.Flags().Lookup("help").Hidden = true
	for _, sub := range c.Commands() {
		setDefaults(sub)
	}
}

// addMerged adds c to parent; a group of the same name as one already there gets c's
// commands instead, so several files can add verbs to one group ("container").
func addMerged(parent, c *cobra.Command) {
	for _, have := range parent.Commands() {
		if have.Name() == c.Name() && have.HasSubCommands() && c.HasSubCommands() {
			for _, sub := range c.Commands() {
				c.RemoveCommand(sub)
				addMerged(have, sub)
			}
			return
		}
	}
	parent.AddCommand(c)
}

// runGroup runs a command that only holds others: alone it prints its help; with an unknown
// sub-command it fails with suggestions.
func runGroup(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	problem := "unknown command: " + cmd.CommandPath() + " " + args[0]
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		problem += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return usageFail(cmd, 1, problem)
}

// newGroup returns a command that only holds sub-commands (see runGroup).
func newGroup(name, short string, verbs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{Use: name, Short: short, Args: cobra.ArbitraryArgs, RunE: runGroup, SuggestionsMinimumDistance: 2}
	g.AddCommand(verbs...)
	return g
}

// newVerb returns a runnable command. use is Docker's usage line after the command path
// ("deploy [OPTIONS] STACK").
func newVerb(use, short string, args cobra.PositionalArgs, run func(cmd *cobra.Command, args []string) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args, RunE: run}
}

// engineVerb is a verb that talks to the engine: run gets a connected client, closed after it.
func engineVerb(use, short string, args cobra.PositionalArgs, run func(cmd *cobra.Command, cli *client.Client, args []string) error) *cobra.Command {
	return newVerb(use, short, args, func(cmd *cobra.Command, args []string) error {
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		return run(cmd, cli, args)
	})
}

// Argument checks with the Docker CLI's messages.

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return usageFail(cmd, 1, fmt.Sprintf("'%s' accepts no arguments", cmd.CommandPath()))
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return usageFail(cmd, 1, fmt.Sprintf("'%s' requires exactly %d %s", cmd.CommandPath(), n, plural(n)))
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return usageFail(cmd, 1, fmt.Sprintf("'%s' requires at least %d %s", cmd.CommandPath(), n, plural(n)))
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= lo && len(args) <= hi {
			return nil
		}
		return usageFail(cmd, 1, fmt.Sprintf("'%s' requires at least %d and at most %d %s", cmd.CommandPath(), lo, hi, plural(hi)))
	}
}

func plural(n int) string {
	if n == 1 {
		return "argument"
	}
	return "arguments"
}

// stdout is where commands print their results (os.Stdout at the time of the call, so tests
// can capture it).
func stdout() *os.File { return os.Stdout }

const usageTemplate = `Usage:  {{if .HasAvailableSubCommands}}{{.CommandPath}}{{if and .HasAvailableLocalFlags (not .HasParent)}} [OPTIONS]{{end}} COMMAND{{else}}{{.UseLine}}{{end}}
{{with or .Long .Short}}
{{.}}
{{end}}{{if gt (len .Aliases) 0}}
Aliases:
  {{aliases .}}
{{end}}{{if .HasExample}}
Examples:
{{.Example}}
{{end}}{{if .HasAvailableLocalFlags}}
{{if .HasParent}}Options{{else}}Global Options{{end}}:
{{.LocalFlags.FlagUsagesWrapped 100 | trimTrailingWhitespaces}}
{{end}}{{if .HasAvailableSubCommands}}
Commands:{{range .Commands}}{{if .IsAvailableCommand}}
  {{rpad .Name (padding $.Commands)}} {{.Short}}{{end}}{{end}}

Run '{{.CommandPath}} COMMAND --help' for more information on a command.
{{end}}`

const helpTemplate = `{{.UsageString}}`
