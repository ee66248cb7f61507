// Command proxy is the small reverse proxy of examples/chapter3, in the role nginx plays in
// the original chapter: it listens on :8080 and forwards every request to the backend named by
// $BACKEND_HOST (host:port, e.g. echo_api:8080), adding the header X-Proxied-By with its own
// host name. Built static (CGO_ENABLED=0) it runs in a FROM scratch image.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	backend := flag.String("backend", os.Getenv("BACKEND_HOST"), "backend host:port (default $BACKEND_HOST)")
	flag.Parse()
	if *backend == "" {
		log.Fatal("proxy: set BACKEND_HOST (or -backend) to the backend's host:port")
	}
	target, err := url.Parse("http://" + *backend)
	if err != nil {
		log.Fatalf("proxy: backend %q: %v", *backend, err)
	}
	host, _ := os.Hostname()
	rp := httputil.NewSingleHostReverseProxy(target)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proxied-By", host)
		// Go cancels a request's context when the client half-closes its connection, as
		// `printf 'GET / ...' | nc` does once it has sent the request; the backend's answer is
		// still wanted then, so the forwarded request only has its own timeout.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
		defer cancel()
		rp.ServeHTTP(w, r.WithContext(ctx))
	})
	log.Printf("proxy listening on %s, forwarding to %s", *addr, target)
	log.Fatal(http.ListenAndServe(*addr, handler))
}
