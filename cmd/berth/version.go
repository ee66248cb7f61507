package main

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

func init() {
	register(command{path: "version", usage: "show the engine's and the client's API versions", run: func(ctx context.Context, args []string) error {
		fs := newFlags("version", "")
		if err := fs.Parse(args); err != nil {
			return err
		}
		cli, err := engine(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		v, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
		if err != nil {
			return err
		}
		fmt.Printf("engine %s (API %s, negotiated %s) at %s\n", v.Version, v.APIVersion, cli.ClientVersion(), cli.DaemonHost())
		return nil
	}})
}
