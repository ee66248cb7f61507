package image_test

import (
	"context"
	"errors"
	"fmt"
	"log"

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
