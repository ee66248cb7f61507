package stack

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/berthdev/berth/swarm"
	"github.com/moby/moby/api/types/network"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
)

// Client is what planning, applying and watching a stack need of an Engine API client (a
// *client.Client has it all).
type Client interface {
	client.ServiceAPIClient
	client.NetworkAPIClient
	client.SecretAPIClient
	client.ConfigAPIClient
	client.NodeAPIClient
	client.DistributionAPIClient
	client.VolumeAPIClient
	client.TaskAPIClient
}

// DeployClient is the client Deploy needs; it is Client.
type DeployClient = Client

// Labels berth sets on the secrets and configs it creates, to find them again and to tell
// whether their content changed (swarm never returns a secret's data).
const (
	LabelObject      = berth.LabelPrefix + "stack.object"       // the name the stack gives the object ("echo_key")
	LabelContentHash = berth.LabelPrefix + "stack.content-hash" // "sha256:HEX" of the data
)

// Op is what an action does.
type Op string

// Operations of a plan's actions.
const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpRemove Op = "remove"
	OpNoop   Op = "noop"
)

// Kind is the kind of object an action is about.
type Kind string

// Kinds of objects in a plan.
const (
	KindNetwork Kind = "network"
	KindSecret  Kind = "secret"
	KindConfig  Kind = "config"
	KindService Kind = "service"
)

// Change is one field that differs between the live object and the desired one.
type Change struct {
	Field string `json:"field"` // "replicas", "image", "TaskTemplate.ContainerSpec.Env[1]"
	From  string `json:"from"`
	To    string `json:"to"`
}

// Action is one step of a plan.
type Action struct {
	Op      Op               `json:"op"`
	Kind    Kind             `json:"kind"`
	Name    string           `json:"name"`
	ID      string           `json:"id,omitempty"`      // the live object's ID (update, remove, noop)
	Version swarmapi.Version `json:"version,omitzero"`  // the version read (update): a newer one is a conflict
	Reason  string           `json:"reason,omitempty"`  // why: "prune", "content changed", "replaced by …"
	Changes []Change         `json:"changes,omitempty"` // per-field summary (update)
	Diff    string           `json:"diff,omitempty"`    // go-cmp diff of the specs, -live +desired (update)

	service *swarmapi.ServiceSpec  // desired spec (service create, update)
	network *network.CreateRequest // network create
	secret  *swarmapi.SecretSpec   // secret create, update
	config  *swarmapi.ConfigSpec   // config create, update
	auth    string                 // service: encoded registry auth for its image
	prev    *swarmapi.Annotations  // secret, config update: the live annotations, to undo it
	// kept marks the removal of a secret or config that this plan replaces: Apply keeps it
	// so that a rollback (berth's or swarm's own) can return to it; Deploy removes it once
	// the services have converged without it, else the next plan removes it.
	kept bool
}

// Writes tells whether the action writes to the engine.
func (a Action) Writes() bool { return a.Op != OpNoop }

