package registry

import (
	"context"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/image"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"
)

// Pushed names an image pushed into a local registry.
type Pushed struct {
	HostRef    string // "127.0.0.1:PORT/NAME:TAG": the reference the host's engine pushed to
	ClusterRef string // "registry:5000/NAME:TAG": the reference swarm nodes pull from
	Digest     string // the manifest digest the registry stored
}

// Push tags the local image source as the registry's name (a path such as "example/echo" or
// "example/echo:1"; the tag defaults to "latest"), pushes it and returns both references. The
// host-side tag stays on the engine; remove it with image.Remove when done.
func (r *Registry) Push(ctx context.Context, cli client.ImageAPIClient, source, name string) (Pushed, error) {
	path, tag, err := splitName(name)
	if err != nil {
		return Pushed{}, err
	}
	hostRef := r.HostAddr + "/" + path + ":" + tag
	if err := image.Tag(ctx, cli, source, hostRef); err != nil {
		return Pushed{}, err
	}
	res, err := image.Wait(image.Push(ctx, cli, hostRef, image.PushOptions{}))
	if err != nil {
		return Pushed{}, r.pushError(ctx, hostRef, err)
	}
	return Pushed{HostRef: hostRef, ClusterRef: r.ClusterAddr + "/" + path + ":" + tag, Digest: res.Digest}, nil
}

// PushError is a failed push into a local registry. When the registry no longer answers (it
// was stopped or crashed during the push) Down is set and the error also matches
// cerrdefs.ErrUnavailable; the engine's own report is Err (an *image.StreamError when the
// engine reported it in the push stream).
type PushError struct {
	Registry string // the registry's name
	Addr     string // its host address, 127.0.0.1:PORT
	Image    string // the reference pushed
	Down     bool
	Err      error
}

func (e *PushError) Error() string {
	if e.Down {
		return fmt.Sprintf("registry %s at %s stopped answering during the push of %s: %v", e.Registry, e.Addr, e.Image, e.Err)
	}
	return fmt.Sprintf("registry %s: push %s: %v", e.Registry, e.Image, e.Err)
}

func (e *PushError) Unwrap() []error {
	if e.Down {
		return []error{e.Err, cerrdefs.ErrUnavailable}
	}
	return []error{e.Err}
}

// pushError wraps a failed push, asking the registry whether it still answers.
func (r *Registry) pushError(ctx context.Context, ref string, err error) error {
	e := &PushError{Registry: r.Name, Addr: r.HostAddr, Image: ref, Err: err}
	if ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		e.Down = NewAPI("http://"+r.HostAddr).Ping(pctx) != nil
	}
	return e
}

// splitName splits "example/echo:1" into the repository path and the tag.
func splitName(name string) (path, tag string, err error) {
	path, tag = name, "latest"
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		path, tag = name[:i], name[i+1:]
	}
	if !reference.NameRegexp.MatchString(path) || reference.NameRegexp.FindString(path) != path ||
		!reference.TagRegexp.MatchString(tag) || reference.TagRegexp.FindString(tag) != tag {
		return "", "", berth.Invalid("registry/push/name", "%q is not a repository path with an optional tag (want e.g. example/echo:1, lowercase)", name)
	}
	return path, tag, nil
}
