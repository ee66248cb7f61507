package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// DeployClient is what Deploy needs of an Engine API client (a *client.Client has it all).
type DeployClient interface {
	client.ServiceAPIClient
	client.NetworkAPIClient
	client.SecretAPIClient
	client.ConfigAPIClient
}

// Image resolution policies, as `docker stack deploy --resolve-image` names them.
const (
	ResolveAlways  = "always"  // ask the registry for each image's digest and pin it
	ResolveChanged = "changed" // ask only for images that changed since the last deploy
	ResolveNever   = "never"   // send image references as written
)

// DeployOptions are the options of Deploy, as `docker stack deploy` names them.
type DeployOptions struct {
	// Prune removes services of the stack that the spec no longer has.
	Prune bool
	// ResolveImage is ResolveAlways (the default when empty), ResolveChanged or ResolveNever.
	ResolveImage string
	// EncodedRegistryAuth is sent with service creates and updates (base64 JSON auth config).
	EncodedRegistryAuth string
	// Progress, when set, receives one line per action ("Creating service echo_api").
	Progress func(line string)
	// Wait makes Deploy return only once every replicated or global service runs all its
	// desired tasks (jobs are not waited for), or ctx ends. A later version watches events and
	// reports why a service does not converge.
	Wait bool
}

// DeployResult lists what Deploy did, by name; it is filled as far as Deploy got even when it
// returns an error.
type DeployResult struct {
	CreatedNetworks []string
	CreatedSecrets  []string
	UpdatedSecrets  []string
	CreatedConfigs  []string
	UpdatedConfigs  []string
	CreatedServices []string
	UpdatedServices []string
	RemovedServices []string
	Warnings        []string
	ServiceIDs      []string
}

// Deploy applies a compiled stack the way `docker stack deploy` does: it checks that external
// networks exist, creates the stack's missing networks, creates or updates its secrets and
// configs, then creates each service or updates the existing one (with the version it read).
// It does not wait for services to converge. A later version plans, diffs and watches.
func Deploy(ctx context.Context, cli DeployClient, spec *Spec, opts DeployOptions) (*DeployResult, error) {
	switch opts.ResolveImage {
	case "":
		opts.ResolveImage = ResolveAlways
	case ResolveAlways, ResolveChanged, ResolveNever:
	default:
		return nil, fmt.Errorf("resolve image %q: want always, changed or never: %w", opts.ResolveImage, cerrdefs.ErrInvalidArgument)
	}
	d := &deployer{cli: cli, spec: spec, opts: opts, res: &DeployResult{}}
	steps := []func(context.Context) error{d.checkExternals, d.prune, d.networks, d.secrets, d.configs, d.services, d.wait}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return d.res, fmt.Errorf("deploy stack %s: %w", spec.Stack, err)
		}
	}
	return d.res, nil
}

type deployer struct {
	cli  DeployClient
	spec *Spec
	opts DeployOptions
	res  *DeployResult
}

func (d *deployer) progress(format string, args ...any) {
	if d.opts.Progress != nil {
		d.opts.Progress(fmt.Sprintf(format, args...))
	}
}

func (d *deployer) stackFilter() client.Filters {
	return client.Filters{}.Add("label", LabelNamespace+"="+d.spec.Stack)
}

func (d *deployer) existingServices(ctx context.Context) (map[string]swarmapi.Service, error) {
	list, err := d.cli.ServiceList(ctx, client.ServiceListOptions{Filters: d.stackFilter()})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	out := map[string]swarmapi.Service{}
	for _, s := range list.Items {
		out[s.Spec.Name] = s
	}
	return out, nil
}

func (d *deployer) prune(ctx context.Context) error {
	if !d.opts.Prune {
		return nil
	}
	existing, err := d.existingServices(ctx)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, s := range d.spec.Services {
		want[s.Spec.Name] = true
	}
	for name, s := range existing {
		if want[name] {
			continue
		}
		d.progress("Removing service %s", name)
		if _, err := d.cli.ServiceRemove(ctx, s.ID, client.ServiceRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove service %s: %w", name, err)
		}
		d.res.RemovedServices = append(d.res.RemovedServices, name)
	}
	return nil
}

