package visualize_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/swarm"
)

// chromium is Debian's package's binary; make browser (hack/browser.sh) installs it.
const chromium = "/usr/bin/chromium"

// browser starts a headless Chromium with a fresh profile that resolves no host name, so it
// can load loopback pages only, and returns a tab's context.
func browser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		testenv.Missing(t, chromium, fmt.Sprintf("%v (make browser installs Debian's chromium)", err))
	}
	actx, cancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1500, 1000),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)
	t.Cleanup(cancel)
	tctx, tcancel := chromedp.NewContext(actx)
	t.Cleanup(tcancel)
	return tctx
}

// watchBrowser records the JavaScript dialogs the page opens (closing each) and every URL it
// requests.
type watchBrowser struct {
	mu      sync.Mutex
	dialogs []string
	urls    []string
}

func (w *watchBrowser) start(ctx context.Context) {
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			w.mu.Lock()
			w.dialogs = append(w.dialogs, ev.Message)
			w.mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			w.mu.Lock()
			w.urls = append(w.urls, ev.Request.URL)
			w.mu.Unlock()
		}
	}()
}

// testBrowser: Chromium loads the page against the lab: a column per node, a card per task,
// hostile strings as text and no dialog, a scale applied live, a screenshot kept.
func (l *lab) testBrowser(t *testing.T) {
	ctx := testenv.Context(t, 3*time.Minute)
	tab := browser(t, ctx)
	var w watchBrowser
	w.start(tab)
	nctx, ncancel := context.WithTimeout(tab, 30*time.Second)
	err := chromedp.Do(nctx, chromedp.Navigate(l.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(".col.manager")))
	ncancel()
	if err != nil {
		page, status := get(t, l.srv.URL+"/")
		t.Fatalf("load the page: %v (from Go: %d, %d bytes)", err, status, len(page))
	}
	snap := l.model.Snapshot()
	evalInt := func(what, js string) int {
		t.Helper()
		n, err := chromedp.Run(tab, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return n
	}
	if n := evalInt("columns", `document.querySelectorAll(".col:not(.unassigned)").length`); n != 4 {
		t.Errorf("%d node columns; want 4", n)
	}
	if n := evalInt("manager columns", `document.querySelectorAll(".col.manager").length`); n != 1 {
		t.Errorf("%d manager columns; want 1", n)
	}
	if n := evalInt("greyed columns", `document.querySelectorAll(".col.off").length`); n != 1 {
		t.Errorf("%d greyed columns; want 1 (the drained worker)", n)
	}
	if n := evalInt("cards", `document.querySelectorAll(".card").length`); n != len(snap.Tasks) {
		t.Errorf("%d task cards; the snapshot has %d tasks", n, len(snap.Tasks))
	}
	// The same colour for a service in its chip and on each of its cards.
	if n := evalInt("colours", `(() => { const want = getComputedStyle(document.querySelector('.svc[data-service="web_api"]')).getPropertyValue("--c");
		return [...document.querySelectorAll('.card[data-service="web_api"]')].filter(c => getComputedStyle(c).getPropertyValue("--c") !== want).length })()`); n != 0 {
		t.Errorf("%d web_api cards in another colour than its chip", n)
	}
	hostile := func(when string) {
		t.Helper()
		if n := evalInt("label as text", `[...document.querySelectorAll('.svc .lbl')].filter(e => e.textContent === "note=<script>alert(1)</script>").length`); n != 1 {
			t.Errorf("%s: the label holding %s is not shown as text once (%d)", when, xss, n)
		}
		if n := evalInt("error as text", `[...document.querySelectorAll('.card .err')].filter(e => e.textContent.includes("<script>alert(1)</script>")).length`); n < 1 {
			t.Errorf("%s: no task error shows %s as text", when, xss)
		}
		if n := evalInt("scripts", `document.scripts.length`); n != 1 {
			t.Errorf("%s: %d script elements; want only the page's own", when, n)
		}
	}
	hostile("first load")
	if n := evalInt("no such image", `[...document.querySelectorAll('.card.st-rejected .err')].filter(e => e.textContent.startsWith("No such image: registry:5000/berth/ghost:missing")).length`); n < 1 {
		t.Errorf("no rejected card says No such image: %s", ghostImage)
	}

	// A live change: scale web_api to 6; the page shows 6 wanted cards without a reload.
	if _, err := swarm.Scale(ctx, l.Manager.Client, "web_api", 6, swarm.ScaleOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = chromedp.Run(tab, chromedp.Poll[bool](`document.querySelectorAll('.card[data-service="web_api"]:not(.down).st-running').length === 6 && document.querySelector('.svc[data-service="web_api"] .rep').textContent === "6/6"`,
		chromedp.WithPollingTimeout(time.Minute), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		t.Fatalf("the page did not show web_api 6/6 running: %v", err)
	}
	hostile("after the live change") // the change re-rendered web_api's chip
	if n := evalInt("cards after", `document.querySelectorAll(".card").length`); n != len(l.model.Snapshot().Tasks) {
		t.Errorf("after the change: %d cards; the snapshot has %d tasks", n, len(l.model.Snapshot().Tasks))
	}
	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(artifactDir(t), "visualize-lab.png"), os.Getenv("BERTH_VIZ_SCREENSHOT")} {
		if p == "" {
			continue
		}
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}

	// A filter in the URL: only the data stack's cards are shown.
	if err := chromedp.Do(tab, chromedp.Navigate(l.srv.URL+"/?stack=data"), chromedp.WaitVisible(chromedp.CSS(".col.manager"))); err != nil {
		t.Fatal(err)
	}
	if n := evalInt("filtered", `[...document.querySelectorAll(".card")].filter(c => !c.hidden && c.dataset.stack !== "data").length`); n != 0 {
		t.Errorf("?stack=data shows %d cards of other stacks", n)
	}
	if n := evalInt("filtered data", `[...document.querySelectorAll(".card")].filter(c => !c.hidden).length`); n == 0 {
		t.Errorf("?stack=data shows no card")
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.dialogs) != 0 {
		t.Errorf("the page opened dialogs: %q", w.dialogs)
	}
	for _, u := range w.urls {
		if p, err := url.Parse(u); err != nil || p.Hostname() != "127.0.0.1" {
			t.Errorf("the browser requested %s, which is not on loopback", u)
		}
	}
	t.Logf("the browser requested %d URLs, all on 127.0.0.1", len(w.urls))
}
