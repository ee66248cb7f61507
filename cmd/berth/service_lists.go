package main

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	swarmtypes "github.com/moby/moby/api/types/swarm"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
)

// applyLists applies the list flags: on create the values of NAME, on update NAME-add after
// NAME-rm, as the Docker CLI orders them.
func (f *serviceSpecFlags) applyLists(spec *swarmtypes.ServiceSpec, p *berth.Problems, verb string) {
	c := spec.TaskTemplate.ContainerSpec
	path := func(name string, i int) string {
		if f.update {
			return fmt.Sprintf("%s/%s-add[%d]", verb, name, i)
		}
		return fmt.Sprintf("%s/%s[%d]", verb, name, i)
	}
	l := f.lists

	if f.update {
		c.Env = applyEnv(c.Env, l["env"].add, l["env"].rm)
	} else {
		c.Env = append(c.Env, createEnv(l["env"].add)...)
	}
	spec.Labels = applyMap(spec.Labels, l["label"].add, l["label"].rm)
	c.Labels = applyMap(c.Labels, l["container-label"].add, l["container-label"].rm)
	if s := applyMap(c.Sysctls, l["sysctl"].add, l["sysctl"].rm); len(s) > 0 || c.Sysctls != nil {
		c.Sysctls = s
	}
	if pair := l["constraint"]; len(pair.add)+len(pair.rm) > 0 {
		for i, expr := range pair.add {
			_, err := swarm.ParseConstraint(expr)
			p.AddErr(path("constraint", i), err)
		}
		pl := placement(spec)
		pl.Constraints = applyStrings(pl.Constraints, pair.add, pair.rm)
	}
	if pair := l["placement-pref"]; len(pair.add)+len(pair.rm) > 0 {
		pl := placement(spec)
		var out []swarmtypes.PlacementPreference
		for _, pref := range pl.Preferences {
			if pref.Spread == nil || !slices.Contains(pair.rm, "spread="+pref.Spread.SpreadDescriptor) {
				out = append(out, pref)
			}
		}
		for i, s := range pair.add {
			desc, ok := strings.CutPrefix(s, "spread=")
			if !ok || desc == "" {
				p.Add(path("placement-pref", i), "%q: want spread=DESCRIPTOR, e.g. spread=node.labels.zone", s)
				continue
			}
			out = append(out, swarmtypes.PlacementPreference{Spread: &swarmtypes.SpreadOver{SpreadDescriptor: desc}})
		}
		pl.Preferences = out
	}
	f.applyPorts(spec, p, path)
	f.applyNetworks(spec, path)
	if pair := l["mount"]; len(pair.add)+len(pair.rm) > 0 {
		var out []mount.Mount
		for _, m := range c.Mounts {
			if !slices.Contains(pair.rm, m.Target) {
				out = append(out, m)
			}
		}
		for i, s := range pair.add {
			m, err := parseMountCSV(s)
			p.AddErr(path("mount", i), err)
			out = slices.DeleteFunc(out, func(o mount.Mount) bool { return o.Target == m.Target })
			out = append(out, m)
		}
		if f.update { // as docker's update orders them
			slices.SortStableFunc(out, func(a, b mount.Mount) int {
				return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Target, b.Target))
			})
		}
		c.Mounts = out
	}
	f.applySecretsConfigs(c, p, path)
	if pair := l["dns"]; len(pair.add)+len(pair.rm) > 0 {
		var cur []string
		for _, a := range dns(c).Nameservers {
			cur = append(cur, a.String())
		}
		dns(c).Nameservers = nil
		for i, s := range applyStrings(cur, pair.add, pair.rm) {
			a, err := netip.ParseAddr(s)
			if err != nil {
				p.Add(path("dns", i), "%q is not an IP address", s)
				continue
			}
			dns(c).Nameservers = append(dns(c).Nameservers, a)
		}
	}
	if pair := l["dns-option"]; len(pair.add)+len(pair.rm) > 0 {
		dns(c).Options = applyStrings(dns(c).Options, pair.add, pair.rm)
	}
	if pair := l["dns-search"]; len(pair.add)+len(pair.rm) > 0 {
		dns(c).Search = applyStrings(dns(c).Search, pair.add, pair.rm)
	}
	if pair := l["host"]; len(pair.add)+len(pair.rm) > 0 {
		// the Engine stores "IP HOST" entries; the flag takes HOST:IP as docker's does
		var hosts []string
		for _, h := range c.Hosts {
			fields := strings.Fields(h)
			if len(fields) < 2 || !slices.Contains(pair.rm, fields[1]) && !slices.Contains(pair.rm, fields[1]+":"+fields[0]) {
				hosts = append(hosts, h)
			}
		}
		for i, s := range pair.add {
			host, ip, ok := strings.Cut(s, ":")
			if !ok || host == "" || ip == "" {
				p.Add(path("host", i), "%q: want HOST:IP", s)
				continue
			}
			hosts = append(hosts, ip+" "+host)
		}
		c.Hosts = hosts
	}
	if pair := l["group"]; len(pair.add)+len(pair.rm) > 0 {
		c.Groups = applyStrings(c.Groups, pair.add, pair.rm)
	}
	if pair := l["cap"]; len(pair.add)+len(pair.rm) > 0 {
		add, drop := normalizeCaps(pair.add), normalizeCaps(pair.rm)
		c.CapabilityAdd = applyStrings(c.CapabilityAdd, add, drop)
		c.CapabilityDrop = applyStrings(c.CapabilityDrop, drop, add)
	}
	if pair := l["ulimit"]; len(pair.add)+len(pair.rm) > 0 {
		var out []*container.Ulimit
		for _, u := range c.Ulimits {
			if !slices.Contains(pair.rm, u.Name) {
				out = append(out, u)
			}
		}
		for i, s := range pair.add {
			u, err := parseUlimit(s)
			if err != nil {
				p.AddErr(path("ulimit", i), err)
				continue
			}
			out = slices.DeleteFunc(out, func(o *container.Ulimit) bool { return o.Name == u.Name })
			out = append(out, u)
		}
		c.Ulimits = out
	}
}

