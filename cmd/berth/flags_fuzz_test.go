package main

import (
	"strings"
	"testing"
)

// The long --publish form from the command line: never a panic; an accepted port is in range.
func FuzzParsePortCSV(f *testing.F) {
	for _, s := range []string{"published=8080,target=80,protocol=tcp,mode=host", "target=70000", "x=1", "", ",", "published= 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pc, err := parsePortCSV(s)
		if err == nil && (pc.TargetPort > 65535 || pc.PublishedPort > 65535) {
			t.Fatalf("parsePortCSV(%q) = %+v", s, pc)
		}
	})
}

// --mount from the command line: never a panic; what is accepted keeps source and target as given.
func FuzzParseMountCSV(f *testing.F) {
	for _, s := range []string{"type=bind,source=/a,target=/b,readonly", "type=tmpfs,target=/t,tmpfs-size=1024", "ro=maybe", "", "src=a,dst=b,ro"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMountCSV(s)
		if err == nil && m.Target != "" && !strings.Contains(s, m.Target) {
			t.Fatalf("parseMountCSV(%q) = %+v: target not from the input", s, m)
		}
	})
}
