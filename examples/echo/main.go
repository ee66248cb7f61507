// Command echo is the small HTTP echo server the examples deploy: it answers every request
// with "Hello Docker!!", the host it runs on and the request it got. Built static
// (CGO_ENABLED=0) it runs in a FROM scratch image.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	flag.Parse()
	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello Docker!!\nhost: %s\nrequest: %s %s\n", host, r.Method, r.URL.Path)
	})
	log.Printf("echo listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
