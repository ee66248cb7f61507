package stack

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/shellwords"
	"github.com/compose-spec/compose-go/v2/format"
	"github.com/compose-spec/compose-go/v2/types"
)

// modelFixes is what Load takes from the merged Compose model (the YAML tree) before
// compose-go binds it to its types, where `docker stack deploy` reads the file differently
// from compose-go.
type modelFixes struct {
	extraHosts map[string][][2]string // service -> (host, ip) in the order written, for list forms
	resolveEnv bool                   // compose-go left the environments to resolve
	problems   []*berth.ValidationError
	warnings   []Warning
}

// fixModel rewrites dict in place the way the Docker CLI's loader reads it:
//   - a command or entrypoint given as a string is split with the CLI's shell-word rules
//     (internal/shellwords: operators such as && stay words), not compose-go's (which stops at
//     the first operator);
//   - depends_on naming a service the file does not have is dropped with a warning (the CLI
//     ignores depends_on; compose-go refuses the file);
//   - the order of extra_hosts written as a list is kept (compose-go keeps a map).
func fixModel(stackName string, dict map[string]any) *modelFixes {
	return fixModelDeps(stackName, dict, true)
}

// fixModelDeps is fixModel; dropDeps false keeps depends_on as written (for printing).
func fixModelDeps(stackName string, dict map[string]any, dropDeps bool) *modelFixes {
	f := &modelFixes{extraHosts: map[string][][2]string{}, resolveEnv: true}
	services, _ := dict["services"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(services)) {
		svc, ok := services[name].(map[string]any)
		if !ok {
			continue
		}
		base := "stack/" + stackName + "/services/" + name
		for _, key := range []string{"command", "entrypoint"} {
			s, ok := svc[key].(string)
			if !ok {
				continue
			}
			words, err := shellwords.Split(s)
			if err != nil {
				f.problems = append(f.problems, berth.Invalid(base+"/"+key, "%q: %v", s, err))
			}
			svc[key] = toAnyList(words)
		}
		if deps, ok := svc["depends_on"].(map[string]any); ok && dropDeps {
			for _, dep := range slices.Sorted(maps.Keys(deps)) {
				if _, known := services[dep]; !known {
					delete(deps, dep)
					f.warnings = append(f.warnings, Warning{Path: base + "/depends_on", Msg: fmt.Sprintf("service %q is not in the stack; depends_on is ignored by docker stack deploy", dep)})
				}
			}
		}
		if list, ok := svc["extra_hosts"].([]any); ok {
			for _, e := range list {
				f.extraHosts[name] = append(f.extraHosts[name], hostEntry(fmt.Sprint(e)))
			}
		}
	}
	return f
}

func toAnyList(words []string) []any {
	out := make([]any, len(words))
	for i, w := range words {
		out[i] = w
	}
	return out
}

// hostEntry splits an extra_hosts list entry as the Docker CLI does: at the first '=', else at
// the first ':'; an IPv6 address may be written in brackets.
func hostEntry(e string) [2]string {
	host, ip, ok := strings.Cut(e, "=")
	if !ok {
		host, ip, _ = strings.Cut(e, ":")
	}
	if len(ip) > 2 && ip[0] == '[' && ip[len(ip)-1] == ']' {
		ip = ip[1 : len(ip)-1]
	}
	return [2]string{host, ip}
}

// serviceEnvironment computes a service's environment as `docker stack deploy` does: the
// env_file files in order, read with the CLI's parser (values are taken as written, quotes
// included; compose-go and `docker compose` strip them), then environment over them; a
// variable without a value, or with an empty one, takes the value of lookup when it has one.
func serviceEnvironment(c types.ServiceConfig, lookup func(string) (string, bool)) (map[string]*string, error) {
	files := make([]envFileRef, len(c.EnvFiles))
	for i, ef := range c.EnvFiles {
		files[i] = envFileRef{path: ef.Path, required: bool(ef.Required)}
	}
	return resolveEnvironment(files, c.Environment, lookup)
}

type envFileRef struct {
	path     string
	required bool
}

