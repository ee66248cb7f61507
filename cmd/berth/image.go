package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"strings"

	"github.com/berthdev/berth/image"
)

func init() {
	register(command{path: "build", usage: "build an image from a directory (docker build)", run: buildCmd})
	register(command{path: "push", usage: "push an image to its registry (docker push)", run: pushCmd})
	register(command{path: "pull", usage: "pull an image (docker pull)", run: pullCmd})
	register(command{path: "tag", usage: "give an image another reference (docker tag)", run: tagCmd})
	register(command{path: "image inspect", usage: "show an image's ID, tags and platform", run: imageInspectCmd})
	register(command{path: "image rm", usage: "remove images (docker image rm)", run: imageRmCmd})
	register(command{path: "image import", usage: "create an image from a root file system tar (docker import)", run: imageImportCmd})
	register(command{path: "image save", usage: "write images to a tar archive (docker save)", run: imageSaveCmd})
	register(command{path: "image load", usage: "load images from a tar archive (docker load)", run: imageLoadCmd})
}

// printProgress prints each event as a plain line and returns the stream's result (image.Wait).
func printProgress(events iter.Seq2[image.Event, error], quiet bool) (image.Result, error) {
	return image.Wait(func(yield func(image.Event, error) bool) {
		for ev, err := range events {
			if line := ev.String(); err == nil && !quiet && line != "" && ev.Current == 0 {
				fmt.Println(line)
			}
			if !yield(ev, err) {
				return
			}
		}
	})
}

func buildCmd(ctx context.Context, args []string) error {
	fs := newFlags("build", "[OPTIONS] DIR")
	var tags, buildArgs stringList
	fs.Var(&tags, "t", "name and tag of the result (repeatable)")
	fs.Var(&buildArgs, "build-arg", "KEY=VALUE build argument (repeatable)")
	file := fs.String("f", "", "Dockerfile path inside DIR (default DIR/Dockerfile)")
	noCache := fs.Bool("no-cache", false, "do not use the build cache")
	quiet := fs.Bool("q", false, "print only the image ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("build: want exactly one DIR")
	}
	ba := map[string]*string{}
	for _, kv := range buildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			v = os.Getenv(k)
		}
		ba[k] = &v
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	opts := image.BuildOptions{Tags: tags, Dockerfile: *file, BuildArgs: ba, NoCache: *noCache}
	r, err := printProgress(image.Build(ctx, cli, image.Dir(fs.Arg(0)), opts), *quiet)
	if err != nil {
		return err
	}
	fmt.Println(r.ImageID)
	return nil
}

func pushCmd(ctx context.Context, args []string) error {
	return oneRef(ctx, "push", args, func(ctx context.Context, ref string) error {
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		r, err := printProgress(image.Push(ctx, cli, ref, image.PushOptions{}), false)
		if err == nil && r.Digest != "" {
			fmt.Println("digest:", r.Digest)
		}
		return err
	})
}

func pullCmd(ctx context.Context, args []string) error {
	return oneRef(ctx, "pull", args, func(ctx context.Context, ref string) error {
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		_, err = printProgress(image.Pull(ctx, cli, ref, image.PullOptions{}), false)
		return err
	})
}

func imageInspectCmd(ctx context.Context, args []string) error {
	return oneRef(ctx, "image inspect", args, func(ctx context.Context, ref string) error {
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		info, err := image.Inspect(ctx, cli, ref)
		if err != nil {
			return err
		}
		fmt.Printf("ID:       %s\nTags:     %s\nPlatform: %s\nSize:     %d\nCreated:  %s\n",
			info.ID, strings.Join(info.RepoTags, ", "), info.Platform(), info.Size, info.Created)
		return nil
	})
}

func oneRef(ctx context.Context, name string, args []string, f func(context.Context, string) error) error {
	fs := newFlags(name, "IMAGE")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%s: want exactly one IMAGE", name)
	}
	return f(ctx, fs.Arg(0))
}

func tagCmd(ctx context.Context, args []string) error {
	fs := newFlags("tag", "SOURCE TARGET")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("tag: want SOURCE and TARGET")
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	return image.Tag(ctx, cli, fs.Arg(0), fs.Arg(1))
}

func imageRmCmd(ctx context.Context, args []string) error {
	fs := newFlags("image rm", "[OPTIONS] IMAGE...")
	force := fs.Bool("f", false, "force removal")
	noPrune := fs.Bool("no-prune", false, "do not delete untagged parents")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	var errs []error
	for _, ref := range fs.Args() {
		if err := image.Remove(ctx, cli, ref, image.RemoveOptions{Force: *force, NoPrune: *noPrune}); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Println("Untagged:", ref)
	}
	return errors.Join(errs...)
}

func imageImportCmd(ctx context.Context, args []string) error {
	fs := newFlags("image import", "[OPTIONS] FILE|- REFERENCE")
	var changes stringList
	fs.Var(&changes, "c", "Dockerfile instruction to apply (repeatable)")
	msg := fs.String("m", "", "commit message")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("image import: want FILE (or -) and REFERENCE")
	}
	in, err := openInput(fs.Arg(0))
	if err != nil {
		return err
	}
	defer in.Close()
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	id, err := image.Import(ctx, cli, in, fs.Arg(1), image.ImportOptions{Changes: changes, Message: *msg})
	if err != nil {
		return err
	}
	fmt.Println(id)
	return nil
}

func imageSaveCmd(ctx context.Context, args []string) error {
	fs := newFlags("image save", "-o FILE IMAGE...")
	out := fs.String("o", "", "write to FILE (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return errors.New("image save: want -o FILE and at least one IMAGE")
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := image.Save(ctx, cli, f, fs.Args()...); err != nil {
		f.Close()
		os.Remove(*out)
		return err
	}
	return f.Close()
}

func imageLoadCmd(ctx context.Context, args []string) error {
	fs := newFlags("image load", "-i FILE")
	in := fs.String("i", "-", "read from FILE instead of standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, err := openInput(*in)
	if err != nil {
		return err
	}
	defer r.Close()
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	loaded, err := image.Load(ctx, cli, r)
	for _, ref := range loaded {
		fmt.Println("Loaded image:", ref)
	}
	return err
}