// String renders the action on one line, as Plan.String prints it:
// "~ service echo_api   replicas: 3 → 6".
func (a Action) String() string {
	sign := map[Op]string{OpCreate: "+", OpUpdate: "~", OpRemove: "-", OpNoop: "="}[a.Op]
	s := fmt.Sprintf("%s %s %s", sign, a.Kind, a.Name)
	for _, c := range a.Changes {
		s += fmt.Sprintf("   %s: %s → %s", c.Field, orNone(c.From), orNone(c.To))
	}
	if a.Reason != "" {
		s += "   (" + a.Reason + ")"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Plan is what Apply will do to bring the live stack to its Spec: every action, in the order
// Apply runs them (removals of pruned services, networks, secrets, configs, services, then
// removals of replaced and pruned objects), Noop ones included.
type Plan struct {
	Stack    string   `json:"stack"`
	Actions  []Action `json:"actions"`
	Warnings []string `json:"warnings,omitempty"`

	names  map[string]string // secret/config name → ID, of live objects
	netIDs map[string]string // network name → ID
	spec   *Spec
	images map[string]resolved // resolved images by reference

	liveServices []swarmapi.Service
}

// Changes returns the actions that write (everything but Noop).
func (p *Plan) Changes() []Action {
	var out []Action
	for _, a := range p.Actions {
		if a.Writes() {
			out = append(out, a)
		}
	}
	return out
}

// HasChanges tells whether applying the plan writes anything.
func (p *Plan) HasChanges() bool { return len(p.Changes()) > 0 }

// String prints the actions that write, one per line ("+ network echo_ch03"), or "no changes".
func (p *Plan) String() string {
	var b strings.Builder
	for _, a := range p.Changes() {
		b.WriteString(a.String() + "\n")
	}
	if b.Len() == 0 {
		return "no changes\n"
	}
	return b.String()
}

// MarshalJSON renders the plan with its actions (specs excluded).
func (p *Plan) MarshalJSON() ([]byte, error) {
	type plain Plan
	return json.Marshal((*plain)(p))
}

// ResolveMode is swarm's image resolution mode, as `docker stack deploy --resolve-image`
// names it.
type ResolveMode = swarm.ResolveMode

// Image resolution modes (swarm's).
const (
	ResolveAlways  = swarm.ResolveAlways  // ask the registry for each image's digest and pin it
	ResolveChanged = swarm.ResolveChanged // ask only for images that changed since the last deploy
	ResolveNever   = swarm.ResolveNever   // send image references as written
)

// PlanOptions are the deploy options that change what a plan does.
type PlanOptions struct {
	// Prune removes services, networks, secrets and configs of the stack that the spec lacks.
	Prune bool
	// ResolveImage is ResolveAlways (the default when empty), ResolveChanged or ResolveNever.
	ResolveImage ResolveMode
	// Auth is the credential used to query registries and sent with every service, as
	// swarm.CreateOptions.Auth is (the one credential type of berth); nil sends none.
	Auth *swarm.Auth
	// RegistryAuth, when set, returns the credential for one image (it takes precedence over
	// Auth; nil means none for that image): the credentials of each service's own registry,
	// used to resolve its image and sent with its create or update (--with-registry-auth).
	RegistryAuth func(image string) *swarm.Auth
	// SkipPreflight plans without the checks of Preflight.
	SkipPreflight bool
}

// authFor returns the encoded credential for image, as the engine's X-Registry-Auth header
// wants it ("" for none).
func (o *PlanOptions) authFor(image string) string {
	a := o.Auth
	if o.RegistryAuth != nil {
		if ia := o.RegistryAuth(image); ia != nil {
			a = ia
		}
	}
	enc, _ := berth.EncodeAuth(a) // an AuthConfig of strings always marshals
	return enc
}

func (o *PlanOptions) validate() error {
	if o.ResolveImage == "" {
		o.ResolveImage = ResolveAlways
	}
	return o.ResolveImage.Validate()
}

// live is what the engine has of a stack.
type live struct {
	services []swarmapi.Service
	networks []network.Summary // every network (external ones too)
	secrets  []swarmapi.Secret
	configs  []swarmapi.Config
	nodes    []swarmapi.Node
}

// Plan reads the live services, networks, secrets and configs of the stack (by the
// com.docker.stack.namespace label) and returns the actions that bring them to spec. It
// writes nothing. A field the engine's negotiated API version cannot carry is refused before any
// write (Spec.CheckAPI). Unless opts.SkipPreflight, it runs the preflight checks too and returns
// every problem as a *PreflightError, with the plan.
func (spec *Spec) Plan(ctx context.Context, cli Client, opts PlanOptions) (*Plan, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	l, err := readLive(ctx, cli, spec.Stack)
	if err != nil {
		return nil, fmt.Errorf("plan stack %s: %w", spec.Stack, err)
	}
	// The version is negotiated by the first request: check it once the live state is read.
	if v, ok := cli.(interface{ ClientVersion() string }); ok {
		if err := spec.CheckAPI(v.ClientVersion()); err != nil {
			return nil, err
		}
	}
	p := &Plan{Stack: spec.Stack, spec: spec, names: map[string]string{}, netIDs: map[string]string{}, liveServices: l.services}
	pr := &planner{plan: p, cli: cli, live: l, opts: opts}
	if err := pr.run(ctx); err != nil {
		return nil, fmt.Errorf("plan stack %s: %w", spec.Stack, err)
	}
	if !opts.SkipPreflight {
		if err := pr.preflight(ctx); err != nil {
			return p, err
		}
	}
	return p, nil
}

func readLive(ctx context.Context, cli Client, stack string) (*live, error) {
	f := client.Filters{}.Add("label", LabelNamespace+"="+stack)
	l := &live{}
	svcs, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	nets, err := cli.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	secs, err := cli.SecretList(ctx, client.SecretListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	cfgs, err := cli.ConfigList(ctx, client.ConfigListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list configs: %w", err)
	}
	nodes, err := cli.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	l.services, l.networks, l.secrets, l.configs, l.nodes = svcs.Items, nets.Items, secs.Items, cfgs.Items, nodes.Items
	slices.SortFunc(l.services, func(a, b swarmapi.Service) int { return strings.Compare(a.Spec.Name, b.Spec.Name) })
	return l, nil
}

type planner struct {
	plan     *Plan
	cli      Client
	live     *live
	opts     PlanOptions
	problems []string
	// rename maps the spec's secret and config names to the live or new object's name.
	secretNames, configNames map[string]string
	late                     []Action // removals after the services
	removedServices          []Action
	predefined               map[string]string // swarm's IDs of host and bridge -> name
}

func (pr *planner) add(a Action) { pr.plan.Actions = append(pr.plan.Actions, a) }

func (pr *planner) run(ctx context.Context) error {
	pr.pruneServices()
	pr.networks()
	pr.predefined = predefinedNetworkIDs(ctx, pr.cli, pr.plan.spec)
	if err := pr.secrets(); err != nil {
		return err
	}
	if err := pr.configs(); err != nil {
		return err
	}
	if err := pr.services(ctx); err != nil {
		return err
	}
	pr.pruneNetworks()
	pr.plan.Actions = append(pr.removedServices, pr.plan.Actions...)
	pr.plan.Actions = append(pr.plan.Actions, pr.late...)
	return nil
}

func inStack(labels map[string]string, stack string) bool { return labels[LabelNamespace] == stack }

func (pr *planner) pruneServices() {
	want := map[string]bool{}
	for _, s := range pr.plan.spec.Services {
		want[s.Spec.Name] = true
	}
	for _, s := range pr.live.services {
		if !want[s.Spec.Name] && pr.opts.Prune {
			pr.removedServices = append(pr.removedServices, Action{Op: OpRemove, Kind: KindService, Name: s.Spec.Name, ID: s.ID, Reason: "prune"})
		}
	}
}

func (pr *planner) networks() {
	byName := map[string]network.Summary{}
	for _, n := range pr.live.networks {
		pr.plan.netIDs[n.Name] = n.ID
		if prev, ok := byName[n.Name]; !ok || n.Scope == "swarm" && prev.Scope != "swarm" {
			byName[n.Name] = n
		}
	}
	own := map[string]network.Summary{} // the stack's networks: those the Docker CLI would not create again
	for _, n := range pr.live.networks {
		if inStack(n.Labels, pr.plan.Stack) {
			own[n.Name] = n
		}
	}
	for _, n := range pr.plan.spec.Networks {
		cur, ok := byName[n.Name]
		if !n.External {
			cur, ok = own[n.Name]
		}
		switch {
		case n.External && !ok && userDefined(n.Name):
			pr.problems = append(pr.problems, fmt.Sprintf("network %q is declared as external, but could not be found; create a swarm-scoped network before deploying the stack", n.Name))
		case n.External && ok && cur.Scope != "swarm" && userDefined(n.Name): // host, bridge, none exist on every node
			pr.problems = append(pr.problems, fmt.Sprintf("network %q is declared as external, but its scope is %q instead of \"swarm\"", n.Name, cur.Scope))
		case n.External:
		case ok:
			pr.add(Action{Op: OpNoop, Kind: KindNetwork, Name: n.Name, ID: cur.ID})
			if diff := networkDiff(cur, n.Options); diff != "" {
				pr.plan.Warnings = append(pr.plan.Warnings, fmt.Sprintf("network %s differs from the stack's (%s): networks cannot be updated; remove the stack, or the network, to recreate it", n.Name, diff))
			}
		default:
			o := n.Options
			if o.Driver == "" {
				o.Driver = "overlay"
			}
			pr.add(Action{Op: OpCreate, Kind: KindNetwork, Name: n.Name, network: &o})
		}
	}
}

func (pr *planner) pruneNetworks() {
	if !pr.opts.Prune {
		return
	}
	want := map[string]bool{}
	for _, n := range pr.plan.spec.Networks {
		want[n.Name] = true
	}
	for _, n := range pr.live.networks {
		if inStack(n.Labels, pr.plan.Stack) && !want[n.Name] {
			pr.late = append(pr.late, Action{Op: OpRemove, Kind: KindNetwork, Name: n.Name, ID: n.ID, Reason: "prune"})
		}
	}
}

// networkDiff names the settings in which a live network differs from the stack's.
func networkDiff(cur network.Summary, want network.CreateRequest) string {
	var out []string
	if d := cmp.Or(want.Driver, "overlay"); cur.Driver != "" && cur.Driver != d {
		out = append(out, fmt.Sprintf("driver %s, want %s", cur.Driver, d))
	}
	if cur.Internal != want.Internal {
		out = append(out, fmt.Sprintf("internal %v, want %v", cur.Internal, want.Internal))
	}
	if cur.Attachable != want.Attachable {
		out = append(out, fmt.Sprintf("attachable %v, want %v", cur.Attachable, want.Attachable))
	}
	return strings.Join(out, ", ")
}
