package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"time"

	"github.com/berthdev/berth"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// Redacted replaces inline secret data in everything berth prints (stack config, plans,
// JSON of a Spec): swarm never returns a secret's data, and berth does not show it either.
const Redacted = "<redacted>"

// MergedCompose returns the Compose files merged and interpolated, as `docker stack config` prints
// them: what Load reads, in the Compose format, before it becomes a stack. Commands given as
// strings are split with the Docker CLI's rules, environments are resolved as the CLI does
// (env_file values as written, quotes included; the process environment for variables
// without a value), and inline secret data is shown as Redacted. Interpolation also reads
// the .env file next to the first file, which the Docker CLI does not. The errors are Load's.
func MergedCompose(ctx context.Context, files ...string) ([]byte, error) {
	if len(files) == 0 {
		return nil, berth.Invalid("stack", "no Compose file given")
	}
	opts, err := projectOptions("stack", files)
	if err != nil {
		return nil, err
	}
	wd, err := opts.GetWorkingDir()
	if err != nil {
		return nil, err
	}
	md, err := readModel(ctx, opts, false)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("stack config %v: %w", files, err)
	case err != nil:
		return nil, fmt.Errorf("stack config %v: %w: %w", files, berth.ErrInvalid, err)
	}
	dict := md.dict
	fixes := fixModelDeps("stack", dict, false)
	if err := errors.Join(asErrors(fixes.problems)...); err != nil {
		return nil, err
	}
	lookup := func(k string) (string, bool) { v, ok := opts.Environment[k]; return v, ok }
	services, _ := dict["services"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(services)) {
		svc, _ := services[name].(map[string]any)
		if err := cliEnvironment(svc, lookup); err != nil {
			return nil, berth.Invalid("stack/services/"+name+"/env_file", "%v", err)
		}
		cliForms(svc, wd)
	}
	for _, kind := range []string{"networks", "volumes", "secrets", "configs"} {
		top, _ := dict[kind].(map[string]any)
		for k, v := range top {
			m, _ := v.(map[string]any)
			if m == nil {
				m = map[string]any{}
				top[k] = m
			}
			if ext, _ := m["external"].(bool); ext && m["name"] == nil {
				m["name"] = k // the CLI names an external object by its key
			}
		}
	}
	stringMaps(dict)
	redactSecrets(dict)
	delete(dict, "name")
	return renderModel(dict, fileVersion(md.files))
}

func asErrors(problems []*berth.ValidationError) []error {
	out := make([]error, len(problems))
	for i, p := range problems {
		out[i] = p
	}
	return out
}

// cliEnvironment replaces a service's environment with the one `docker stack deploy`
// computes (serviceEnvironment), keeping env_file as a list of paths, as the CLI prints it.
func cliEnvironment(svc map[string]any, lookup func(string) (string, bool)) error {
	env := map[string]*string{}
	switch e := svc["environment"].(type) {
	case map[string]any:
		for k, v := range e {
			if v == nil {
				env[k] = nil
			} else {
				s := fmt.Sprint(v)
				env[k] = &s
			}
		}
	case []any:
		for _, item := range e {
			k, v, ok := strings.Cut(fmt.Sprint(item), "=")
			if ok {
				env[k] = &v
			} else {
				env[k] = nil
			}
		}
	}
	var paths []any
	var files []envFileRef
	list, _ := svc["env_file"].([]any)
	for _, f := range list {
		switch f := f.(type) {
		case string:
			files = append(files, envFileRef{path: f, required: true})
			paths = append(paths, f)
		case map[string]any:
			p := fmt.Sprint(f["path"])
			req, ok := f["required"].(bool)
			files = append(files, envFileRef{path: p, required: req || !ok})
			paths = append(paths, p)
		}
	}
	resolved, err := resolveEnvironment(files, env, lookup)
	if err != nil {
		return err
	}
	if len(resolved) > 0 {
		out := map[string]any{}
		for k, v := range resolved {
			if v == nil {
				out[k] = nil
			} else {
				out[k] = *v
			}
		}
		svc["environment"] = out
	}
	if len(paths) > 0 {
		svc["env_file"] = paths
	}
	return nil
}

// cliForms writes what compose-go's model spells differently from the Docker CLI's as the CLI
// prints it: depends_on as a list of names, published ports as numbers, labels as maps,
// without compose-go's defaults (condition service_started, create_host_path, empty
// volume options).
func cliForms(svc map[string]any, wd string) {
	if deps, ok := svc["depends_on"].(map[string]any); ok {
		names := slices.Sorted(maps.Keys(deps))
		list := make([]any, len(names))
		for i, n := range names {
			list[i] = n
		}
		svc["depends_on"] = list
	}
	svc["ports"] = cliPorts(svc["ports"])
	if svc["ports"] == nil {
		delete(svc, "ports")
	}
	vols, _ := svc["volumes"].([]any)
	for _, v := range vols {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if o, ok := m["volume"].(map[string]any); ok && len(o) == 0 {
			delete(m, "volume")
		}
		if o, ok := m["bind"].(map[string]any); ok {
			delete(o, "create_host_path")
			if len(o) == 0 {
				delete(m, "bind")
			}
		}
	}
	secrets, _ := svc["secrets"].([]any)
	for _, x := range secrets {
		if m, ok := x.(map[string]any); ok && m["target"] == "/run/secrets/"+fmt.Sprint(m["source"]) {
			delete(m, "target") // compose-go's default
		}
	}
	if hosts, ok := svc["extra_hosts"].([]any); ok {
		for i, h := range hosts {
			e := hostEntry(fmt.Sprint(h))
			hosts[i] = e[0] + ":" + e[1]
		}
	}
	if files, ok := svc["env_file"].([]any); ok {
		for i, f := range files {
			if rel, err := filepath.Rel(wd, fmt.Sprint(f)); err == nil && !strings.HasPrefix(rel, "..") {
				files[i] = rel
			}
		}
	}
	if h, ok := svc["healthcheck"].(map[string]any); ok {
		if t, ok := h["test"].(string); ok {
			h["test"] = []any{"CMD-SHELL", t}
		}
	}
	labelMap(svc, "labels")
	durations(svc, "stop_grace_period")
	durations(mapAt(svc, "healthcheck"), "interval", "timeout", "start_period", "start_interval")
	if d, ok := svc["deploy"].(map[string]any); ok {
		labelMap(d, "labels")
		durations(mapAt(d, "restart_policy"), "delay", "window")
		durations(mapAt(d, "update_config"), "delay", "monitor")
		durations(mapAt(d, "rollback_config"), "delay", "monitor")
		if r := mapAt(d, "resources"); r != nil {
			memory(mapAt(r, "limits"))
			memory(mapAt(r, "reservations"))
		}
		for k, v := range d {
			if m, ok := v.(map[string]any); ok && len(m) == 0 {
				delete(d, k)
			}
		}
	}
}