func (d *deployer) networks(ctx context.Context) error {
	list, err := d.cli.NetworkList(ctx, client.NetworkListOptions{Filters: d.stackFilter()})
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	have := map[string]bool{}
	for _, n := range list.Items {
		have[n.Name] = true
	}
	for _, n := range d.spec.Networks {
		if n.External || have[n.Name] {
			continue
		}
		o := n.Options
		if o.Driver == "" {
			o.Driver = "overlay"
		}
		d.progress("Creating network %s", n.Name)
		if _, err := d.cli.NetworkCreate(ctx, n.Name, o); err != nil {
			return fmt.Errorf("create network %s: %w", n.Name, err)
		}
		d.res.CreatedNetworks = append(d.res.CreatedNetworks, n.Name)
	}
	return nil
}

// checkExternals makes sure, before anything is written, that the external networks,
// secrets and configs the stack uses exist.
func (d *deployer) checkExternals(ctx context.Context) error {
	for _, n := range d.spec.Networks {
		if n.External {
			if err := d.checkExternal(ctx, n.Name); err != nil {
				return err
			}
		}
	}
	for _, s := range d.spec.Secrets {
		if s.External {
			if _, err := d.secretID(ctx, s.Spec.Name); err != nil {
				return fmt.Errorf("external %w", err)
			}
		}
	}
	for _, c := range d.spec.Configs {
		if c.External {
			if _, err := d.configID(ctx, c.Spec.Name); err != nil {
				return fmt.Errorf("external %w", err)
			}
		}
	}
	return nil
}

func (d *deployer) checkExternal(ctx context.Context, name string) error {
	if !userDefined(name) {
		return nil
	}
	nw, err := d.cli.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("network %q is declared as external, but could not be found; create a swarm-scoped network before deploying the stack: %w", name, err)
	case err != nil:
		return fmt.Errorf("inspect network %s: %w", name, err)
	case nw.Network.Scope != "swarm":
		return fmt.Errorf("network %q is declared as external, but its scope is %q instead of \"swarm\": %w", name, nw.Network.Scope, cerrdefs.ErrFailedPrecondition)
	}
	return nil
}

func readData(file string, data []byte) ([]byte, error) {
	if file == "" {
		return data, nil
	}
	return os.ReadFile(file)
}

func (d *deployer) secrets(ctx context.Context) error {
	for _, s := range d.spec.Secrets {
		if s.External {
			continue
		}
		spec := s.Spec
		data, err := readData(s.File, spec.Data)
		if err != nil {
			return fmt.Errorf("secret %s: %w", spec.Name, err)
		}
		spec.Data = data
		cur, err := d.cli.SecretInspect(ctx, spec.Name, client.SecretInspectOptions{})
		switch {
		case err == nil:
			d.progress("Updating secret %s", spec.Name)
			if _, err := d.cli.SecretUpdate(ctx, cur.Secret.ID, client.SecretUpdateOptions{Version: cur.Secret.Version, Spec: spec}); err != nil {
				return fmt.Errorf("update secret %s: %w", spec.Name, err)
			}
			d.res.UpdatedSecrets = append(d.res.UpdatedSecrets, spec.Name)
		case cerrdefs.IsNotFound(err):
			d.progress("Creating secret %s", spec.Name)
			if _, err := d.cli.SecretCreate(ctx, client.SecretCreateOptions{Spec: spec}); err != nil {
				return fmt.Errorf("create secret %s: %w", spec.Name, err)
			}
			d.res.CreatedSecrets = append(d.res.CreatedSecrets, spec.Name)
		default:
			return fmt.Errorf("inspect secret %s: %w", spec.Name, err)
		}
	}
	return nil
}

