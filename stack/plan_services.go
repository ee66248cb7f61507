package stack

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/berthdev/berth/swarm"
	"github.com/distribution/reference"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// resolved is an image reference resolved against its registry.
type resolved struct {
	image     string // ref@digest
	platforms []swarmapi.Platform
	err       error
}

func (pr *planner) services(ctx context.Context) error {
	existing := map[string]swarmapi.Service{}
	for _, s := range pr.live.services {
		existing[s.Spec.Name] = s
	}
	pr.resolveImages(ctx, existing)
	for _, s := range pr.plan.spec.Services {
		desired := pr.desiredSpec(s.Spec)
		cur, ok := existing[s.Spec.Name]
		if !ok {
			pr.setImage(&desired, nil)
			pr.add(Action{Op: OpCreate, Kind: KindService, Name: desired.Name, service: &desired, auth: pr.opts.authFor(s.Spec.TaskTemplate.ContainerSpec.Image)})
			continue
		}
		pr.setImage(&desired, &cur)
		desired.TaskTemplate.ForceUpdate = cur.Spec.TaskTemplate.ForceUpdate
		liveSpec := pr.comparableLive(cur.Spec)
		want := comparableDesired(desired)
		if cmp.Equal(liveSpec, want, specCompare...) {
			pr.add(Action{Op: OpNoop, Kind: KindService, Name: desired.Name, ID: cur.ID})
			continue
		}
		pr.add(Action{Op: OpUpdate, Kind: KindService, Name: desired.Name, ID: cur.ID, Version: cur.Version,
			Changes: changes(liveSpec, want), Diff: cmp.Diff(liveSpec, want, specCompare...), service: &desired,
			auth: pr.opts.authFor(s.Spec.TaskTemplate.ContainerSpec.Image)})
	}
	return nil
}

// desiredSpec is the compiled spec with secret and config references pointing at the objects
// the plan chose (IDs are filled by Apply).
func (pr *planner) desiredSpec(spec swarmapi.ServiceSpec) swarmapi.ServiceSpec {
	cs := *spec.TaskTemplate.ContainerSpec
	cs.Secrets = make([]*swarmapi.SecretReference, 0, len(cs.Secrets))
	for _, r := range spec.TaskTemplate.ContainerSpec.Secrets {
		ref := *r
		if n, ok := pr.secretNames[ref.SecretName]; ok {
			ref.SecretName = n
		}
		cs.Secrets = append(cs.Secrets, &ref)
	}
	cs.Configs = make([]*swarmapi.ConfigReference, 0, len(cs.Configs))
	for _, r := range spec.TaskTemplate.ContainerSpec.Configs {
		ref := *r
		if n, ok := pr.configNames[ref.ConfigName]; ok {
			ref.ConfigName = n
		}
		cs.Configs = append(cs.Configs, &ref)
	}
	if len(cs.Secrets) == 0 {
		cs.Secrets = nil
	}
	if len(cs.Configs) == 0 {
		cs.Configs = nil
	}
	spec.TaskTemplate.ContainerSpec = &cs
	if p := spec.TaskTemplate.Placement; p != nil {
		cp := *p
		spec.TaskTemplate.Placement = &cp
	}
	return spec
}

// queryFor tells whether the image of a service is resolved against its registry, with the
// Docker CLI's semantics of --resolve-image.
func (pr *planner) queryFor(image string, cur *swarmapi.Service) bool {
	switch pr.opts.ResolveImage {
	case ResolveNever:
		return false
	case ResolveChanged:
		return cur == nil || image != cur.Spec.Labels[LabelImage]
	}
	return true
}

// resolveImages asks the registries, in parallel, for the digests of the images to resolve.
func (pr *planner) resolveImages(ctx context.Context, existing map[string]swarmapi.Service) {
	pr.plan.images = map[string]resolved{}
	var refs []string
	for _, s := range pr.plan.spec.Services {
		img := s.Spec.TaskTemplate.ContainerSpec.Image
		cur, ok := existing[s.Spec.Name]
		var cp *swarmapi.Service
		if ok {
			cp = &cur
		}
		if pr.queryFor(img, cp) && !slices.Contains(refs, img) {
			refs = append(refs, img)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, ref := range refs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r := resolveImage(ctx, pr.cli, ref, pr.opts.authFor(ref))
			mu.Lock()
			pr.plan.images[ref] = r
			mu.Unlock()
		})
	}
	wg.Wait()
}