// normalizeCaps writes capabilities as the Engine stores them: upper case with the CAP_
// prefix ("net_admin" → "CAP_NET_ADMIN"); ALL stays ALL.
func normalizeCaps(caps []string) []string {
	var out []string
	for _, c := range caps {
		c = strings.ToUpper(c)
		if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out = append(out, c)
	}
	return out
}

func dns(c *swarmtypes.ContainerSpec) *swarmtypes.DNSConfig {
	if c.DNSConfig == nil {
		c.DNSConfig = &swarmtypes.DNSConfig{}
	}
	return c.DNSConfig
}

// createEnv is the environment of `service create`: the entries in the order given (env files
// first), KEY alone taking this shell's value, as the Docker CLI sends them.
func createEnv(add []string) []string {
	var out []string
	for _, e := range add {
		if k, _, ok := strings.Cut(e, "="); !ok {
			v, found := os.LookupEnv(k)
			if !found {
				continue
			}
			e = k + "=" + v
		}
		out = append(out, e)
	}
	return out
}

// applyEnv sets KEY=VALUE entries (KEY alone: this shell's value, left out when unset) after
// removing the keys in rm; sorted, as the builder compiles them.
func applyEnv(cur, add, rm []string) []string {
	if len(add)+len(rm) == 0 {
		return cur
	}
	env := map[string]string{}
	for _, e := range cur {
		k, _, _ := strings.Cut(e, "=")
		env[k] = e
	}
	for _, k := range rm {
		delete(env, k)
	}
	for _, e := range add {
		k, _, ok := strings.Cut(e, "=")
		if !ok {
			v, found := os.LookupEnv(k)
			if !found {
				continue // as the Docker CLI: a variable this shell does not have is left out
			}
			e = k + "=" + v
		}
		env[k] = e
	}
	return slices.Sorted(maps.Values(env))
}

func applyMap(cur map[string]string, add, rm []string) map[string]string {
	if len(add)+len(rm) == 0 {
		return cur
	}
	if cur == nil {
		cur = map[string]string{}
	}
	for _, k := range rm {
		delete(cur, k)
	}
	for _, kv := range add {
		k, v, _ := strings.Cut(kv, "=")
		cur[k] = v
	}
	return cur
}

