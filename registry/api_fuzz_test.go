package registry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// nextPage reads the registry's Link header: it never panics and returns a path or nothing.
func FuzzNextPage(f *testing.F) {
	for _, s := range []string{`</v2/_catalog?last=x&n=2>; rel="next"`, `<>; rel="next"`, `>< rel="next"`, `<http://[::1>; rel="next"`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, link string) {
		if p := nextPage("/v2/_catalog?n=100", link); p != "" && !strings.HasPrefix(p, "/") {
			t.Fatalf("nextPage(%q) = %q, not a path", link, p)
		}
	})
}

// Catalog and Tags decode whatever a registry answers: bodies of any shape are an error or a
// list, never a panic or a hang.
func FuzzRegistryAnswers(f *testing.F) {
	f.Add(`{"repositories":["a","b"]}`, `{"name":"a","tags":["1"]}`, "")
	f.Add(`{"repositories":null}`, `{"tags":[1,2]}`, `</v2/_catalog?last=b>; rel="next"`)
	f.Add(`[`, `{}`, `<http://x/v2/_catalog?n=1>; rel="next"`)
	f.Fuzz(func(t *testing.T, catalog, tags, link string) {
		calls := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			if calls == 1 && link != "" { // a Link header once: a loop of pages must end
				w.Header().Set("Link", link)
			}
			if strings.HasSuffix(r.URL.Path, "/tags/list") {
				w.Write([]byte(tags))
				return
			}
			w.Write([]byte(catalog))
		}))
		defer srv.Close()
		a := NewAPI(srv.URL)
		ctx := context.Background()
		a.Catalog(ctx)
		a.Tags(ctx, "a")
	})
}
