// Command visualizer serves the swarm visualizer of package visualize: a page with one column
// per node and one card per task, kept live, read-only. It reads the engine it finds through
// the environment (DOCKER_HOST, or the socket /var/run/docker.sock, which the stack file
// visualizer.yml mounts read-only from a manager).
//
// It listens on 127.0.0.1:9000 unless told otherwise; a non-loopback address needs a token
// (-token-file, or $VISUALIZE_TOKEN), basic auth ($VISUALIZE_BASIC_AUTH=user:password) or
// -insecure.
//
//	go run ./examples/visualizer -listen 127.0.0.1:9000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/visualize"
)

func main() {
	opts := visualize.Options{Token: os.Getenv("VISUALIZE_TOKEN"), BasicAuth: os.Getenv("VISUALIZE_BASIC_AUTH")}
	tokenFile := flag.String("token-file", "", "file holding the bearer token (a swarm secret, say)")
	flag.StringVar(&opts.Listen, "listen", visualize.DefaultListen, "address to listen on, host:port")
	flag.BoolVar(&opts.Insecure, "insecure", false, "allow a non-loopback address without a token or basic auth")
	flag.DurationVar(&opts.Model.Interval, "interval", 0, "how often tasks are listed (default 1s)")
	flag.Parse()
	if err := run(opts, *tokenFile); err != nil {
		fmt.Fprintln(os.Stderr, "visualizer:", err)
		os.Exit(1)
	}
}

func run(opts visualize.Options, tokenFile string) error {
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return err
		}
		opts.Token = strings.TrimSpace(string(b))
	}
	if err := opts.Validate(); err != nil { // before connecting: a bad flag says so at once
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli, err := berth.Connect(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	opts.Listening = func(addr string) { fmt.Printf("visualizer: serving %s on http://%s/\n", cli.DaemonHost(), addr) }
	return visualize.Serve(ctx, cli, opts)
}
