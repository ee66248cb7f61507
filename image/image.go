package image

import (
	"context"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/msgstream"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ParseReference parses an image reference as the Docker CLI does ("busybox" is
// "docker.io/library/busybox"). A malformed one is a *berth.ValidationError.
func ParseReference(ref string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, berth.Invalid("image", "%q is not a valid image reference (want [HOST[:PORT]/]NAME[:TAG][@DIGEST], lowercase): %v", ref, err)
	}
	return named, nil
}

// Info is what Inspect reports about an image.
type Info struct {
	ID           string
	RepoTags     []string
	RepoDigests  []string
	OS           string
	Architecture string
	Variant      string
	Size         int64
	Created      time.Time
	Labels       map[string]string
}

// Platform returns "os/architecture[/variant]", as in `docker image inspect`.
func (i Info) Platform() string {
	p := i.OS + "/" + i.Architecture
	if i.Variant != "" {
		p += "/" + i.Variant
	}
	return p
}

// Inspect returns the image's identity and platform. A missing image is an error for which
// cerrdefs.IsNotFound is true.
func Inspect(ctx context.Context, cli client.ImageAPIClient, ref string) (Info, error) {
	res, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		return Info{}, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	info := Info{ID: res.ID, RepoTags: res.RepoTags, RepoDigests: res.RepoDigests, OS: res.Os,
		Architecture: res.Architecture, Variant: res.Variant, Size: res.Size}
	if res.Config != nil {
		info.Labels = res.Config.Labels
	}
	if t, err := time.Parse(time.RFC3339Nano, res.Created); err == nil {
		info.Created = t
	}
	return info, nil
}

// FirstPresent returns the first of refs that the engine has, without pulling anything: a
// program that ships its own build of an image ("berth-fixtures/busybox:local") names it before
// the public one ("busybox:latest"). With none present the error names every reference and
// cerrdefs.IsNotFound is true for it.
func FirstPresent(ctx context.Context, cli client.ImageAPIClient, refs ...string) (string, error) {
	for _, ref := range refs {
		_, err := cli.ImageInspect(ctx, ref)
		switch {
		case err == nil:
			return ref, nil
		case !cerrdefs.IsNotFound(err):
			return "", fmt.Errorf("inspect image %s: %w", ref, err)
		}
	}
	return "", fmt.Errorf("none of the images %s is on the engine (nothing is pulled: load or build one first): %w",
		strings.Join(refs, ", "), cerrdefs.ErrNotFound)
}

// Tag gives the image source the additional reference target.
func Tag(ctx context.Context, cli client.ImageAPIClient, source, target string) error {
	if _, err := ParseReference(target); err != nil {
		return err
	}
	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target}); err != nil {
		return fmt.Errorf("tag %s as %s: %w", source, target, err)
	}
	return nil
}

// RemoveOptions says how to remove an image.
type RemoveOptions struct {
	Force   bool // remove even when containers use it, and every tag of an ID
	NoPrune bool // keep untagged parents (the Docker CLI's --no-prune)
}

// Remove removes the reference ref (or the image, when it is its last reference).
func Remove(ctx context.Context, cli client.ImageAPIClient, ref string, opts RemoveOptions) error {
	_, err := cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: opts.Force, PruneChildren: !opts.NoPrune})
	if err != nil {
		return fmt.Errorf("remove image %s: %w", ref, err)
	}
	return nil
}

// ImportOptions says how to import a root file system.
type ImportOptions struct {
	// Changes are Dockerfile instructions applied to the imported image: "ENTRYPOINT [...]",
	// "CMD ...", "ENV K=V", "LABEL k=v", "WORKDIR /", "EXPOSE 80", "USER 1000", "VOLUME /data".
	Changes []string
	Message string
	// Platform is the imported image's "os/arch[/variant]"; empty for the engine's own.
	Platform string
}

// Import creates the image ref from a root file system given as a tar stream (no base image,
// nothing pulled) and returns its ID.
func Import(ctx context.Context, cli client.ImageAPIClient, rootfs io.Reader, ref string, opts ImportOptions) (string, error) {
	if _, err := ParseReference(ref); err != nil {
		return "", err
	}
	plat, err := platforms(opts.Platform)
	if err != nil {
		return "", err
	}
	iopts := client.ImageImportOptions{Changes: opts.Changes, Message: opts.Message}
	if len(plat) == 1 {
		iopts.Platform = plat[0]
	}
	res, err := cli.ImageImport(ctx, client.ImageImportSource{Source: rootfs, SourceName: "-"}, ref, iopts)
	op := "import " + ref
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	defer res.Close()
	var id string
	for m, err := range msgstream.Decode(res) {
		if err != nil {
			return "", fmt.Errorf("%s: %w", op, err)
		}
		if m.Status != "" {
			id = m.Status // the import stream's last status is the new image's ID
		}
	}
	return id, nil
}

