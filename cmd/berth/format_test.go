package main

import (
	"bytes"
	"errors"
	"github.com/spf13/cobra"
	"strings"
	"testing"
)

func TestPrintRows(t *testing.T) {
	rows := []nodeRow{{ID: "abc", Self: true, Hostname: "vm", Status: "Ready", ManagerStatus: "Leader"}, {ID: "def", Hostname: "w1"}}
	id := func(r nodeRow) string { return r.ID }
	for _, tc := range []struct {
		o    listOptions
		want string
	}{
		{listOptions{quiet: true, format: "{{.Hostname}}"}, "abc\ndef\n"},
		{listOptions{format: "{{.Hostname}} {{.Self}}"}, "vm true\nw1 false\n"},
		{listOptions{format: `table {{.Hostname}}\t{{.ManagerStatus}}`}, "HOSTNAME   MANAGER STATUS\nvm         Leader\nw1         \n"},
		{listOptions{format: "json"}, `{"Availability":"","EngineVersion":"","Hostname":"vm","ID":"abc","ManagerStatus":"Leader","Self":true,"Status":"Ready","TLSStatus":""}` + "\n" +
			`{"Availability":"","EngineVersion":"","Hostname":"w1","ID":"def","ManagerStatus":"","Self":false,"Status":"","TLSStatus":""}` + "\n"},
		{listOptions{format: "{{upper .Hostname}} {{json .ID}} {{truncate .Status 3}}"}, "VM \"abc\" Rea\nW1 \"def\" \n"},
	} {
		var b bytes.Buffer
		if err := printRows(&b, tc.o, nodeTable, rows, id); err != nil || b.String() != tc.want {
			t.Errorf("%+v: %v\n%q\nwant\n%q", tc.o, err, b.String(), tc.want)
		}
	}
	var ue *usageError
	if err := printRows(&bytes.Buffer{}, listOptions{format: "{{.Hostname"}, nodeTable, rows, id); !errors.As(err, &ue) || ue.code != 125 {
		t.Errorf("bad template: %v", err)
	}
	for name, want := range map[string]string{"DesiredState": "DESIRED STATE", "TLSStatus": "TLS STATUS", "ID": "ID", "CreatedSince": "CREATED SINCE"} {
		if got := headerOf(name); got != want {
			t.Errorf("headerOf(%s) = %q; want %q", name, got, want)
		}
	}
}

func TestFilterArgs(t *testing.T) {
	f, err := listOptions{filters: stringList{"label=a=b", "Name=web", "label=c"}}.filterArgs("label", "name")
	if err != nil || !f["label"]["a=b"] || !f["label"]["c"] || !f["name"]["web"] {
		t.Errorf("filters %v %v", f, err)
	}
	if _, err := (listOptions{filters: stringList{"colour=red"}}).filterArgs("label"); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown key: %v", err)
	}
}

// On a terminal the progress lines are redrawn in place; otherwise each change is a line.
func TestProgressView(t *testing.T) {
	var b bytes.Buffer
	p, _ := newProgress(&b, "tty")
	p.Set("a", "web 0/2")
	p.Set("b", "db 0/1")
	p.Set("a", "web 2/2")
	if want := "\x1b[2Kweb 0/2\n\x1b[1A\x1b[2Kweb 0/2\n\x1b[2Kdb 0/1\n\x1b[2A\x1b[2Kweb 2/2\n\x1b[2Kdb 0/1\n"; b.String() != want {
		t.Errorf("tty:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	p, _ = newProgress(&b, "auto") // a buffer is no terminal
	p.Set("a", "web 0/2")
	p.Set("a", "web 2/2")
	if b.String() != "web 0/2\nweb 2/2\n" {
		t.Errorf("plain: %q", b.String())
	}
	if _, err := newProgress(&b, "fancy"); err == nil {
		t.Error("--progress fancy: no error")
	}
}

// Flags go anywhere among the arguments, take --flag=value, and lists repeat or split at
// commas where docker's do.
func TestFlagSyntax(t *testing.T) {
	root := newRoot()
	var got []string
	deploy, _, _ := root.Find([]string{"stack", "deploy"})
	deploy.RunE = nil
	deploy.Run = func(cmd *cobra.Command, args []string) {
		files, _ := cmd.Flags().GetStringSlice("compose-file")
		got = append(append(got, files...), args...)
	}
	root.SetArgs([]string{"stack", "deploy", "demo", "-c", "a.yml,b.yml", "--compose-file=c.yml", "--prune", "-dq"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "a.yml b.yml c.yml demo" {
		t.Errorf("parsed %q", got)
	}
	if !deploy.Flags().Changed("detach") || !deploy.Flags().Changed("quiet") {
		t.Error("-dq did not set --detach and --quiet")
	}
}
