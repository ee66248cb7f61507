package ingress_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/ingress"
)

// FuzzParseRule: any rule either parses to a valid route shape or is a plain error, never a
// panic.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"Host(`a.com`)", "PathPrefix(`/x`)", "Host(`a`, \"b\") && PathPrefix(`/p/`)", "Host(", "Host(`", "&&", "Host(`a`) &&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ingress.ParseRule(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(r.PathPrefix, "/") {
			t.Errorf("ParseRule(%q) prefix %q", s, r.PathPrefix)
		}
	})
}

// FuzzParseVirtualHost: VIRTUAL_HOST values parse or fail cleanly.
func FuzzParseVirtualHost(f *testing.F) {
	for _, s := range []string{"a.com", "http://a.com:80/app*", "*,a.com", "*.a.com/x, b.com/x", "https://a", "a.com:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hosts, prefix, err := ingress.ParseVirtualHost(s)
		if err == nil && !strings.HasPrefix(prefix, "/") {
			t.Errorf("ParseVirtualHost(%q) = %v %q", s, hosts, prefix)
		}
	})
}

// FuzzParseService: any label value and environment gives routes and validation errors only.
func FuzzParseService(f *testing.F) {
	f.Add("berth.ingress.port", "80", "berth.ingress.http.routers.a.rule", "Host(`a`)", "SERVICE_PORTS=80")
	f.Add("berth.ingress.host", "a..b", "berth.ingress.health.interval", "x", "VIRTUAL_HOST=*")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, env string) {
		routes, err := ingress.ParseService("svc", map[string]string{k1: v1, k2: v2}, []string{env})
		if err != nil && !errors.Is(err, berth.ErrInvalid) {
			t.Errorf("error %v does not match ErrInvalid", err)
		}
		for _, r := range routes {
			if r.Port == 0 || !strings.HasPrefix(r.PathPrefix, "/") {
				t.Errorf("route %+v from %q=%q %q=%q %q", r, k1, v1, k2, v2, env)
			}
		}
	})
}
