// Command quickstart is berth's first workflow end to end, on the local engine: build a small
// HTTP echo server (Go, static, FROM scratch) with package image, start a local registry with
// package registry, push the image into it, run a container from the registry reference, send
// it one request on loopback, print the answer, and remove everything it created.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/container"
	"github.com/berthdev/berth/examples/goimage"
	"github.com/berthdev/berth/image"
	"github.com/berthdev/berth/registry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// cleanup runs undo steps in reverse order, even when the context was cancelled.
type cleanup []func(context.Context)

func (c *cleanup) add(f func(context.Context)) { *c = append(*c, f) }

func (c *cleanup) run() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, f := range slices.Backward(*c) {
		f(ctx)
	}
}

func run(ctx context.Context) error {
	cli, err := berth.Connect(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	var undo cleanup
	defer undo.run()

	id := suffix()
	buildTag := "berth-quickstart/echo:" + id
	fmt.Println("1. build the echo server image (Go, static, FROM scratch):", buildTag)
	if _, err := goimage.Build(ctx, cli, "github.com/berthdev/berth/examples/echo", buildTag); err != nil {
		return err
	}
	// Remove by tag, never by ID: a cached build gives other programs' tags the same image ID.
	undo.add(func(ctx context.Context) { image.Remove(ctx, cli, buildTag, image.RemoveOptions{}) })

	regImage, err := image.FirstPresent(ctx, cli, "berth-fixtures/registry:local", registry.DefaultImage)
	if err != nil {
		return err
	}
	fmt.Println("2. start a local registry from", regImage)
	reg, err := registry.Start(ctx, cli, registry.Options{Name: "berth-quickstart-registry-" + id, Image: regImage})
	if err != nil {
		return err
	}
	undo.add(func(ctx context.Context) { reg.Remove(ctx, registry.RemoveOptions{}) })
	fmt.Printf("   registry at %s (in-cluster name %s)\n", reg.HostAddr, reg.ClusterAddr)

	fmt.Println("3. push the image")
	pushed, err := reg.Push(ctx, cli, buildTag, "example/echo:1")
	if err != nil {
		return err
	}
	fmt.Printf("   pushed %s (%s)\n", pushed.HostRef, pushed.Digest)

	// Drop the local tags so the container below really runs what the registry serves.
	for _, ref := range []string{pushed.HostRef, buildTag} {
		if err := image.Remove(ctx, cli, ref, image.RemoveOptions{}); err != nil {
			return err
		}
	}
	if _, err := image.Wait(image.Pull(ctx, cli, pushed.HostRef, image.PullOptions{})); err != nil {
		return err
	}
	undo.add(func(ctx context.Context) { image.Remove(ctx, cli, pushed.HostRef, image.RemoveOptions{Force: true}) })

	fmt.Println("4. run a container from", pushed.HostRef)
	addr, err := runEcho(ctx, cli, pushed.HostRef, "berth-quickstart-echo-"+id, &undo)
	if err != nil {
		return err
	}

	fmt.Println("5. one request to http://" + addr + "/quickstart")
	answer, err := get(ctx, "http://"+addr+"/quickstart")
	if err != nil {
		return err
	}
	fmt.Print("   answer:\n   | ", indent(answer))
	fmt.Println("6. remove everything the quickstart created")
	return nil
}

// runEcho starts the echo server container with its port published on a free loopback port
// and returns that address.
func runEcho(ctx context.Context, cli *client.Client, ref, name string, undo *cleanup) (string, error) {
	hostPort, err := freePort()
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(hostPort))
	// `docker run -d --name NAME -p 127.0.0.1:PORT:8080 REF`; a start that fails leaves nothing.
	res, err := container.Run(ctx, cli, container.New(ref).Name(name).Publish(addr+":8080"), container.RunOptions{})
	if err != nil {
		return "", err
	}
	undo.add(func(ctx context.Context) {
		container.Remove(ctx, cli, res.ID, container.RemoveOptions{Force: true, Volumes: true})
	})
	return addr, nil
}

// get retries until the server answers (it needs a moment to listen) or 20 s pass.
func get(ctx context.Context, url string) (string, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(url)
		if err == nil {
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			return string(body), err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", fmt.Errorf("no answer from %s: %w", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func suffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func indent(s string) string {
	out := ""
	for i, r := range s {
		out += string(r)
		if r == '\n' && i < len(s)-1 {
			out += "   | "
		}
	}
	return out
}
