// berth visualize: applies the live stream to the server-rendered board. Fragments come from
// the server's html/template (every string escaped there); this script never builds markup
// from data, it only moves, replaces and hides elements.
"use strict";
(function () {
  const root = () => document.getElementById("board-root");
  let seq = Number(root().dataset.seq);

  function parse(html) {
    const t = document.createElement("template");
    t.innerHTML = html;
    return t.content.firstElementChild;
  }

  // insertSorted puts el into parent in the order of data-sort.
  function insertSorted(parent, el) {
    const key = el.dataset.sort || "";
    for (const c of parent.children) {
      if (c !== el && c.dataset.sort !== undefined && c.dataset.sort > key) {
        parent.insertBefore(el, c);
        return;
      }
    }
    parent.appendChild(el);
  }

  function placeNode(el) {
    const old = document.getElementById(el.id);
    if (old) {
      const cards = old.querySelector(".cards"), fresh = el.querySelector(".cards");
      while (cards.firstChild) fresh.appendChild(cards.firstChild);
      old.replaceWith(el);
      return;
    }
    insertSorted(document.getElementById("board"), el); // before "not placed", sorted "~"
  }

  function placeTask(el) {
    const old = document.getElementById(el.id);
    if (old) old.remove();
    const col = document.getElementById("c-" + (el.dataset.node || "")) || document.getElementById("c-");
    insertSorted(col, el);
  }

  function placeService(el) {
    const old = document.getElementById(el.id);
    if (old) { old.replaceWith(el); return; }
    insertSorted(document.getElementById("services"), el);
  }

  function apply(ev) {
    for (const id of ev.removed || []) {
      for (const p of ["n-", "s-", "t-"]) {
        const el = document.getElementById(p + id);
        if (el) el.remove();
      }
    }
    for (const [id, html] of Object.entries(ev.html || {})) {
      const el = parse(html);
      if (!el) continue;
      el.dataset.sort = el.dataset.sort || "";
      if (id.startsWith("n-")) placeNode(el);
      else if (id.startsWith("s-")) placeService(el);
      else placeTask(el);
    }
    seq = ev.seq;
    root().dataset.seq = String(seq);
    refresh();
  }

  // filter hides what the URL's stack, service and node label do not select.
  function filter() {
    const q = new URLSearchParams(location.search);
    const stack = q.get("stack") || "", service = q.get("service") || "", label = q.get("label") || "";
    for (const el of document.querySelectorAll(".card, .svc")) {
      el.hidden = (stack && el.dataset.stack !== stack) || (service && el.dataset.service !== service);
    }
    for (const el of document.querySelectorAll(".col[data-labels]")) {
      el.hidden = !!label && !el.dataset.labels.split("\n").includes(label);
    }
  }

  function ages() {
    const now = Date.now();
    for (const t of document.querySelectorAll(".card time")) {
      const s = Math.max(0, Math.round((now - Date.parse(t.dateTime)) / 1000));
      t.textContent = s < 90 ? s + "s" : s < 5400 ? Math.round(s / 60) + "m" : s < 129600 ? Math.round(s / 3600) + "h" : Math.round(s / 86400) + "d";
    }
  }

  function counts() {
    const n = document.querySelectorAll(".col:not(.unassigned)").length;
    const s = document.querySelectorAll(".svc").length;
    const t = document.querySelectorAll(".card").length;
    document.getElementById("counts").textContent = n + " nodes · " + s + " services · " + t + " tasks";
  }

  function refresh() { filter(); ages(); counts(); }

  const live = document.getElementById("live");
  function connect() {
    const es = new EventSource("api/events?since=" + seq);
    es.addEventListener("hello", () => { live.className = "live on"; });
    es.addEventListener("reset", (e) => {
      const d = JSON.parse(e.data);
      const el = parse(d.html);
      root().replaceWith(el);
      seq = d.seq;
      live.className = "live on";
      refresh();
    });
    es.addEventListener("change", (e) => apply(JSON.parse(e.data)));
    es.onerror = () => {
      live.className = "live off";
      if (es.readyState === EventSource.CLOSED) { setTimeout(connect, 2000); }
    };
    // EventSource reconnects by itself with the URL it was made with: a stale ?since= then
    // just earns a reset, which is right.
  }
  refresh();
  setInterval(ages, 5000);
  connect();
})();
