package stack

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// LabelLock marks the config that is a stack's deploy lock; its value is the stack's name.
const LabelLock = "dev.berth.stack.lock"

// LockedError says that another deploy of the same stack holds the stack's deploy lock: this
// one wrote nothing. It matches cerrdefs.IsConflict. The lock is a swarm config named
// LockName(stack), created by the deploy that writes and removed when it ends. A lock left
// by a deploy that is gone (killed on this host, or one whose engine went away before it
// could release it) is taken over; one left by a deploy on another host must be removed by
// hand.
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
	Host   string    `json:"host"`
	PID    int       `json:"pid"`
	Token  string    `json:"token"` // tells this process's locks apart
	Since  time.Time `json:"since"`
}

// held are the tokens of the locks this process holds now.
var held sync.Map

// stale tells whether a lock's holder is gone: a process of this host that no longer runs, or
// this process, which released the lock when the engine could not be told (the engine went
// away). A holder on another host is never taken for gone.
func (h lockHolder) stale() bool {
	host, _ := os.Hostname()
	switch {
	case h.Host != host || h.PID == 0:
		return false
	case h.PID == os.Getpid():
		_, ok := held.Load(h.Token)
		return !ok
	case runtime.GOOS == "windows":
		return false // no signal 0 to probe with
	}
	p, err := os.FindProcess(h.PID)
	if err != nil {
		return true
	}
	err = p.Signal(syscall.Signal(0))
	return err != nil && !errors.Is(err, syscall.EPERM)
}

// lock takes the stack's deploy lock: a config, as swarm refuses a second object of one name
// atomically, whatever client made the first. A lock whose holder is gone (see
// lockHolder.stale) is taken over. The returned function releases it, also after ctx is
// done.
func lock(ctx context.Context, cli Client, stack string) (unlock func() error, err error) {
	host, _ := os.Hostname()
	token := rand.Text()
	h := lockHolder{Holder: fmt.Sprintf("%s pid %d", host, os.Getpid()), Host: host, PID: os.Getpid(), Token: token, Since: time.Now().UTC().Truncate(time.Second)}
	data, _ := json.Marshal(h)
	spec := swarmapi.ConfigSpec{Annotations: swarmapi.Annotations{Name: LockName(stack), Labels: map[string]string{LabelLock: stack}}, Data: data}
	held.Store(token, true)
	r, err := cli.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: spec})
	if cerrdefs.IsConflict(err) && takeOver(ctx, cli, stack) {
		r, err = cli.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: spec})
	}
	if err != nil {
		held.Delete(token)
	}
	if cerrdefs.IsConflict(err) {
		return nil, lockedBy(ctx, cli, stack)
	}
	if err != nil {
		return nil, fmt.Errorf("take the deploy lock %s: %w", LockName(stack), err)
	}
	return func() error {
		defer held.Delete(token)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := cli.ConfigRemove(ctx, r.ID, client.ConfigRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return &LeftError{Stack: stack, Left: []RefError{{Ref: Ref{Kind: KindConfig, Name: LockName(stack), ID: r.ID}, Err: fmt.Errorf("deploy lock not released: %w", err)}}}
		}
		return nil
	}, nil
}

// readLock returns the lock's config and its holder.
func readLock(ctx context.Context, cli Client, stack string) (swarmapi.Config, lockHolder, error) {
	cur, err := cli.ConfigInspect(ctx, LockName(stack), client.ConfigInspectOptions{})
	if err != nil {
		return swarmapi.Config{}, lockHolder{}, err
	}
	var h lockHolder
	err = json.Unmarshal(cur.Config.Spec.Data, &h)
	return cur.Config, h, err
}

// takeOver removes the lock when its holder is gone, and tells whether it did.
func takeOver(ctx context.Context, cli Client, stack string) bool {
	cfg, h, err := readLock(ctx, cli, stack)
	if err != nil || !h.stale() {
		return false
	}
	_, err = cli.ConfigRemove(ctx, cfg.ID, client.ConfigRemoveOptions{})
	return err == nil || cerrdefs.IsNotFound(err)
}

func lockedBy(ctx context.Context, cli Client, stack string) *LockedError {
	le := &LockedError{Stack: stack, Holder: "another deploy"}
	if _, h, err := readLock(ctx, cli, stack); err == nil && h.Holder != "" {
		le.Holder, le.Since = h.Holder, h.Since
	}
	return le
}
