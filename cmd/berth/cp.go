package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/container"
)

// `cp` and `container cp`: docker cp over package container, in both directions, with "-"
// for a tar stream on standard input or output.

func init() {
	addGroup(func() *cobra.Command { return newGroup("container", "Manage containers", newContainerCp()) })
	addGroup(newContainerCp)
}

func newContainerCp() *cobra.Command {
	var o container.CopyOptions
	var quiet bool
	cmd := engineVerb("cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		"Copy files/folders between a container and the local filesystem", exactArgs(2), func(cmd *cobra.Command, cli *client.Client, args []string) error {
			if args[0] == "" {
				return errors.New("source can not be empty")
			}
			if args[1] == "" {
				return errors.New("destination can not be empty")
			}
			srcCtr, src := splitCpArg(args[0])
			dstCtr, dst := splitCpArg(args[1])
			ctx := cmd.Context()
			switch {
			case srcCtr != "" && dstCtr != "":
				return errors.New("copying between containers is not supported")
			case srcCtr != "" && dst == "-":
				if o.FollowLink {
					src = container.ResolveLink(ctx, cli, srcCtr, src)
				}
				content, _, err := container.CopyFrom(ctx, cli, srcCtr, src)
				if err != nil {
					return err
				}
				defer content.Close()
				_, err = io.Copy(stdout(), content)
				return err
			case srcCtr != "":
				return container.CopyToHost(ctx, cli, srcCtr, src, dst, o)
			case dstCtr != "" && src == "-":
				return container.CopyTo(ctx, cli, dstCtr, dst, os.Stdin)
			case dstCtr != "":
				return container.CopyFromHost(ctx, cli, src, dstCtr, dst, o)
			}
			return errors.New("must specify at least one container source")
		})
	cmd.Long = `Copy files/folders between a container and the local filesystem

Use '-' as the source to read a tar archive from stdin
and extract it to a directory destination in a container.
Use '-' as the destination to stream a tar archive of a
container source to stdout.`
	fl := cmd.Flags()
	fl.BoolVarP(&o.FollowLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	fl.BoolVarP(&o.CopyUIDGID, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	fl.BoolVarP(&quiet, "quiet", "q", false, "Suppress progress output during copy (berth prints none)")
	return cmd
}

// splitCpArg splits CONTAINER:PATH as docker cp does: an absolute path, or one that starts
// with ".", is a local path even with a colon in it.
func splitCpArg(arg string) (ctr, path string) {
	if filepath.IsAbs(arg) {
		return "", arg
	}
	ctr, path, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(ctr, ".") {
		return "", arg
	}
	return ctr, path
}
