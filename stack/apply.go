package stack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/swarm"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// ApplyOptions are the options of Plan.Apply.
type ApplyOptions struct {
	// Progress, when set, receives an EventAction before each action that writes (from
	// several goroutines, one at a time).
	Progress func(Event)
	// Parallel bounds how many independent actions run at once; 8 when 0.
	Parallel int
}

// Ref names an object that Apply wrote.
type Ref struct {
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
	ID   string `json:"id"`
}

// Result is what Apply did. It is filled as far as Apply got, also when it fails, so that a
// caller can clean up what was created.
type Result struct {
	Created []Ref `json:"created,omitempty"`
	Updated []Ref `json:"updated,omitempty"`
	Removed []Ref `json:"removed,omitempty"`
	// Kept are the secrets and configs this apply replaced (a content change), kept so that a
	// rollback (berth's or swarm's own) can return to them: Deploy with Wait removes them once
	// the services have converged; otherwise the next plan removes them.
	Kept []Ref `json:"kept,omitempty"`
	// Uncertain are the writes whose answer was lost (the context ended, the connection
	// broke): the engine may have carried them out. Deploy's undo looks for them.
	Uncertain []Ref    `json:"uncertain,omitempty"`
	Warnings  []string `json:"warnings,omitempty"` // the engine's, e.g. an image not resolved
}

// Services returns the IDs of the services created or updated: those to watch.
func (r *Result) Services() []string {
	var out []string
	for _, list := range [][]Ref{r.Created, r.Updated} {
		for _, ref := range list {
			if ref.Kind == KindService {
				out = append(out, ref.ID)
			}
		}
	}
	return out
}

// RefError is a write to one object that failed (or an object left behind), with the reason.
type RefError struct {
	Ref
	Err error
}

