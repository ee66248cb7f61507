package container

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"unicode"
)

// EnvFile adds the variables of an env file (`--env-file`), read now, in the Docker CLI's
// format (ParseEnvFile). A file that cannot be read or parsed is a problem Compile reports.
func (c *Container) EnvFile(name string) *Container {
	data, err := os.ReadFile(name)
	if err != nil {
		c.problems.Add("env-file", "%v", err)
		return c
	}
	return c.EnvFileData(name, data, os.LookupEnv)
}

// EnvFileData adds the variables of env file content data (named name in problems), with
// lookup resolving a line that names a variable without a value.
func (c *Container) EnvFileData(name string, data []byte, lookup func(string) (string, bool)) *Container {
	vars, err := ParseEnvFile(data, lookup)
	if err != nil {
		c.problems.Add("env-file", "%s: %v", name, err)
	}
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		c.setEnv("env-file/"+k, k, &v)
	}
	return c
}

// ParseEnvFile reads an env file as the Docker CLI does: one VAR=VALUE a line, the value taken
// verbatim (no quotes are removed, no variables expanded); blank lines and lines starting with
// '#' are skipped; leading white space is ignored; a line with only a name takes the value from
// lookup and is left out when lookup does not know it. A name with white space is an error.
func ParseEnvFile(data []byte, lookup func(string) (string, bool)) ([]string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeftFunc(sc.Text(), unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, hasValue := strings.Cut(line, "=")
		switch {
		case name == "":
			return out, fmt.Errorf("line %d: no variable name before '='", n)
		case strings.ContainsFunc(name, unicode.IsSpace):
			return out, fmt.Errorf("line %d: variable name %q contains white space", n, name)
		case hasValue:
			out = append(out, name+"="+value)
		default:
			if v, ok := lookup(name); ok {
				out = append(out, name+"="+v)
			}
		}
	}
	return out, sc.Err()
}
