package dind

import (
	"context"
	"errors"
	"fmt"

	"github.com/distribution/reference"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth/registry"
)

// Registry is the lab's registry: one container on the lab network.
type Registry struct {
	// Container is the container's name, NAME-registry.
	Container string
	// HostAddr is where the host reaches it, 127.0.0.1:PORT. The host engine trusts loopback
	// registries without TLS, so it can push there.
	HostAddr string
	// ClusterAddr is where the nodes reach it, registry:5000.
	ClusterAddr string
}

// HostRef returns the reference that the host engine pushes image to, such as
// 127.0.0.1:PORT/library/busybox:latest.
func (r Registry) HostRef(image string) (string, error) {
	path, tag, err := splitRef(image)
	if err != nil {
		return "", err
	}
	return r.HostAddr + "/" + path + ":" + tag, nil
}

// ClusterRef returns the reference that services in the lab use for image, such as
// registry:5000/library/busybox:latest.
func (r Registry) ClusterRef(image string) (string, error) {
	path, tag, err := splitRef(image)
	if err != nil {
		return "", err
	}
	return r.ClusterAddr + "/" + path + ":" + tag, nil
}

// splitRef returns the repository path (without registry host) and the tag ("latest" when
// none is given) of an image reference. References by digest only cannot be pushed by tag.
func splitRef(image string) (path, tag string, err error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", "", err
	}
	if _, ok := named.(reference.Digested); ok {
		if _, tagged := named.(reference.Tagged); !tagged {
			return "", "", errors.New("a reference by digest cannot be pushed by tag: give NAME:TAG")
		}
	}
	named = reference.TagNameOnly(named)
	return reference.Path(named), named.(reference.Tagged).Tag(), nil
}

// startRegistry runs the lab registry with package registry: the container NAME-registry,
// alias registry on the lab network, port 5000 published on a free loopback port. Its volume
// is created here first, so that it carries the lab label like everything else of the lab.
func startRegistry(ctx context.Context, host Engine, o Options, netName string) (Registry, *registry.Registry, error) {
	name := o.Name + "-registry"
	vol, err := createVolume(ctx, host, o.Name, name+"-data")
	if err != nil {
		return Registry{}, nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, o.ReadyTimeout)
	defer cancel()
	r, err := registry.Start(waitCtx, host, registry.Options{
		Name:    name,
		Image:   o.RegistryImage,
		Network: netName,
		Aliases: []string{RegistryAlias},
		Volume:  vol,
		Labels:  labels(o.Name, "registry"),
	})
	if err != nil {
		return Registry{}, nil, fmt.Errorf("start the registry %s from %s%s: %w", name, o.RegistryImage, notPulled(err), err)
	}
	return fromRegistry(r), r, nil
}

func fromRegistry(r *registry.Registry) Registry {
	return Registry{Container: r.Name, HostAddr: r.HostAddr, ClusterAddr: r.ClusterAddr}
}

// push pushes image of the host engine into the lab registry under the same path and tag
// and drops the host-side tag again. It returns the in-cluster reference.
func push(ctx context.Context, host client.ImageAPIClient, reg *registry.Registry, image string) (string, error) {
	path, tag, err := splitRef(image)
	if err != nil {
		return "", err
	}
	pushed, err := reg.Push(ctx, host, image, path+":"+tag)
	if pushed.HostRef != "" {
		defer host.ImageRemove(context.WithoutCancel(ctx), pushed.HostRef, client.ImageRemoveOptions{})
	}
	if err != nil {
		hostRef, _ := Registry{HostAddr: reg.HostAddr}.HostRef(image)
		host.ImageRemove(context.WithoutCancel(ctx), hostRef, client.ImageRemoveOptions{})
		return "", fmt.Errorf("push %s: %w", image, err)
	}
	return pushed.ClusterRef, nil
}
