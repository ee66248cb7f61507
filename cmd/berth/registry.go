package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/moby/moby/client"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/registry"
)

func init() {
	register(command{path: "registry start", usage: "start a local registry container", run: registryStartCmd})
	register(command{path: "registry rm", usage: "remove a local registry (and its volume unless --keep-volume)", run: registryRmCmd})
	register(command{path: "registry push", usage: "push a local image into a local registry: REGISTRY IMAGE PATH[:TAG]", run: registryPushCmd})
	register(command{path: "registry catalog", usage: "list a local registry's repositories", run: registryCatalogCmd})
	register(command{path: "registry tags", usage: "list a repository's tags and digests: REGISTRY REPOSITORY", run: registryTagsCmd})
}

func registryStartCmd(ctx context.Context, args []string) error {
	fs := newFlags("registry start", "[OPTIONS]")
	var opts registry.Options
	fs.StringVar(&opts.Name, "name", "registry", "container name")
	fs.StringVar(&opts.Image, "image", "", "registry image (default: the local fixture when present, else "+registry.DefaultImage+")")
	fs.IntVar(&opts.HostPort, "port", 0, "host port on 127.0.0.1 (default: a free one)")
	fs.StringVar(&opts.Network, "network", "", "also attach to this network, as alias \"registry\"")
	fs.StringVar(&opts.Volume, "volume", "", "named volume for the images (default NAME-data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if opts.Image == "" {
		if opts.Image, err = fixtures.Registry.Resolve(ctx, cli); err != nil {
			return err
		}
	}
	if opts.Network != "" {
		opts.Aliases = []string{"registry"}
	}
	r, err := registry.Start(ctx, cli, opts)
	if err != nil {
		return err
	}
	fmt.Printf("registry %s running\n  push to:   %s\n  pull from: %s (containers on its network)\n  volume:    %s\n", r.Name, r.HostAddr, r.ClusterAddr, r.Volume)
	return nil
}

// withRegistry parses fs, checks the argument count and opens the registry named by the first
// argument.
func withRegistry(ctx context.Context, fs *flag.FlagSet, args []string, nargs int,
	f func(context.Context, *client.Client, *registry.Registry, []string) error) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != nargs {
		fs.Usage()
		return &exitError{code: 1}
	}
	cli, err := engine(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	r, err := registry.Open(ctx, cli, fs.Arg(0))
	if err != nil {
		return err
	}
	return f(ctx, cli, r, fs.Args()[1:])
}

func registryRmCmd(ctx context.Context, args []string) error {
	fs := newFlags("registry rm", "[--keep-volume] REGISTRY")
	keep := fs.Bool("keep-volume", false, "keep the registry's volume and so its images")
	return withRegistry(ctx, fs, args, 1, func(ctx context.Context, _ *client.Client, r *registry.Registry, _ []string) error {
		return r.Remove(ctx, registry.RemoveOptions{KeepVolume: *keep})
	})
}

func registryPushCmd(ctx context.Context, args []string) error {
	fs := newFlags("registry push", "REGISTRY IMAGE PATH[:TAG]")
	return withRegistry(ctx, fs, args, 3, func(ctx context.Context, cli *client.Client, r *registry.Registry, rest []string) error {
		p, err := r.Push(ctx, cli, rest[0], rest[1])
		if err != nil {
			return err
		}
		fmt.Printf("pushed %s\n  host reference:       %s\n  in-cluster reference: %s\n", p.Digest, p.HostRef, p.ClusterRef)
		return nil
	})
}

func registryCatalogCmd(ctx context.Context, args []string) error {
	fs := newFlags("registry catalog", "REGISTRY")
	return withRegistry(ctx, fs, args, 1, func(ctx context.Context, _ *client.Client, r *registry.Registry, _ []string) error {
		repos, err := r.API.Catalog(ctx)
		for _, repo := range repos {
			fmt.Println(repo)
		}
		return err
	})
}

func registryTagsCmd(ctx context.Context, args []string) error {
	fs := newFlags("registry tags", "REGISTRY REPOSITORY")
	return withRegistry(ctx, fs, args, 2, func(ctx context.Context, _ *client.Client, r *registry.Registry, rest []string) error {
		tags, err := r.API.Tags(ctx, rest[0])
		if err != nil {
			return err
		}
		var errs []error
		for _, tag := range tags {
			d, err := r.API.Digest(ctx, rest[0], tag)
			errs = append(errs, err)
			fmt.Printf("%s\t%s\n", tag, d)
		}
		return errors.Join(errs...)
	})
}