func mapAt(m map[string]any, key string) map[string]any {
	if m == nil {
		return nil
	}
	out, _ := m[key].(map[string]any)
	return out
}

// durations prints durations as Go does ("2m0s"), as the CLI prints them.
func durations(m map[string]any, keys ...string) {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if d, err := time.ParseDuration(fmt.Sprint(v)); err == nil {
				m[k] = d.String()
			}
		}
	}
}

// memory prints a memory size in bytes, as the CLI prints it.
func memory(m map[string]any) {
	if v, ok := m["memory"]; ok {
		var b types.UnitBytes
		if err := b.DecodeMapstructure(v); err == nil {
			m["memory"] = strconv.FormatInt(int64(b), 10)
		}
	}
}

// cliPorts expands published ranges to one entry per port, as the CLI does, and drops
// host_ip, which the CLI ignores.
func cliPorts(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	var out []any
	for _, p := range list {
		m, ok := p.(map[string]any)
		if !ok {
			out = append(out, p)
			continue
		}
		delete(m, "host_ip")
		first, last, isRange := strings.Cut(fmt.Sprint(m["published"]), "-")
		lo, err1 := strconv.Atoi(first)
		hi, err2 := strconv.Atoi(last)
		if !isRange {
			hi, err2 = lo, err1
		}
		if m["published"] == nil || err1 != nil || err2 != nil {
			out = append(out, m)
			continue
		}
		for n := lo; n <= hi; n++ {
			c := maps.Clone(m)
			c["published"] = n
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// fileVersion is the version the first file declares, which the CLI prints, else the
// newest Compose file format version it knows.
func fileVersion(files parsedFiles) string {
	var doc struct {
		Version string `yaml:"version"`
	}
	if len(files.docs) > 0 && len(files.docs[0]) > 0 && files.docs[0][0].Decode(&doc) == nil && doc.Version != "" && doc.Version != "3" {
		return doc.Version // "3" is the newest 3.x
	}
	return "3.13"
}

// stringMaps prints the values of string maps (labels, driver options, sysctls) as strings,
// as the CLI prints them, wherever they are in the model.
func stringMaps(node any) {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if m, ok := v.(map[string]any); ok && slices.Contains([]string{"labels", "driver_opts", "options", "sysctls"}, k) {
				for mk, mv := range m {
					if mv != nil {
						m[mk] = fmt.Sprint(mv)
					}
				}
			}
			stringMaps(v)
		}
	case []any:
		for _, v := range n {
			stringMaps(v)
		}
	}
}

// labelMap turns a list of KEY=VALUE labels into a map.
func labelMap(m map[string]any, key string) {
	list, ok := m[key].([]any)
	if !ok {
		return
	}
	out := map[string]any{}
	for _, e := range list {
		k, v, _ := strings.Cut(fmt.Sprint(e), "=")
		out[k] = v
	}
	m[key] = out
}

// redactSecrets replaces the inline data of secrets (x-berth-data, as Compose renders a
// stack's secret data) with Redacted.
func redactSecrets(dict map[string]any) {
	secrets, _ := dict["secrets"].(map[string]any)
	for _, s := range secrets {
		if m, ok := s.(map[string]any); ok {
			if _, ok := m[secretDataExtension]; ok {
				m[secretDataExtension] = Redacted
			}
		}
	}
}

// renderModel prints the model as `docker stack config` does: version "3.13" first, then the
// top-level sections in the CLI's order, keys sorted within. Each section is encoded on its own
// (as a mapping of one key), straight from the model: a yaml.Node of the whole would encode
// the model, parse it back and encode it again.
func renderModel(dict map[string]any, version string) ([]byte, error) {
	var b bytes.Buffer
	section := func(v any) error {
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return err
		}
		return enc.Close()
	}
	versionNode := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "version"},
		{Kind: yaml.ScalarNode, Value: version, Style: yaml.DoubleQuotedStyle},
	}}
	if err := section(versionNode); err != nil {
		return nil, err
	}
	order := []string{"services", "networks", "volumes", "secrets", "configs"}
	rest := slices.DeleteFunc(slices.Sorted(maps.Keys(dict)), func(k string) bool { return slices.Contains(order, k) })
	for _, k := range append(order, rest...) {
		if v, ok := dict[k]; ok {
			if err := section(map[string]any{k: v}); err != nil {
				return nil, err
			}
		}
	}
	return b.Bytes(), nil
}
