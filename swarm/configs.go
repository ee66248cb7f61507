package swarm

import (
	"context"
	"fmt"

	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
)

// CreateConfig creates a config (`docker config create`) and returns its ID. A name in use
// fails with cerrdefs.IsConflict.
func CreateConfig(ctx context.Context, cli client.ConfigAPIClient, spec swarmapi.ConfigSpec) (string, error) {
	if spec.Name == "" {
		return "", berth.Invalid("config/name", "empty; give the config a name")
	}
	res, err := cli.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: spec})
	if err != nil {
		return "", fmt.Errorf("create config %s: %w", spec.Name, err)
	}
	return res.ID, nil
}

// Configs lists the configs matching the engine filters (id, label, name, names).
func Configs(ctx context.Context, cli client.ConfigAPIClient, filters client.Filters) ([]swarmapi.Config, error) {
	res, err := cli.ConfigList(ctx, client.ConfigListOptions{Filters: filters})
	if err != nil {
		return nil, fmt.Errorf("list configs: %w", err)
	}
	return res.Items, nil
}

// InspectConfig returns a config by name or ID, with its data; a missing one matches
// cerrdefs.IsNotFound.
func InspectConfig(ctx context.Context, cli client.ConfigAPIClient, nameOrID string) (swarmapi.Config, error) {
	res, err := cli.ConfigInspect(ctx, nameOrID, client.ConfigInspectOptions{})
	if err != nil {
		return swarmapi.Config{}, fmt.Errorf("inspect config %s: %w", nameOrID, err)
	}
	return res.Config, nil
}

// RemoveConfig removes a config by name or ID; one in use by a service fails.
func RemoveConfig(ctx context.Context, cli client.ConfigAPIClient, nameOrID string) error {
	if _, err := cli.ConfigRemove(ctx, nameOrID, client.ConfigRemoveOptions{}); err != nil {
		return fmt.Errorf("remove config %s: %w", nameOrID, err)
	}
	return nil
}