func resolveImage(ctx context.Context, cli client.DistributionAPIClient, ref, auth string) resolved {
	res, err := cli.DistributionInspect(ctx, ref, client.DistributionInspectOptions{EncodedRegistryAuth: auth})
	if err != nil {
		return resolved{err: err}
	}
	r := resolved{image: ref}
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		if _, ok := named.(reference.Digested); !ok {
			if d, err := reference.WithDigest(named, res.Descriptor.Digest); err == nil {
				r.image = reference.FamiliarString(d)
			}
		}
	}
	seen := map[swarmapi.Platform]bool{}
	for _, p := range res.Platforms {
		if p.OS == "unknown" || p.Architecture == "unknown" {
			continue
		}
		arch := p.Architecture
		if strings.EqualFold(arch, "arm") {
			arch = ""
		}
		pl := swarmapi.Platform{OS: p.OS, Architecture: arch}
		if !seen[pl] {
			seen[pl] = true
			r.platforms = append(r.platforms, pl)
		}
	}
	return r
}

// withTag adds ":latest" to a reference without tag or digest, as the Engine API client does.
func withTag(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return image
	}
	if _, ok := named.(reference.Digested); ok {
		return image
	}
	return reference.FamiliarString(reference.TagNameOnly(named))
}

// setImage decides the image a service is sent with: resolved to a digest when the registry
// answered, the pinned image of the live service when the image did not change and is not
// resolved again (with the platforms swarm recorded for it), else the reference as written.
func (pr *planner) setImage(spec *swarmapi.ServiceSpec, cur *swarmapi.Service) {
	cs := spec.TaskTemplate.ContainerSpec
	written := cs.Image
	if r, ok := pr.plan.images[written]; ok && r.err == nil {
		cs.Image = r.image
		setPlatforms(spec, r.platforms)
		return
	}
	if cur != nil && written == cur.Spec.Labels[LabelImage] && cur.Spec.TaskTemplate.ContainerSpec != nil {
		cs.Image = cur.Spec.TaskTemplate.ContainerSpec.Image
		if p := cur.Spec.TaskTemplate.Placement; p != nil {
			setPlatforms(spec, p.Platforms)
		}
		return
	}
	cs.Image = withTag(written)
}

func setPlatforms(spec *swarmapi.ServiceSpec, platforms []swarmapi.Platform) {
	if len(platforms) == 0 {
		return
	}
	if spec.TaskTemplate.Placement == nil {
		spec.TaskTemplate.Placement = &swarmapi.Placement{}
	}
	spec.TaskTemplate.Placement.Platforms = platforms
}

// comparableLive turns a live spec into the form of a desired one: network IDs become names,
// secret and config IDs are dropped, and fields the engine fills by default are cleared.
func (pr *planner) comparableLive(spec swarmapi.ServiceSpec) swarmapi.ServiceSpec {
	names := maps.Clone(pr.predefined)
	if names == nil {
		names = map[string]string{}
	}
	for name, id := range pr.plan.netIDs {
		names[id] = name
	}
	spec = swarm.CloneSpec(spec)
	nets := slices.Clone(spec.TaskTemplate.Networks)
	for i, n := range nets {
		if name, ok := names[n.Target]; ok {
			nets[i].Target = name
		}
	}
	slices.SortFunc(nets, func(a, b swarmapi.NetworkAttachmentConfig) int { return strings.Compare(a.Target, b.Target) })
	spec.TaskTemplate.Networks = nets
	return comparableDesired(spec)
}

// comparableDesired drops what a desired spec does not know yet (object IDs) and what the
// engine sets by itself.
func comparableDesired(spec swarmapi.ServiceSpec) swarmapi.ServiceSpec {
	spec = swarm.CloneSpec(spec)
	cs := spec.TaskTemplate.ContainerSpec
	if cs != nil {
		for _, r := range cs.Secrets {
			r.SecretID = ""
		}
		for _, r := range cs.Configs {
			r.ConfigID = ""
		}
		slices.SortStableFunc(cs.Secrets, swarm.CompareSecretRefs)
		slices.SortStableFunc(cs.Configs, swarm.CompareConfigRefs)
		if cs.Isolation == "default" {
			cs.Isolation = ""
		}
	}
	engineDefaults(&spec)
	return spec
}

// engineDefaults sets the values the engine stores for fields left empty, on a copy.
func engineDefaults(spec *swarmapi.ServiceSpec) {
	t := &spec.TaskTemplate
	if t.Runtime == "" && t.ContainerSpec != nil {
		t.Runtime = swarmapi.RuntimeContainer
	}
	if t.RestartPolicy != nil && t.RestartPolicy.MaxAttempts == nil {
		zero := uint64(0)
		t.RestartPolicy.MaxAttempts = &zero
	}
	if t.RestartPolicy != nil && t.RestartPolicy.Condition == "" { // a restart_policy without condition
		t.RestartPolicy.Condition = swarmapi.RestartPolicyConditionAny
	}
	if r := spec.Mode.Replicated; r != nil && r.Replicas == nil {
		one := uint64(1)
		r.Replicas = &one
	}
	if spec.Mode == (swarmapi.ServiceMode{}) {
		one := uint64(1)
		spec.Mode.Replicated = &swarmapi.ReplicatedService{Replicas: &one}
	}
	if spec.EndpointSpec == nil {
		spec.EndpointSpec = &swarmapi.EndpointSpec{}
	}
	if spec.EndpointSpec.Mode == "" {
		spec.EndpointSpec.Mode = swarmapi.ResolutionModeVIP
	}
	for _, u := range []*swarmapi.UpdateConfig{spec.UpdateConfig, spec.RollbackConfig} {
		if u != nil && u.Order == "" {
			u.Order = swarmapi.UpdateOrderStopFirst
		}
		if u != nil && u.FailureAction == "" {
			u.FailureAction = swarmapi.UpdateFailureActionPause
		}
	}
}

