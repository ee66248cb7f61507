package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/moby/go-archive"
	"github.com/moby/moby/client"
)

// CopyOptions tune CopyToHost and CopyFromHost, as the flags of `docker cp` do.
type CopyOptions struct {
	// FollowLink copies what a source that is a symbolic link points to, not the link (`-L`).
	FollowLink bool
	// CopyUIDGID keeps the owners of the files copied into a container (`-a`); without it
	// they belong to the container's root.
	CopyUIDGID bool
}

// CopyToHost copies src, a file or directory of the container, to dst on this host
// (`docker cp CTR:SRC DST`), with docker cp's rules: a file to a path that does not exist is
// written under that name, into a directory it goes by its own name; a directory to a path
// that does not exist becomes that directory, into an existing one it is copied as a
// subdirectory, and SRC/. copies its content. The parent of dst must exist.
func CopyToHost(ctx context.Context, cli client.ContainerAPIClient, ctr, src, dst string, opts CopyOptions) error {
	dst, err := hostPath(dst)
	if err != nil {
		return err
	}
	if err := checkHostDestination(dst); err != nil {
		return fmt.Errorf("container: copy %s:%s: %w", ctr, src, err)
	}
	src, rebase := src, ""
	if opts.FollowLink {
		src, rebase = linkTarget(ctx, cli, ctr, src)
	}
	content, stat, err := CopyFrom(ctx, cli, ctr, src)
	if err != nil {
		return err
	}
	defer content.Close()
	info := archive.CopyInfo{Path: src, Exists: true, IsDir: stat.Mode.IsDir(), RebaseName: rebase}
	entries := io.Reader(content)
	if rebase != "" { // the entries are named after the link's target: name them after the link
		_, base := archive.SplitPathDirEntry(src)
		rebased := archive.RebaseArchiveEntries(content, base, rebase)
		defer rebased.Close()
		entries = rebased
	}
	if err := archive.CopyTo(entries, info, dst); err != nil {
		return fmt.Errorf("container: copy %s:%s to %s: %w", ctr, src, dst, err)
	}
	return nil
}

// CopyFromHost copies src, a file or directory of this host, to dst in the container
// (`docker cp SRC CTR:DST`), with the rules of CopyToHost. A dst that is a symbolic link is
// followed, as docker cp does.
func CopyFromHost(ctx context.Context, cli client.ContainerAPIClient, src, ctr, dst string, opts CopyOptions) error {
	src, err := hostPath(src)
	if err != nil {
		return err
	}
	dstInfo := archive.CopyInfo{Path: dst}
	st, err := cli.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: dst})
	if err == nil && st.Stat.Mode&os.ModeSymlink != 0 {
		dstInfo.Path = joinLink(dst, st.Stat.LinkTarget)
		st, err = cli.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: dstInfo.Path})
	}
	if err == nil {
		if bad := irregular(st.Stat.Mode); bad != "" {
			return fmt.Errorf("container: copy to %s:%s: the destination is %s: it must be a directory or a regular file", ctr, dst, bad)
		}
		dstInfo.Exists, dstInfo.IsDir = true, st.Stat.Mode.IsDir()
	} // else it does not exist, or the copy below says what is wrong with the container
	srcInfo, err := archive.CopyInfoSourcePath(src, opts.FollowLink)
	if err != nil {
		return fmt.Errorf("container: copy %s: %w", src, err)
	}
	tarred, err := archive.TarResource(srcInfo)
	if err != nil {
		return fmt.Errorf("container: copy %s: %w", src, err)
	}
	defer tarred.Close()
	dir, prepared, err := archive.PrepareArchiveCopy(tarred, srcInfo, dstInfo)
	if err != nil {
		return fmt.Errorf("container: copy %s to %s:%s: %w", src, ctr, dst, err)
	}
	defer prepared.Close()
	_, err = cli.CopyToContainer(ctx, ctr, client.CopyToContainerOptions{DestinationPath: dir, Content: prepared, CopyUIDGID: opts.CopyUIDGID})
	if err != nil {
		return fmt.Errorf("container: copy %s to %s:%s: %w", src, ctr, dst, err)
	}
	return nil
}

// hostPath is p made absolute, keeping a trailing "/" or "/." (they change what is copied).
func hostPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return archive.PreserveTrailingDotOrSeparator(abs, p), nil
}

// checkHostDestination refuses, as docker cp does, a destination whose directory does not
// exist and one that exists but is neither a directory nor a regular file.
func checkHostDestination(dst string) error {
	if dir := filepath.Dir(filepath.Clean(dst)); dir != "." {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("invalid output path: directory %q does not exist", dir)
		}
	}
	fi, err := os.Stat(dst)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	}
	if bad := irregular(fi.Mode()); bad != "" {
		return fmt.Errorf("invalid output path: %q is %s: it must be a directory or a regular file", dst, bad)
	}
	return nil
}

// irregular names what a file of mode m is when docker cp refuses to write over it.
func irregular(m os.FileMode) string {
	switch {
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeIrregular != 0:
		return "an irregular file"
	}
	return ""
}

// linkTarget returns, when src in the container is a symbolic link, its target and the name
// the copied entries take (the link's); else src and "".
func linkTarget(ctx context.Context, cli client.ContainerAPIClient, ctr, src string) (string, string) {
	if target := ResolveLink(ctx, cli, ctr, src); target != src {
		return archive.GetRebaseName(src, target)
	}
	return src, ""
}

// ResolveLink returns what p in the container points to when it is a symbolic link (one
// level, as `docker cp -L` follows it), else p.
func ResolveLink(ctx context.Context, cli client.ContainerAPIClient, ctr, p string) string {
	st, err := cli.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: p})
	if err != nil || st.Stat.Mode&os.ModeSymlink == 0 {
		return p
	}
	return joinLink(p, st.Stat.LinkTarget)
}

// joinLink resolves target, a symbolic link's content, against the directory of the link p.
func joinLink(p, target string) string {
	if path.IsAbs(target) {
		return target
	}
	dir, _ := archive.SplitPathDirEntry(p)
	return path.Join(dir, target)
}
