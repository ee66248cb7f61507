package swarm

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	registrytypes "github.com/moby/moby/api/types/registry"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
)

// Definition is what Create and Replace accept: a *Service builder, or a plain Engine API spec
// wrapped in RawSpec.
type Definition interface {
	Spec() (swarmapi.ServiceSpec, error)
}

// RawSpec is an Engine API service spec used as it is, without the builder's checks.
type RawSpec swarmapi.ServiceSpec

// Spec returns the spec unchanged.
func (r RawSpec) Spec() (swarmapi.ServiceSpec, error) { return swarmapi.ServiceSpec(r), nil }

// Auth is a registry credential sent with a service create or update, so that nodes can pull
// a private image (`docker service create --with-registry-auth`).
type Auth = registrytypes.AuthConfig

// ResolveMode says whether an image reference is resolved against its registry and pinned
// to the digest found, as `--resolve-image` names it. It is the one type for that choice in
// berth (Create, Update and stack's Plan take it); each call documents what its zero value
// does.
type ResolveMode string

// Image resolution modes.
const (
	ResolveAlways  ResolveMode = "always"  // ask the registry for the digest and pin it
	ResolveChanged ResolveMode = "changed" // ask only when the image changed (an update, a redeploy)
	ResolveNever   ResolveMode = "never"   // send the reference as written
)

// Validate refuses a mode other than "", always, changed and never, as a *berth.ValidationError.
func (m ResolveMode) Validate() error {
	switch m {
	case "", ResolveAlways, ResolveChanged, ResolveNever:
		return nil
	}
	return berth.Invalid("resolve-image", "%q is not a mode: want always, changed or never", string(m))
}

// query tells whether the image is resolved, with an empty mode meaning never; from is the
// image before (empty for a create).
func (m ResolveMode) query(image, from string) bool {
	return m == ResolveAlways || m == ResolveChanged && image != from
}

// CreateOptions configures Create.
type CreateOptions struct {
	// Auth is sent to the nodes to pull the image; nil for a public or local registry.
	Auth *Auth
	// ResolveImage, ResolveAlways or ResolveChanged, asks the registry for the image's digest
	// and pins it in the spec, as `docker service create` does by default; empty or
	// ResolveNever sends the reference as written.
	ResolveImage ResolveMode
	// Wait makes Create return only once the service has converged (see Wait); the
	// *ConvergeError of a service that does not converge is returned with the ID.
	Wait bool
	// Watch configures the wait.
	Watch WatchOptions
}

// CreateResult is what Create returns.
type CreateResult struct {
	ID       string
	Warnings []string // from the engine, e.g. that the image digest could not be resolved
}

// Create creates a service from def and returns its ID. The definition is compiled before
// anything is sent: an invalid one fails with *berth.ValidationError values. A name in use
// fails with cerrdefs.IsConflict.
func Create(ctx context.Context, cli ServiceClient, def Definition, opts CreateOptions) (CreateResult, error) {
	spec, err := def.Spec()
	if err != nil {
		return CreateResult{}, err
	}
	auth, err := berth.EncodeAuth(opts.Auth)
	if err != nil {
		return CreateResult{}, fmt.Errorf("create service %s: encode registry auth: %w", spec.Name, err)
	}
	if err := opts.ResolveImage.Validate(); err != nil {
		return CreateResult{}, err
	}
	res, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec, EncodedRegistryAuth: auth, QueryRegistry: opts.ResolveImage.query(spec.TaskTemplate.ContainerSpec.Image, "")})
	if err != nil {
		return CreateResult{}, fmt.Errorf("create service %s: %w", spec.Name, err)
	}
	out := CreateResult{ID: res.ID, Warnings: res.Warnings}
	if opts.Wait {
		_, err = Wait(ctx, cli, []string{res.ID}, opts.Watch)
	}
	return out, err
}

