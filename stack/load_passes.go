package stack

import (
	"maps"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/paths"
	"github.com/compose-spec/compose-go/v2/transform"
	"github.com/compose-spec/compose-go/v2/tree"
	"github.com/compose-spec/compose-go/v2/types"
)

// Loading speed, continued (see load_casts.go). Two of compose-go's passes over the merged
// model, the default values and the resolution of relative paths, try each of their patterns
// on every node of the model with tree.Path.Matches, which splits both into parts each time:
// a third of the load of a large stack, though they change only a few nodes of each service.
// When berth sees every file compose-go reads (parsedFiles.seeAll), readModel turns both
// passes off in compose-go and runs the same functions itself, in compose-go's order, on a view
// of the model that holds only the nodes their patterns can reach. The result is the same
// (TestFastLoadChangesNothing and FuzzFastLoad compare it with compose-go's own passes); an
// include or an extends of another file keeps compose-go's passes, which also run per file.

// relativePathPatterns are where paths.ResolveRelativePaths resolves paths: its table, which
// compose-go does not export, as of v2.16.2. A pattern it gains that is missing here leaves a
// relative path unresolved, which the comparison tests report.
var relativePathPatterns = []tree.Path{
	"services.*.build.context",
	"services.*.build.additional_contexts.*",
	"services.*.build.ssh.*",
	"services.*.env_file.*.path",
	"services.*.label_file.*",
	"services.*.extends.file",
	"services.*.develop.watch.*.path",
	"services.*.volumes.*",
	"services.*.pre_start.*.env_file.*.path",
	"services.*.pre_start.*.label_file.*",
	"services.*.pre_start.*.volumes.*",
	"jobs.*.build.context",
	"jobs.*.build.additional_contexts.*",
	"jobs.*.build.ssh.*",
	"jobs.*.env_file.*.path",
	"jobs.*.label_file.*",
	"jobs.*.extends.file",
	"jobs.*.volumes.*",
	"configs.*.file",
	"secrets.*.file",
	"include.path",
	"include.project_directory",
	"include.env_file",
	"volumes.*",
}

// withOwnPasses is the loader option that turns off the passes finishModel runs.
func withOwnPasses(o *loader.Options) {
	o.SkipDefaultValues = true
	o.ResolvePaths = false
	o.SkipNormalization = true
}

// finishModel runs on dict, as compose-go's loader does after it merged the files: the default
// values, the relative paths, and when normalize is set the normalisation (default network,
// names) of a project called name.
func finishModel(dict map[string]any, details *types.ConfigDetails, options []func(*loader.Options), name string, normalize bool) (map[string]any, error) {
	err := onView(dict, slices.Collect(maps.Keys(transform.DefaultValues)), func(view map[string]any) error {
		_, err := transform.SetDefaultValues(view)
		return err
	})
	if err != nil {
		return nil, err
	}
	var remotes []paths.RemoteResource
	for _, l := range loader.ToOptions(details, options).RemoteResourceLoaders() {
		remotes = append(remotes, l.Accept)
	}
	err = onView(dict, relativePathPatterns, func(view map[string]any) error {
		return paths.ResolveRelativePaths(view, details.WorkingDir, remotes)
	})
	if err != nil || !normalize {
		return dict, err
	}
	dict["name"] = name
	return loader.Normalize(dict, details.Environment)
}

// onView runs pass, a compose-go pass that changes the model only where one of patterns
// matches, on a view of model: copies of the maps and lists on the way to a match, which share
// the matched values with model. What pass puts at a match is then put at the same place in
// model.
func onView[P ~string](model map[string]any, patterns []P, pass func(map[string]any) error) error {
	root := []*pathTrie{newPathTrie(patterns)}
	view := map[string]any{}
	for k, v := range model {
		if at := topStep(root, k); len(at) > 0 {
			view[k] = prune(v, at)
		}
	}
	if err := pass(view); err != nil {
		return err
	}
	for k, v := range view {
		model[k] = writeBack(model[k], v, topStep(root, k))
	}
	return nil
}

// topStep follows a top-level key: compose-go does not escape those, so a dot in one
// separates parts of the path.
func topStep(at []*pathTrie, key string) []*pathTrie {
	for _, part := range strings.Split(key, ".") {
		at = step(at, part)
	}
	return at
}

func matchHere(at []*pathTrie) bool {
	return slices.ContainsFunc(at, func(t *pathTrie) bool { return len(t.pattern) > 0 })
}

// prune returns the part of v that the patterns at can reach: v itself where one matches (a
// pass stops there), else a copy holding only what leads on to a match.
func prune(v any, at []*pathTrie) any {
	if matchHere(at) {
		return v
	}
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, c := range v {
			if next := step(at, k); len(next) > 0 {
				out[k] = prune(c, next)
			}
		}
		return out
	case []any:
		next := step(at, tree.PathMatchList)
		if len(next) == 0 {
			return []any{}
		}
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = prune(c, next)
		}
		return out
	}
	return v
}

// writeBack puts into orig what a pass left in view, its pruned copy, and returns orig.
func writeBack(orig, view any, at []*pathTrie) any {
	if matchHere(at) {
		return view
	}
	switch o := orig.(type) {
	case map[string]any:
		for k, v := range view.(map[string]any) {
			o[k] = writeBack(o[k], v, step(at, k))
		}
	case []any:
		if v := view.([]any); len(v) == len(o) {
			next := step(at, tree.PathMatchList)
			for i := range o {
				o[i] = writeBack(o[i], v[i], next)
			}
		}
	}
	return orig
}
