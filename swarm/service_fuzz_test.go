package swarm_test

import (
	"testing"

	"github.com/berthdev/berth/swarm"
)

func FuzzParseConstraint(f *testing.F) {
	for _, s := range []string{"node.role==manager", "node.role != worker", "node.labels.zone==east", "engine.labels.x!=y z", "node.role!=", "a~b", "==", "node.id==abc==def"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := swarm.ParseConstraint(s)
		if err != nil {
			return
		}
		again, err := swarm.ParseConstraint(c.String())
		if err != nil || again != c {
			t.Fatalf("%q parsed to %+v, which renders as %q and parses to %+v, %v", s, c, c.String(), again, err)
		}
	})
}

func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"80", "8080:80", "1-2:3-4/udp", "127.0.0.1:80:80/sctp", "::1:80:80", "65535:65535", "0:1", "a-b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ports, err := swarm.ParsePorts(s)
		if err != nil {
			return
		}
		if len(ports) == 0 {
			t.Fatalf("%q: no error and no ports", s)
		}
		for _, p := range ports {
			if p.TargetPort < 1 || p.TargetPort > 65535 || p.PublishedPort > 65535 {
				t.Fatalf("%q: port out of range: %+v", s, p)
			}
		}
	})
}
