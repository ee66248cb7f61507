package main

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"text/template"
	"unicode"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// listOptions are the flags of every ls/ps verb: --format, -q, -f/--filter, --no-trunc.
type listOptions struct {
	format  string
	quiet   bool
	filters stringList
	noTrunc bool
}

// addListFlags adds the list flags; filterHelp names the filter keys ("" for no --filter).
func addListFlags(cmd *cobra.Command, o *listOptions, what, filterHelp string, noTrunc bool) {
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only display "+what)
	if filterHelp != "" {
		f.VarP(&o.filters, "filter", "f", "Filter output based on conditions provided ("+filterHelp+")")
	}
	if noTrunc {
		f.BoolVar(&o.noTrunc, "no-trunc", false, "Do not truncate output")
	}
}

// filterArgs parses -f KEY=VALUE flags into engine filters, accepting only keys.
func (o listOptions) filterArgs(keys ...string) (client.Filters, error) {
	f := client.Filters{}
	for _, s := range o.filters {
		k, v, ok := strings.Cut(s, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok {
			return nil, &usageError{code: 125, msg: fmt.Sprintf("berth: bad format of filter (expected name=value): %s", s)}
		}
		known := false
		for _, want := range keys {
			known = known || k == want
		}
		if !known {
			return nil, fmt.Errorf("invalid filter '%s' (accepted: %s)", k, strings.Join(keys, ", "))
		}
		f.Add(k, v)
	}
	return f, nil
}

// trunc cuts an ID to 12 characters unless --no-trunc.
func (o listOptions) trunc(id string) string {
	if o.noTrunc {
		return id
	}
	return shortID(id)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// printRows prints rows as the Docker CLI's formatter does: the default table, "table
// TEMPLATE", "json" (one object per line, keys sorted) or a bare template; -q prints ids only.
// Rows are structs of strings; a field's header is its name in capitals, words split
// ("DesiredState" → "DESIRED STATE"), unless a `header:"…"` tag says otherwise.
func printRows[T any](w io.Writer, o listOptions, defaultTable string, rows []T, id func(T) string) error {
	if o.quiet {
		for _, r := range rows {
			fmt.Fprintln(w, id(r))
		}
		return nil
	}
	format := o.format
	switch {
	case format == "" || format == "table":
		format = "table " + defaultTable
	case format == "json":
		for _, r := range rows {
			b, err := json.Marshal(rowMap(r))
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s\n", b)
		}
		return nil
	}
	body, table := strings.CutPrefix(format, "table ")
	body = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(body)
	tmpl, err := template.New("format").Funcs(templateFuncs).Parse(body)
	if err != nil {
		return &usageError{code: 125, msg: fmt.Sprintf("berth: template parsing error: %v", err)}
	}
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0) // the Docker CLI's table
		out = tw
		var zero T
		if err := tmpl.Execute(out, headers(zero)); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	for _, r := range rows {
		if err := tmpl.Execute(out, r); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		fmt.Fprintln(out)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// rowMap is a row as the Docker CLI marshals it for --format json.
func rowMap(r any) map[string]any {
	v := reflect.ValueOf(r)
	m := map[string]any{}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.IsExported() && f.Tag.Get("json") != "-" {
			m[f.Name] = v.Field(i).Interface()
		}
	}
	return m
}

func headers(r any) map[string]string {
	t := reflect.TypeOf(r)
	h := map[string]string{}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, ok := f.Tag.Lookup("header"); ok {
			h[f.Name] = tag
		} else {
			h[f.Name] = headerOf(f.Name)
		}
	}
	return h
}

// headerOf splits a field name into upper-case words: "TLSStatus" → "TLS STATUS".
func headerOf(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// templateFuncs are the Docker CLI's template functions.
var templateFuncs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"join":  strings.Join,
	"split": strings.Split,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
	"println": fmt.Sprintln,
}

// printJSON prints values indented, as `docker … inspect` does (a JSON array), or each through
// a template when format is not empty.
func printInspect(w io.Writer, format string, values []any) error {
	if format == "" || format == "json" {
		b, err := json.MarshalIndent(values, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	tmpl, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return &usageError{code: 125, msg: fmt.Sprintf("berth: template parsing error: %v", err)}
	}
	for _, v := range values {
		// through JSON, so templates see the API's field names as docker's do
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var generic any
		json.Unmarshal(b, &generic)
		if err := tmpl.Execute(w, generic); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		fmt.Fprintln(w)
	}
	return nil
}
