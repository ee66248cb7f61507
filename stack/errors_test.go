package stack_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
	cerrdefs "github.com/containerd/errdefs"
)

// TestErrorsMatch checks what the typed errors of a deploy match with errors.Is and
// errors.As, through the wrapping Deploy adds.
func TestErrorsMatch(t *testing.T) {
	conflict := &swarm.VersionConflictError{Service: "s_a", Err: cerrdefs.ErrUnknown}
	refErr := stack.RefError{Ref: stack.Ref{Kind: stack.KindNetwork, Name: "s_back"}, Err: cerrdefs.ErrFailedPrecondition}
	rolledBack := fmt.Errorf("x: %w", &stack.DeployError{Stack: "s", Err: conflict, RolledBack: true, Undone: []stack.Ref{{Name: "s_a"}}})
	partly := &stack.DeployError{Stack: "s", Err: context.Canceled, RolledBack: true, NotUndone: []stack.RefError{refErr}}
	kept := &stack.DeployError{Stack: "s", Err: conflict}
	left := fmt.Errorf("apply: %w", &stack.LeftError{Stack: "s", Left: []stack.RefError{refErr}})
	locked := fmt.Errorf("deploy: %w", &stack.LockedError{Stack: "s"})
	for _, tc := range []struct {
		name    string
		err     error
		is, not []error
	}{
		{"rolled back", rolledBack, []error{stack.ErrRolledBack, cerrdefs.ErrConflict}, []error{stack.ErrLeft}},
		{"partly undone", partly, []error{stack.ErrLeft, context.Canceled, cerrdefs.ErrFailedPrecondition}, []error{stack.ErrRolledBack}},
		{"no rollback", kept, []error{cerrdefs.ErrConflict}, []error{stack.ErrRolledBack, stack.ErrLeft}},
		{"left", left, []error{stack.ErrLeft, cerrdefs.ErrFailedPrecondition}, []error{stack.ErrRolledBack}},
		{"locked", locked, []error{cerrdefs.ErrConflict}, []error{stack.ErrLeft}},
	} {
		for _, target := range tc.is {
			if !errors.Is(tc.err, target) {
				t.Errorf("%s: does not match %v: %v", tc.name, target, tc.err)
			}
		}
		for _, target := range tc.not {
			if errors.Is(tc.err, target) {
				t.Errorf("%s: matches %v: %v", tc.name, target, tc.err)
			}
		}
	}
	var vc *swarm.VersionConflictError
	var re stack.RefError
	if !errors.As(rolledBack, &vc) || !errors.As(left, &re) || re.Name != "s_back" || !cerrdefs.IsConflict(locked) {
		t.Error("errors.As does not reach the causes")
	}
}