func (d *deployer) configs(ctx context.Context) error {
	for _, c := range d.spec.Configs {
		if c.External {
			continue
		}
		spec := c.Spec
		data, err := readData(c.File, spec.Data)
		if err != nil {
			return fmt.Errorf("config %s: %w", spec.Name, err)
		}
		spec.Data = data
		cur, err := d.cli.ConfigInspect(ctx, spec.Name, client.ConfigInspectOptions{})
		switch {
		case err == nil:
			d.progress("Updating config %s", spec.Name)
			if _, err := d.cli.ConfigUpdate(ctx, cur.Config.ID, client.ConfigUpdateOptions{Version: cur.Config.Version, Spec: spec}); err != nil {
				return fmt.Errorf("update config %s: %w", spec.Name, err)
			}
			d.res.UpdatedConfigs = append(d.res.UpdatedConfigs, spec.Name)
		case cerrdefs.IsNotFound(err):
			d.progress("Creating config %s", spec.Name)
			if _, err := d.cli.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: spec}); err != nil {
				return fmt.Errorf("create config %s: %w", spec.Name, err)
			}
			d.res.CreatedConfigs = append(d.res.CreatedConfigs, spec.Name)
		default:
			return fmt.Errorf("inspect config %s: %w", spec.Name, err)
		}
	}
	return nil
}

// secretID returns the ID of the secret called name.
func (d *deployer) secretID(ctx context.Context, name string) (string, error) {
	s, err := d.cli.SecretInspect(ctx, name, client.SecretInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	return s.Secret.ID, nil
}

// configID returns the ID of the config called name.
func (d *deployer) configID(ctx context.Context, name string) (string, error) {
	c, err := d.cli.ConfigInspect(ctx, name, client.ConfigInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("config %s: %w", name, err)
	}
	return c.Config.ID, nil
}

// resolveRefs fills in secret and config IDs, as the Docker CLI does before sending a spec.
func (d *deployer) resolveRefs(ctx context.Context, spec *swarmapi.ServiceSpec) error {
	cs := *spec.TaskTemplate.ContainerSpec
	var errs []error
	cs.Secrets = make([]*swarmapi.SecretReference, len(spec.TaskTemplate.ContainerSpec.Secrets))
	for i, r := range spec.TaskTemplate.ContainerSpec.Secrets {
		ref := *r
		if ref.SecretID == "" {
			id, err := d.secretID(ctx, ref.SecretName)
			errs = append(errs, err)
			ref.SecretID = id
		}
		cs.Secrets[i] = &ref
	}
	cs.Configs = make([]*swarmapi.ConfigReference, len(spec.TaskTemplate.ContainerSpec.Configs))
	for i, r := range spec.TaskTemplate.ContainerSpec.Configs {
		ref := *r
		if ref.ConfigID == "" {
			id, err := d.configID(ctx, ref.ConfigName)
			errs = append(errs, err)
			ref.ConfigID = id
		}
		cs.Configs[i] = &ref
	}
	if len(cs.Secrets) == 0 {
		cs.Secrets = nil
	}
	if len(cs.Configs) == 0 {
		cs.Configs = nil
	}
	spec.TaskTemplate.ContainerSpec = &cs
	return errors.Join(errs...)
}

func (d *deployer) services(ctx context.Context) error {
	existing, err := d.existingServices(ctx)
	if err != nil {
		return err
	}
	for _, s := range d.spec.Services {
		spec := s.Spec
		if err := d.resolveRefs(ctx, &spec); err != nil {
			return fmt.Errorf("service %s: %w", spec.Name, err)
		}
		if cur, ok := existing[spec.Name]; ok {
			if err := d.update(ctx, cur, spec); err != nil {
				return err
			}
			continue
		}
		d.progress("Creating service %s", spec.Name)
		r, err := d.cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec, EncodedRegistryAuth: d.opts.EncodedRegistryAuth,
			QueryRegistry: d.opts.ResolveImage != ResolveNever})
		if err != nil {
			return fmt.Errorf("create service %s: %w", spec.Name, err)
		}
		d.res.Warnings = append(d.res.Warnings, r.Warnings...)
		d.res.CreatedServices = append(d.res.CreatedServices, spec.Name)
		d.res.ServiceIDs = append(d.res.ServiceIDs, r.ID)
	}
	return nil
}

