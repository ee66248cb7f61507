package visualize

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/berthdev/berth"
)

// DefaultListen is where Serve listens when Options.Listen is empty: loopback only.
const DefaultListen = "127.0.0.1:9000"

// Options configures Serve.
type Options struct {
	// Listen is the TCP address to listen on, host:port. Empty means DefaultListen. A
	// non-loopback address (":9000", "0.0.0.0:9000", a LAN address) needs Token or BasicAuth,
	// or Insecure.
	Listen string
	// Token and BasicAuth ask for credentials; see HandlerOptions.
	Token     string
	BasicAuth string
	// Insecure allows a non-loopback address without credentials: anyone who reaches it sees
	// the swarm's nodes, services and images (never env values, secrets or commands).
	Insecure bool
	// Model tunes how often the engine is read.
	Model ModelOptions
	// Listening, when set, is called with the address once Serve listens (the port chosen
	// for ":0"), before the first request is served.
	Listening func(addr string)
}

// Validate reports every invalid field as *berth.ValidationError values, before Serve
// listens or reads the engine.
func (o Options) Validate() error {
	var p berth.Problems
	listen := o.listen()
	host, port, err := net.SplitHostPort(listen)
	switch {
	case err != nil:
		p.Add("visualize/listen", "%q is not host:port: %v", listen, err)
	case port == "":
		p.Add("visualize/listen", "%q has no port: use host:port, such as %s", listen, DefaultListen)
	case !loopback(host) && o.Token == "" && o.BasicAuth == "" && !o.Insecure:
		p.Add("visualize/listen", "%q is not a loopback address and no token or basic auth is set: set one, listen on 127.0.0.1, or allow it with insecure", listen)
	}
	if o.BasicAuth != "" && !strings.Contains(o.BasicAuth, ":") {
		p.Add("visualize/basic_auth", "%q is not user:password", "***")
	}
	if o.Model.Interval < 0 || o.Model.FullInterval < 0 {
		p.Add("visualize/model", "intervals %s and %s: use 0 for the defaults or a positive duration", o.Model.Interval, o.Model.FullInterval)
	}
	return p.Err()
}

func (o Options) listen() string {
	if o.Listen == "" {
		return DefaultListen
	}
	return o.Listen
}

// loopback reports whether host (of host:port) names only the loopback interface. An empty
// host means every interface.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Serve runs the visualizer of the swarm cli manages until ctx ends: one Model reading the
// engine, and Handler on opts.Listen. It checks opts first (nothing is read or listened on
// when they are invalid) and returns nil after a clean shutdown at ctx's end.
func Serve(ctx context.Context, cli Engine, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	l, err := net.Listen("tcp", opts.listen())
	if err != nil {
		return fmt.Errorf("visualize: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := NewModel(cli, opts.Model)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	srv := &http.Server{
		Handler:           Handler(m, HandlerOptions{Token: opts.Token, BasicAuth: opts.BasicAuth}),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx }, // ends the streams at shutdown
	}
	if opts.Listening != nil {
		opts.Listening(l.Addr().String())
	}
	go func() {
		<-ctx.Done()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
	}()
	err = srv.Serve(l)
	cancel()
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("visualize: serve: %w", err)
}
