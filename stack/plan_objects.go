package stack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"

	swarmapi "github.com/moby/moby/api/types/swarm"
)

// contentHash is "sha256:HEX" of data.
func contentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// rotatedName is the name of a secret or config whose content changed: the stack's name for
// it and the first 12 hex digits of the content hash ("echo_key-3f2a9c0d1b4e").
func rotatedName(name, hash string) string {
	return name + "-" + hash[len("sha256:"):len("sha256:")+12]
}

// liveObject is what secrets and configs share, for planning.
type liveObject struct {
	id      string
	version swarmapi.Version
	ann     swarmapi.Annotations
	data    []byte // configs only
	hasData bool
}

// objectState is the plan for one secret or config of the spec.
type objectState struct {
	kind    Kind
	name    string // the name the spec gives it
	labels  map[string]string
	data    []byte
	hash    string
	canRead bool // configs: live data can be compared
}

// planObject decides, for one secret or config of the spec, which live object the services
// use (an existing one with the same content, or a new one) and what happens to the others
// of the same name: they are removed once the services no longer use them.
func (pr *planner) planObject(o objectState, candidates []liveObject) (chosen string, create *swarmapi.Annotations) {
	var match *liveObject
	nameTaken := false
	for i := range candidates {
		c := &candidates[i]
		nameTaken = nameTaken || c.ann.Name == o.name
		if match == nil && pr.sameContent(o, c) {
			match = c
		}
	}
	want := swarmapi.Annotations{Name: o.name, Labels: maps.Clone(o.labels)}
	if want.Labels == nil {
		want.Labels = map[string]string{}
	}
	want.Labels[LabelObject], want.Labels[LabelContentHash] = o.name, o.hash
	var a Action
	switch {
	case match != nil:
		want.Name = match.ann.Name
		a = Action{Op: OpNoop, Kind: o.kind, Name: match.ann.Name, ID: match.id}
		if changes := labelChanges(match.ann.Labels, want.Labels); len(changes) > 0 {
			a.Op, a.Version, a.Changes, a.Reason = OpUpdate, match.version, changes, "labels changed"
			a.prev = &match.ann
		}
	case nameTaken:
		want.Name = rotatedName(o.name, o.hash)
		a = Action{Op: OpCreate, Kind: o.kind, Name: want.Name, Reason: "content changed: new object, services repointed"}
	default:
		a = Action{Op: OpCreate, Kind: o.kind, Name: want.Name}
	}
	for _, c := range candidates {
		if match == nil || c.id != match.id {
			// one the services use now is kept until they converge without it (a rollback
			// returns to it); one no service uses is removed now
			pr.late = append(pr.late, Action{Op: OpRemove, Kind: o.kind, Name: c.ann.Name, ID: c.id, Reason: "replaced by " + want.Name, kept: pr.inUse(o.kind, c.id)})
		}
	}
	pr.add(a)
	return want.Name, &want
}

// inUse tells whether a live service of the stack refers to the secret or config.
func (pr *planner) inUse(kind Kind, id string) bool {
	for _, s := range pr.live.services {
		cs := s.Spec.TaskTemplate.ContainerSpec
		if cs == nil {
			continue
		}
		for _, r := range cs.Secrets {
			if kind == KindSecret && r.SecretID == id {
				return true
			}
		}
		for _, r := range cs.Configs {
			if kind == KindConfig && r.ConfigID == id {
				return true
			}
		}
	}
	return false
}

// sameContent tells whether a live object holds the spec's content: by berth's hash label,
// else (configs) by comparing the data. A secret that berth did not create (no hash label)
// cannot be compared, as swarm never returns a secret's data: it is taken as unchanged, with
// a warning.
func (pr *planner) sameContent(o objectState, c *liveObject) bool {
	if h, ok := c.ann.Labels[LabelContentHash]; ok {
		return h == o.hash
	}
	if c.ann.Name != o.name {
		return false
	}
	if o.canRead && c.hasData {
		return bytes.Equal(c.data, o.data)
	}
	pr.plan.Warnings = append(pr.plan.Warnings, fmt.Sprintf("%s %s was not created by berth: swarm does not return its content, so it is taken as unchanged", o.kind, o.name))
	return true
}

// labelChanges compares labels, ignoring berth's own when the live object lacks them
// (objects created by the Docker CLI are not relabelled just for berth).
func labelChanges(have, want map[string]string) []Change {
	var out []Change
	for k, v := range want {
		if k == LabelObject || k == LabelContentHash {
			continue
		}
		if have[k] != v {
			out = append(out, Change{Field: "labels." + k, From: have[k], To: v})
		}
	}
	for k, v := range have {
		if _, ok := want[k]; !ok && k != LabelObject && k != LabelContentHash {
			out = append(out, Change{Field: "labels." + k, From: v})
		}
	}
	return out
}