func (e RefError) Error() string {
	if e.Kind == "" {
		return fmt.Sprintf("%s: %v", e.Name, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", e.Kind, e.Name, e.Err)
}

// Unwrap returns the reason.
func (e RefError) Unwrap() error { return e.Err }

// ErrLeft is matched (errors.Is) by every error that says objects were left behind: a
// *LeftError, and a *DeployError whose undo did not undo everything.
var ErrLeft = errors.New("objects left behind")

// LeftError says which objects a removal left behind (Apply's removals of pruned and replaced
// objects, Remove), each with the engine's reason: the rest of the work was done. It matches
// ErrLeft and, through Unwrap, each reason.
type LeftError struct {
	Stack string
	Left  []RefError
}

func (e *LeftError) Error() string {
	parts := make([]string, len(e.Left))
	for i, l := range e.Left {
		parts[i] = l.Error()
	}
	return fmt.Sprintf("stack %s: %d object(s) left: %s", e.Stack, len(e.Left), strings.Join(parts, "; "))
}

// Unwrap returns ErrLeft and the reason of each object left.
func (e *LeftError) Unwrap() []error {
	out := []error{ErrLeft}
	for _, l := range e.Left {
		out = append(out, l)
	}
	return out
}

// Apply executes exactly the plan: pruned services are removed first, then networks, secrets
// and configs are created (or relabelled), then services are created and updated, all of one
// step in parallel, and last the pruned networks, secrets and configs are removed (those a
// removal leaves are a *LeftError). Secrets and configs this plan replaces are kept
// (Result.Kept). An update carries the version the plan read: when someone else changed the
// service since, the engine refuses it and Apply fails with *swarm.VersionConflictError
// rather than overwrite. A plan without changes writes nothing; otherwise Apply holds the
// stack's deploy lock while it writes: a concurrent deploy of the same stack fails with a
// *LockedError. Apply does not undo a failed apply: Deploy does.
func (p *Plan) Apply(ctx context.Context, cli Client, opts ApplyOptions) (*Result, error) {
	if !p.HasChanges() {
		return &Result{}, nil
	}
	unlock, err := lock(ctx, cli, p.Stack)
	if err != nil {
		return &Result{}, fmt.Errorf("apply stack %s: %w", p.Stack, err)
	}
	ap := newApplier(p, cli, opts)
	_, err = ap.run(ctx, stepsAll, false)
	if uerr := unlock(); uerr != nil {
		err = errors.Join(err, uerr)
	}
	return ap.res, err
}

func newApplier(p *Plan, cli Client, opts ApplyOptions) *applier {
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	ap := &applier{plan: p, cli: cli, opts: opts, res: &Result{}, ids: map[string]string{}, errs: map[string]error{}}
	for k, v := range p.names {
		ap.ids[k] = v
	}
	return ap
}

type applier struct {
	plan *Plan
	cli  Client
	opts ApplyOptions
	mu   sync.Mutex
	res  *Result
	ids  map[string]string // "secret:NAME" / "config:NAME" → ID

	started   []Action         // every action whose write was sent, for undo
	errs      map[string]error // the error of each started action that failed, by actionKey
	stop      bool             // an action failed: start no more
	keepGoing bool             // Remove: a failure does not stop the other removals
}

// Steps of Apply, in order.
const (
	stepPruneServices = iota // remove pruned services
	stepObjects              // create networks, secrets, configs; relabel secrets, configs
	stepServices             // create and update services
	stepRemovals             // remove pruned (and, after convergence, replaced) objects
)

// stepsAll runs every step; Deploy with Wait runs stepRemovals only after convergence.
var stepsAll = []int{stepPruneServices, stepObjects, stepServices, stepRemovals}

func stepOf(a Action) int {
	switch {
	case a.Op == OpRemove && a.Kind == KindService:
		return stepPruneServices
	case a.Op == OpRemove:
		return stepRemovals
	case a.Kind == KindService:
		return stepServices
	}
	return stepObjects
}

// run executes the steps in order and stops at the first that fails, returning it. Removals
// of kept (replaced) objects run only when includeKept; else they are recorded in
// Result.Kept. Failed removals of the last step are a *LeftError.
func (ap *applier) run(ctx context.Context, steps []int, includeKept bool) (int, error) {
	for _, step := range steps {
		var todo []Action
		for _, a := range ap.plan.Actions {
			if !a.Writes() || stepOf(a) != step {
				continue
			}
			if a.kept && !includeKept {
				ap.res.Kept = append(ap.res.Kept, Ref{Kind: a.Kind, Name: a.Name, ID: a.ID})
				continue
			}
			todo = append(todo, a)
		}
		do := map[int]func(context.Context, Action) error{stepPruneServices: ap.remove, stepObjects: ap.object,
			stepServices: ap.service, stepRemovals: ap.remove}[step]
		errs := ap.parallel(ctx, todo, do)
		if len(errs) == 0 {
			continue
		}
		if step == stepRemovals {
			return step, fmt.Errorf("apply stack %s: %w", ap.plan.Stack, leftError(ap.plan.Stack, errs))
		}
		return step, fmt.Errorf("apply stack %s: %w", ap.plan.Stack, errors.Join(errs...))
	}
	return -1, nil
}

func leftError(stack string, errs []error) *LeftError {
	le := &LeftError{Stack: stack}
	for _, err := range errs {
		var re RefError
		if !errors.As(err, &re) {
			re = RefError{Err: err}
		}
		le.Left = append(le.Left, re)
	}
	return le
}

func actionKey(a Action) string { return string(a.Op) + " " + string(a.Kind) + " " + a.Name }

// parallel runs do for each action, at most opts.Parallel at once. Once one fails, or the
// context is done, the actions not yet started are not started.
func (ap *applier) parallel(ctx context.Context, actions []Action, do func(context.Context, Action) error) []error {
	sem := make(chan struct{}, ap.opts.Parallel)
	var wg sync.WaitGroup
	var errs []error
	for _, a := range actions {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if !ap.begin(ctx, a, &errs) {
				return
			}
			err := do(ctx, a)
			ap.mu.Lock()
			defer ap.mu.Unlock()
			if err != nil {
				ap.errs[actionKey(a)] = err
				ap.stop = !ap.keepGoing
				errs = append(errs, err)
				if !madeNothing(err) {
					ap.res.Uncertain = append(ap.res.Uncertain, Ref{Kind: a.Kind, Name: a.Name, ID: a.ID})
				}
			}
		})
	}
	wg.Wait()
	return errs
}

