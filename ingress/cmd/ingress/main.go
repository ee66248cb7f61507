// Command ingress is the program of the ingress image (FROM scratch, a static Go binary): the
// proxy of package ingress, run as a global service on the managers with a host-mode port,
// talking to the engine through its socket (mounted at /var/run/docker.sock, or DOCKER_HOST).
//
//	ingress -network ch03 [-addr :80] [-admin :8081]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/ingress"
)

func main() {
	var o ingress.Options
	networks := flag.String("network", os.Getenv("INGRESS_NETWORKS"), "comma-separated networks whose services are routed (default $INGRESS_NETWORKS)")
	flag.StringVar(&o.Addr, "addr", ":80", "listen address")
	flag.StringVar(&o.AdminAddr, "admin", ":8081", "stats page and /metrics address (- for none)")
	flag.DurationVar(&o.TaskInterval, "task-interval", 0, "how often tasks are read again (default 500ms)")
	flag.DurationVar(&o.RetryTimeout, "retry-timeout", 0, "how long a request waits for a healthy task (default 15s)")
	flag.Parse()
	for n := range strings.SplitSeq(*networks, ",") {
		if n = strings.TrimSpace(n); n != "" {
			o.Networks = append(o.Networks, n)
		}
	}
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli, err := berth.Connect(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingress:", err)
		os.Exit(1)
	}
	defer cli.Close()
	if err := ingress.Run(ctx, cli, o); err != nil {
		fmt.Fprintln(os.Stderr, "ingress:", err)
		os.Exit(1)
	}
}