// ScaleOptions configures Scale.
type ScaleOptions struct {
	// Wait makes Scale return only once that many tasks run; without it Scale returns as soon
	// as the new count is recorded.
	Wait bool
	// Watch configures the wait. Its Stable defaults to -1 here: Scale returns as soon as the
	// running count matches.
	Watch WatchOptions
}

// Scale sets the replica count of a replicated service (or replicated job) and returns once
// the count is recorded (with opts.Wait, once that many tasks run). A global service cannot
// be scaled: that is a *berth.ValidationError. A task that fails while scaling ends the wait
// with a *ConvergeError.
func Scale(ctx context.Context, cli ServiceClient, service string, replicas uint64, opts ScaleOptions) (Progress, error) {
	_, err := Update(ctx, cli, service, func(spec *swarmapi.ServiceSpec) error {
		switch m := &spec.Mode; {
		case m.Replicated != nil:
			m.Replicated.Replicas = &replicas
		case m.ReplicatedJob != nil:
			m.ReplicatedJob.TotalCompletions = &replicas
		default:
			return berth.Invalid("service/"+spec.Name+"/deploy/replicas", "%s is not a replicated service: only replicated services and jobs can be scaled", spec.Name)
		}
		return nil
	}, UpdateOptions{})
	if err != nil || !opts.Wait {
		return Progress{}, err
	}
	w := opts.Watch
	if w.Stable == 0 {
		w.Stable = -1
	}
	ps, err := Wait(ctx, cli, []string{service}, w)
	if len(ps) == 0 {
		return Progress{}, err
	}
	return ps[0], err
}

// UpdateOptions configures Update, Replace and Rollback.
type UpdateOptions struct {
	// Version, when set, is the version the change was computed against: the update is sent
	// with it and fails with *VersionConflictError when the service changed since. When zero,
	// the version read just before is used.
	Version swarmapi.Version
	// Auth is sent to the nodes to pull a changed image; nil keeps the credential the service
	// was created with.
	Auth *Auth
	// ResolveImage pins the image's digest: ResolveAlways as `docker service update` does by
	// default, ResolveChanged only when the change sets another image; empty or ResolveNever
	// sends the reference as written.
	ResolveImage ResolveMode
	// Force restarts every task even when nothing changed (`docker service update --force`).
	Force bool
	// Wait makes the call return only once the service has converged (see Wait).
	Wait bool
	// Watch configures the wait.
	Watch WatchOptions
}

// UpdateResult is what Update, Replace and Rollback return.
type UpdateResult struct {
	ID       string
	Version  swarmapi.Version // the version the update was sent with
	Changed  bool             // false when the change left the spec as it was (nothing sent)
	Warnings []string
}

// VersionConflictError says that a service changed between the read of its version and the
// update: someone else updated it. It matches cerrdefs.ErrConflict; read again and retry.
type VersionConflictError struct {
	Service string
	Sent    swarmapi.Version
	Current swarmapi.Version
	Err     error // the engine's answer
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("update service %s: version %d is out of date (the service is at version %d): read it again and retry", e.Service, e.Sent.Index, e.Current.Index)
}

// Is makes the error match cerrdefs.ErrConflict.
func (e *VersionConflictError) Is(target error) bool { return target == cerrdefs.ErrConflict }

// Unwrap returns the engine's answer.
func (e *VersionConflictError) Unwrap() error { return e.Err }

// Update reads the service (name or ID), lets change edit a copy of its spec and sends the
// result with the version read (or opts.Version). A change that leaves the spec equal sends
// nothing unless opts.Force. An error from change is returned as it is, before any write.
func Update(ctx context.Context, cli ServiceClient, service string, change func(*swarmapi.ServiceSpec) error, opts UpdateOptions) (UpdateResult, error) {
	cur, err := inspectService(ctx, cli, service)
	if err != nil {
		return UpdateResult{}, err
	}
	spec := CloneSpec(cur.Spec)
	if err := change(&spec); err != nil {
		return UpdateResult{}, err
	}
	return sendUpdate(ctx, cli, cur, spec, opts, "")
}