// candidates returns the live objects of the stack that carry the spec's name for an object:
// that name itself, or berth's object label.
func candidatesFor(stack, name string, objs []liveObject) []liveObject {
	var out []liveObject
	for _, o := range objs {
		if inStack(o.ann.Labels, stack) && (o.ann.Name == name || o.ann.Labels[LabelObject] == name) {
			out = append(out, o)
		}
	}
	return out
}

func (pr *planner) secrets() error {
	var objs []liveObject
	for _, s := range pr.live.secrets {
		pr.plan.names["secret:"+s.Spec.Name] = s.ID
		objs = append(objs, liveObject{id: s.ID, version: s.Version, ann: s.Spec.Annotations})
	}
	pr.secretNames = map[string]string{}
	used := map[string]bool{}
	for _, s := range pr.plan.spec.Secrets {
		if s.External {
			if pr.plan.names["secret:"+s.Spec.Name] == "" {
				pr.problems = append(pr.problems, fmt.Sprintf("secret %q is declared as external, but could not be found", s.Spec.Name))
			}
			continue
		}
		data, err := readData(s.File, s.Spec.Data)
		if err != nil {
			return fmt.Errorf("secret %s: %w", s.Spec.Name, err)
		}
		cands := candidatesFor(pr.plan.Stack, s.Spec.Name, objs)
		for _, c := range cands {
			used[c.id] = true
		}
		o := objectState{kind: KindSecret, name: s.Spec.Name, labels: s.Spec.Labels, data: data, hash: contentHash(data)}
		if s.Spec.Driver != nil {
			o.hash = contentHash([]byte(s.Spec.Driver.Name + fmt.Sprint(s.Spec.Driver.Options)))
		}
		chosen, ann := pr.planObject(o, cands)
		pr.secretNames[s.Spec.Name] = chosen
		spec := s.Spec
		spec.Annotations, spec.Data = *ann, data
		pr.plan.Actions[len(pr.plan.Actions)-1].secret = &spec
	}
	pr.pruneObjects(KindSecret, objs, used)
	return nil
}

func (pr *planner) configs() error {
	var objs []liveObject
	for _, c := range pr.live.configs {
		pr.plan.names["config:"+c.Spec.Name] = c.ID
		objs = append(objs, liveObject{id: c.ID, version: c.Version, ann: c.Spec.Annotations, data: c.Spec.Data, hasData: true})
	}
	pr.configNames = map[string]string{}
	used := map[string]bool{}
	for _, c := range pr.plan.spec.Configs {
		if c.External {
			if pr.plan.names["config:"+c.Spec.Name] == "" {
				pr.problems = append(pr.problems, fmt.Sprintf("config %q is declared as external, but could not be found", c.Spec.Name))
			}
			continue
		}
		data, err := readData(c.File, c.Spec.Data)
		if err != nil {
			return fmt.Errorf("config %s: %w", c.Spec.Name, err)
		}
		cands := candidatesFor(pr.plan.Stack, c.Spec.Name, objs)
		for _, x := range cands {
			used[x.id] = true
		}
		o := objectState{kind: KindConfig, name: c.Spec.Name, labels: c.Spec.Labels, data: data, hash: contentHash(data), canRead: true}
		chosen, ann := pr.planObject(o, cands)
		pr.configNames[c.Spec.Name] = chosen
		spec := c.Spec
		spec.Annotations, spec.Data = *ann, data
		pr.plan.Actions[len(pr.plan.Actions)-1].config = &spec
	}
	pr.pruneObjects(KindConfig, objs, used)
	return nil
}

// pruneObjects removes (with Prune) the stack's secrets or configs that no spec entry claims.
func (pr *planner) pruneObjects(kind Kind, objs []liveObject, claimed map[string]bool) {
	if !pr.opts.Prune {
		return
	}
	for _, o := range objs {
		if inStack(o.ann.Labels, pr.plan.Stack) && !claimed[o.id] {
			pr.late = append(pr.late, Action{Op: OpRemove, Kind: kind, Name: o.ann.Name, ID: o.id, Reason: "prune"})
		}
	}
}

func readData(file string, data []byte) ([]byte, error) {
	if file == "" {
		return data, nil
	}
	return os.ReadFile(file)
}
