package registry

import (
	"context"
	"fmt"
	"strings"

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
		return Pushed{}, fmt.Errorf("registry %s: %w", r.Name, err)
	}
	return Pushed{HostRef: hostRef, ClusterRef: r.ClusterAddr + "/" + path + ":" + tag, Digest: res.Digest}, nil
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