// Replace updates the service (name or ID) to the spec of def, as a redeploy does: the
// definition replaces the current spec entirely. The name must not change.
func Replace(ctx context.Context, cli ServiceClient, service string, def Definition, opts UpdateOptions) (UpdateResult, error) {
	spec, err := def.Spec()
	if err != nil {
		return UpdateResult{}, err
	}
	cur, err := inspectService(ctx, cli, service)
	if err != nil {
		return UpdateResult{}, err
	}
	if spec.Name != cur.Spec.Name {
		return UpdateResult{}, berth.Invalid("service/"+cur.Spec.Name+"/name", "%q differs from the service's name %q: a service cannot be renamed", spec.Name, cur.Spec.Name)
	}
	return sendUpdate(ctx, cli, cur, spec, opts, "")
}

// ErrNoPreviousSpec is matched by the error of Rollback on a service that was never updated.
// It also matches cerrdefs.ErrFailedPrecondition.
var ErrNoPreviousSpec = fmt.Errorf("service has no previous spec to roll back to: %w", cerrdefs.ErrFailedPrecondition)

// Rollback returns the service to the spec it had before its last update, as
// `docker service rollback` does.
func Rollback(ctx context.Context, cli ServiceClient, service string, opts UpdateOptions) (UpdateResult, error) {
	cur, err := inspectService(ctx, cli, service)
	if err != nil {
		return UpdateResult{}, err
	}
	if cur.PreviousSpec == nil {
		return UpdateResult{}, fmt.Errorf("rollback service %s: %w", cur.Spec.Name, ErrNoPreviousSpec)
	}
	opts.Force = true // always sent: the engine takes the previous spec itself
	wait := opts.Wait
	opts.Wait = false
	sent := time.Now().Add(-time.Second) // the engine's clock may differ a little
	res, err := sendUpdate(ctx, cli, cur, cur.Spec, opts, "previous")
	if err != nil || !wait {
		return res, err
	}
	// Watch counts a rollback as a failure; here it is what was asked: wait for it to
	// complete, then for the tasks.
	if err := waitRollback(ctx, cli, cur.ID, sent, opts.Watch); err != nil {
		return res, fmt.Errorf("rollback service %s: %w", cur.Spec.Name, err)
	}
	w := opts.Watch
	w.Since = time.Now()
	_, err = Wait(ctx, cli, []string{cur.ID}, w)
	return res, err
}

