// gridmint web app: the node overview and a view per role (homeowner,
// utility, certificate buyer) over the node's JSON API. Hand-written,
// no dependencies, charts as inline SVG; served embedded by the node.
"use strict";
(() => {
  const DASH = "\u2014";
  const TOKEN_KEY = "gridmint.api-token";
  const SVGNS = "http://www.w3.org/2000/svg";
  const $ = (sel, root = document) => root.querySelector(sel);

  // ------------------------------------------------------------ DOM helpers

  // h builds an element; text goes in as text, never as HTML.
  function h(tag, attrs, ...kids) { return build(document.createElement(tag), attrs, kids); }
  function s(tag, attrs, ...kids) { return build(document.createElementNS(SVGNS, tag), attrs, kids); }
  function build(el, attrs, kids) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  function table(headers, rows, opts = {}) {
    const head = h("tr", {}, headers.map(c => h("th", { scope: "col", class: c.num ? "num" : null }, c.label || c)));
    return h("div", { class: "scroll" },
      h("table", { class: opts.class }, opts.caption ? h("caption", { class: "hint" }, opts.caption) : null,
        h("thead", {}, head), h("tbody", {}, rows)));
  }
  function td(text, cls) { return h("td", { class: cls }, text); }
  function empty(text) { return h("p", { class: "empty-note" }, text); }
  function pill(text, kind) { return h("span", { class: "pill " + (kind || "") }, text); }

  // ------------------------------------------------------------ formatting

  const fmtInt = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
  function watts(v) { return v === null || v === undefined ? DASH : v.toFixed(0); }
  function kw(v) { return v === null || v === undefined ? DASH : (Math.abs(v) >= 1000 ? (v / 1000).toFixed(2) + " kW" : v.toFixed(0) + " W"); }
  function kwh(v) { return v === null || v === undefined ? DASH : (v / 1000).toFixed(3); }
  function utc(t) { return t ? String(t).replace("T", " ").slice(0, 16) + " UTC" : DASH; }
  function hhmm(ms) { return new Date(ms).toISOString().slice(11, 16); }
  function short(x) { return x && x.length > 14 ? x.slice(0, 8) + "…" + x.slice(-4) : x || DASH; }
  // flex formats FLEX base units (18 decimals, a decimal string).
  function flex(base) {
    if (base === undefined || base === null || base === "") return DASH;
    let n;
    try { n = BigInt(base); } catch { return base; }
    const neg = n < 0n; if (neg) n = -n;
    const whole = n / 10n ** 18n, frac = (n % 10n ** 18n).toString().padStart(18, "0").slice(0, 4).replace(/0+$/, "");
    return (neg ? "-" : "") + whole.toString() + (frac ? "." + frac : "") + " FLEX";
  }
  function microFlex(p) { return (p / 1e6).toFixed(4).replace(/\.?0+$/, "") + " FLEX/kWh"; }
  function hourOf(h) { return new Date(h * 3600 * 1000).toISOString().slice(0, 13).replace("T", " ") + ":00"; }

  // ------------------------------------------------------------ the API

  class APIError extends Error {
    constructor(status, body) {
      super((body && body.error) || ("HTTP " + status));
      this.status = status; this.code = body && body.code; this.body = body || {};
    }
  }
  function token() { try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; } }

  // api calls the node's API: JSON in, JSON out. write adds the token.
  async function api(path, opts = {}) {
    const headers = {};
    let body = opts.body;
    if (opts.write) {
      const t = token();
      if (!t) throw new APIError(401, { error: "enter the API token at the top of the page first", code: "unauthorized" });
      headers.Authorization = "Bearer " + t;
    }
    if (body !== undefined && !opts.raw) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
    const res = await fetch(path, { method: opts.method || "GET", headers, body, cache: "no-store" });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { error: text.slice(0, 300) }; }
    if (!res.ok) throw new APIError(res.status, data);
    return data;
  }
  // maybe is api that answers null for a route the node does not serve.
  async function maybe(path) {
    try { return await api(path); } catch (e) { if (e.status === 404) return null; throw e; }
  }

  // node is GET /api/v1/node, refreshed by every view; nodeNow is the
  // node's clock (demo time in a demo) now.
  let node = null, nodeAt = 0;
  async function loadNode() { node = await api("/api/v1/node"); nodeAt = Date.now(); return node; }
  function nodeNow() { return node ? Date.parse(node.clock.now) + (Date.now() - nodeAt) * (node.clock.speed || 1) : Date.now(); }

  // progress shows a spinner in el while p runs longer than 300 ms.
  async function progress(el, text, p) {
    const t = setTimeout(() => { el.replaceChildren(h("span", { class: "spinner", "aria-hidden": "true" }), text); el.classList.remove("ok"); }, 300);
    el.setAttribute("aria-busy", "true");
    try { return await p; } finally { clearTimeout(t); el.removeAttribute("aria-busy"); }
  }

  // ------------------------------------------------------------ forms

  // form wires a form: check returns {field: message} for what is wrong
  // before sending; send does the call; errors from the API go next to
  // the field they name (fieldOf), else under the form.
  function form(el, { values, check, send, fieldOf, busy }) {
    const state = $(".actions .state", el), formErr = $(".form-error", el), button = $("button[type=submit]", el);
    function clear() {
      formErr.textContent = ""; state.textContent = ""; state.classList.remove("ok");
      for (const f of el.querySelectorAll("[aria-invalid]")) f.removeAttribute("aria-invalid");
      for (const e of el.querySelectorAll(".field-error")) e.textContent = "";
    }
    function fieldError(name, msg) {
      const f = el.elements[name];
      const box = f && document.getElementById(f.id + "-error");
      if (!box) { formErr.textContent = msg; return null; }
      f.setAttribute("aria-invalid", "true");
      box.textContent = msg;
      return f;
    }
    el.addEventListener("submit", async ev => {
      ev.preventDefault();
      clear();
      const v = values();
      const bad = Object.entries(check(v));
      if (bad.length) {
        let first = null;
        for (const [name, msg] of bad) first = first || fieldError(name, msg);
        (first || el).focus();
        return;
      }
      button.disabled = true;
      try {
        const msg = await progress(state, busy || "Sending…", send(v));
        state.textContent = msg || "Done.";
        state.classList.add("ok");
      } catch (e) {
        state.textContent = "";
        if (e.status === 401) {
          $("#token-error").textContent = e.message;
          $("#token").setAttribute("aria-invalid", "true");
          formErr.textContent = "Refused (401): " + e.message;
          $("#token").focus();
          return;
        }
        const name = fieldOf ? fieldOf(e.message) : null;
        const f = name ? fieldError(name, e.message) : null;
        if (!f) formErr.textContent = e.message;
        (f || button).focus();
      } finally {
        button.disabled = false;
      }
    });
  }
  // fieldMatcher maps an API error message to the field it names.
  function fieldMatcher(rules) {
    return msg => { for (const [re, name] of rules) if (re.test(msg)) return name; return null; };
  }
  const relTime = /^[+-](\d+(\.\d+)?(h|m|s|ms))+$/;
  const rfc3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/;
  function checkTime(v) { return relTime.test(v) || (rfc3339.test(v) && !isNaN(Date.parse(v))) ? null : "want an RFC 3339 time (2026-06-21T18:00:00Z) or one relative to now (+2h)"; }
  function intIn(v, lo, hi) { return /^\d+$/.test(v) && Number(v) >= lo && Number(v) <= hi; }

  // ------------------------------------------------------------ token

  function initToken() {
    const f = $("#token-form"), input = $("#token"), st = $("#token-state"), err = $("#token-error"), forget = $("#token-forget");
    function show() {
      const has = token() !== "";
      st.textContent = has ? "Token set for this session." : "No token: reading only.";
      forget.hidden = !has;
    }
    f.addEventListener("submit", ev => {
      ev.preventDefault();
      err.textContent = ""; input.removeAttribute("aria-invalid");
      const v = input.value.trim();
      if (!v) { err.textContent = "Paste the token from the node's api_token_file (<data_dir>/api-token)."; input.setAttribute("aria-invalid", "true"); input.focus(); return; }
      try { sessionStorage.setItem(TOKEN_KEY, v); } catch { err.textContent = "This browser keeps no session storage."; return; }
      input.value = "";
      show();
    });
    forget.addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); show(); input.focus(); });
    show();
  }

  // ------------------------------------------------------------ charts

  // chart draws an SVG chart. x and y are {min, max, ticks, fmt}; each
  // series is {name, cls, kind: "line"|"bar"|"step", points: [[x, y]],
  // width (bars, x units), offset (bars, x units), dashed}.
  function chart({ title, desc, x, y, series, height = 220, box }) {
    // Drawn at the width it is shown at, so its text stays 11 px.
    const width = Math.max(300, Math.min(1400, (box && box.clientWidth) || 640));
    const m = { l: 64, r: 12, t: 10, b: 28 };
    const W = width - m.l - m.r, H = height - m.t - m.b;
    const ymax = y.max > y.min ? y.max : y.min + 1;
    const xmax = x.max > x.min ? x.max : x.min + 1;
    const px = v => m.l + (v - x.min) / (xmax - x.min) * W;
    const py = v => m.t + H - (v - y.min) / (ymax - y.min) * H;
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title + (desc ? ". " + desc : "") });
    svg.append(s("title", {}, title));
    const grid = s("g", { class: "axis" });
    for (const t of niceTicks(y.min, ymax, 4)) {
      grid.append(s("line", { class: "gridline", x1: m.l, x2: m.l + W, y1: py(t), y2: py(t) }));
      grid.append(s("text", { x: m.l - 6, y: py(t) + 4, "text-anchor": "end" }, y.fmt ? y.fmt(t) : String(t)));
    }
    const xt = x.time ? timeTicks(x.min, xmax, Math.max(2, Math.floor(W / 90))) : niceTicks(x.min, xmax, Math.max(2, Math.floor(W / 90)));
    for (const t of xt) grid.append(s("text", { x: px(t), y: height - 8, "text-anchor": "middle" }, x.fmt ? x.fmt(t) : String(t)));
    grid.append(s("line", { x1: m.l, x2: m.l + W, y1: py(Math.max(y.min, 0)), y2: py(Math.max(y.min, 0)) }));
    svg.append(grid);
    for (const se of series) {
      const g = s("g", { class: "s-" + se.cls, "data-series": se.name });
      if (se.kind === "bar") {
        for (const [xv, yv] of se.points) {
          const x0 = px(xv + (se.offset || 0)), x1 = px(xv + (se.offset || 0) + se.width);
          const y0 = py(Math.max(0, y.min)), y1 = py(yv);
          g.append(s("rect", { x: Math.min(x0, x1), y: Math.min(y0, y1), width: Math.max(1, Math.abs(x1 - x0) - 1), height: Math.abs(y1 - y0) },
            s("title", {}, `${se.name}: ${y.fmt ? y.fmt(yv) : yv} at ${x.fmt ? x.fmt(xv) : xv}`)));
        }
      } else if (se.points.length) {
        let pts = se.points;
        if (se.kind === "step") pts = pts.flatMap(([xv, yv], i) => i + 1 < pts.length ? [[xv, yv], [pts[i + 1][0], yv]] : [[xv, yv]]);
        g.append(s("polyline", { class: "line" + (se.dashed ? " dashed" : ""), points: pts.map(([a, b]) => px(a).toFixed(1) + "," + py(b).toFixed(1)).join(" ") }));
      }
      svg.append(g);
    }
    const legend = h("ul", { class: "legend" }, series.map(se => h("li", {}, h("i", { class: "s-" + se.cls, "aria-hidden": "true" }), se.name)));
    return h("figure", { class: "fig" }, svg, legend, desc ? h("figcaption", { class: "hint" }, desc) : null);
  }
  function niceTicks(lo, hi, n) {
    const span = hi - lo;
    if (!(span > 0)) return [lo];
    const step0 = span / n, mag = 10 ** Math.floor(Math.log10(step0));
    const step = [1, 2, 2.5, 5, 10].map(k => k * mag).find(v => v >= step0) || step0;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toFixed(10)));
    return out;
  }
  // timeTicks are times on round minutes or hours (UTC), about n of them.
  function timeTicks(lo, hi, n) {
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].map(m => m * 60e3);
    const step = steps.find(v => (hi - lo) / v <= n) || steps[steps.length - 1];
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(v);
    return out;
  }
  // kwTick labels a power axis.
  function kwTick(v) { return Math.abs(v) >= 1000 ? +(v / 1000).toFixed(1) + " kW" : Math.round(v) + " W"; }
  function maxOf(...vals) { return Math.max(0, ...vals.flat().filter(v => Number.isFinite(v))); }

  // ------------------------------------------------------------ overview

  const overview = {
    async refresh() {
      const live = document.getElementById("sites");
      const [devices, sites] = await Promise.all([api("/api/v1/devices"), live ? api("/api/v1/sites") : null]);
      renderDevices(devices);
      if (sites) renderSites(sites);
      await loadNode();
      document.getElementById("clock").textContent = node.clock.now.replace("T", " ").slice(0, 19);
      document.getElementById("updated").textContent = "Live: updated " + new Date().toLocaleTimeString();
    },
    failed(e) { document.getElementById("updated").textContent = "Update failed: " + e.message; },
  };
  function statusText(st) { return st === "never_seen" ? "never seen" : st; }
  function renderDevices(devices) {
    const rows = devices.map(d => {
      const p = td(d.power_w === null ? DASH : d.power_w.toFixed(1), "num power");
      if (d.power_unknown) p.title = "power unknown: " + d.power_unknown;
      return h("tr", { "data-id": d.id, class: d.status },
        h("td", {}, h("div", { class: "name" }, d.name || d.serial), h("div", { class: "id" }, d.id)),
        td(d.site || "\u2013", "site"), td(d.kind, "kind"), td(d.dialect, "dialect"),
        h("td", { class: "status" }, h("span", { class: "dot" }), statusText(d.status)),
        p,
        td((d.energy_wh / 1000).toFixed(3), "num energy"),
        td(d.energy_reverse_wh === null ? "\u2013" : (d.energy_reverse_wh / 1000).toFixed(3), "num reverse"),
        td(d.soc_pct === null ? "\u2013" : d.soc_pct.toFixed(1), "num soc"),
        td(d.last_seen ? d.last_seen.replace("T", " ").slice(0, 19) : "never", "seen"));
    });
    if (!rows.length) rows.push(h("tr", { class: "empty" }, h("td", { colspan: 10 }, "No devices yet: they appear with their first reading.")));
    document.getElementById("devices").replaceChildren(...rows);
  }
  function renderSites(sites) {
    const box = document.getElementById("sites");
    const set = (el, sel, text) => { el.querySelector(sel).textContent = text; };
    for (const x of sites) {
      const el = box.querySelector('[data-site="' + CSS.escape(x.id) + '"]');
      if (!el) continue; // sites come from the configuration: a new one needs a reload
      set(el, ".name", x.name || x.id);
      set(el, ".partial", x.partial ? "partial: " + x.unknown.map(u => u.device + " " + u.reason).join(", ") : "");
      set(el, ".pv", watts(x.power.pv_w)); set(el, ".battery", watts(x.power.battery_w)); set(el, ".ev", watts(x.power.ev_w));
      set(el, ".house", watts(x.power.house_w)); set(el, ".import", watts(x.power.grid_import_w)); set(el, ".export", watts(x.power.grid_export_w));
      set(el, ".pv-today", kwh(x.energy_today.pv_wh)); set(el, ".import-today", kwh(x.energy_today.grid_import_wh));
      set(el, ".export-today", kwh(x.energy_today.grid_export_wh)); set(el, ".ev-today", kwh(x.energy_today.ev_wh));
      set(el, ".house-today", kwh(x.energy_today.house_wh));
    }
  }

  // ------------------------------------------------------------ homeowner

  const samples = []; // {t, pv, house, grid, battery, ev}: samples while open
  let policyCache = null;
  const home = {
    site: "",
    async refresh() {
      const [sites, devices, policy, events, deliveries] = await Promise.all([
        maybe("/api/v1/sites"), api("/api/v1/devices"), maybe("/api/v1/market/policy"),
        maybe("/api/v1/market/events?limit=50"), maybe("/api/v1/market/deliveries")]);
      if (!node) await loadNode();
      const balances = await maybe("/api/v1/chain/balances/" + node.address).catch(() => null);
      policyCache = policy;
      const status = $("#home-status");
      if (!sites || !sites.length) {
        status.textContent = node.role === "utility" ? "This node is a utility's: it has no homes." : "No sites configured on this node.";
      } else status.textContent = "Live: updated " + new Date().toLocaleTimeString();
      const sel = $("#home-site");
      const list = sites || [];
      if (sel.options.length !== list.length) {
        sel.replaceChildren(...list.map(x => h("option", { value: x.id }, x.name || x.id)));
        if (this.site) sel.value = this.site;
      }
      this.site = sel.value;
      const site = list.find(x => x.id === this.site);
      const own = site ? new Set(site.devices.map(d => d.id)) : new Set(devices.map(d => d.id));
      const mine = devices.filter(d => own.has(d.id));
      if (site) {
        $("#home-flow").replaceChildren(powerFlow(site.power));
        renderToday(site.energy_today);
        const p = site.power;
        samples.push({ t: nodeNow(), pv: p.pv_w, house: p.house_w, grid: p.grid_w, battery: p.battery_w, ev: p.ev_w });
        if (samples.length > 600) samples.shift();
        renderHistory();
      }
      renderStorage(mine, policy);
      renderEarned(balances);
      renderOptOut(mine, policy);
      renderHomeEvents(events, deliveries, own);
      renderEventOptOuts(events, own, devices);
      renderPolicy(policy, own);
      renderPolicyForm(policy, own);
    },
    failed(e) { $("#home-status").textContent = "Update failed: " + e.message; },
  };

  // powerFlow draws PV, battery, EV, house and grid around the home, an
  // arrow each way power flows, its width by power.
  function powerFlow(p) {
    const hub = [180, 128];
    // dir 1: power flows into the home (PV, grid import, battery
    // discharge); -1: out of it; 0: none. side: where the figures go.
    const nodes = [
      { k: "pv", label: "PV", at: [180, 34], v: p.pv_w, dir: p.pv_w > 0 ? 1 : 0, side: "right" },
      { k: "grid", label: "Grid", at: [46, 128], v: p.grid_w, dir: p.grid_w === null ? 0 : Math.sign(p.grid_w), side: "below" },
      { k: "house", label: "House", at: [314, 128], v: p.house_w, dir: p.house_w > 0 ? -1 : 0, side: "below" },
      { k: "battery", label: "Battery", at: [96, 222], v: p.battery_w, dir: Math.sign(p.battery_w), side: "below" },
      { k: "ev", label: "Car", at: [264, 222], v: p.ev_w, dir: p.ev_w > 0 ? -1 : 0, side: "below" },
    ];
    const svg = s("svg", { viewBox: "0 0 360 282", role: "img", "aria-labelledby": "flow-desc" });
    const text = [];
    const defs = s("defs", {});
    for (const n of nodes) {
      defs.append(s("marker", { id: "arrow-" + n.k, viewBox: "0 0 10 10", refX: 5, refY: 5, markerWidth: 4, markerHeight: 4, orient: "auto-start-reverse" },
        s("path", { d: "M0,0 L10,5 L0,10 z", class: n.k, fill: "currentColor" })));
    }
    svg.append(defs);
    const R = 25;
    for (const n of nodes) {
      const from = n.dir >= 0 ? n.at : hub, to = n.dir >= 0 ? hub : n.at;
      const a = shorten(from, to, n.dir >= 0 ? R + 4 : 10, n.dir >= 0 ? 10 : R + 6);
      const wpx = n.v ? Math.min(9, 2 + Math.abs(n.v) / 1500) : 2;
      const line = s("line", { x1: a[0][0], y1: a[0][1], x2: a[1][0], y2: a[1][1], class: "link " + n.k + (n.dir ? " active" : ""), "stroke-width": wpx.toFixed(1) });
      if (n.dir) line.setAttribute("marker-end", `url(#arrow-${n.k})`);
      svg.append(line);
    }
    svg.append(s("circle", { cx: hub[0], cy: hub[1], r: 6, class: "hub" }));
    for (const n of nodes) {
      const val = n.v === null || n.v === undefined ? DASH : kw(Math.abs(n.v));
      let what = "";
      if (n.k === "grid" && n.v !== null) what = n.v > 0 ? "importing" : n.v < 0 ? "exporting" : "";
      if (n.k === "battery") what = n.v > 0 ? "discharging" : n.v < 0 ? "charging" : "idle";
      if (n.k === "ev") what = n.v > 0 ? "charging" : "";
      const [x, y] = n.at;
      const tx = n.side === "right" ? x + R + 8 : x, ty = n.side === "right" ? y - 2 : y + R + 17;
      const anchor = n.side === "right" ? "start" : "middle";
      svg.append(s("g", { class: "node " + n.k, "data-flow": n.k },
        s("circle", { cx: x, cy: y, r: R, class: n.k }),
        s("text", { x, y: y + 4 }, n.label),
        s("text", { x: tx, y: ty, class: "value", "text-anchor": anchor }, val),
        what ? s("text", { x: tx, y: ty + 15, class: "what", "text-anchor": anchor }, what) : null));
      text.push(`${n.label} ${val}${what ? " " + what : ""}`);
    }
    svg.append(s("desc", { id: "flow-desc" }, "Power now: " + text.join("; ")));
    return svg;
  }
  function shorten(a, b, da, db) {
    const dx = b[0] - a[0], dy = b[1] - a[1], len = Math.hypot(dx, dy) || 1;
    return [[a[0] + dx / len * da, a[1] + dy / len * da], [b[0] - dx / len * db, b[1] - dy / len * db]];
  }
  function renderToday(e) {
    const f = [["PV", e.pv_wh], ["House", e.house_wh], ["Car", e.ev_wh], ["Battery charged", e.battery_charge_wh], ["Battery discharged", e.battery_discharge_wh],
      ["Grid import", e.grid_import_wh], ["Grid export", e.grid_export_wh]];
    $("#home-today").replaceChildren(...f.map(([k, v]) => h("div", { "data-today": k }, h("dt", {}, k + " (kWh)"), h("dd", {}, kwh(v)))));
  }
  function renderHistory() {
    const box = $("#home-history");
    if (samples.length < 2) { box.replaceChildren(empty("Collecting samples…")); return; }
    const keys = [["pv", "PV"], ["house", "House"], ["grid", "Grid (import +)"], ["battery", "Battery (discharge +)"], ["ev", "Car"]];
    const series = keys.map(([k, name]) => ({ name, cls: k, kind: "line", points: samples.filter(p => p[k] !== null && p[k] !== undefined).map(p => [p.t, p[k]]) }));
    const all = samples.flatMap(p => keys.map(([k]) => p[k]));
    const lo = Math.min(0, ...all.filter(Number.isFinite)), hi = maxOf(all);
    const t0 = samples[0].t, t1 = samples[samples.length - 1].t;
    box.replaceChildren(chart({ title: "Power over time, W", desc: `From ${hhmm(t0)} to ${hhmm(t1)} UTC (node time)`, box,
      x: { min: t0, max: t1, fmt: hhmm, time: true }, y: { min: lo, max: hi * 1.05, fmt: kwTick }, series, height: 200 }));
  }
  function renderStorage(mine, policy) {
    const box = $("#home-storage");
    const items = [];
    const pol = id => policy && policy.devices.find(d => d.device === id);
    for (const d of mine.filter(d => d.kind === "battery")) {
      const soc = d.soc_pct, p = pol(d.id);
      items.push(h("div", { class: "battery-state", "data-device": d.id },
        h("div", {}, h("strong", {}, d.name || "Battery"), " ", soc === null ? DASH : soc.toFixed(0) + " %", " · ",
          d.power_w === null ? "power unknown" : d.power_w > 0 ? "discharging " + kw(d.power_w) : d.power_w < 0 ? "charging " + kw(-d.power_w) : "idle",
          p ? h("span", { class: "hint" }, ` · reserve ${p.policy.reserve_soc_pct} %`) : null),
        h("div", { class: "meterbar", role: "meter", "aria-label": (d.name || "Battery") + " charge", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": soc === null ? 0 : soc.toFixed(0) },
          h("span", { class: "soc-fill", "data-soc": soc === null ? 0 : soc.toFixed(0) }))));
    }
    for (const d of mine.filter(d => d.kind === "ev_charger")) {
      const p = pol(d.id);
      items.push(h("div", { class: "car-state", "data-device": d.id },
        h("strong", {}, d.name || "Car charger"), " ", d.status !== "online" ? statusText(d.status) : d.power_w > 0 ? "charging " + kw(d.power_w) : "not charging",
        p && p.policy.departure ? h("span", { class: "hint" }, ` · leaves ${p.policy.departure} UTC needing ${(p.policy.energy_needed_wh / 1000).toFixed(1)} kWh`) : null));
    }
    box.replaceChildren(...(items.length ? items : [empty("No battery or car charger at this home.")]));
    // Width from data-soc: the page's CSP allows no inline style attributes.
    for (const f of box.querySelectorAll(".soc-fill")) f.style.width = f.dataset.soc + "%";
  }
  function renderEarned(b) {
    const box = $("#home-earned"), note = $("#home-earned-note");
    if (!b) { box.replaceChildren(h("div", {}, h("dt", {}, "FLEX"), h("dd", {}, DASH))); note.textContent = "The chain cannot be read now."; return; }
    const rec = b.rec.reduce((a, t) => a + Number(t.wh), 0);
    box.replaceChildren(
      h("div", {}, h("dt", {}, "FLEX"), h("dd", { id: "earned-flex" }, b.flex)),
      h("div", {}, h("dt", {}, "REC (kWh)"), h("dd", { id: "earned-rec" }, (rec / 1000).toFixed(3))),
      h("div", {}, h("dt", {}, "REC tokens"), h("dd", {}, String(b.rec.length))));
    note.textContent = `Held by this node's account ${b.account} as of block ${b.as_of.number}: rewards for delivered flexibility (FLEX) and certificates for produced energy (REC), less what was spent.`;
  }
  function renderOptOut(mine, policy) {
    const box = $("#home-optout");
    const flexible = mine.filter(d => ["battery", "ev_charger", "pv_inverter"].includes(d.kind));
    if (!flexible.length) { box.replaceChildren(h("li", { class: "empty-note" }, "No flexible devices at this home.")); return; }
    for (const d of flexible) {
      let li = box.querySelector(`li[data-device="${CSS.escape(d.id)}"]`);
      const item = policy && policy.devices.find(p => p.device === d.id);
      if (!li) {
        const id = "optin-" + d.id.replace(/[^A-Za-z0-9]/g, "-");
        const input = h("input", { type: "checkbox", role: "switch", id, "aria-describedby": id + "-state" });
        const state = h("span", { class: "state", id: id + "-state", role: "status" });
        li = h("li", { "data-device": d.id }, h("label", { class: "switch", for: id }, input, h("span", {}, `${d.name || d.kind} takes part in the market`)), state);
        input.addEventListener("change", () => setOptOut(d.id, !input.checked, input, state));
        box.querySelector(".empty-note")?.closest("li")?.remove();
        box.append(li);
        loadOptOut(d.id, input, state);
      } else if (item && !li.dataset.busy) {
        // The policy says whether the market applies an opt-out (the
        // configuration's or the registry's).
        const input = $("input", li);
        if (document.activeElement !== input) input.checked = !item.opt_out;
      }
    }
  }
  async function loadOptOut(id, input, state) {
    try {
      const d = await api("/api/v1/devices/" + id);
      input.checked = !d.opt_out;
      state.textContent = d.opt_out ? "opted out" : "";
    } catch (e) { state.textContent = "cannot read: " + e.message; }
  }
  async function setOptOut(id, out, input, state) {
    const li = input.closest("li");
    li.dataset.busy = "1";
    input.disabled = true;
    try {
      const d = await progress(state, "saving…", api("/api/v1/devices/" + id, { method: "PATCH", body: { opt_out: out }, write: true }));
      input.checked = !d.opt_out;
      state.textContent = d.opt_out ? "opted out" : "takes part";
      state.classList.add("ok");
      input.removeAttribute("aria-invalid");
    } catch (e) {
      input.checked = out; // unchanged
      input.setAttribute("aria-invalid", "true");
      state.classList.remove("ok");
      state.textContent = e.message;
      if (e.status === 401) $("#token-error").textContent = e.message;
    } finally {
      input.disabled = false;
      delete li.dataset.busy;
      input.focus();
    }
  }
  function renderHomeEvents(events, deliveries, own) {
    const box = $("#home-events");
    if (!events) { box.replaceChildren(empty("The market is off on this node.")); return; }
    const now = nodeNow();
    const deliv = new Map();
    for (const de of (deliveries && deliveries.events) || []) for (const r of de.deliveries) deliv.set(r.offer_id, r);
    const rows = events.events.map(ev => {
      const c = ev.clearing;
      const local = c && c.local ? c.local : {};
      const awards = c && c.awards ? c.awards.filter(a => a.device in local && (own.size === 0 || own.has(local[a.device]))) : [];
      const asked = awards.reduce((a, x) => a + x.power_w, 0);
      const recs = awards.map(a => deliv.get(a.offer_id)).filter(Boolean);
      const delivered = recs.reduce((a, r) => a + r.delivered_mwh, 0), awarded = recs.reduce((a, r) => a + r.awarded_mwh, 0);
      const paid = recs.reduce((a, r) => a + BigInt(r.paid || "0"), 0n);
      const past = Date.parse(ev.request.window_end) <= now;
      return h("tr", { "data-request": ev.request_id, class: past ? "past" : "upcoming" },
        td(past ? "past" : Date.parse(ev.request.window_start) <= now ? "now" : "upcoming"),
        td(utc(ev.request.window_start) + " – " + ev.request.window_end.slice(11, 16)),
        td(ev.request.direction + " " + kw(ev.request.power_w)),
        td(stateLabel(ev.state)),
        td(awards.length ? kw(asked) : DASH, "num asked"),
        td(recs.length ? (delivered / 1e6).toFixed(3) + " kWh" + (awarded ? ` (${Math.round(100 * delivered / awarded)} %)` : "") : DASH, "num delivered"),
        td(recs.length ? flex(paid.toString()) : DASH, "num paid"));
    });
    box.replaceChildren(rows.length ? table(["When", "Window", "Asked of the zone", "State", { label: "Asked of you", num: 1 }, { label: "Delivered", num: 1 }, { label: "Paid", num: 1 }], rows)
      : empty("No flexibility events yet."));
  }
  // Per-event opt-out: each upcoming event's row gets a button per
  // awarded device of this home; after a confirmation it posts
  // /api/v1/market/events/{request}/opt-out, which declares the opt-out
  // to every node (the award is then not dispatched, paid or slashed).
  // The rows are redrawn on every refresh, so what is in progress (a
  // confirmation, an error) is kept here by request and device.
  const eventOptOuts = new Map(); // "request|device" -> {confirm, busy, error, focus}
  function renderEventOptOuts(events, own, devices) {
    const box = $("#home-events");
    const head = $("thead tr", box);
    if (!events || !head) return;
    if (!$("th.optout", head)) head.append(h("th", { scope: "col", class: "optout" }, "Opt out"));
    const now = nodeNow();
    const names = new Map(devices.map(d => [d.id, d.name || d.kind]));
    for (const ev of events.events) {
      const row = box.querySelector(`tr[data-request="${CSS.escape(ev.request_id)}"]`);
      if (!row) continue;
      const c = ev.clearing, local = c && c.local ? c.local : {};
      const awards = c && c.awards ? c.awards.filter(a => a.device in local && (own.size === 0 || own.has(local[a.device]))) : [];
      const declared = new Map((ev.exemptions || []).filter(x => x.local_device).map(x => [x.local_device, x]));
      const upcoming = Date.parse(ev.request.window_start) > now;
      const cell = h("td", { class: "optout" });
      for (const a of awards) {
        const dev = local[a.device], x = declared.get(dev);
        if (x) { cell.append(h("div", { "data-optout": dev }, pill((x.reason === "opt_out" ? "opted out " : x.reason + " ") + utc(x.opted_out_at).slice(11), "bad"))); continue; }
        if (upcoming) cell.append(optOutControl(ev.request_id, dev, names.get(dev) || dev));
      }
      if (!cell.childNodes.length) cell.append(DASH);
      row.append(cell);
    }
    for (const k of eventOptOuts.keys()) if (!box.querySelector(`[data-optout-key="${CSS.escape(k)}"]`)) eventOptOuts.delete(k);
  }
  function optOutControl(req, dev, name) {
    const key = req + "|" + dev, st = eventOptOuts.get(key) || {};
    const set = v => { eventOptOuts.set(key, Object.assign({}, eventOptOuts.get(key), v)); };
    const box = h("div", { "data-optout": dev, "data-optout-key": key, class: "optout-control" });
    // Drawn again in place at once: the next refresh is seconds away.
    const redraw = () => box.replaceWith(optOutControl(req, dev, name));
    let focus;
    if (st.confirm) {
      const yes = h("button", { type: "button", class: "confirm-optout" }, `Yes, opt ${name} out`);
      const no = h("button", { type: "button", class: "secondary" }, "Cancel");
      yes.addEventListener("click", async () => {
        yes.disabled = no.disabled = true;
        try {
          const x = await progress(yes, "opting out…", api(`/api/v1/market/events/${encodeURIComponent(req)}/opt-out`, { method: "POST", body: { device: dev }, write: true }));
          eventOptOuts.delete(key);
          box.replaceWith(h("div", { "data-optout": dev }, pill("opted out " + utc(x.opted_out_at).slice(11), "bad")));
          refreshNow();
        } catch (e) {
          set({ confirm: false, error: e.message, focus: true });
          if (e.status === 401) $("#token-error").textContent = e.message;
          redraw();
        }
      });
      no.addEventListener("click", () => { set({ confirm: false, focus: true }); redraw(); });
      box.append(h("span", { class: "hint" }, `${name} will not be dispatched in this event, nor paid or slashed for it. `), yes, " ", no);
      focus = yes;
    } else {
      const b = h("button", { type: "button", class: "optout-event", "aria-label": `Opt ${name} out of this event` }, "Opt out of this event");
      b.addEventListener("click", () => { set({ confirm: true, error: "", focus: true }); redraw(); });
      box.append(b);
      focus = b;
    }
    // The API's refusal (a late opt-out, a wrong token) next to it.
    box.append(" ", h("span", { class: "field-error", role: "alert" }, st.error || ""));
    if (st.focus) { set({ focus: false }); queueMicrotask(() => focus.focus()); }
    return box;
  }
  function stateLabel(st) {
    const good = ["firm", "dispatched", "done", "agreed", "cleared"], bad = ["refused", "lapsed", "no_awards"];
    return pill(st, good.includes(st) ? "good" : bad.includes(st) ? "bad" : "wait");
  }
  function renderPolicy(p, own) {
    const box = $("#home-policy");
    if (!p) { box.replaceChildren(empty("This node does not offer flexibility (a utility, or the market is off).")); return; }
    // A value the homeowner saved here (not the configuration's) says so.
    const ed = (src, k, text) => src && String(src[k] || "").startsWith("api.") ? text + " (saved here)" : text;
    const row = (name, v, src, dev) => h("tr", { "data-policy": dev }, td(name), td(ed(src, "min_price", v.min_price ? microFlex(v.min_price) : DASH), "num"),
      td(ed(src, "reserve_soc_pct", v.reserve_soc_pct + " %"), "num reserve"),
      td(ed(src, "departure", v.departure || DASH)), td(ed(src, "energy_needed_wh", v.energy_needed_wh ? (v.energy_needed_wh / 1000).toFixed(1) + " kWh" : DASH), "num"));
    box.replaceChildren(
      h("p", {}, "Offers: ", p.offer ? pill("on: the home offers its flexible devices", "good") : pill("off: the home offers nothing (market.offer)", "bad")),
      table(["Device", { label: "Minimum price", num: 1 }, { label: "Battery reserve", num: 1 }, "Car departure (UTC)", { label: "Energy by departure", num: 1 }],
        [row("Every device (defaults)", p.defaults, p.defaults_sources, "defaults"), ...p.devices.filter(d => own.size === 0 || own.has(d.device)).map(d => row(d.device.split("/").slice(1).join("/") + (d.opt_out ? " (opted out)" : ""), d.policy, d.sources, d.device))]));
  }

  // ------------------------------------------------------------ utility

  const utility = {
    selected: "",
    async refresh() {
      if (!node) await loadNode();
      const zone = $("#of-zone").value.trim();
      const from = new Date(nodeNow() - 24 * 3600e3).toISOString(), to = new Date(nodeNow() + 24 * 3600e3).toISOString();
      const [events, msgs] = await Promise.all([maybe("/api/v1/market/events?limit=50"), maybe(`/api/v1/p2p/messages?topic=offers&limit=1000&from=${from}&to=${to}`)]);
      await loadFlexBalance();
      renderOffers(msgs, zone);
      renderUtilityEvents(events);
      if (this.selected) await renderEvent(this.selected);
    },
    failed(e) { $("#of-status").textContent = "Update failed: " + e.message; },
  };
  function renderOffers(msgs, zone) {
    const st = $("#of-status");
    if (!msgs) { st.textContent = "This node has no network."; return; }
    const now = nodeNow();
    const offers = msgs.messages.filter(m => m.kind === "offer" && (!zone || m.body.zone === zone) && Date.parse(m.body.expiry) > now);
    st.textContent = `${offers.length} live offer${offers.length === 1 ? "" : "s"}${zone ? " in " + zone : " in every zone"}`;
    // Merit order: the supply curve a request clears against.
    const order = [...offers].sort((a, b) => a.body.floor_price - b.body.floor_price);
    let cum = 0;
    const pts = [[0, order.length ? order[0].body.floor_price : 0]];
    for (const o of order) { pts.push([cum, o.body.floor_price]); cum += o.body.power_w; pts.push([cum, o.body.floor_price]); }
    $("#ut-supply").replaceChildren(order.length ? chart({ title: "Offers in merit order", desc: `Cumulative power against floor price: ${kw(cum)} offered`, box: $("#ut-supply"),
      x: { min: 0, max: cum, fmt: kwTick }, y: { min: 0, max: maxOf(order.map(o => o.body.floor_price)) * 1.1, fmt: v => (v / 1e6).toFixed(2) },
      series: [{ name: "Supply (FLEX/kWh)", cls: "supply", kind: "line", points: pts.slice(1) }], height: 170 }) : empty("No live offers" + (zone ? " in " + zone : "") + "."));
    const rows = order.slice(0, 50).map(m => h("tr", { "data-offer": m.id }, td(short(m.author), "mono"), td(short(m.body.device), "mono"), td(m.body.zone),
      td(m.body.direction), td(kw(m.body.power_w), "num"), td(microFlex(m.body.floor_price), "num"), td(utc(m.body.window_start) + " – " + m.body.window_end.slice(11, 16))));
    $("#ut-offers").replaceChildren(rows.length ? table(["Home", "Device key", "Zone", "Dir.", { label: "Power", num: 1 }, { label: "Floor price", num: 1 }, "Window"], rows) : "");
  }
  function renderUtilityEvents(events) {
    const box = $("#ut-events");
    if (!events) { box.replaceChildren(empty("The market is off on this node.")); return; }
    const mineFirst = events.events.filter(e => !node || e.buyer.toLowerCase() === node.address.toLowerCase());
    const list = mineFirst.length ? mineFirst : events.events;
    const rows = list.map(ev => {
      const b = h("button", { type: "button", class: "secondary", "data-open": ev.request_id, "aria-label": "Show request " + ev.request_id.slice(0, 10) }, "Show");
      b.addEventListener("click", () => {
        utility.selected = ev.request_id;
        renderEvent(ev.request_id, true).catch(e => { $("#ut-event-body").replaceChildren(h("p", { class: "form-error" }, "Cannot show the event: " + e.message)); });
      });
      return h("tr", { "data-request": ev.request_id, class: ev.request_id === utility.selected ? "selected" : null },
        td(short(ev.request_id), "mono"), td(ev.request.zone), td(utc(ev.request.window_start) + " – " + ev.request.window_end.slice(11, 16)),
        td(ev.request.direction + " " + kw(ev.request.power_w)), td(stateLabel(ev.state)),
        td(ev.clearing ? kw(ev.clearing.awarded_w) + " at " + microFlex(ev.clearing.price) : DASH),
        h("td", { class: "reservation" }, reservationText(ev), reserveControl(ev, "row")), h("td", {}, b));
    });
    box.replaceChildren(rows.length ? table(["Request", "Zone", "Window", "Asked", "State", "Cleared", "Reservation", ""], rows)
      : empty("No requests yet: post one above."));
  }
  // reservationText says where the request's FLEX.reserve stands.
  function reservationText(ev) {
    const r = ev.reservation;
    if (r) return pill(r.firm ? "firm: burned " + flex(r.amount) : "not firm: " + (r.reason || "root or amount differs"), r.firm ? "good" : "bad");
    const last = [...ev.log].reverse().find(l => l.step.startsWith("reserve") || l.step.startsWith("reservation"));
    if (last && last.step === "reserve_sent") return pill("sent, awaiting confirmation", "wait");
    if (last && last.step === "reserve_failed") return pill("failed: " + last.detail, "bad");
    if (ev.state === "open") return pill("after clearing", "wait");
    if (ev.state === "no_awards") return pill("nothing to reserve", "");
    if (ev.state === "lapsed") return pill("none: lapsed", "bad");
    if (reservable(ev)) return pill("not reserved yet", "wait");
    return pill(ev.buyer.toLowerCase() === (node && node.address.toLowerCase()) ? "pending" : "by the buyer", "wait");
  }
  async function renderEvent(id, focus) {
    const card = $("#ut-event"), body = $("#ut-event-body");
    card.hidden = false;
    for (const tr of document.querySelectorAll("#ut-events tr[data-request]")) tr.classList.toggle("selected", tr.dataset.request === id);
    const [ev, de] = await Promise.all([api("/api/v1/market/events/" + id), maybe("/api/v1/market/deliveries/" + id)]);
    const c = ev.clearing;
    const parts = [
      h("dl", { class: "kv" },
        h("dt", {}, "Request"), h("dd", { class: "mono" }, ev.request_id),
        h("dt", {}, "Zone, window"), h("dd", {}, `${ev.request.zone}, ${utc(ev.request.window_start)} – ${utc(ev.request.window_end)}`),
        h("dt", {}, "Asked"), h("dd", {}, `${ev.request.direction} ${kw(ev.request.power_w)} at most ${microFlex(ev.request.max_price)}, gate closure ${utc(ev.request.gate_closure)}`),
        h("dt", {}, "State"), h("dd", { id: "ut-event-state" }, stateLabel(ev.state), ev.detail ? " " + ev.detail : ""),
        h("dt", {}, "Offers considered"), h("dd", {}, String(ev.offers_considered)),
        h("dt", {}, "Clearing"), h("dd", {}, c ? `${kw(c.awarded_w)} awarded at ${microFlex(c.price)} (pay-as-clear)${c.short ? ", short of the request" : ""}; value ${flex(c.value)}` : "after the gate closure"),
        c ? h("dt", {}, "Awards root") : null, c ? h("dd", { class: "mono" }, c.root) : null,
        c ? h("dt", {}, "Cleared value") : null, c ? h("dd", { id: "ut-event-value" }, flex(c.value)) : null,
        h("dt", {}, "This node's FLEX"), h("dd", { id: "ut-event-balance" }, flexBalance === null ? DASH : flex(flexBalance)),
        h("dt", {}, "Reservation"), h("dd", { id: "ut-event-reservation" }, reservationText(ev),
          ev.reservation ? h("span", { class: "mono" }, " tx " + ev.reservation.tx + " block " + ev.reservation.block) : null),
        h("dt", {}, "Reserve"), h("dd", { id: "ut-event-reserve" }, reserveControl(ev, "event") || DASH)),
    ];
    if (c && c.awards && c.awards.length) {
      parts.push(table(["Offer", "Provider", { label: "Power", num: 1 }, { label: "Price", num: 1 }],
        c.awards.map(a => h("tr", {}, td(short(a.offer_id), "mono"), td(short(a.provider), "mono"), td(kw(a.power_w), "num"), td(microFlex(a.price), "num"))),
        { caption: "Awards" }));
    }
    parts.push(deliveryChart(ev, de));
    parts.push(h("details", {}, h("summary", {}, "Log"), h("ol", {}, ev.log.map(l => h("li", {}, `${utc(l.at)} ${l.step}${l.detail ? ": " + l.detail : ""}`)))));
    body.replaceChildren(...parts);
    if (focus) card.scrollIntoView({ block: "nearest" });
  }
  // deliveryChart shows, per interval of the window, the energy delivered
  // as average power, against the awarded power and the baseline and
  // metered power (window averages: the API gives them as totals).
  function deliveryChart(ev, de) {
    if (!de) return h("p", { class: "hint" }, "Delivery is measured once the event is firm and its window has been metered.");
    const recs = de.deliveries;
    if (!recs.length) return h("p", { class: "hint" }, `Delivery: ${de.state}; no award measured yet.`);
    const start = Date.parse(de.request.window_start), end = Date.parse(de.request.window_end);
    for (const r of recs) r.intervals_mwh = r.intervals_mwh || [];
    const step = (recs[0].step_s || 300) * 1000, n = Math.max(...recs.map(r => r.intervals_mwh.length));
    if (!n) {
      const why = [...new Set(recs.map(r => r.reason || r.baseline_error || "not metered yet"))].join(", ");
      return h("p", { class: "hint", id: "ut-delivery-none" }, `Delivery: ${de.state}; ${recs.length} award${recs.length === 1 ? "" : "s"} without metered intervals (${why}).`);
    }
    const hours = (end - start) / 3600e3;
    const delivered = [];
    for (let i = 0; i < n; i++) {
      const mwh = recs.reduce((a, r) => a + (r.intervals_mwh[i] || 0), 0);
      delivered.push([start + i * step, mwh / 1000 / (step / 3600e3)]);
    }
    const sum = k => recs.reduce((a, r) => a + (r[k] || 0), 0);
    const awardedW = sum("awarded_mwh") / 1000 / hours, baseW = sum("baseline_mwh") / 1000 / hours, meterW = sum("metered_mwh") / 1000 / hours;
    const ratio = sum("awarded_mwh") ? sum("delivered_mwh") / sum("awarded_mwh") : 0;
    const flat = (v) => [[start, v], [end, v]];
    const series = [{ name: "Delivered", cls: "delivered", kind: "bar", width: step, points: delivered },
      { name: "Awarded", cls: "awarded", kind: "line", points: flat(awardedW) }];
    if (recs.some(r => r.baseline_mwh !== undefined)) series.push({ name: "Baseline (window average)", cls: "baseline", kind: "line", dashed: true, points: flat(baseW) });
    if (recs.some(r => r.metered_mwh !== undefined)) series.push({ name: "Metered (window average)", cls: "metered", kind: "line", dashed: true, points: flat(meterW) });
    return h("div", { class: "chart", id: "ut-delivery" },
      h("p", {}, "Performance ratio ", h("strong", { id: "ut-performance" }, (ratio * 100).toFixed(1) + " %"), ` (delivered ÷ awarded) · ${de.state}` + (de.reward_tx ? " · rewarded in " + short(de.reward_tx) : "")),
      chart({ title: "Delivery against baseline, W", desc: `Per ${step / 60000}-minute interval of the window`, box: $("#ut-event-body"),
        x: { min: start, max: end, fmt: hhmm, time: true }, y: { min: 0, max: maxOf(delivered.map(d => d[1]), awardedW, baseW, meterW) * 1.1 || 1, fmt: kwTick }, series }));
  }
  function initUtility() {
    const f = $("#request-form");
    form(f, {
      values: () => Object.fromEntries(["zone", "power_w", "direction", "max_price", "window_start", "window_end", "gate_closure"].map(k => [k, f.elements[k].value.trim()])),
      check(v) {
        const bad = {};
        if (!v.zone || v.zone.length > 32) bad.zone = "name the grid zone, 1-32 characters, e.g. DE-LU";
        if (!intIn(v.power_w, 1, 1e6)) bad.power_w = "whole watts, 1 to 1,000,000";
        if (!intIn(v.max_price, 0, 1e15)) bad.max_price = "whole µFLEX per kWh, 0 or more";
        for (const k of ["window_start", "window_end", "gate_closure"]) { const m = checkTime(v[k]); if (m) bad[k] = m; }
        return bad;
      },
      async send(v) {
        const m = await api("/api/v1/requests", { method: "POST", write: true, body: { ...v, power_w: Number(v.power_w), max_price: Number(v.max_price) } });
        utility.selected = m.id;
        $("#of-zone").value = v.zone;
        await refreshNow();
        return "Posted request " + short(m.id) + ": signed and gossiped.";
      },
      fieldOf: fieldMatcher([[/gate.?closure/i, "gate_closure"], [/window_start|window \[|empty/i, "window_start"], [/window_end|window of/i, "window_end"],
        [/zone/i, "zone"], [/power/i, "power_w"], [/direction/i, "direction"], [/max.?price|price/i, "max_price"]]),
    });
    let t = null;
    $("#of-zone").addEventListener("input", () => { clearTimeout(t); t = setTimeout(refreshNow, 300); });
  }

  // ------------------------------------------------------------ buyer

  const buyer = {
    async refresh() {
      if (!node) await loadNode();
      const certs = await progress($("#certs-owner"), "loading…", api("/api/v1/certificates"));
      renderCerts(certs);
      const rets = await maybe("/api/v1/chain/retirements?account=" + certs.owner);
      renderRetirements(rets);
      if (lastMatching) renderMatching(lastMatching);
      await refreshAudit(false);
    },
    failed(e) { $("#certs-owner").textContent = "Update failed: " + e.message; },
  };
  function renderCerts(l) {
    $("#certs-owner").textContent = `held by ${l.owner} · ${fmtInt.format(l.total_wh)} Wh as of block ${l.as_of.number}`;
    const by = (key) => { const m = new Map(); for (const c of l.certificates) m.set(key(c), (m.get(key(c)) || 0) + c.wh); return m; };
    const zones = by(c => c.zone), techs = by(c => c.energy_source || c.token.technology_name);
    const hours = by(c => c.hour_start ? Date.parse(c.hour_start) : 0);
    $("#by-summary").replaceChildren(
      h("dl", { class: "figures" }, h("div", {}, h("dt", {}, "Total"), h("dd", { id: "certs-total" }, fmtInt.format(l.total_wh) + " Wh"))),
      h("dl", { class: "figures" }, [...zones].map(([z, wh]) => h("div", {}, h("dt", {}, "Zone " + z), h("dd", {}, fmtInt.format(wh) + " Wh")))),
      h("dl", { class: "figures" }, [...techs].map(([t, wh]) => h("div", {}, h("dt", {}, t), h("dd", {}, fmtInt.format(wh) + " Wh")))));
    const hs = [...hours].filter(([t]) => t).sort((a, b) => a[0] - b[0]);
    $("#by-hours").replaceChildren(hs.length ? chart({ title: "Certificates held by production hour, Wh", desc: `${hs.length} hour${hs.length === 1 ? "" : "s"} from ${utc(new Date(hs[0][0]).toISOString())}`, box: $("#by-hours"),
      x: { min: hs[0][0], max: hs[hs.length - 1][0] + 3600e3, fmt: hhmm, time: true }, y: { min: 0, max: maxOf(hs.map(x => x[1])) * 1.1, fmt: v => fmtInt.format(v) },
      series: [{ name: "Wh held", cls: "certs", kind: "bar", width: 3600e3, points: hs }], height: 180 }) : "");
    const rows = l.certificates.map(c => h("tr", { "data-lot": c.id, "data-token": c.token.id },
      td(c.hour_start ? utc(c.hour_start) : DASH), td(c.zone), td(c.energy_source || c.token.technology_name), td(fmtInt.format(c.wh), "num"),
      td(c.capacity_w ? kw(c.capacity_w) : DASH, "num"), td(c.location || DASH), td(short(c.device), "mono"), td(`${c.first}–${c.last}`, "num")));
    $("#by-certs").replaceChildren(rows.length ? table(["Hour", "Zone", "Technology", { label: "Wh", num: 1 }, { label: "Capacity", num: 1 }, "Place", "Device key", { label: "Numbers", num: 1 }], rows)
      : empty("No certificates held by this node's account."));
    // Token choices for the forms: one per token with its Wh.
    const tokens = new Map();
    for (const c of l.certificates) { const t = tokens.get(c.token.id) || { c, wh: 0 }; t.wh += c.wh; tokens.set(c.token.id, t); }
    for (const sel of [$("#rt-token"), $("#tr-token")]) {
      const keep = sel.value;
      const opts = [...tokens].map(([id, t]) => h("option", { value: id }, `${t.c.zone} ${t.c.energy_source || ""} ${t.c.hour_start ? utc(t.c.hour_start) : ""}: ${fmtInt.format(t.wh)} Wh`));
      if (sel.options.length !== opts.length || [...sel.options].some((o, i) => o.textContent !== opts[i].textContent)) {
        sel.replaceChildren(...(opts.length ? opts : [h("option", { value: "" }, "no certificates held")]));
        if (tokens.has(keep)) sel.value = keep;
      }
    }
  }
  function renderRetirements(r) {
    const box = $("#by-retirements");
    if (!r) { box.replaceChildren(empty("This node has no chain.")); return; }
    const rows = r.retirements.map(e => {
      const b = h("button", { type: "button", class: "secondary", "data-statement": e.retirement_id }, "Statement");
      b.addEventListener("click", () => openStatement(e.retirement_id));
      return h("tr", { "data-retirement": e.retirement_id }, td(String(e.retirement_id), "num"), td(e.beneficiary), td(fmtInt.format(Number(e.amount)) + " Wh", "num"),
        td(e.token && e.token.hour ? utc(e.token.hour) : DASH), td(utc(e.time)), h("td", {}, b));
    });
    box.replaceChildren(rows.length ? table([{ label: "Id", num: 1 }, "Beneficiary", { label: "Energy", num: 1 }, "Production hour", "Retired", ""], rows) : empty("No retirements yet."));
  }
  // openStatement shows a retirement's statement, waiting while the
  // index has not reached its block yet (404).
  async function openStatement(id) {
    const card = $("#statement"), body = $("#statement-body");
    card.hidden = false;
    const state = h("p", { class: "state", role: "status" });
    body.replaceChildren(state);
    const fetchIt = async () => {
      for (let i = 0; ; i++) {
        try { return await api("/api/v1/certificates/retirements/" + id); } catch (e) {
          if (e.status !== 404 || i >= 30) throw e;
          await new Promise(r => setTimeout(r, 1000));
        }
      }
    };
    try {
      const st = await progress(state, "Waiting for the chain index…", fetchIt());
      const base = "/api/v1/certificates/retirements/" + id;
      body.replaceChildren(
        h("p", {}, "Retirement ", h("strong", { id: "statement-id" }, String(st.retirement_id)), ` of ${fmtInt.format(st.wh)} Wh for `, h("strong", { id: "statement-beneficiary" }, st.beneficiary)),
        h("dl", { class: "kv" },
          h("dt", {}, "Claim"), h("dd", {}, st.claim || DASH),
          h("dt", {}, "Account"), h("dd", { class: "mono" }, st.account),
          h("dt", {}, "Transaction"), h("dd", { class: "mono" }, `${st.tx} (block ${st.block}, ${utc(st.time)})`),
          h("dt", {}, "Chain, REC contract"), h("dd", { class: "mono" }, `${st.chain_id}, ${st.rec}`),
          h("dt", {}, "Digest"), h("dd", { class: "mono", id: "statement-digest" }, st.digest)),
        table(["Hour", "Zone", { label: "Wh", num: 1 }, "Device key", "Issued in"], st.certificates.map(c =>
          h("tr", {}, td(utc(c.hour_start)), td(c.zone), td(fmtInt.format(c.wh), "num"), td(short(c.device), "mono"), td(short(c.issuance.tx), "mono"))), { caption: "Certificates retired" }),
        h("p", {}, h("a", { href: base + ".html", target: "_blank", rel: "noopener", id: "statement-html" }, "Printable statement (HTML)"), " · ",
          h("a", { href: base + ".pdf", target: "_blank", rel: "noopener", id: "statement-pdf" }, "PDF"), " · ", h("a", { href: base, target: "_blank", rel: "noopener" }, "JSON")),
        h("details", {}, h("summary", {}, "Check it yourself"), h("pre", { class: "canonical" }, st.verify), h("pre", { class: "canonical" }, st.canonical)));
      card.scrollIntoView({ block: "nearest" });
      $("#statement-title").focus?.();
    } catch (e) { state.textContent = "Cannot open the statement: " + e.message; }
  }
  function initBuyer() {
    const tokenVal = f => f.elements.token.value;
    const rf = $("#retire-form");
    form(rf, {
      values: () => ({ token: tokenVal(rf), wh: rf.elements.wh.value.trim(), beneficiary: rf.elements.beneficiary.value.trim(), claim: rf.elements.claim.value }),
      check(v) {
        const bad = {};
        if (!v.token) bad.token = "choose certificates this node's account holds";
        if (!intIn(v.wh, 1, 1e15)) bad.wh = "whole Wh, at least 1";
        if (!v.beneficiary) bad.beneficiary = "name who the energy is retired for";
        else if (new TextEncoder().encode(v.beneficiary).length > 200) bad.beneficiary = "at most 200 bytes";
        return bad;
      },
      async send(v) {
        const r = await api("/api/v1/certificates/retire", { method: "POST", write: true, body: { ...v, wh: Number(v.wh) } });
        const b = h("button", { type: "button", id: "rt-open" }, "Open statement " + r.retirement_id);
        b.addEventListener("click", () => openStatement(r.retirement_id));
        $("#rt-result").replaceChildren(h("p", {}, `Retired as retirement ${r.retirement_id} in tx `, h("span", { class: "mono" }, short(r.tx)), " ", b));
        refreshNow();
        return "Retired.";
      },
      fieldOf: fieldMatcher([[/^token|token id|token:/i, "token"], [/^wh|wh:|too few|insufficient/i, "wh"], [/beneficiary/i, "beneficiary"], [/claim/i, "claim"]]),
      busy: "Retiring on chain…",
    });
    const tf = $("#transfer-form");
    form(tf, {
      values: () => ({ token: tokenVal(tf), wh: tf.elements.wh.value.trim(), to: tf.elements.to.value.trim() }),
      check(v) {
        const bad = {};
        if (!v.token) bad.token = "choose certificates this node's account holds";
        if (!intIn(v.wh, 1, 1e15)) bad.wh = "whole Wh, at least 1";
        if (!/^0x[0-9a-fA-F]{40}$/.test(v.to)) bad.to = "an account address: 0x and 40 hex digits";
        return bad;
      },
      async send(v) {
        const r = await api("/api/v1/certificates/transfer", { method: "POST", write: true, body: { ...v, wh: Number(v.wh) } });
        $("#tr-result").replaceChildren(h("p", {}, "Transferred in tx ", h("span", { class: "mono" }, short(r.tx)), ` (block ${r.block}).`));
        refreshNow();
        return "Transferred.";
      },
      fieldOf: fieldMatcher([[/^to|to:|address/i, "to"], [/^token|token:/i, "token"], [/^wh|wh:|too few|insufficient/i, "wh"]]),
      busy: "Transferring on chain…",
    });
    const mf = $("#matching-form");
    form(mf, {
      values: () => ({ beneficiary: mf.elements.beneficiary.value.trim(), file: mf.elements.file.files[0] }),
      check(v) {
        const bad = {};
        if (!v.beneficiary) bad.beneficiary = "name the beneficiary whose retirements count";
        if (!v.file) bad.file = "choose a CSV: hour_start_utc,consumption_wh";
        else if (v.file.size > 8 << 20) bad.file = "at most 8 MiB";
        return bad;
      },
      async send(v) {
        const body = await v.file.arrayBuffer();
        const r = await api("/api/v1/certificates/matching?beneficiary=" + encodeURIComponent(v.beneficiary), { method: "POST", body, raw: true });
        renderMatching(r);
        return `Matched ${(r.score * 100).toFixed(1)} % hour by hour.`;
      },
      fieldOf: fieldMatcher([[/beneficiary/i, "beneficiary"], [/csv|row|hour|consumption/i, "file"]]),
      busy: "Matching…",
    });
  }
  let lastMatching = null;
  function renderMatching(r) {
    lastMatching = r;
    const hs = r.hours;
    const box = $("#mt-result");
    if (!hs.length) { box.replaceChildren(empty("The file has no hours.")); return; }
    const t = x => x.hour * 3600e3;
    box.replaceChildren(
      h("p", {}, "Score ", h("strong", { id: "mt-score" }, (r.score * 100).toFixed(1) + " %"),
        ` · consumption ${fmtInt.format(r.consumption_wh)} Wh, retired ${fmtInt.format(r.retired_wh)} Wh, matched ${fmtInt.format(r.matched_wh)} Wh` +
        ` · retirements counted: ${r.retirements.length ? r.retirements.join(", ") : "none"}`),
      h("div", { class: "chart", id: "mt-chart" }, chart({ title: "Hourly matching, Wh", desc: `${hs.length} hours from ${hourOf(hs[0].hour)} UTC: each hour's matched energy is capped at its consumption`, box,
        x: { min: t(hs[0]), max: t(hs[hs.length - 1]) + 3600e3, fmt: hhmm, time: true },
        y: { min: 0, max: maxOf(hs.map(x => Math.max(x.consumption_wh, x.retired_wh))) * 1.1, fmt: v => fmtInt.format(v) },
        series: [
          { name: "Consumption", cls: "consumption", kind: "bar", width: 3600e3 * 0.45, offset: 3600e3 * 0.05, points: hs.map(x => [t(x), x.consumption_wh]) },
          { name: "Matched", cls: "matched", kind: "bar", width: 3600e3 * 0.45, offset: 3600e3 * 0.5, points: hs.map(x => [t(x), x.matched_wh]) },
          { name: "Surplus (counts for nothing)", cls: "surplus", kind: "bar", width: 3600e3 * 0.2, offset: 3600e3 * 0.75, points: hs.filter(x => x.surplus_wh).map(x => [t(x), x.surplus_wh]) }] })));
  }

  // ------------------------------------------------------------ homeowner: offer policy form

  // The form edits one device's policy (or the defaults) with
  // PUT /api/v1/market/policy/{device}. It is filled from the policy
  // when the page opens, the device changes or a save returns, not on
  // every refresh, so typing is never overwritten.
  const policyKeys = [["min_price", "#pl-min-price"], ["reserve_soc_pct", "#pl-reserve"], ["departure", "#pl-departure"], ["energy_needed_wh", "#pl-energy"], ["opt_out", "#pl-opt-out"]];
  const sourceText = { "config.defaults": "from market.defaults", "config.device": "from market.devices", "api.defaults": "saved here for every device", "api.device": "saved here", unset: "not set" };
  let policyLoaded = null; // {device, policy, sources} the form shows
  let policyOwn = new Set(); // the home's devices (all when empty)
  function policyOf(p, dev) {
    if (dev === "defaults") return { policy: p.defaults, sources: p.defaults_sources || {} };
    const d = p.devices.find(x => x.device === dev);
    return d ? { policy: d.policy, sources: d.sources || {} } : null;
  }
  function renderPolicyForm(p, own, force) {
    const f = $("#policy-form"), sel = $("#pl-device");
    if (own) policyOwn = own; else own = policyOwn;
    f.hidden = !p;
    if (!p) return;
    const devs = p.devices.filter(d => own.size === 0 || own.has(d.device));
    const opts = [["defaults", "Every device (defaults)"], ...devs.map(d => [d.device, `${d.kind}: ${d.device.split("/").slice(1).join("/")}`])];
    if (sel.options.length !== opts.length || [...sel.options].some((o, i) => o.value !== opts[i][0])) {
      const keep = sel.value;
      sel.replaceChildren(...opts.map(([v, t]) => h("option", { value: v }, t)));
      // A home's battery first: the reserve is what homeowners set most.
      const battery = devs.find(d => d.kind === "battery");
      sel.value = opts.some(o => o[0] === keep) ? keep : battery ? battery.device : "defaults";
    }
    if (!force && policyLoaded && policyLoaded.device === sel.value) return;
    const cur = policyOf(p, sel.value);
    if (!cur) return;
    policyLoaded = { device: sel.value, ...cur };
    for (const [k, q] of policyKeys) {
      const el = $(q), v = cur.policy[k];
      if (k === "opt_out") el.checked = !!v;
      else el.value = v === 0 || v === "" || v === undefined ? "" : String(v);
      $(q + "-src").textContent = sourceText[cur.sources[k]] || "";
    }
  }
  function initPolicyForm() {
    const f = $("#policy-form");
    f.hidden = true;
    $("#pl-device").addEventListener("change", () => { policyLoaded = null; if (policyCache) renderPolicyForm(policyCache); });
    form(f, {
      values: () => {
        const v = { device: $("#pl-device").value };
        for (const [k, q] of policyKeys) v[k] = k === "opt_out" ? $(q).checked : $(q).value.trim();
        return v;
      },
      check(v) {
        const bad = {};
        if (!v.device) bad.device = "choose a device";
        if (v.min_price !== "" && !intIn(v.min_price, 0, 1e15)) bad.min_price = "whole µFLEX per kWh, 0 or more";
        if (v.reserve_soc_pct !== "" && !/^\d+(\.\d+)?$/.test(v.reserve_soc_pct)) bad.reserve_soc_pct = "a percentage, e.g. 30";
        if (v.departure !== "" && !/^\d\d:\d\d$/.test(v.departure)) bad.departure = "HH:MM in UTC, e.g. 07:30";
        if (v.energy_needed_wh !== "" && !intIn(v.energy_needed_wh, 0, 1e12)) bad.energy_needed_wh = "whole Wh, 0 or more";
        return bad;
      },
      async send(v) {
        // Only what the homeowner changed or saved before is sent: the
        // rest keeps following the configuration.
        const was = policyLoaded || { policy: {}, sources: {} }, body = {};
        for (const [k] of policyKeys) {
          const old = was.policy[k], saved = was.sources[k] === (v.device === "defaults" ? "api.defaults" : "api.device");
          let val = v[k];
          if (k === "opt_out") { if (saved || val !== !!old) body[k] = val; continue; }
          if (val === "") continue;
          val = k === "departure" ? val : Number(val);
          if (saved || String(val) !== String(old === 0 ? "" : old)) body[k] = val;
        }
        const p = await api("/api/v1/market/policy/" + v.device, { method: "PUT", write: true, body });
        policyCache = p;
        renderPolicyForm(p, null, true);
        refreshNow();
        const n = Object.keys(body).length;
        return n ? `Saved ${n} value${n === 1 ? "" : "s"}: offers follow from now on.` : "Saved: this device follows the configuration.";
      },
      fieldOf: msg => { const m = /^(min_price|reserve_soc_pct|max_soc_pct|departure|energy_needed_wh|opt_out)\b/.exec(msg); return m ? (m[1] === "max_soc_pct" ? "reserve_soc_pct" : m[1]) : null; },
      busy: "Saving…",
    });
    $("#pl-reset").addEventListener("click", async () => {
      const st = $("#policy-form .actions .state"), dev = $("#pl-device").value;
      try {
        const p = await progress(st, "Saving…", api("/api/v1/market/policy/" + dev, { method: "PUT", write: true, body: {} }));
        policyCache = p;
        renderPolicyForm(p, null, true);
        st.textContent = "Back to the configuration's policy.";
        refreshNow();
      } catch (e) { st.textContent = e.message; }
    });
  }

  // ------------------------------------------------------------ utility: reserve

  // flexBalance is the node's FLEX, base units (null: unknown).
  let flexBalance = null;
  async function loadFlexBalance() {
    if (!node) return;
    const b = await maybe("/api/v1/chain/balances/" + node.address).catch(() => null);
    flexBalance = b ? b.flex_base_units : null;
    $("#ut-balance").textContent = b ? `This node's account ${b.account} holds ${flex(b.flex_base_units)} to reserve with.` : "This node has no chain: it cannot reserve.";
  }
  // reserving is what the page knows of each reserve it asked for:
  // {busy} while the transaction confirms, {tx} after, {error, body}.
  const reserving = new Map();
  function reservable(ev) {
    const c = ev.clearing;
    return node && ev.buyer.toLowerCase() === node.address.toLowerCase() && c && c.awards.length > 0 && c.value !== "0" && !ev.reservation &&
      !ev.log.some(l => l.step === "reserve_sent") && (ev.state === "cleared" || ev.state === "agreed") && Date.parse(ev.request.window_start) > nodeNow();
  }
  // reserveControl is the Reserve button of an own cleared request, its
  // progress, the transaction, or why it was refused; null when there is
  // nothing to do.
  function reserveControl(ev, where) {
    const r = reserving.get(ev.request_id) || {};
    if (r.busy) return h("span", { class: "state", role: "status", "data-reserve": "busy" }, h("span", { class: "spinner", "aria-hidden": "true" }), " Reserving: waiting for the transaction…");
    if (r.tx && !ev.reservation) return h("span", { class: "state", "data-reserve": "sent" }, " Sent in tx ", h("span", { class: "mono" }, short(r.tx)), ": waiting for the chain index…");
    const err = r.error ? h("span", { class: "field-error", "data-reserve": "error", role: "alert" }, " " + reserveErrorText(r)) : null;
    if (!reservable(ev)) return r.tx ? h("span", { class: "hint" }, " tx ", h("span", { class: "mono" }, short(r.tx))) : err;
    const b = h("button", { type: "button", "data-reserve-id": ev.request_id, "data-where": where, "aria-label": `Reserve ${flex(ev.clearing.value)} for request ${ev.request_id.slice(0, 10)}` }, "Reserve " + flex(ev.clearing.value));
    b.addEventListener("click", () => reserveEvent(ev.request_id));
    return h("span", { class: "reserve" }, " ", b, err);
  }
  function reserveErrorText(r) {
    const b = r.body || {};
    if (b.reason === "insufficient_flex") return `Not enough FLEX: this node holds ${flex(b.balance)}, the cleared value is ${flex(b.needed)}.`;
    return r.error + (b.reason ? ` (${b.reason})` : "");
  }
  async function reserveEvent(id) {
    reserving.set(id, { busy: true });
    await redrawReserve(id);
    try {
      const r = await api(`/api/v1/market/events/${id}/reserve`, { method: "POST", write: true });
      reserving.set(id, { tx: r.tx });
    } catch (e) {
      reserving.set(id, { error: e.message, body: e.body });
      if (e.status === 401) { $("#token-error").textContent = e.message; $("#token").setAttribute("aria-invalid", "true"); }
    }
    await loadFlexBalance().catch(() => {});
    await redrawReserve(id);
  }
  // redrawReserve draws the request's row and open event again at once.
  async function redrawReserve(id) {
    try {
      const ev = await api("/api/v1/market/events/" + id);
      const cell = $(`#ut-events tr[data-request="${CSS.escape(id)}"] .reservation`);
      if (cell) cell.replaceChildren(reservationText(ev), reserveControl(ev, "row") || "");
      if (utility.selected === id && !$("#ut-event").hidden) await renderEvent(id);
    } catch (e) { /* the next refresh draws it */ }
  }

  // ------------------------------------------------------------ buyer: supply audit

  let auditTimer = null;
  async function refreshAudit(again) {
    const st = $("#audit-state");
    const v = await maybe("/api/v1/audit" + (again ? "?refresh=1" : ""));
    if (!v) { st.textContent = "This node has no chain to audit."; $("#audit-run").hidden = true; return; }
    $("#audit-run").disabled = v.running;
    if (v.running) {
      st.replaceChildren(h("span", { class: "spinner", "aria-hidden": "true" }), ` Auditing every event since the contracts' deployment… ${(v.running_for_ms / 1000).toFixed(0)} s`);
      clearTimeout(auditTimer);
      auditTimer = setTimeout(() => { if (current === "buyer") refreshAudit(false).catch(() => {}); }, 1000);
    } else st.textContent = v.finished ? `Audited in ${(v.duration_ms / 1000).toFixed(1)} s at ${new Date(v.finished).toLocaleTimeString()}.` : "";
    if (v.state === "failed") { $("#audit-result").replaceChildren(h("p", { class: "form-error" }, "The audit could not run: " + v.error)); return; }
    if (v.report) renderAudit(v);
  }
  function renderAudit(v) {
    const r = v.report, f = r.flex;
    const checks = v.checks.map(c => h("tr", { "data-check": c.id, class: c.pass ? "pass" : "fail" },
      td(c.name), h("td", {}, pill(c.pass ? "pass" : "fail", c.pass ? "good" : "bad")), td(fmtInt.format(c.count), "num"),
      h("td", {}, c.detail, (c.differences || []).length ? h("ul", { class: "differences" }, c.differences.map(d => h("li", {}, d.message ? `${d.what}: ${d.message}` : `${d.what}: chain events ${d.got}, expected ${d.want}`))) : null)));
    const whs = x => fmtInt.format(Number(x)) + " Wh";
    const recs = (r.rec || []).map((s, i) => {
      const t = (v.tokens || [])[i] || {};
      return h("tr", { "data-token": t.id }, td(`${t.zone || "?"} ${t.technology_name || ""} ${t.hour ? utc(t.hour) : ""}`), td(whs(s.minted), "num"), td(whs(s.retired), "num"), td(whs(s.supply), "num"), td(whs(s.on_chain), "num"));
    });
    $("#audit-result").replaceChildren(
      h("p", { id: "audit-summary" }, v.clean ? pill("clean", "good") : pill(`${r.differences.length} difference${r.differences.length === 1 ? "" : "s"}`, "bad"),
        ` Audited up to block ${r.block.number}: ${v.checks.filter(c => c.pass).length} of ${v.checks.length} checks pass.`),
      table(["Check", "Result", { label: "Checked", num: 1 }, "Figures"], checks, { caption: "Checks" }),
      h("dl", { class: "figures", id: "audit-flex" },
        h("div", {}, h("dt", {}, "FLEX minted (rewards)"), h("dd", {}, flex(f.minted))),
        h("div", {}, h("dt", {}, "FLEX reserved (burned)"), h("dd", {}, flex(f.reserved))),
        h("div", {}, h("dt", {}, "FLEX slashed (burned)"), h("dd", {}, flex(f.slashed))),
        h("div", {}, h("dt", {}, "FLEX supply"), h("dd", { title: "totalSupply " + flex(f.on_chain) }, flex(f.supply))),
        h("div", {}, h("dt", {}, "REC issued in attested batches"), h("dd", {}, whs(r.rec_issued)))),
      recs.length ? table(["REC token (zone, technology, hour)", { label: "Issued", num: 1 }, { label: "Retired", num: 1 }, { label: "Supply", num: 1 }, { label: "totalSupply", num: 1 }], recs, { caption: "REC supply by token: issued − retired" }) : empty("No certificates issued yet."));
  }
  function initAudit() {
    $("#audit-run").addEventListener("click", () => { refreshAudit(true).catch(e => { $("#audit-state").textContent = "Cannot audit: " + e.message; }); });
  }

  // ------------------------------------------------------------ routing

  const views = { node: overview, home, utility, buyer };
  const periods = { node: 2000, home: 3000, utility: 3000, buyer: 5000 };
  let current = null, timer = null, running = false;
  async function refreshNow() {
    if (running || !current) return;
    running = true;
    const v = views[current];
    try { await v.refresh(); } catch (e) { v.failed(e); } finally { running = false; }
    // Tests wait on this count: a view drawn after a change of width.
    document.documentElement.dataset.renders = String(Number(document.documentElement.dataset.renders || 0) + 1);
  }
  function route() {
    const name = (location.hash.replace(/^#\/?/, "") || "node").split("/")[0];
    const next = views[name] ? name : "node";
    for (const sec of document.querySelectorAll("[data-view]")) sec.hidden = sec.dataset.view !== next;
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a.dataset.nav === next) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    const changed = current !== null && current !== next;
    current = next;
    clearInterval(timer);
    // The overview's first refresh waits a period: the server rendered it.
    if (next !== "node" || changed) refreshNow();
    timer = setInterval(refreshNow, periods[next]);
    if (changed) $("#main").focus();
  }
  initToken();
  initUtility();
  initBuyer();
  initPolicyForm();
  initAudit();
  $("#home-site").addEventListener("change", () => { samples.length = 0; home.site = $("#home-site").value; refreshNow(); });
  window.addEventListener("hashchange", route);
  // Charts are drawn at their width: draw them again after a resize.
  let resized = null;
  window.addEventListener("resize", () => { clearTimeout(resized); resized = setTimeout(refreshNow, 150); });
  route();
  document.documentElement.dataset.app = "ready";
})();
