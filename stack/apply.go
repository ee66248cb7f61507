package stack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/berthdev/berth/swarm"
	cerrdefs "github.com/containerd/errdefs"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// ApplyOptions are the options of Plan.Apply.
type ApplyOptions struct {
	// Progress, when set, is called before each action that writes (from several goroutines,
	// one at a time).
	Progress func(Action)
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
	Created  []Ref    `json:"created,omitempty"`
	Updated  []Ref    `json:"updated,omitempty"`
	Removed  []Ref    `json:"removed,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
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

// Apply executes exactly the plan: pruned services are removed first, then networks, secrets
// and configs are created (or relabelled), then services are created and updated, all of one
// step in parallel, and last the secrets and configs that were replaced and the pruned
// objects are removed. An update carries the version the plan read: when someone else changed
// the service since, the engine refuses it and Apply fails rather than overwrite.
func (p *Plan) Apply(ctx context.Context, cli Client, opts ApplyOptions) (*Result, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	ap := &applier{plan: p, cli: cli, opts: opts, res: &Result{}, ids: map[string]string{}}
	for k, v := range p.names {
		ap.ids[k] = v
	}
	steps := []struct {
		when func(Action) bool
		do   func(context.Context, Action) error
	}{
		{func(a Action) bool { return a.Op == OpRemove && a.Kind == KindService }, ap.remove},
		{func(a Action) bool { return a.Kind != KindService && (a.Op == OpCreate || a.Op == OpUpdate) }, ap.object},
		{func(a Action) bool { return a.Kind == KindService && (a.Op == OpCreate || a.Op == OpUpdate) }, ap.service},
		{func(a Action) bool { return a.Op == OpRemove && a.Kind != KindService }, ap.remove},
	}
	for _, step := range steps {
		var todo []Action
		for _, a := range p.Actions {
			if step.when(a) {
				todo = append(todo, a)
			}
		}
		if err := ap.parallel(ctx, todo, step.do); err != nil {
			return ap.res, fmt.Errorf("apply stack %s: %w", p.Stack, err)
		}
	}
	return ap.res, nil
}

type applier struct {
	plan *Plan
	cli  Client
	opts ApplyOptions
	mu   sync.Mutex
	res  *Result
	ids  map[string]string // "secret:NAME" / "config:NAME" → ID
}

func (ap *applier) parallel(ctx context.Context, actions []Action, do func(context.Context, Action) error) error {
	sem := make(chan struct{}, ap.opts.Parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, a := range actions {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ap.progress(a)
			if err := do(ctx, a); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (ap *applier) progress(a Action) {
	if ap.opts.Progress != nil {
		ap.mu.Lock()
		defer ap.mu.Unlock()
		ap.opts.Progress(a)
	}
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
		r, err = ap.cli.NetworkCreate(ctx, a.Name, *a.network)
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
	read := swarmapi.Service{ID: a.ID, Meta: swarmapi.Meta{Version: a.Version}, Spec: swarmapi.ServiceSpec{Annotations: swarmapi.Annotations{Name: a.Name}}}
	if i := slices.IndexFunc(ap.plan.liveServices, func(s swarmapi.Service) bool { return s.ID == a.ID }); i >= 0 {
		read = ap.plan.liveServices[i]
	}
	r, _, err := swarm.SendUpdate(ctx, ap.cli, read, client.ServiceUpdateOptions{Version: a.Version, Spec: spec, EncodedRegistryAuth: a.auth})
	if err != nil {
		return err
	}
	ap.warn(r.Warnings...)
	ap.record(&ap.res.Updated, a, a.ID)
	return nil
}

// remove deletes a service, network, secret or config. A secret or config that is still in
// use, or a network that keeps endpoints after a while, is left with a warning.
func (ap *applier) remove(ctx context.Context, a Action) error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		switch a.Kind {
		case KindService:
			_, err = ap.cli.ServiceRemove(ctx, a.ID, client.ServiceRemoveOptions{})
		case KindNetwork:
			_, err = ap.cli.NetworkRemove(ctx, a.ID, client.NetworkRemoveOptions{})
		case KindSecret:
			_, err = ap.cli.SecretRemove(ctx, a.ID, client.SecretRemoveOptions{})
		case KindConfig:
			_, err = ap.cli.ConfigRemove(ctx, a.ID, client.ConfigRemoveOptions{})
		}
		if err == nil || cerrdefs.IsNotFound(err) || a.Kind == KindService || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond) // still in use by tasks being shut down
	}
	switch {
	case err == nil || cerrdefs.IsNotFound(err):
		ap.record(&ap.res.Removed, a, a.ID)
		return nil
	case a.Kind == KindService:
		return fmt.Errorf("remove service %s: %w", a.Name, err)
	}
	ap.warn(fmt.Sprintf("%s %s not removed: %v", a.Kind, a.Name, err))
	return nil
}
