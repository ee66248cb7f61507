package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/registry"
)

func init() {
	addGroup(func() *cobra.Command {
		return newGroup("registry", "Manage local registries",
			newRegistryStart(), newRegistryRm(), newRegistryPush(), newRegistryCatalog(), newRegistryTags())
	})
}

func newRegistryStart() *cobra.Command {
	var opts registry.Options
	cmd := engineVerb("start [OPTIONS]", "Start a local registry container", noArgs, func(cmd *cobra.Command, cli *client.Client, _ []string) error {
		ctx := cmd.Context()
		var err error
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
		fmt.Fprintf(stdout(), "registry %s running\n  push to:   %s\n  pull from: %s (containers on its network)\n  volume:    %s\n", r.Name, r.HostAddr, r.ClusterAddr, r.Volume)
		return nil
	})
	f := cmd.Flags()
	f.StringVar(&opts.Name, "name", "registry", "Container name")
	f.StringVar(&opts.Image, "image", "", "Registry image (default: the local fixture when present, else "+registry.DefaultImage+")")
	f.IntVar(&opts.HostPort, "port", 0, "Host port on 127.0.0.1 (default: a free one)")
	f.StringVar(&opts.Network, "network", "", "Also attach to this network, as alias \"registry\"")
	f.StringVar(&opts.Volume, "volume", "", "Named volume for the images (default NAME-data)")
	return cmd
}

// registryVerb is a verb on the registry named by its first argument.
func registryVerb(use, short string, nargs int, f func(context.Context, *client.Client, *registry.Registry, []string) error) *cobra.Command {
	return engineVerb(use, short, exactArgs(nargs), func(cmd *cobra.Command, cli *client.Client, args []string) error {
		ctx := cmd.Context()
		r, err := registry.Open(ctx, cli, args[0])
		if err != nil {
			return err
		}
		return f(ctx, cli, r, args[1:])
	})
}

func newRegistryRm() *cobra.Command {
	var keep bool
	cmd := registryVerb("rm [OPTIONS] REGISTRY", "Remove a local registry (and its volume unless --keep-volume)", 1, func(ctx context.Context, _ *client.Client, r *registry.Registry, _ []string) error {
		return r.Remove(ctx, registry.RemoveOptions{KeepVolume: keep})
	})
	cmd.Flags().BoolVar(&keep, "keep-volume", false, "Keep the registry's volume and so its images")
	return cmd
}

func newRegistryPush() *cobra.Command {
	return registryVerb("push REGISTRY IMAGE PATH[:TAG]", "Push a local image into a local registry", 3, func(ctx context.Context, cli *client.Client, r *registry.Registry, rest []string) error {
		p, err := r.Push(ctx, cli, rest[0], rest[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout(), "pushed %s\n  host reference:       %s\n  in-cluster reference: %s\n", p.Digest, p.HostRef, p.ClusterRef)
		return nil
	})
}

func newRegistryCatalog() *cobra.Command {
	return registryVerb("catalog REGISTRY", "List a local registry's repositories", 1, func(ctx context.Context, _ *client.Client, r *registry.Registry, _ []string) error {
		repos, err := r.API.Catalog(ctx)
		for _, repo := range repos {
			fmt.Fprintln(stdout(), repo)
		}
		return err
	})
}

func newRegistryTags() *cobra.Command {
	return registryVerb("tags REGISTRY REPOSITORY", "List a repository's tags and digests", 2, func(ctx context.Context, _ *client.Client, r *registry.Registry, rest []string) error {
		tags, err := r.API.Tags(ctx, rest[0])
		if err != nil {
			return err
		}
		var errs []error
		for _, tag := range tags {
			d, err := r.API.Digest(ctx, rest[0], tag)
			errs = append(errs, err)
			fmt.Fprintf(stdout(), "%s\t%s\n", tag, d)
		}
		return errors.Join(errs...)
	})
}
