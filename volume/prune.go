package volume

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
)

// Find returns the volumes matching the engine filters, the keys of `docker volume ls
// --filter`: dangling, driver, label, name; sorted by name.
func Find(ctx context.Context, cli client.VolumeAPIClient, filters client.Filters) ([]volume.Volume, error) {
	res, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: filters})
	if err != nil {
		return nil, fmt.Errorf("volume: list: %w", err)
	}
	slices.SortFunc(res.Items, func(a, b volume.Volume) int { return strings.Compare(a.Name, b.Name) })
	return res.Items, nil
}

// PruneOptions configures Prune.
type PruneOptions struct {
	// All removes unused named volumes too; without it an engine of API 1.42 or later removes
	// only anonymous ones (older engines always remove every unused volume).
	All bool
	// Filters limit what is removed: label, label!.
	Filters client.Filters
}

// Prune removes the volumes no container uses (`docker volume prune`) and reports them.
func Prune(ctx context.Context, cli interface {
	client.VolumeAPIClient
	ClientVersion() string
}, opts PruneOptions) (volume.PruneReport, error) {
	o := client.VolumePruneOptions{Filters: opts.Filters}
	if opts.All && !versions.LessThan(cli.ClientVersion(), "1.42") {
		o.All = true // older engines know no "all" and prune every unused volume anyway
	}
	res, err := cli.VolumePrune(ctx, o)
	if err != nil {
		return volume.PruneReport{}, fmt.Errorf("volume: prune: %w", err)
	}
	return res.Report, nil
}
