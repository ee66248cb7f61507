package visualize

import (
	"reflect"
)

// Change is what turns one Snapshot into the next: the nodes, services and tasks that are new
// or changed, and the IDs of those gone. The live stream sends one per change of the model.
type Change struct {
	Seq      uint64    `json:"seq"`
	Nodes    []Node    `json:"nodes,omitempty"`
	Services []Service `json:"services,omitempty"`
	Tasks    []Task    `json:"tasks,omitempty"`
	// Removed lists the IDs of nodes, services and tasks that are gone (IDs are unique across
	// the three kinds: swarm makes them random).
	Removed []string `json:"removed,omitempty"`
}

// Empty reports whether c changes nothing.
func (c Change) Empty() bool {
	return len(c.Nodes) == 0 && len(c.Services) == 0 && len(c.Tasks) == 0 && len(c.Removed) == 0
}

// Diff returns the change from old to cur. Its Seq is left for the caller to set.
func Diff(old, cur Snapshot) Change {
	var c Change
	c.Nodes, c.Removed = diffOf(old.Nodes, cur.Nodes, func(n Node) string { return n.ID }, c.Removed)
	c.Services, c.Removed = diffOf(old.Services, cur.Services, func(s Service) string { return s.ID }, c.Removed)
	c.Tasks, c.Removed = diffOf(old.Tasks, cur.Tasks, func(t Task) string { return t.ID }, c.Removed)
	return c
}

func diffOf[T any](old, cur []T, id func(T) string, removed []string) ([]T, []string) {
	before := make(map[string]T, len(old))
	for _, v := range old {
		before[id(v)] = v
	}
	var changed []T
	for _, v := range cur {
		prev, ok := before[id(v)]
		if !ok || !reflect.DeepEqual(prev, v) {
			changed = append(changed, v)
		}
		delete(before, id(v))
	}
	for _, v := range old { // in old's order, so the change is deterministic
		if _, gone := before[id(v)]; gone {
			removed = append(removed, id(v))
		}
	}
	return changed, removed
}
