package main

import (
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// version is the CLI's version, set at link time (-ldflags "-X main.version=…").
var version = "dev"

func init() {
	addGroup(func() *cobra.Command {
		var format string
		cmd := engineVerb("version [OPTIONS]", "Show the berth version and the engine's", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
			v, err := cli.ServerVersion(cmd.Context(), client.ServerVersionOptions{})
			if err != nil {
				return err
			}
			if format != "" {
				info := map[string]any{
					"Client": map[string]any{"Version": version, "APIVersion": cli.ClientVersion(), "Host": cli.DaemonHost()},
					"Server": v,
				}
				return printInspect(stdout(), format, []any{info})
			}
			fmt.Fprintf(stdout(), "berth %s\n", version)
			fmt.Fprintf(stdout(), "engine %s (API %s, negotiated %s) at %s\n", v.Version, v.APIVersion, cli.ClientVersion(), cli.DaemonHost())
			return nil
		})
		cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template ('json' or a Go template)")
		return cmd
	})
}
