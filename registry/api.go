package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
)

// ErrUnreachable is matched (errors.Is) when no registry answers at the API's address.
var ErrUnreachable = errors.New("registry unreachable")

// NotFoundError says a repository or a tag does not exist in the registry. It matches
// cerrdefs.ErrNotFound.
type NotFoundError struct {
	Repository string
	Tag        string // empty when the repository itself is unknown
	Code       string // the registry's error code: NAME_UNKNOWN, MANIFEST_UNKNOWN, ...
}

func (e *NotFoundError) Error() string {
	if e.Tag == "" {
		return fmt.Sprintf("registry: repository %s not found (%s)", e.Repository, e.Code)
	}
	return fmt.Sprintf("registry: tag %s:%s not found (%s)", e.Repository, e.Tag, e.Code)
}

func (e *NotFoundError) Unwrap() error { return cerrdefs.ErrNotFound }

// API is a client of one registry's HTTP API v2.
type API struct {
	BaseURL string // "http://127.0.0.1:5000"
	HTTP    *http.Client
}

// NewAPI returns a client of the registry at baseURL with a 30-second request timeout.
func NewAPI(baseURL string) *API {
	return &API{BaseURL: strings.TrimSuffix(baseURL, "/"), HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// manifestTypes are the manifest media types a digest lookup accepts, newest first.
var manifestTypes = []string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}

// Ping checks that a registry answers GET /v2/.
func (a *API) Ping(ctx context.Context) error {
	res, err := a.do(ctx, http.MethodGet, "/v2/", nil)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("registry at %s: GET /v2/: %s", a.BaseURL, res.Status)
	}
	return nil
}

// WaitReady pings until the registry answers or timeout passes.
func (a *API) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := a.Ping(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("registry at %s did not answer within %s: %w", a.BaseURL, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Catalog lists the repositories in the registry, following pagination.
func (a *API) Catalog(ctx context.Context) ([]string, error) {
	var all []string
	next := "/v2/_catalog?n=1000"
	for next != "" {
		var page struct {
			Repositories []string `json:"repositories"`
		}
		var err error
		if next, err = a.getJSON(ctx, next, &page, "", ""); err != nil {
			return nil, err
		}
		all = append(all, page.Repositories...)
	}
	return all, nil
}

// Tags lists the tags of repository. An unknown repository is a *NotFoundError.
func (a *API) Tags(ctx context.Context, repository string) ([]string, error) {
	var page struct {
		Tags []string `json:"tags"`
	}
	if _, err := a.getJSON(ctx, "/v2/"+repository+"/tags/list", &page, repository, ""); err != nil {
		return nil, err
	}
	return page.Tags, nil
}

// Digest returns the manifest digest of repository:tag ("sha256:..."), as a pull by digest
// would use it. An unknown repository or tag is a *NotFoundError.
func (a *API) Digest(ctx context.Context, repository, tag string) (string, error) {
	res, err := a.do(ctx, http.MethodHead, "/v2/"+repository+"/manifests/"+tag, map[string]string{
		"Accept": strings.Join(manifestTypes, ", "),
	})
	if err != nil {
		return "", err
	}
	res.Body.Close()
	if err := a.check(res, repository, tag); err != nil {
		return "", err
	}
	d := res.Header.Get("Docker-Content-Digest")
	if d == "" {
		return "", fmt.Errorf("registry at %s: no Docker-Content-Digest for %s:%s", a.BaseURL, repository, tag)
	}
	return d, nil
}

func (a *API) do(ctx context.Context, method, path string, headers map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.BaseURL+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := a.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("registry at %s: %w: %w", a.BaseURL, ErrUnreachable, err)
	}
	return res, nil
}

// getJSON decodes a GET's body into v and returns the path of the next page (Link header).
func (a *API) getJSON(ctx context.Context, path string, v any, repository, tag string) (string, error) {
	res, err := a.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if err := a.check(res, repository, tag); err != nil {
		return "", err
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		return "", fmt.Errorf("registry at %s: GET %s: %w", a.BaseURL, path, err)
	}
	return nextPage(path, res.Header.Get("Link")), nil
}

// check turns a registry error response into a typed error.
func (a *API) check(res *http.Response, repository, tag string) error {
	if res.StatusCode < 300 {
		return nil
	}
	var body struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&body)
	code := ""
	if len(body.Errors) > 0 {
		code = body.Errors[0].Code
	}
	if res.StatusCode == http.StatusNotFound {
		if code == "NAME_UNKNOWN" {
			tag = ""
		}
		if code == "" {
			code = "404"
		}
		return &NotFoundError{Repository: repository, Tag: tag, Code: code}
	}
	return fmt.Errorf("registry at %s: %s %s", a.BaseURL, res.Status, code)
}

// nextPage extracts the path from a Link header like `</v2/_catalog?last=x&n=2>; rel="next"`.
// A relative reference is resolved against the path requested, as RFC 8288 says.
func nextPage(requested, link string) string {
	start, end := strings.Index(link, "<"), strings.Index(link, ">")
	if start < 0 || end < start || !strings.Contains(link, `rel="next"`) {
		return ""
	}
	u, err := url.Parse(link[start+1 : end])
	base, berr := url.Parse(requested)
	if err != nil || berr != nil {
		return ""
	}
	next := base.ResolveReference(u)
	if next.Opaque != "" { // "scheme:opaque" has no path to follow
		return ""
	}
	return next.RequestURI()
}
