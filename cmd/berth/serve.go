package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/ingress"
	"github.com/berthdev/berth/visualize"
)

// The long-running servers over the engine: `berth visualize` (the swarm visualizer page) and
// `berth ingress` (the reverse proxy from outside the swarm). Both run until interrupted.

func init() {
	addGroup(newVisualize)
	addGroup(newIngress)
}

func newVisualize() *cobra.Command {
	var o visualize.Options
	cmd := newVerb("visualize [OPTIONS]", "Serve the swarm visualizer: which node runs which task, live and read-only", noArgs, func(cmd *cobra.Command, _ []string) error {
		if err := o.Validate(); err != nil { // before connecting: a public address needs credentials
			return err
		}
		cli, err := engine(cmd.Context())
		if err != nil {
			return err
		}
		defer cli.Close()
		o.Listening = func(addr string) { fmt.Fprintf(stdout(), "the visualizer answers on http://%s/\n", addr) }
		return visualize.Serve(cmd.Context(), cli, o)
	})
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", visualize.DefaultListen, "Address to listen on (host:port); a non-loopback one needs --token or --basic-auth, or --insecure")
	f.StringVar(&o.Token, "token", "", "Ask for this bearer token")
	f.StringVar(&o.BasicAuth, "basic-auth", "", "Ask for these credentials (USER:PASSWORD)")
	f.BoolVar(&o.Insecure, "insecure", false, "Allow a non-loopback address without credentials")
	return cmd
}

func newIngress() *cobra.Command {
	var o ingress.Options
	cmd := engineVerb("ingress [OPTIONS]", "Serve the ingress proxy: route HTTP from outside the swarm to labelled services", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		if err := o.Validate(); err != nil {
			return err
		}
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
		return ingress.Run(cmd.Context(), cli, o)
	})
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", ":80", "Proxy listen address")
	f.StringVar(&o.AdminAddr, "admin-addr", ":8081", "Stats page, /metrics and /healthz listen address (- for none)")
	f.StringSliceVar(&o.Networks, "network", nil, "Networks whose labelled services are routed (repeatable or comma-separated)")
	f.DurationVar(&o.TaskInterval, "task-interval", 0, "How often tasks are read again (default 500ms)")
	f.DurationVar(&o.RetryTimeout, "retry-timeout", 0, "How long a request waits for a healthy task (default 15s)")
	f.DurationVar(&o.DialTimeout, "dial-timeout", 0, "Bound of a connection to a task (default 1s)")
	cmd.AddCommand(newVerb("stack", "Print the ingress stack file (global on managers, host-mode ports)", noArgs, func(cmd *cobra.Command, _ []string) error {
		_, err := stdout().Write(ingress.StackFile)
		return err
	}))
	return cmd
}
