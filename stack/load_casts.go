package stack

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"slices"

	interp "github.com/compose-spec/compose-go/v2/interpolation"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/tree"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// Loading speed. compose-go's interpolation looks up a type cast for every string of a file by
// matching its path against each of ~90 patterns, splitting both into parts each time: most of
// the load time of a large stack (and most of its garbage). A cast only ever applies to a string
// at a path one of those patterns matches, so the patterns that match no string of the files
// can be dropped without changing the result. withNeededCasts finds them in one walk of the files
// along a tree of the patterns and hands compose-go only the others (usually none).

// withNeededCasts is a loader option that keeps, of compose-go's interpolation casts, those
// whose pattern matches a string in the files. Use it only when berth sees everything
// interpolated (parsedFiles.seeAll). The casts are found once, on the first use: the options
// are applied again for each later step of the load.
func withNeededCasts(files parsedFiles) func(*loader.Options) {
	var needed map[tree.Path]interp.Cast
	return func(o *loader.Options) {
		if o.Interpolate == nil || o.Interpolate.TypeCastMapping == nil {
			return
		}
		if needed == nil {
			needed = neededCasts(o.Interpolate.TypeCastMapping, files.all())
		}
		o.Interpolate.TypeCastMapping = needed
	}
}

// parsedFiles is the Compose files as yaml.v3 reads them, parsed once for all of berth's own
// walks of them (the casts, the fast passes, the duplicate targets).
type parsedFiles struct {
	names []string
	docs  [][]*yaml.Node // the documents of each file, nil for a file that does not parse
	// complete: every file parsed. When one does not, compose-go parses it itself and says
	// what is wrong.
	complete bool
}

func parseFiles(files []types.ConfigFile) parsedFiles {
	p := parsedFiles{complete: true}
	for _, f := range files {
		d, err := yamlDocs(f.Content)
		if err != nil || f.Content == nil {
			p.complete, d = false, nil
		}
		p.names = append(p.names, f.Filename)
		p.docs = append(p.docs, d)
	}
	return p
}

// all is the top-level nodes of every document of every file.
func (p parsedFiles) all() []*yaml.Node {
	var out []*yaml.Node
	for _, docs := range p.docs {
		for _, d := range docs {
			if d.Kind == yaml.DocumentNode && len(d.Content) == 1 {
				d = d.Content[0]
			}
			out = append(out, d)
		}
	}
	return out
}

// seeAll reports whether these files are all compose-go reads: they parse, and none includes
// a file or extends a service of another file (compose-go then reads those files too).
func (p parsedFiles) seeAll() bool {
	if !p.complete {
		return false
	}
	for _, top := range p.all() {
		if reachesOtherFiles(top) {
			return false
		}
	}
	return true
}

func yamlDocs(data []byte) ([]*yaml.Node, error) {
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
	}
}

// pathTrie is compose-go path patterns as a tree of their parts; "*" matches any key, "[]"
// any item. Walking a model along it visits only the nodes some pattern can match.
type pathTrie struct {
	next    map[string]*pathTrie
	pattern []tree.Path // the patterns that end here
}

func newPathTrie[P ~string](patterns []P) *pathTrie {
	root := &pathTrie{}
	for _, p := range patterns {
		root.add(tree.Path(p))
	}
	return root
}

func (t *pathTrie) add(p tree.Path) {
	for _, part := range p.Parts() {
		if t.next == nil {
			t.next = map[string]*pathTrie{}
		}
		if t.next[part] == nil {
			t.next[part] = &pathTrie{}
		}
		t = t.next[part]
	}
	t.pattern = append(t.pattern, p)
}

// neededCasts returns the casts whose pattern matches a string in the top-level nodes tops.
func neededCasts(all map[tree.Path]interp.Cast, tops []*yaml.Node) map[tree.Path]interp.Cast {
	root := newPathTrie(slices.Collect(maps.Keys(all)))
	w := castWalk{found: map[tree.Path]bool{}}
	for _, top := range tops {
		w.walkTop(top, root)
	}
	needed := map[tree.Path]interp.Cast{}
	for p := range w.found {
		needed[p] = all[p]
	}
	return needed
}

type castWalk struct{ found map[tree.Path]bool }

// walkTop walks a file's top level, whose keys compose-go does not escape: a dot in one
// separates parts of the path.
func (w castWalk) walkTop(top *yaml.Node, root *pathTrie) {
	if top.Kind != yaml.MappingNode {
		w.walk(top, []*pathTrie{root}, 0)
		return
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		w.walk(top.Content[i+1], topStep([]*pathTrie{root}, top.Content[i].Value), 0)
	}
}

// maxAliasDepth bounds alias following, against alias cycles in hostile files.
const maxAliasDepth = 64

func (w castWalk) walk(n *yaml.Node, at []*pathTrie, depth int) {
	if len(at) == 0 || n == nil || depth > maxAliasDepth {
		return
	}
	switch n.Kind {
	case yaml.AliasNode:
		w.walk(n.Alias, at, depth+1)
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float", "!!bool", "!!null": // never cast: compose-go casts strings only
		default:
			for _, t := range at {
				for _, p := range t.pattern {
					w.found[p] = true
				}
			}
		}
	case yaml.SequenceNode:
		next := step(at, "[]")
		for _, c := range n.Content {
			w.walk(c, next, depth)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" { // a merge key: its mappings' keys land here
				w.walkMerge(v, at, depth)
				continue
			}
			w.walk(v, step(at, k.Value), depth)
		}
	}
}

// walkMerge walks the mappings a merge key brings in, as if they were written in place.
func (w castWalk) walkMerge(v *yaml.Node, at []*pathTrie, depth int) {
	if depth > maxAliasDepth {
		return
	}
	switch v.Kind {
	case yaml.AliasNode:
		w.walkMerge(v.Alias, at, depth+1)
	case yaml.SequenceNode:
		for _, c := range v.Content {
			w.walkMerge(c, at, depth+1)
		}
	default:
		w.walk(v, at, depth)
	}
}

// step follows key (a map key or "[]") from each trie node: to its own part and to "*".
func step(at []*pathTrie, key string) []*pathTrie {
	var out []*pathTrie
	for _, t := range at {
		if c := t.next[key]; c != nil {
			out = append(out, c)
		}
		if c := t.next[tree.PathMatchAll]; c != nil { // as tree.Path.Matches: "*" matches "[]" too
			out = append(out, c)
		}
	}
	return out
}

// reachesOtherFiles reports whether a file's top level has an include, or a service (or job)
// extends a service of another file: compose-go interpolates those files too.
func reachesOtherFiles(top *yaml.Node) bool {
	if top.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		switch top.Content[i].Value {
		case "include":
			return true
		case "services", "jobs":
			if extendsFile(top.Content[i+1]) {
				return true
			}
		}
	}
	return false
}

func extendsFile(services *yaml.Node) bool {
	if services.Kind != yaml.MappingNode {
		return false
	}
	for i := 1; i < len(services.Content); i += 2 {
		svc := services.Content[i]
		if svc.Kind == yaml.AliasNode {
			svc = svc.Alias
		}
		if svc == nil || svc.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(svc.Content); j += 2 {
			if svc.Content[j].Value == "extends" && svc.Content[j+1].Kind != yaml.ScalarNode {
				return true // the mapping form may name a file; a bare name stays in this file
			}
		}
	}
	return false
}