// begin records that the action is sent and reports it, unless Apply is stopping.
func (ap *applier) begin(ctx context.Context, a Action, errs *[]error) bool {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	if ap.stop {
		return false
	}
	if err := context.Cause(ctx); err != nil {
		ap.stop = true
		*errs = append(*errs, fmt.Errorf("%s %s %s: not sent: %w", a.Op, a.Kind, a.Name, err))
		return false
	}
	ap.started = append(ap.started, a)
	if ap.opts.Progress != nil {
		ap.opts.Progress(Event{Stack: ap.plan.Stack, Type: EventAction, Action: a})
	}
	return true
}

func (ap *applier) record(list *[]Ref, a Action, id string) {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	*list = append(*list, Ref{Kind: a.Kind, Name: a.Name, ID: id})
	if a.Kind == KindSecret || a.Kind == KindConfig {
		ap.ids[string(a.Kind)+":"+a.Name] = id
	}
}

func (ap *applier) warn(w ...string) {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	ap.res.Warnings = append(ap.res.Warnings, w...)
}

// object creates a network, secret or config, or updates a secret's or config's labels.
func (ap *applier) object(ctx context.Context, a Action) error {
	var id string
	var err error
	switch {
	case a.Kind == KindNetwork:
		var r client.NetworkCreateResult
		r, err = ap.cli.NetworkCreate(ctx, a.Name, networkCreateOptions(*a.network))
		id = r.ID
	case a.Kind == KindSecret && a.Op == OpCreate:
		var r client.SecretCreateResult
		r, err = ap.cli.SecretCreate(ctx, client.SecretCreateOptions{Spec: *a.secret})
		id = r.ID
	case a.Kind == KindSecret:
		_, err = ap.cli.SecretUpdate(ctx, a.ID, client.SecretUpdateOptions{Version: a.Version, Spec: *a.secret})
		id = a.ID
	case a.Kind == KindConfig && a.Op == OpCreate:
		var r client.ConfigCreateResult
		r, err = ap.cli.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: *a.config})
		id = r.ID
	case a.Kind == KindConfig:
		_, err = ap.cli.ConfigUpdate(ctx, a.ID, client.ConfigUpdateOptions{Version: a.Version, Spec: *a.config})
		id = a.ID
	}
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", a.Op, a.Kind, a.Name, err)
	}
	if a.Op == OpCreate {
		ap.record(&ap.res.Created, a, id)
	} else {
		ap.record(&ap.res.Updated, a, id)
	}
	return nil
}

// refs fills in the IDs of the secrets and configs a service uses.
func (ap *applier) refs(spec swarmapi.ServiceSpec) (swarmapi.ServiceSpec, error) {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	spec = swarm.CloneSpec(spec)
	cs := spec.TaskTemplate.ContainerSpec
	var errs []error
	for _, r := range cs.Secrets {
		if r.SecretID == "" {
			if r.SecretID = ap.ids["secret:"+r.SecretName]; r.SecretID == "" {
				errs = append(errs, fmt.Errorf("secret %s not found: %w", r.SecretName, cerrdefs.ErrNotFound))
			}
		}
	}
	for _, r := range cs.Configs {
		if r.ConfigID == "" {
			if r.ConfigID = ap.ids["config:"+r.ConfigName]; r.ConfigID == "" {
				errs = append(errs, fmt.Errorf("config %s not found: %w", r.ConfigName, cerrdefs.ErrNotFound))
			}
		}
	}
	return spec, errors.Join(errs...)
}

