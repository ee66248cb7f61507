package ingress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/berthdev/berth"
)

// Run is the proxy of `berth ingress`: it listens on opts.Addr (and the admin handler on
// opts.AdminAddr), routes by what Watch discovers from the engine on opts.Networks, and
// serves until ctx ends; it then stops accepting, lets requests in flight finish (up to 10s)
// and returns nil. A listen address in use or an engine that does not answer is an error
// before anything is served.
func Run(ctx context.Context, cli Client, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	if len(opts.Networks) == 0 {
		return berth.Invalid("ingress/networks", "no network given: name the overlay network(s) the proxy and its backends share")
	}
	o := opts.withDefaults()
	snap, err := Discover(ctx, cli, o.Networks)
	if err != nil {
		return err
	}
	s, err := NewServer(opts)
	if err != nil {
		return err
	}
	defer s.Close()
	s.Update(snap)
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("ingress: listen %s: %w", o.Addr, err)
	}
	var admin net.Listener
	if o.AdminAddr != "-" {
		if admin, err = net.Listen("tcp", o.AdminAddr); err != nil {
			ln.Close()
			return fmt.Errorf("ingress: listen %s (admin): %w", o.AdminAddr, err)
		}
	}
	o.Logger.Info("ingress: serving", "addr", ln.Addr().String(), "admin", o.AdminAddr, "networks", o.Networks, "routes", len(snap.Routes))
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go Watch(wctx, cli, o.Networks, o.TaskInterval, s.Update, func(err error) {
		o.Logger.Warn("ingress: discovery (retrying)", "err", err)
	})
	return Serve(ctx, s, ln, admin)
}

// Serve serves s on ln and its admin handler on admin (nil: none) until ctx ends, then shuts
// both down gracefully: requests in flight get up to 10s to finish.
func Serve(ctx context.Context, s *Server, ln, admin net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	var asrv *http.Server
	if admin != nil {
		asrv = &http.Server{Handler: s.Admin(), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- asrv.Serve(admin) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	errs := []error{err, srv.Shutdown(sctx)}
	if asrv != nil {
		errs = append(errs, asrv.Shutdown(sctx))
	}
	if err := errors.Join(errs...); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
