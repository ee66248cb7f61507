package swarm

import (
	"fmt"
	"regexp"
	"strings"
)

// Constraint is one parsed placement constraint: Key Op Value, e.g. node.role != manager.
type Constraint struct {
	Key   string // node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.NAME, engine.labels.NAME
	Op    string // "==" or "!="
	Value string
}

// String renders the constraint as swarm stores it ("node.role!=manager").
func (c Constraint) String() string { return c.Key + c.Op + c.Value }

var (
	constraintKeyPattern   = regexp.MustCompile(`^(?i)[a-z_][a-z0-9\-_.]+$`)
	constraintValuePattern = regexp.MustCompile(`^(?i)[a-z0-9:\-_\s.*()?+\[\]\\^$|/]+$`)
	constraintKeys         = []string{"node.id", "node.hostname", "node.role", "node.platform.os", "node.platform.arch"}
	constraintKeyPrefixes  = []string{"node.labels.", "engine.labels."}
)

const constraintForms = "KEY==VALUE or KEY!=VALUE with KEY one of node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.NAME, engine.labels.NAME"

// ParseConstraint parses a placement constraint as swarm does ("node.role != manager",
// "node.labels.zone==east"), and refuses what swarm would accept but never match: an unknown
// key, a role other than manager or worker, an empty value.
func ParseConstraint(expr string) (Constraint, error) {
	var c Constraint
	for _, op := range []string{"==", "!="} {
		if k, v, ok := strings.Cut(expr, op); ok {
			c = Constraint{Key: strings.TrimSpace(k), Op: op, Value: strings.TrimSpace(v)}
			break
		}
	}
	switch {
	case c.Op == "":
		return c, fmt.Errorf("constraint %q has no operator (want %s)", expr, constraintForms)
	case !constraintKeyPattern.MatchString(c.Key):
		return c, fmt.Errorf("constraint %q: key %q is invalid (want %s)", expr, c.Key, constraintForms)
	case c.Value == "":
		return c, fmt.Errorf("constraint %q has no value (want %s)", expr, constraintForms)
	case !constraintValuePattern.MatchString(c.Value):
		return c, fmt.Errorf("constraint %q: value %q has characters swarm refuses (use letters, digits, spaces and : - _ . * ( ) ? + [ ] \\ ^ $ | /)", expr, c.Value)
	case !knownConstraintKey(c.Key):
		return c, fmt.Errorf("constraint %q: unknown key %q (want %s)", expr, c.Key, constraintForms)
	case strings.EqualFold(c.Key, "node.role") && !strings.EqualFold(c.Value, "manager") && !strings.EqualFold(c.Value, "worker"):
		return c, fmt.Errorf("constraint %q: node.role is manager or worker, got %q", expr, c.Value)
	}
	return c, nil
}

func knownConstraintKey(key string) bool {
	k := strings.ToLower(key)
	for _, known := range constraintKeys {
		if k == known {
			return true
		}
	}
	for _, p := range constraintKeyPrefixes {
		if strings.HasPrefix(k, p) && len(k) > len(p) {
			return true
		}
	}
	return false
}