// liveService returns the service as the plan read it.
func (ap *applier) liveService(id string) (swarmapi.Service, bool) {
	i := slices.IndexFunc(ap.plan.liveServices, func(s swarmapi.Service) bool { return s.ID == id })
	if i < 0 {
		return swarmapi.Service{}, false
	}
	return ap.plan.liveServices[i], true
}

func (ap *applier) service(ctx context.Context, a Action) error {
	spec, err := ap.refs(*a.service)
	if err != nil {
		return fmt.Errorf("service %s: %w", a.Name, err)
	}
	if a.Op == OpCreate {
		r, err := ap.cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec, EncodedRegistryAuth: a.auth})
		if err != nil {
			return fmt.Errorf("create service %s: %w", a.Name, err)
		}
		ap.warn(r.Warnings...)
		ap.record(&ap.res.Created, a, r.ID)
		return nil
	}
	read, ok := ap.liveService(a.ID)
	if !ok {
		read = swarmapi.Service{ID: a.ID, Meta: swarmapi.Meta{Version: a.Version}, Spec: swarmapi.ServiceSpec{Annotations: swarmapi.Annotations{Name: a.Name}}}
	}
	r, _, err := swarm.SendUpdate(ctx, ap.cli, read, client.ServiceUpdateOptions{Version: a.Version, Spec: spec, EncodedRegistryAuth: a.auth})
	if err != nil {
		return err
	}
	ap.warn(r.Warnings...)
	ap.record(&ap.res.Updated, a, a.ID)
	return nil
}

// remove deletes a service, network, secret or config. A secret, config or network still in
// use (by tasks being shut down) is tried again for up to 10 s; what is still there then is
// a RefError.
func (ap *applier) remove(ctx context.Context, a Action) error {
	err := removeObject(ctx, ap.cli, Ref{Kind: a.Kind, Name: a.Name, ID: a.ID}, 10*time.Second)
	if err != nil {
		return err
	}
	ap.record(&ap.res.Removed, a, a.ID)
	return nil
}

// removeObject removes one object, trying a network, secret or config again while the engine
// refuses it (still in use) until patience runs out; an engine that does not answer is not
// waited for. Gone already is no error; any other outcome is a RefError.
func removeObject(ctx context.Context, cli Client, r Ref, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		var err error
		switch r.Kind {
		case KindService:
			_, err = cli.ServiceRemove(ctx, r.ID, client.ServiceRemoveOptions{})
		case KindNetwork:
			_, err = cli.NetworkRemove(ctx, r.ID, client.NetworkRemoveOptions{})
		case KindSecret:
			_, err = cli.SecretRemove(ctx, r.ID, client.SecretRemoveOptions{})
		case KindConfig:
			_, err = cli.ConfigRemove(ctx, r.ID, client.ConfigRemoveOptions{})
		}
		if err == nil || cerrdefs.IsNotFound(err) {
			return nil
		}
		if r.Kind == KindService || ctx.Err() != nil || time.Now().After(deadline) || !madeNothing(err) {
			return RefError{Ref: r, Err: fmt.Errorf("not removed: %w", err)}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond): // still in use by tasks being shut down
		}
	}
}

// networkCreateOptions turns the compiled create request into the client's options; the client
// sends the name on its own.
func networkCreateOptions(r network.CreateRequest) client.NetworkCreateOptions {
	o := client.NetworkCreateOptions{Driver: r.Driver, Scope: r.Scope, EnableIPv4: r.EnableIPv4, EnableIPv6: r.EnableIPv6,
		IPAM: r.IPAM, Internal: r.Internal, Attachable: r.Attachable, Ingress: r.Ingress, ConfigOnly: r.ConfigOnly,
		Options: r.Options, Labels: r.Labels}
	if r.ConfigFrom != nil {
		o.ConfigFrom = r.ConfigFrom.Network
	}
	return o
}
