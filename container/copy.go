package container

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// CopyTo extracts the tar stream content into directory dir of the container
// (`docker cp - CTR:DIR`). The directory must exist; a directory in the stream does not
// replace a file of the same name, nor a file a directory.
func CopyTo(ctx context.Context, cli client.ContainerAPIClient, ctr, dir string, content io.Reader) error {
	if _, err := cli.CopyToContainer(ctx, ctr, client.CopyToContainerOptions{DestinationPath: dir, Content: content}); err != nil {
		return fmt.Errorf("container: copy into %s:%s: %w", ctr, dir, err)
	}
	return nil
}

// CopyFrom returns a tar stream of path in the container (`docker cp CTR:PATH -`) and what the
// engine says about path; the caller closes the stream. The stream's entries are named after
// path's last element.
func CopyFrom(ctx context.Context, cli client.ContainerAPIClient, ctr, p string) (io.ReadCloser, container.PathStat, error) {
	res, err := cli.CopyFromContainer(ctx, ctr, client.CopyFromContainerOptions{SourcePath: p})
	if err != nil {
		return nil, container.PathStat{}, fmt.Errorf("container: copy from %s:%s: %w", ctr, p, err)
	}
	return res.Content, res.Stat, nil
}

// WriteFile writes data to the file p of the container, with mode perm, owned by root: a
// one-entry CopyTo into p's directory.
func WriteFile(ctx context.Context, cli client.ContainerAPIClient, ctr, p string, data []byte, perm fs.FileMode) error {
	if !path.IsAbs(p) {
		return fmt.Errorf("container: write %s:%s: not an absolute path", ctr, p)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: path.Base(p), Mode: int64(perm.Perm()), Size: int64(len(data)), ModTime: time.Now(), Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	return CopyTo(ctx, cli, ctr, path.Dir(p), &buf)
}

// ReadFile returns the content of the regular file p of the container.
func ReadFile(ctx context.Context, cli client.ContainerAPIClient, ctr, p string) ([]byte, error) {
	rc, st, err := CopyFrom(ctx, cli, ctr, p)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if !st.Mode.IsRegular() {
		return nil, fmt.Errorf("container: read %s:%s: not a regular file (%s)", ctr, p, st.Mode)
	}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("container: read %s:%s: the engine sent no file", ctr, p)
		}
		if err != nil {
			return nil, fmt.Errorf("container: read %s:%s: %w", ctr, p, err)
		}
		if h.Typeflag == tar.TypeReg {
			return io.ReadAll(tr)
		}
	}
}