// specCompare treats nil and empty slices and maps alike, and zero-valued pointers to empty
// structs as absent, as the engine does when it stores a spec.
var specCompare = []cmp.Option{
	cmpopts.EquateEmpty(),
	cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
	cmp.Transformer("emptyStructPtr", func(p *swarmapi.Placement) *swarmapi.Placement {
		if p != nil && reflect.ValueOf(*p).IsZero() {
			return nil
		}
		return p
	}),
	cmp.Transformer("emptyResources", func(r *swarmapi.ResourceRequirements) *swarmapi.ResourceRequirements {
		if r != nil && reflect.ValueOf(*r).IsZero() {
			return nil
		}
		return r
	}),
	cmp.Transformer("emptyEndpoint", func(e *swarmapi.EndpointSpec) *swarmapi.EndpointSpec {
		if e != nil && reflect.ValueOf(*e).IsZero() {
			return nil
		}
		return e
	}),
	cmp.Transformer("emptyPrivileges", func(p *swarmapi.Privileges) *swarmapi.Privileges {
		if p != nil && reflect.ValueOf(*p).IsZero() {
			return nil
		}
		return p
	}),
}

// changes lists the fields that differ, with friendly names for the common ones.
func changes(from, to swarmapi.ServiceSpec) []Change {
	var r reporter
	cmp.Equal(from, to, append(slices.Clone(specCompare), cmp.Reporter(&r))...)
	return r.changes
}

type reporter struct {
	path    cmp.Path
	changes []Change
}

func (r *reporter) PushStep(ps cmp.PathStep) { r.path = append(r.path, ps) }
func (r *reporter) PopStep()                 { r.path = r.path[:len(r.path)-1] }

func (r *reporter) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	vx, vy := r.path.Last().Values()
	field := fieldName(r.path)
	if field == "labels["+LabelImage+"]" {
		return // the image change says it
	}
	r.changes = append(r.changes, Change{Field: field, From: show(vx), To: show(vy)})
}

var friendlyFields = map[string]string{
	"Mode.Replicated.Replicas":           "replicas",
	"TaskTemplate.ContainerSpec.Image":   "image",
	"TaskTemplate.ContainerSpec.Env":     "env",
	"TaskTemplate.ContainerSpec.Args":    "command",
	"TaskTemplate.ContainerSpec.Command": "entrypoint",
	"TaskTemplate.ContainerSpec.Labels":  "container_labels",
	"TaskTemplate.ContainerSpec.Secrets": "secrets",
	"TaskTemplate.ContainerSpec.Configs": "configs",
	"TaskTemplate.ContainerSpec.Mounts":  "volumes",
	"TaskTemplate.Networks":              "networks",
	"TaskTemplate.Placement.Constraints": "constraints",
	"TaskTemplate.Resources":             "resources",
	"EndpointSpec.Ports":                 "ports",
	"Annotations.Labels":                 "labels",
	"UpdateConfig":                       "update_config",
	"RollbackConfig":                     "rollback_config",
}

func fieldName(p cmp.Path) string {
	var b strings.Builder
	for _, s := range p {
		switch s := s.(type) {
		case cmp.StructField:
			if b.Len() > 0 {
				b.WriteString(".")
			}
			b.WriteString(s.Name())
		case cmp.SliceIndex:
			fmt.Fprintf(&b, "[%d]", s.Key())
		case cmp.MapIndex:
			fmt.Fprintf(&b, "[%v]", s.Key())
		}
	}
	name := b.String()
	for long, short := range friendlyFields {
		if rest, ok := strings.CutPrefix(name, long); ok && (rest == "" || rest[0] == '[' || rest[0] == '.') {
			return short + rest
		}
	}
	return name
}

func show(v reflect.Value) string {
	if !v.IsValid() {
		return ""
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct || v.Kind() == reflect.Slice || v.Kind() == reflect.Map {
		if v.IsZero() {
			return ""
		}
		return fmt.Sprintf("%+v", v.Interface())
	}
	return fmt.Sprint(v.Interface())
}
