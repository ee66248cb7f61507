package visualize

import (
	"bytes"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

var page = template.Must(template.New("").Funcs(template.FuncMap{
	// The colour is made of digits by Color alone, so it is safe as a CSS value.
	"color": func(service string) template.CSS { return template.CSS(Color(service)) },
	"mem":   memory,
	// The labels the Docker CLI puts on a stack's services say what the chip says already.
	"stackLabel": func(key string) bool { return strings.HasPrefix(key, "com.docker.stack.") },
}).ParseFS(assets, "assets/page.html"))

// HandlerOptions configures Handler.
type HandlerOptions struct {
	// Token, when set, is required as "Authorization: Bearer TOKEN", or as the password of
	// HTTP basic auth (any user name), which browsers can send.
	Token string
	// BasicAuth, when set, is "user:password" required as HTTP basic auth.
	BasicAuth string
}

// Handler serves the page of m at /, the snapshot as JSON at /api/snapshot, the live stream
// of changes (Server-Sent Events) at /api/events, and the page's script and style under
// /static/. It answers GET and HEAD only: it is read-only and never talks to the engine, it
// shows what m read.
func Handler(m *Model, opts HandlerOptions) http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { servePage(w, r, m) })
	mux.HandleFunc("GET /api/snapshot", func(w http.ResponseWriter, r *http.Request) { serveSnapshot(w, m) })
	mux.HandleFunc("GET /api/events", func(w http.ResponseWriter, r *http.Request) { serveEvents(w, r, m) })
	return guard(mux, opts)
}

// guard refuses anything but GET and HEAD, checks the credentials, and sets headers that
// keep the page from running any script but its own.
func guard(next http.Handler, opts HandlerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "read-only: only GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		if !authorized(r, opts) {
			h.Set("WWW-Authenticate", `Basic realm="berth visualize", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func authorized(r *http.Request, opts HandlerOptions) bool {
	if opts.Token == "" && opts.BasicAuth == "" {
		return true
	}
	user, pass, hasBasic := r.BasicAuth()
	if opts.Token != "" {
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && equal(bearer, opts.Token) {
			return true
		}
		if hasBasic && equal(pass, opts.Token) {
			return true
		}
	}
	return opts.BasicAuth != "" && hasBasic && equal(user+":"+pass, opts.BasicAuth)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// Filter is what the page's URL selects: ?stack=&service=&label=key=value. The page hides
// what does not match; the snapshot and stream carry everything.
type Filter struct {
	Stack, Service, Label string
}

func filterOf(r *http.Request) Filter {
	q := r.URL.Query()
	return Filter{Stack: q.Get("stack"), Service: q.Get("service"), Label: q.Get("label")}
}

// view is what the page template renders.
type view struct {
	Snap    Snapshot
	Filter  Filter
	Stacks  []string
	Error   string
	Columns []column
	Pending []card // tasks on no node yet
}

type column struct {
	Node
	Cards []card
}

type card struct {
	T     Task
	Stack string
	Sort  string // the order of cards in a column: service, slot, old before new
}

func viewOf(s Snapshot, f Filter, err error) view {
	v := view{Snap: s, Filter: f}
	if err != nil {
		v.Error = err.Error()
	}
	svcs := services(s)
	for _, sv := range s.Services {
		if sv.Stack != "" && !slices.Contains(v.Stacks, sv.Stack) {
			v.Stacks = append(v.Stacks, sv.Stack)
		}
	}
	slices.Sort(v.Stacks)
	on := map[string][]card{}
	for _, t := range s.Tasks {
		on[t.NodeID] = append(on[t.NodeID], cardOf(t, svcs[t.ServiceID]))
	}
	for _, n := range s.Nodes {
		v.Columns = append(v.Columns, column{Node: n, Cards: on[n.ID]})
	}
	v.Pending = on[""]
	return v
}

func services(s Snapshot) map[string]Service {
	m := make(map[string]Service, len(s.Services))
	for _, sv := range s.Services {
		m[sv.ID] = sv
	}
	return m
}

func cardOf(t Task, svc Service) card {
	old := "1"
	if t.Old {
		old = "0"
	}
	return card{T: t, Stack: svc.Stack,
		Sort: fmt.Sprintf("%s/%06d/%s/%s/%s", t.Service, t.Slot, t.NodeID, old, t.Since.Format(time.RFC3339Nano))}
}

func servePage(w http.ResponseWriter, r *http.Request, m *Model) {
	var b bytes.Buffer
	if err := page.ExecuteTemplate(&b, "page", viewOf(m.Snapshot(), filterOf(r), m.Err())); err != nil {
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

func serveSnapshot(w http.ResponseWriter, m *Model) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(m.Snapshot())
}

// streamEvent is the data of a "change" event: the change, and each changed node, service
// and task rendered by the page's own templates, keyed by element ID, for the page to put in
// place. Every string in them went through html/template's escaping.
type streamEvent struct {
	Change
	HTML map[string]string `json:"html"`
}

// heartbeat keeps proxies and browsers from closing an idle stream.
const heartbeat = 15 * time.Second

// serveEvents streams the model's changes. A page sends the Seq it was rendered at as
// ?since=; when the model has moved on, the stream starts with a "reset" event carrying the
// whole board, so no change is lost between the page and the stream.
func serveEvents(w http.ResponseWriter, r *http.Request, m *Model) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	snap, changes, cancel := m.Subscribe()
	defer cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	since, err := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
	if err != nil || since != snap.Seq {
		var b bytes.Buffer
		if err := page.ExecuteTemplate(&b, "board", viewOf(snap, filterOf(r), m.Err())); err != nil {
			return
		}
		send(w, "reset", map[string]any{"seq": snap.Seq, "html": b.String()})
	} else {
		send(w, "hello", map[string]any{"seq": snap.Seq})
	}
	flusher.Flush()
	svcs := services(snap)
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-beat.C:
			fmt.Fprint(w, ": beat\n\n")
		case c, ok := <-changes:
			if !ok {
				return // the model stopped, or this stream lagged: the page reconnects
			}
			for _, s := range c.Services {
				svcs[s.ID] = s
			}
			send(w, "change", streamEvent{Change: c, HTML: fragments(c, svcs)})
		}
		flusher.Flush()
	}
}

// fragments renders each node, service and task of c, keyed by its element's ID.
func fragments(c Change, svcs map[string]Service) map[string]string {
	out := map[string]string{}
	var b bytes.Buffer
	render := func(id, name string, data any) {
		b.Reset()
		if page.ExecuteTemplate(&b, name, data) == nil {
			out[id] = b.String()
		}
	}
	for _, n := range c.Nodes {
		render("n-"+n.ID, "node", column{Node: n})
	}
	for _, s := range c.Services {
		render("s-"+s.ID, "service", s)
	}
	for _, t := range c.Tasks {
		render("t-"+t.ID, "task", cardOf(t, svcs[t.ServiceID]))
	}
	return out
}

func send(w http.ResponseWriter, event string, data any) {
	b, _ := json.Marshal(data)
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
}

func memory(n int64) string {
	const gib = 1 << 30
	if n >= gib {
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}
