package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// LabelLock marks the config that is a stack's deploy lock; its value is the stack's name.
const LabelLock = "dev.berth.stack.lock"

// LockedError says that another deploy of the same stack holds the stack's deploy lock: this
// one wrote nothing. It matches cerrdefs.IsConflict. The lock is a swarm config named
// LockName(stack), created by the deploy that writes and removed when it ends; a deploy that
// was killed leaves it behind, and then it must be removed by hand.
type LockedError struct {
	Stack  string
	Holder string    // "host pid N" of the deploy that holds it
	Since  time.Time // when it took the lock
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("stack %s is being deployed by %s since %s: try again when that deploy is done (if it was killed, remove its lock: docker config rm %s)",
		e.Stack, e.Holder, e.Since.Format(time.RFC3339), LockName(e.Stack))
}

// Is makes the error match cerrdefs.ErrConflict.
func (e *LockedError) Is(target error) bool { return target == cerrdefs.ErrConflict }

// LockName is the name of the config that is the deploy lock of a stack.
func LockName(stack string) string { return "berth-lock." + stack }

type lockHolder struct {
	Holder string    `json:"holder"`
	Since  time.Time `json:"since"`
}

// lock takes the stack's deploy lock: a config, as swarm refuses a second object of one name
// atomically, whatever client made the first. The returned function releases it, also after
// ctx is done.
func lock(ctx context.Context, cli Client, stack string) (unlock func() error, err error) {
	host, _ := os.Hostname()
	data, _ := json.Marshal(lockHolder{Holder: fmt.Sprintf("%s pid %d", host, os.Getpid()), Since: time.Now().UTC().Truncate(time.Second)})
	spec := swarmapi.ConfigSpec{Annotations: swarmapi.Annotations{Name: LockName(stack), Labels: map[string]string{LabelLock: stack}}, Data: data}
	r, err := cli.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: spec})
	if cerrdefs.IsConflict(err) {
		le := &LockedError{Stack: stack, Holder: "another deploy"}
		if cur, ierr := cli.ConfigInspect(ctx, LockName(stack), client.ConfigInspectOptions{}); ierr == nil {
			var h lockHolder
			if json.Unmarshal(cur.Config.Spec.Data, &h) == nil && h.Holder != "" {
				le.Holder, le.Since = h.Holder, h.Since
			}
		}
		return nil, le
	}
	if err != nil {
		return nil, fmt.Errorf("take the deploy lock %s: %w", LockName(stack), err)
	}
	return func() error {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := cli.ConfigRemove(ctx, r.ID, client.ConfigRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return &LeftError{Stack: stack, Left: []RefError{{Ref: Ref{Kind: KindConfig, Name: LockName(stack), ID: r.ID}, Err: fmt.Errorf("deploy lock not released: %w", err)}}}
		}
		return nil
	}, nil
}
