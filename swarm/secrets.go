package swarm

import (
	"context"
	"fmt"

	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
)

// ReferencesClient is what ResolveReferences needs of an engine client.
type ReferencesClient interface {
	client.SecretAPIClient
	client.ConfigAPIClient
}

// ResolveReferences fills in the IDs of the secrets and configs the spec refers to by name
// only, as the Docker CLI does before it sends a service spec. A name that names no secret
// (config) is a *berth.ValidationError that names it.
func ResolveReferences(ctx context.Context, cli ReferencesClient, spec *swarmapi.ServiceSpec) error {
	c := spec.TaskTemplate.ContainerSpec
	if c == nil {
		return nil
	}
	var p berth.Problems
	for i, ref := range c.Secrets {
		if ref.SecretID != "" {
			continue
		}
		res, err := cli.SecretList(ctx, client.SecretListOptions{Filters: make(client.Filters).Add("name", ref.SecretName)})
		if err != nil {
			return fmt.Errorf("look up secret %s: %w", ref.SecretName, err)
		}
		for _, s := range res.Items {
			if s.Spec.Name == ref.SecretName {
				ref.SecretID = s.ID
			}
		}
		if ref.SecretID == "" {
			p.Add(fmt.Sprintf("secrets[%d]", i), "secret %q not found", ref.SecretName)
		}
	}
	for i, ref := range c.Configs {
		if ref.ConfigID != "" {
			continue
		}
		res, err := cli.ConfigList(ctx, client.ConfigListOptions{Filters: make(client.Filters).Add("name", ref.ConfigName)})
		if err != nil {
			return fmt.Errorf("look up config %s: %w", ref.ConfigName, err)
		}
		for _, s := range res.Items {
			if s.Spec.Name == ref.ConfigName {
				ref.ConfigID = s.ID
			}
		}
		if ref.ConfigID == "" {
			p.Add(fmt.Sprintf("configs[%d]", i), "config %q not found", ref.ConfigName)
		}
	}
	return p.Err()
}

// CreateSecret creates a secret (`docker secret create`) and returns its ID. A name in use
// fails with cerrdefs.IsConflict.
func CreateSecret(ctx context.Context, cli client.SecretAPIClient, spec swarmapi.SecretSpec) (string, error) {
	if spec.Name == "" {
		return "", berth.Invalid("secret/name", "empty; give the secret a name")
	}
	res, err := cli.SecretCreate(ctx, client.SecretCreateOptions{Spec: spec})
	if err != nil {
		return "", fmt.Errorf("create secret %s: %w", spec.Name, err)
	}
	return res.ID, nil
}

// Secrets lists the secrets matching the engine filters (id, label, name, names), without
// their data (the Engine never returns it).
func Secrets(ctx context.Context, cli client.SecretAPIClient, filters client.Filters) ([]swarmapi.Secret, error) {
	res, err := cli.SecretList(ctx, client.SecretListOptions{Filters: filters})
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	return res.Items, nil
}

// InspectSecret returns a secret by name or ID; a missing one matches cerrdefs.IsNotFound.
func InspectSecret(ctx context.Context, cli client.SecretAPIClient, nameOrID string) (swarmapi.Secret, error) {
	res, err := cli.SecretInspect(ctx, nameOrID, client.SecretInspectOptions{})
	if err != nil {
		return swarmapi.Secret{}, fmt.Errorf("inspect secret %s: %w", nameOrID, err)
	}
	return res.Secret, nil
}

// RemoveSecret removes a secret by name or ID; one in use by a service fails.
func RemoveSecret(ctx context.Context, cli client.SecretAPIClient, nameOrID string) error {
	if _, err := cli.SecretRemove(ctx, nameOrID, client.SecretRemoveOptions{}); err != nil {
		return fmt.Errorf("remove secret %s: %w", nameOrID, err)
	}
	return nil
}