// update sends spec over the existing service cur with the version read, keeping the image
// pinned by an earlier resolution when the image did not change, and ForceUpdate as it was.
func (d *deployer) update(ctx context.Context, cur swarmapi.Service, spec swarmapi.ServiceSpec) error {
	image := spec.TaskTemplate.ContainerSpec.Image
	query := false
	switch d.opts.ResolveImage {
	case ResolveAlways:
		query = true
	case ResolveChanged:
		query = image != cur.Spec.Labels[LabelImage]
	}
	if !query && image == cur.Spec.Labels[LabelImage] && cur.Spec.TaskTemplate.ContainerSpec != nil {
		cs := *spec.TaskTemplate.ContainerSpec
		cs.Image = cur.Spec.TaskTemplate.ContainerSpec.Image
		spec.TaskTemplate.ContainerSpec = &cs
	}
	spec.TaskTemplate.ForceUpdate = cur.Spec.TaskTemplate.ForceUpdate
	d.progress("Updating service %s (id: %s)", spec.Name, cur.ID)
	version := cur.Version
	var r client.ServiceUpdateResult
	var err error
	for attempt := 0; ; attempt++ {
		r, err = d.cli.ServiceUpdate(ctx, cur.ID, client.ServiceUpdateOptions{Version: version, Spec: spec,
			EncodedRegistryAuth: d.opts.EncodedRegistryAuth, QueryRegistry: query})
		if err == nil || attempt == 3 {
			break
		}
		next, ok := d.bumpedBySwarm(ctx, cur, version)
		if !ok {
			break
		}
		version = next
	}
	if err != nil {
		return fmt.Errorf("update service %s: %w", spec.Name, err)
	}
	d.res.Warnings = append(d.res.Warnings, r.Warnings...)
	d.res.UpdatedServices = append(d.res.UpdatedServices, spec.Name)
	d.res.ServiceIDs = append(d.res.ServiceIDs, cur.ID)
	return nil
}

// wait polls the services' task counts until each replicated or global service runs all its
// desired tasks.
func (d *deployer) wait(ctx context.Context) error {
	if !d.opts.Wait || len(d.res.ServiceIDs) == 0 {
		return nil
	}
	f := client.Filters{}.Add("id", d.res.ServiceIDs...)
	for {
		list, err := d.cli.ServiceList(ctx, client.ServiceListOptions{Filters: f, Status: true})
		if err != nil {
			return fmt.Errorf("wait for services: %w", err)
		}
		pending := slices.ContainsFunc(list.Items, func(s swarmapi.Service) bool {
			job := s.Spec.Mode.ReplicatedJob != nil || s.Spec.Mode.GlobalJob != nil
			st := s.ServiceStatus
			return !job && (st == nil || st.RunningTasks < st.DesiredTasks)
		})
		if !pending {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for services to run their tasks: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// bumpedBySwarm tells whether a failed update lost a race with swarm itself: the service has a
// newer version than sent but the spec read before the update, unchanged (swarm's allocator
// bumps the version of a service it has just created). Then it returns the new version to
// retry with. Any other change is a conflict and stays an error.
func (d *deployer) bumpedBySwarm(ctx context.Context, read swarmapi.Service, sent swarmapi.Version) (swarmapi.Version, bool) {
	fresh, err := d.cli.ServiceInspect(ctx, read.ID, client.ServiceInspectOptions{})
	if err != nil || fresh.Service.Version.Index == sent.Index || !reflect.DeepEqual(fresh.Service.Spec, read.Spec) {
		return swarmapi.Version{}, false
	}
	return fresh.Service.Version, true
}
