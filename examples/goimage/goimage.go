// Package goimage turns a Go main package into a FROM scratch image: it builds a static binary
// (CGO_ENABLED=0) with the local Go toolchain and builds the image with package image. The
// examples use it for their servers, so no base image is ever pulled; it is a public package
// (not internal) so that an example copied into another module still builds.
package goimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/berthdev/berth/image"
	"github.com/moby/moby/client"
)

// Build compiles pkg (an import path such as "github.com/berthdev/berth/examples/echo") and
// builds the image tag from it, with the binary as /app and its entrypoint. It returns the
// image ID.
func Build(ctx context.Context, cli client.ImageBuildAPIClient, pkg, tag string) (string, error) {
	dir, err := os.MkdirTemp("", "berth-goimage-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "app")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	src := image.Files{
		{Name: "Dockerfile", Data: []byte("FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n")},
		{Name: "app", Mode: 0o755, Data: data},
	}
	res, err := image.Wait(image.Build(ctx, cli, src, image.BuildOptions{Tags: []string{tag}}))
	if err != nil {
		return "", err
	}
	return res.ImageID, nil
}