// resolveEnvironment is the Docker CLI's resolution: the env files in order, then environment
// over them; a variable without a value, or with an empty one, takes lookup's value when it
// has one. A missing file that is not required (compose-go's required: false) is skipped.
func resolveEnvironment(files []envFileRef, environment map[string]*string, lookup func(string) (string, bool)) (map[string]*string, error) {
	env := map[string]*string{}
	update := func(vars map[string]*string) {
		for k, v := range vars {
			if found, ok := lookup(k); (v == nil || *v == "") && ok {
				env[k] = &found
			} else {
				env[k] = v
			}
		}
	}
	for _, ef := range files {
		data, err := os.ReadFile(ef.path)
		if errors.Is(err, fs.ErrNotExist) && !ef.required {
			continue
		}
		if err != nil {
			return nil, err
		}
		vars, err := parseEnvFile(data, lookup)
		if err != nil {
			return nil, fmt.Errorf("env_file %s: %w", ef.path, err)
		}
		update(vars)
	}
	update(environment)
	return env, nil
}

// parseEnvFile reads an env file with the Docker CLI's rules (its pkg/kvfile): leading
// whitespace and blank or '#' lines are skipped, KEY=VALUE keeps VALUE exactly as written, and
// a bare KEY takes lookup's value or is left out.
func parseEnvFile(data []byte, lookup func(string) (string, bool)) (map[string]*string, error) {
	out := map[string]*string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		b := sc.Bytes()
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("line %d is not valid UTF-8", n)
		}
		if n == 1 {
			b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
		}
		line := strings.TrimLeftFunc(string(b), unicode.IsSpace)
		if line == "" || line[0] == '#' {
			continue
		}
		key, value, hasValue := strings.Cut(line, "=")
		switch {
		case key == "":
			return nil, fmt.Errorf("line %d: no variable name", n)
		case strings.ContainsAny(key, " \t"):
			return nil, fmt.Errorf("line %d: variable %q contains whitespace", n, key)
		case hasValue:
			out[key] = &value
		default:
			if v, ok := lookup(key); ok {
				out[key] = &v
			}
		}
	}
	return out, sc.Err()
}

// duplicateTargets reports, per file, a service that mounts two volumes, secrets or configs
// at one target. compose-go keeps only the last of them (its unicity rule), so the stack
// would deploy without the others; the Docker CLI sends them all and swarm refuses the
// service ("duplicate mount point", "conflicting target"). Targets are read before
// interpolation.
func duplicateTargets(stackName string, files parsedFiles) []*berth.ValidationError {
	var out []*berth.ValidationError
	for i, docs := range files.docs {
		for _, d := range docs {
			var doc struct {
				Services map[string]map[string]any `yaml:"services"`
			}
			if d.Decode(&doc) != nil {
				continue // the loader reports it
			}
			for _, name := range slices.Sorted(maps.Keys(doc.Services)) {
				for _, kind := range []string{"volumes", "secrets", "configs"} {
					list, _ := doc.Services[name][kind].([]any)
					seen := map[string]bool{}
					for j, e := range list {
						t := entryTarget(kind, e)
						if t != "" && seen[t] {
							out = append(out, berth.Invalid(fmt.Sprintf("stack/%s/services/%s/%s[%d]/target", stackName, name, kind, j), "target %q is used twice in %s: swarm refuses the service", t, files.names[i]))
						}
						seen[t] = true
					}
				}
			}
		}
	}
	return out
}

// entryTarget is where a volumes, secrets or configs entry is mounted, normalised as swarm
// compares them.
func entryTarget(kind string, e any) string {
	switch v := e.(type) {
	case string:
		if kind != "volumes" {
			return v
		}
		vc, err := format.ParseVolume(v)
		if err != nil {
			return ""
		}
		return path.Clean(vc.Target)
	case map[string]any:
		if t, ok := v["target"].(string); ok && t != "" {
			if kind == "volumes" {
				return path.Clean(t)
			}
			return strings.TrimPrefix(t, "/run/secrets/")
		}
		if kind != "volumes" {
			s, _ := v["source"].(string)
			return s
		}
	}
	return ""
}
