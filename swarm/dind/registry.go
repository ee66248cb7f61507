package dind

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
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

// startRegistry runs the lab registry container (named NAME-registry, alias registry on the
// network, port 5000 published on a loopback port) and waits until its API answers. It uses
// the raw Engine API; package registry can take its place.
func startRegistry(ctx context.Context, host Engine, o Options, netName string) (Registry, error) {
	name := o.Name + "-registry"
	vol, err := createVolume(ctx, host, o.Name, name+"-data")
	if err != nil {
		return Registry{}, err
	}
	_, err = host.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image:        o.RegistryImage,
			Hostname:     RegistryAlias,
			Labels:       labels(o.Name, "registry"),
			ExposedPorts: network.PortSet{port5000: {}},
		},
		HostConfig: &container.HostConfig{
			PortBindings: loopbackPort(port5000),
			Mounts:       []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/var/lib/registry"}},
		},
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			netName: {Aliases: []string{RegistryAlias}},
		}},
	})
	if err != nil {
		return Registry{}, fmt.Errorf("create the registry container %s from %s%s: %w", name, o.RegistryImage, notPulled(err), err)
	}
	if _, err := host.ContainerStart(ctx, name, client.ContainerStartOptions{}); err != nil {
		return Registry{}, fmt.Errorf("start the registry container %s: %w", name, err)
	}
	addr, _, err := published(ctx, host, name, netName, port5000)
	if err != nil {
		return Registry{}, err
	}
	reg := Registry{Container: name, HostAddr: addr, ClusterAddr: RegistryAlias + ":5000"}
	return reg, waitRegistry(ctx, reg, o.ReadyTimeout)
}

// waitRegistry polls GET /v2/ until it answers 200.
func waitRegistry(ctx context.Context, reg Registry, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + reg.HostAddr + "/v2/"
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("registry %s did not answer within %s: %w", reg.Container, timeout, errors.Join(ctx.Err(), last))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// push tags image for the registry's host address, pushes it with the host engine and drops
// the temporary tag again. It returns the in-cluster reference.
func push(ctx context.Context, host client.ImageAPIClient, reg Registry, image string) (string, error) {
	hostRef, err := reg.HostRef(image)
	if err != nil {
		return "", err
	}
	clusterRef, _ := reg.ClusterRef(image)
	if _, err := host.ImageTag(ctx, client.ImageTagOptions{Source: image, Target: hostRef}); err != nil {
		return "", fmt.Errorf("tag %s as %s: %w", image, hostRef, err)
	}
	defer host.ImageRemove(context.WithoutCancel(ctx), hostRef, client.ImageRemoveOptions{})
	// The lab registry needs no credentials; an empty auth document ("{}") is sent because
	// engines before API 1.42 refuse a push without the X-Registry-Auth header.
	resp, err := host.ImagePush(ctx, hostRef, client.ImagePushOptions{RegistryAuth: "e30="})
	if err == nil {
		err = resp.Wait(ctx)
	}
	if err != nil {
		return "", fmt.Errorf("push %s: %w", hostRef, err)
	}
	return clusterRef, nil
}