func applyStrings(cur, add, rm []string) []string {
	out := slices.DeleteFunc(slices.Clone(cur), func(s string) bool { return slices.Contains(rm, s) })
	for _, s := range add {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (f *serviceSpecFlags) applyPorts(spec *swarmtypes.ServiceSpec, p *berth.Problems, path func(string, int) string) {
	pair := f.lists["publish"]
	if len(pair.add)+len(pair.rm) == 0 {
		return
	}
	if spec.EndpointSpec == nil {
		spec.EndpointSpec = &swarmtypes.EndpointSpec{}
	}
	// a port to remove is matched as docker matches it: the same target, protocol and mode,
	// and the same published port unless the removal names none
	var rm []swarmtypes.PortConfig
	for i, r := range pair.rm {
		ports, err := parsePublish(r)
		p.AddErr(fmt.Sprintf("%s/publish-rm[%d]", strings.Split(path("publish", i), "/")[0], i), err)
		rm = append(rm, ports...)
	}
	out := slices.DeleteFunc(slices.Clone(spec.EndpointSpec.Ports), func(pc swarmtypes.PortConfig) bool {
		return slices.ContainsFunc(rm, func(r swarmtypes.PortConfig) bool {
			return r.TargetPort == pc.TargetPort && r.Protocol == pc.Protocol && r.PublishMode == pc.PublishMode &&
				(r.PublishedPort == 0 || r.PublishedPort == pc.PublishedPort)
		})
	})
	for i, pub := range pair.add {
		ports, err := parsePublish(pub)
		p.AddErr(path("publish", i), err)
		out = append(out, ports...)
	}
	spec.EndpointSpec.Ports = out
}

// parsePublish parses --publish in the short (8080:80/udp) or long (published=8080,target=80)
// syntax.
func parsePublish(s string) ([]swarmtypes.PortConfig, error) {
	if !strings.Contains(s, "=") {
		return swarm.ParsePorts(s)
	}
	pc, err := parsePortCSV(s)
	return []swarmtypes.PortConfig{pc}, err
}

func (f *serviceSpecFlags) applyNetworks(spec *swarmtypes.ServiceSpec, path func(string, int) string) {
	pair := f.lists["network"]
	if len(pair.add)+len(pair.rm) == 0 {
		return
	}
	nets := slices.DeleteFunc(slices.Clone(spec.TaskTemplate.Networks), func(n swarmtypes.NetworkAttachmentConfig) bool {
		return slices.Contains(pair.rm, n.Target)
	})
	for _, s := range pair.add {
		n := swarmtypes.NetworkAttachmentConfig{Target: s}
		if strings.Contains(s, "=") { // name=NET,alias=A,driver-opt=K=V
			n = swarmtypes.NetworkAttachmentConfig{}
			for _, field := range strings.Split(s, ",") {
				k, v, _ := strings.Cut(field, "=")
				switch k {
				case "name":
					n.Target = v
				case "alias":
					n.Aliases = append(n.Aliases, v)
				case "driver-opt":
					ok, ov, _ := strings.Cut(v, "=")
					if n.DriverOpts == nil {
						n.DriverOpts = map[string]string{}
					}
					n.DriverOpts[ok] = ov
				}
			}
		}
		nets = append(nets, n)
	}
	spec.TaskTemplate.Networks = nets
}

// applySecretsConfigs adds references by name (SOURCE or source=S,target=T,uid=U,gid=G,mode=M);
// their IDs are looked up before the spec is sent (swarm.ResolveReferences).
func (f *serviceSpecFlags) applySecretsConfigs(c *swarmtypes.ContainerSpec, p *berth.Problems, path func(string, int) string) {
	if pair := f.lists["secret"]; len(pair.add)+len(pair.rm) > 0 {
		c.Secrets = slices.DeleteFunc(slices.Clone(c.Secrets), func(r *swarmtypes.SecretReference) bool { return slices.Contains(pair.rm, r.SecretName) })
		for i, s := range pair.add {
			ref, err := parseFileRef(s)
			p.AddErr(path("secret", i), err)
			c.Secrets = append(c.Secrets, &swarmtypes.SecretReference{SecretName: ref.source, File: &swarmtypes.SecretReferenceFileTarget{Name: ref.target, UID: ref.uid, GID: ref.gid, Mode: ref.mode}})
		}
	}
	if pair := f.lists["config"]; len(pair.add)+len(pair.rm) > 0 {
		c.Configs = slices.DeleteFunc(slices.Clone(c.Configs), func(r *swarmtypes.ConfigReference) bool { return slices.Contains(pair.rm, r.ConfigName) })
		for i, s := range pair.add {
			ref, err := parseFileRef(s)
			p.AddErr(path("config", i), err)
			if ref.target == "" || ref.target == ref.source {
				ref.target = "/" + ref.source // configs default to the root directory, as docker's
			}
			c.Configs = append(c.Configs, &swarmtypes.ConfigReference{ConfigName: ref.source, File: &swarmtypes.ConfigReferenceFileTarget{Name: ref.target, UID: ref.uid, GID: ref.gid, Mode: ref.mode}})
		}
	}
}

type fileRef struct {
	source, target, uid, gid string
	mode                     os.FileMode
}

func parseFileRef(s string) (fileRef, error) {
	r := fileRef{uid: "0", gid: "0", mode: 0o444}
	if !strings.Contains(s, "=") {
		r.source, r.target = s, s
		return r, nil
	}
	for _, field := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(field, "=")
		switch strings.ToLower(k) {
		case "source", "src":
			r.source = v
		case "target":
			r.target = v
		case "uid":
			r.uid = v
		case "gid":
			r.gid = v
		case "mode":
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil {
				return r, fmt.Errorf("mode=%q is not an octal file mode", v)
			}
			r.mode = os.FileMode(m)
		default:
			return r, fmt.Errorf("%q is not a field: use source, target, uid, gid or mode", k)
		}
	}
	if r.source == "" {
		return r, fmt.Errorf("%q: source is required", s)
	}
	if r.target == "" {
		r.target = r.source
	}
	return r, nil
}

// parseUlimit parses NAME=SOFT[:HARD], e.g. nofile=1024:2048.
func parseUlimit(s string) (*container.Ulimit, error) {
	name, limits, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return nil, fmt.Errorf("%q: want NAME=SOFT[:HARD]", s)
	}
	softS, hardS, hasHard := strings.Cut(limits, ":")
	soft, err := strconv.ParseInt(softS, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%q: soft limit %q is not a number", s, softS)
	}
	hard := soft
	if hasHard {
		if hard, err = strconv.ParseInt(hardS, 10, 64); err != nil {
			return nil, fmt.Errorf("%q: hard limit %q is not a number", s, hardS)
		}
	}
	if soft > hard {
		return nil, fmt.Errorf("%q: soft limit is above the hard limit", s)
	}
	return &container.Ulimit{Name: name, Soft: soft, Hard: hard}, nil
}
