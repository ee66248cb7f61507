package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// The verbs every object group shares: inspect and rm.

// inspectVerb prints the objects named by the arguments as `docker … inspect` does: a JSON
// array, or each through -f/--format; with pretty, --pretty prints each for people.
func inspectVerb[T any](use, short string, find func(context.Context, *client.Client, string) (T, error), pretty func(io.Writer, T)) *cobra.Command {
	var format string
	var asText bool
	cmd := engineVerb(use, short, minArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		var out []any
		for _, name := range args {
			v, err := find(cmd.Context(), cli, name)
			if err != nil {
				return err
			}
			if asText {
				pretty(stdout(), v)
				continue
			}
			out = append(out, v)
		}
		if asText {
			return nil
		}
		return printInspect(stdout(), format, out)
	})
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template ('json' or a Go template)")
	if pretty != nil {
		cmd.Flags().BoolVar(&asText, "pretty", false, "Print the information in a human friendly format")
	}
	return cmd
}

// removeVerb removes each object named by the arguments, printing the name of each one gone
// and going on after a failure, as `docker … rm` does.
func removeVerb(use, short string, remove func(context.Context, *client.Client, string) error) *cobra.Command {
	cmd := engineVerb(use, short, minArgs(1), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		var errs []error
		for _, name := range args {
			if err := remove(cmd.Context(), cli, name); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintln(stdout(), name)
		}
		return errors.Join(errs...)
	})
	cmd.Aliases = []string{"remove"}
	return cmd
}
