package image

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/msgstream"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
)

// Source is a build context: the files the Dockerfile's COPY and ADD see. Files and Dir are
// the two berth provides; any other type can be one (an archive already on disk, files
// generated on the fly), Build streams what it writes to the engine.
type Source interface {
	// WriteTar writes the context as an uncompressed tar stream to w, the Dockerfile
	// included, and returns the first error. Build calls it once, from its own goroutine.
	WriteTar(w io.Writer) error
}

// File is one file of an in-memory build context.
type File struct {
	Name string      // slash-separated path inside the context, e.g. "Dockerfile" or "bin/app"
	Mode fs.FileMode // permission bits; 0 means 0644
	Data []byte
}

// Files is an in-memory build context.
type Files []File

func (fs Files) WriteTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0)
	for _, f := range fs {
		mode := int64(f.Mode.Perm())
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: path.Clean(f.Name), Mode: mode, Size: int64(len(f.Data)), ModTime: epoch, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// Dir is a build context read from a directory of the local file system. Files listed in its
// .dockerignore are not excluded: keep build directories small.
type Dir string

func (d Dir) WriteTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(string(d), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(string(d), p)
		if err != nil || rel == "." {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// BuildOptions says how to build.
type BuildOptions struct {
	Tags       []string           // references to tag the result with, e.g. "127.0.0.1:5000/echo:1"
	Dockerfile string             // path of the Dockerfile inside the context; "Dockerfile" when empty
	BuildArgs  map[string]*string // ARG values
	Labels     map[string]string
	NoCache    bool
	Pull       bool // always try to pull newer base images (never set it on a machine without Docker Hub)
	Target     string
	Platform   string // "os/arch[/variant]" to build for; empty for the engine's own
}

// Build builds an image from src with the engine's builder and yields its progress. The last
// event carries the image ID (Wait returns it). A failing step ends the iteration with an error
// that includes the step's last output lines.
func Build(ctx context.Context, cli client.ImageBuildAPIClient, src Source, opts BuildOptions) iter.Seq2[Event, error] {
	if err := opts.validate(); err != nil {
		return failed(err)
	}
	plat, err := platforms(opts.Platform)
	if err != nil {
		return failed(err)
	}
	return func(yield func(Event, error) bool) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(src.WriteTar(pw)) }()
		defer pr.Close()
		res, err := cli.ImageBuild(ctx, pr, client.ImageBuildOptions{
			Tags: opts.Tags, Dockerfile: opts.Dockerfile, BuildArgs: opts.BuildArgs, Labels: opts.Labels,
			NoCache: opts.NoCache, PullParent: opts.Pull, Target: opts.Target, Platforms: plat,
			Remove: true, ForceRemove: true, Version: build.BuilderV1,
		})
		op := strings.TrimSpace("build " + strings.Join(opts.Tags, ", "))
		if err != nil {
			yield(Event{}, fmt.Errorf("%s: %w", op, err))
			return
		}
		defer res.Body.Close()
		for ev, err := range events(op, msgstream.Decode(res.Body)) {
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}

func (o BuildOptions) validate() error {
	var p berth.Problems
	for i, t := range o.Tags {
		if _, err := ParseReference(t); err != nil {
			p.Add(fmt.Sprintf("image/build/tags[%d]", i), "%v", err)
		}
	}
	if slices.Contains(o.Tags, "") {
		p.Add("image/build/tags", "empty tag")
	}
	return p.Err()
}