// Save writes the images refs as one `docker save` tar archive to w.
func Save(ctx context.Context, cli client.ImageAPIClient, w io.Writer, refs ...string) error {
	rc, err := cli.ImageSave(ctx, refs)
	if err != nil {
		return fmt.Errorf("save %v: %w", refs, err)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("save %v: %w", refs, err)
	}
	return nil
}

// Load loads a `docker save` archive and returns the references it loaded, as the engine
// reports them ("Loaded image: ..." lines).
func Load(ctx context.Context, cli client.ImageAPIClient, r io.Reader) ([]string, error) {
	rc, err := cli.ImageLoad(ctx, r, client.ImageLoadWithQuiet(true))
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	defer rc.Close()
	var loaded []string
	for m, err := range msgstream.Decode(rc) {
		if err != nil {
			return loaded, fmt.Errorf("load images: %w", err)
		}
		for _, prefix := range []string{"Loaded image: ", "Loaded image ID: "} {
			if ref, ok := strings.CutPrefix(m.Stream, prefix); ok {
				loaded = append(loaded, strings.TrimSpace(ref))
			}
		}
	}
	return loaded, nil
}

// Auth is the registry credential of a push or pull.
type Auth = registry.AuthConfig

// encodeAuth encodes a credential with berth.EncodeAuth; no credential is sent as "{}", as
// the Docker CLI does (the engine refuses a push without the header).
func encodeAuth(a *Auth) (string, error) {
	if a == nil {
		a = &Auth{}
	}
	return berth.EncodeAuth(a)
}

// PushOptions says how to push.
type PushOptions struct {
	Auth *Auth // credentials for the registry; nil for none
}

// Push pushes ref to its registry and yields the progress. Wait returns the pushed digest. A
// registry that is down or refuses the image ends the iteration with an error naming ref.
func Push(ctx context.Context, cli client.ImageAPIClient, ref string, opts PushOptions) iter.Seq2[Event, error] {
	if _, err := ParseReference(ref); err != nil {
		return failed(err)
	}
	auth, err := encodeAuth(opts.Auth)
	if err != nil {
		return failed(err)
	}
	return func(yield func(Event, error) bool) {
		op := "push " + ref
		res, err := cli.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: auth})
		if err != nil {
			yield(Event{}, fmt.Errorf("%s: %w", op, err))
			return
		}
		defer res.Close()
		for ev, err := range events(op, msgstream.Decode(res)) {
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}

// PullOptions says how to pull.
type PullOptions struct {
	Auth     *Auth
	Platform string // "os/arch[/variant]"; empty for the engine's own
	// AllTags pulls every tag of ref's repository (`docker pull --all-tags`); ref has no tag.
	AllTags bool
}

// platforms parses "os/arch[/variant]".
func platforms(p string) ([]ocispec.Platform, error) {
	if p == "" {
		return nil, nil
	}
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return nil, berth.Invalid("image/pull/platform", "%q is not a platform (want os/arch[/variant], e.g. linux/amd64)", p)
	}
	pl := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		pl.Variant = parts[2]
	}
	return []ocispec.Platform{pl}, nil
}

// Pull pulls ref and yields the progress. A missing tag ("manifest unknown") or an unreachable
// registry ends the iteration with an error naming ref.
func Pull(ctx context.Context, cli client.ImageAPIClient, ref string, opts PullOptions) iter.Seq2[Event, error] {
	if _, err := ParseReference(ref); err != nil {
		return failed(err)
	}
	auth, err := encodeAuth(opts.Auth)
	if err != nil {
		return failed(err)
	}
	pl, err := platforms(opts.Platform)
	if err != nil {
		return failed(err)
	}
	return func(yield func(Event, error) bool) {
		op := "pull " + ref
		res, err := cli.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: auth, Platforms: pl, All: opts.AllTags})
		if err != nil {
			yield(Event{}, fmt.Errorf("%s: %w", op, err))
			return
		}
		defer res.Close()
		for ev, err := range events(op, msgstream.Decode(res)) {
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}
