package main

import (
	"fmt"
	"testing"
)

func TestSwarmFlagsInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"n1", "--availability", "drain"}, "drain false [n1]"},
		{[]string{"--availability=pause", "n1", "-f", "n2"}, "pause true [n1 n2]"},
		{[]string{"n1", "--", "--availability", "x"}, " false [n1 --availability x]"},
		{[]string{}, " false []"},
	} {
		fs := newSwarmFlags("node test", "NODE")
		avail := fs.String("availability", "", "")
		force := fs.Bool("f", false, "")
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(*avail, " ", *force, " ", fs.Args()); got != tc.want {
			t.Errorf("%q: got %q; want %q", tc.args, got, tc.want)
		}
	}
}