// waitRollback polls the service until its requested rollback has completed.
func waitRollback(ctx context.Context, cli client.ServiceAPIClient, id string, sent time.Time, w WatchOptions) error {
	if w.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.Timeout)
		defer cancel()
	}
	for {
		s, err := inspectService(ctx, cli, id)
		if err != nil {
			return err
		}
		if u := s.UpdateStatus; u != nil && u.StartedAt != nil && !u.StartedAt.Before(sent) {
			switch u.State {
			case swarmapi.UpdateStateRollbackCompleted:
				return nil
			case swarmapi.UpdateStateRollbackPaused:
				return &ConvergeError{Service: s.Spec.Name, Kind: FailureRolledBack, Reason: fmt.Sprintf("rollback paused: %s", u.Message)}
			}
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func inspectService(ctx context.Context, cli client.ServiceAPIClient, service string) (swarmapi.Service, error) {
	res, err := cli.ServiceInspect(ctx, service, client.ServiceInspectOptions{})
	if err != nil {
		return swarmapi.Service{}, fmt.Errorf("inspect service %s: %w", service, err)
	}
	return res.Service, nil
}

func image(spec swarmapi.ServiceSpec) string {
	if cs := spec.TaskTemplate.ContainerSpec; cs != nil {
		return cs.Image
	}
	return ""
}

// specEqual compares two specs as the engine sees them: their JSON.
func specEqual(a, b swarmapi.ServiceSpec) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func sendUpdate(ctx context.Context, cli ServiceClient, cur swarmapi.Service, spec swarmapi.ServiceSpec, opts UpdateOptions, rollback string) (UpdateResult, error) {
	version := cur.Version
	if opts.Version.Index != 0 {
		version = opts.Version
	}
	out := UpdateResult{ID: cur.ID, Version: version}
	if !opts.Force && specEqual(spec, cur.Spec) && version == cur.Version {
		return out, nil
	}
	if opts.Force && rollback == "" {
		spec.TaskTemplate.ForceUpdate++
	}
	auth, err := berth.EncodeAuth(opts.Auth)
	if err != nil {
		return out, fmt.Errorf("update service %s: encode registry auth: %w", cur.Spec.Name, err)
	}
	if err := opts.ResolveImage.Validate(); err != nil {
		return out, err
	}
	uo := client.ServiceUpdateOptions{Version: version, Spec: spec, EncodedRegistryAuth: auth,
		QueryRegistry: opts.ResolveImage.query(image(spec), image(cur.Spec)), Rollback: rollback}
	if auth == "" {
		uo.RegistryAuthFrom = swarmapi.RegistryAuthFromSpec
	}
	since := time.Now()
	res, sent, err := SendUpdate(ctx, cli, cur, uo)
	out.Version = sent
	if err != nil {
		return out, err
	}
	out.Changed, out.Warnings = true, res.Warnings
	if !opts.Wait {
		return out, nil
	}
	w := opts.Watch
	if w.Since.IsZero() {
		w.Since = since.Add(-time.Second) // the engine's clock may differ a little
	}
	if opts.Force || !specEqual(swarmapi.ServiceSpec{TaskTemplate: spec.TaskTemplate}, swarmapi.ServiceSpec{TaskTemplate: cur.Spec.TaskTemplate}) {
		// The tasks are replaced by a rolling update that swarm starts a moment later; until
		// then the old tasks still count as running.
		waitUpdateStarted(ctx, cli, cur.ID, w.Since)
	}
	_, err = Wait(ctx, cli, []string{cur.ID}, w)
	return out, err
}

// waitUpdateStarted polls the service until swarm has started the rolling update sent after
// since (or finished it), for at most 10 s: Watch then sees the update instead of the old
// tasks. When it does not see it start, Watch is left to find out.
func waitUpdateStarted(ctx context.Context, cli client.ServiceAPIClient, id string, since time.Time) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		s, err := inspectService(ctx, cli, id)
		if err != nil {
			return
		}
		if u := s.UpdateStatus; u != nil && u.StartedAt != nil && !u.StartedAt.Before(since) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SendUpdate sends one service update; it is berth's one update path (Update, Replace,
// Rollback and stack's Apply use it). read is the service as the change was computed from it,
// uo carries the new spec and the version sent (normally read.Version). When the engine
// refuses that version because swarm itself moved it (its allocator bumps the version of a
// service it has just created) while the spec is still the one read, the update is sent
// again with the new version, up to 3 times; a version moved by anyone else is a
// *VersionConflictError: a change is never sent over another writer's. It returns the
// version the update was last sent with.
func SendUpdate(ctx context.Context, cli client.ServiceAPIClient, read swarmapi.Service, uo client.ServiceUpdateOptions) (client.ServiceUpdateResult, swarmapi.Version, error) {
	for attempt := 0; ; attempt++ {
		res, err := cli.ServiceUpdate(ctx, read.ID, uo)
		if err == nil {
			return res, uo.Version, nil
		}
		// A retry is safe only when the version sent is the one the spec was read at.
		if attempt < 3 && uo.Version == read.Version {
			if v, ok := bumpedBySwarm(ctx, cli, read, uo.Version); ok {
				uo.Version, read.Version = v, v
				continue
			}
		}
		return res, uo.Version, classifyUpdate(ctx, cli, read, uo.Version, err)
	}
}

// bumpedBySwarm reports whether the service has a newer version than sent while its spec is
// still the one read: then the update lost a race with swarm itself, not with a user.
func bumpedBySwarm(ctx context.Context, cli client.ServiceAPIClient, read swarmapi.Service, sent swarmapi.Version) (swarmapi.Version, bool) {
	fresh, err := cli.ServiceInspect(ctx, read.ID, client.ServiceInspectOptions{})
	if err != nil || fresh.Service.Version.Index == sent.Index || !specEqual(fresh.Service.Spec, read.Spec) {
		return swarmapi.Version{}, false
	}
	return fresh.Service.Version, true
}

// classifyUpdate turns a failed update whose version is out of date into a
// *VersionConflictError; other errors are wrapped as they are. The engine answers a stale
// version with an internal error ("update out of sequence"), so the service is read again to
// tell: its version moved on.
func classifyUpdate(ctx context.Context, cli client.ServiceAPIClient, cur swarmapi.Service, sent swarmapi.Version, err error) error {
	maybeStale := cerrdefs.IsInternal(err) || cerrdefs.IsUnknown(err) || cerrdefs.IsConflict(err)
	if maybeStale && ctx.Err() == nil {
		if fresh, ierr := cli.ServiceInspect(ctx, cur.ID, client.ServiceInspectOptions{}); ierr == nil && fresh.Service.Version.Index != sent.Index {
			return &VersionConflictError{Service: cur.Spec.Name, Sent: sent, Current: fresh.Service.Version, Err: err}
		}
	}
	return fmt.Errorf("update service %s: %w", cur.Spec.Name, err)
}

// CloneSpec deep-copies a service spec: nothing of the result is shared with spec, so a change
// to the copy (a change function of Update, the plan's normalisation) cannot alter the
// original it is compared with. It is berth's one spec copy.
func CloneSpec(spec swarmapi.ServiceSpec) swarmapi.ServiceSpec {
	return deepCopy(reflect.ValueOf(spec)).Interface().(swarmapi.ServiceSpec)
}

// deepCopy copies pointers, slices, maps and interfaces recursively; unexported fields (of
// value types such as netip.Addr) are copied as values.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Elem().Type())
		n.Elem().Set(deepCopy(v.Elem()))
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		n.Set(v)
		for i := range v.NumField() {
			if n.Field(i).CanSet() {
				n.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(deepCopy(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			n.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return n
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type()).Elem()
		n.Set(deepCopy(v.Elem()))
		return n
	}
	return v
}

// RemoveOptions configures Remove.
type RemoveOptions struct {
	// Wait makes Remove return only once the service's tasks are gone, so that the networks
	// and volumes they used can be removed next.
	Wait bool
	// MissingOK makes a service that does not exist no error.
	MissingOK bool
}

// Remove removes a service (name or ID). A service that does not exist fails with
// cerrdefs.IsNotFound unless opts.MissingOK.
func Remove(ctx context.Context, cli ServiceClient, service string, opts RemoveOptions) error {
	cur, err := inspectService(ctx, cli, service)
	if err != nil {
		if opts.MissingOK && cerrdefs.IsNotFound(err) {
			return nil
		}
		return err
	}
	if _, err := cli.ServiceRemove(ctx, cur.ID, client.ServiceRemoveOptions{}); err != nil {
		if opts.MissingOK && cerrdefs.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("remove service %s: %w", cur.Spec.Name, err)
	}
	if !opts.Wait {
		return nil
	}
	return waitTasksGone(ctx, cli, cur)
}

func waitTasksGone(ctx context.Context, cli client.TaskAPIClient, s swarmapi.Service) error {
	for {
		// The engine refuses a service filter naming a removed service: list all tasks.
		res, err := cli.TaskList(ctx, client.TaskListOptions{})
		if err != nil {
			return fmt.Errorf("remove service %s: list its tasks: %w", s.Spec.Name, err)
		}
		left := slices.ContainsFunc(res.Items, func(t swarmapi.Task) bool { return t.ServiceID == s.ID })
		if !left {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove service %s: tasks still there: %w", s.Spec.Name, context.Cause(ctx))
		case <-time.After(250 * time.Millisecond):
		}
	}
}
