package image

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	imagetypes "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
)

// ListOptions configures List.
type ListOptions struct {
	// All lists intermediate images too (`docker image ls -a`).
	All bool
	// Filters are the engine's image filters: before, dangling, label, reference, since.
	Filters client.Filters
}

// List lists images (`docker image ls`), newest first.
func List(ctx context.Context, cli client.ImageAPIClient, opts ListOptions) ([]imagetypes.Summary, error) {
	res, err := cli.ImageList(ctx, client.ImageListOptions{All: opts.All, Filters: opts.Filters})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	slices.SortStableFunc(res.Items, func(a, b imagetypes.Summary) int { return cmp.Compare(b.Created, a.Created) })
	return res.Items, nil
}

// History returns the layers of an image, newest first (`docker image history`).
func History(ctx context.Context, cli client.ImageAPIClient, ref string) ([]imagetypes.HistoryResponseItem, error) {
	res, err := cli.ImageHistory(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", ref, err)
	}
	return res.Items, nil
}

// PruneOptions configures Prune.
type PruneOptions struct {
	// All removes every image no container uses, not only dangling ones.
	All bool
	// Filters limit what is removed: label, label!, until.
	Filters client.Filters
}

// Prune removes unused images (`docker image prune`) and reports what went and the space
// reclaimed.
func Prune(ctx context.Context, cli client.ImageAPIClient, opts PruneOptions) (imagetypes.PruneReport, error) {
	f := opts.Filters.Clone()
	if f == nil {
		f = client.Filters{}
	}
	f.Add("dangling", fmt.Sprint(!opts.All))
	res, err := cli.ImagePrune(ctx, client.ImagePruneOptions{Filters: f})
	if err != nil {
		return imagetypes.PruneReport{}, fmt.Errorf("prune images: %w", err)
	}
	return res.Report, nil
}
