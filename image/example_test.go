package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"slices"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/image"
)

// A malformed reference is refused before any request reaches the engine.
func ExampleParseReference() {
	named, _ := image.ParseReference("busybox")
	fmt.Println(named)
	_, err := image.ParseReference("Busybox")
	fmt.Println(errors.Is(err, berth.ErrInvalid))
	// Output:
	// docker.io/library/busybox
	// true
}

// Build an image from in-memory files and print the engine's progress.
func ExampleBuild() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	src := image.Files{{Name: "Dockerfile", Data: []byte("FROM scratch\nLABEL example=yes\n")}}
	for ev, err := range image.Build(ctx, cli, src, image.BuildOptions{Tags: []string{"example/label:1"}}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev)
	}
}

// generated is a build context of the program's own: any type with a WriteTar method is an
// image.Source, here a Dockerfile and a file written on the fly.
type generated struct{ greeting string }

func (g generated) WriteTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	for name, data := range map[string]string{"Dockerfile": "FROM scratch\nCOPY greeting /\n", "greeting": g.greeting} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// A Source of one's own: Build(ctx, cli, src, opts) streams what it writes to the engine.
func ExampleSource() {
	var src image.Source = generated{greeting: "hello"}
	var buf bytes.Buffer
	if err := src.WriteTar(&buf); err != nil {
		log.Fatal(err)
	}
	var names []string
	for tr := tar.NewReader(&buf); ; {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, hdr.Name)
	}
	slices.Sort(names)
	fmt.Println(names)
	// Output: [Dockerfile greeting]
}
