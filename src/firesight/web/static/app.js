// firesight dashboard: vanilla JavaScript, no external resources.
// State comes from GET /api/state, live updates from the server-sent events of /api/events.
"use strict";

const S = { devices: new Map(), selected: null, model: {}, alerts: { open: [], history: [] }, user: null };
const key = (site, thing) => site + "/" + thing;
const $ = (id) => document.getElementById(id);
let redrawPending = false;
let alertsTimer = null;
// Device Defender's conditions are "defender:BEHAVIOUR" (firesight.agents.defender_agent.CONDITION_PREFIX)
const DEFENDER_PREFIX = "defender:";

// ---- colour map (an "iron" palette: black, blue, magenta, orange, yellow, white) ----------
const STOPS = [[0, [0, 0, 0]], [0.2, [32, 0, 140]], [0.4, [160, 0, 160]], [0.6, [235, 80, 20]],
               [0.8, [255, 200, 0]], [1, [255, 255, 255]]];
const LUT = new Uint8ClampedArray(256 * 3);
for (let i = 0; i < 256; i++) {
  const x = i / 255;
  let j = 0;
  while (j < STOPS.length - 2 && x > STOPS[j + 1][0]) j++;
  const [x0, c0] = STOPS[j], [x1, c1] = STOPS[j + 1];
  const f = (x - x0) / (x1 - x0);
  for (let k = 0; k < 3; k++) LUT[i * 3 + k] = c0[k] + f * (c1[k] - c0[k]);
}

function fmtTime(ms) { return ms ? new Date(ms).toLocaleTimeString() : "—"; }
function text(tag, content, cls) {
  const el = document.createElement(tag);
  el.textContent = content;
  if (cls) el.className = cls;
  return el;
}

function device(site, thing) {
  const k = key(site, thing);
  if (!S.devices.has(k)) S.devices.set(k, { site, thing, state: "unknown", health: {}, frame: null, scd41: [], probability: [], level: null, last_seen_ms: 0 });
  return S.devices.get(k);
}

function merge(summary) {
  const d = device(summary.site, summary.thing);
  Object.assign(d, { state: summary.state, health: summary.health || {}, level: summary.level, last_seen_ms: summary.last_seen_ms });
  return d;
}

// ---- drawing -----------------------------------------------------------------------------
function drawHeat(frame) {
  const canvas = $("heat"), ctx = canvas.getContext("2d");
  ctx.fillStyle = "#0c1015";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!frame) { drawColorbar(null, null); return; }
  const raw = atob(frame.pixels);
  const n = frame.width * frame.height;
  const temps = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = raw.charCodeAt(2 * i) | (raw.charCodeAt(2 * i + 1) << 8);  // little-endian uint16 TLinear
    temps[i] = v * frame.resolution_k + frame.offset_c;
  }
  let lo = frame.min_c, hi = frame.max_c;
  if (hi - lo < 5) { const mid = (hi + lo) / 2; lo = mid - 2.5; hi = mid + 2.5; }
  const img = new ImageData(frame.width, frame.height);
  for (let i = 0; i < n; i++) {
    const c = Math.max(0, Math.min(255, Math.round((temps[i] - lo) / (hi - lo) * 255)));
    img.data[4 * i] = LUT[3 * c]; img.data[4 * i + 1] = LUT[3 * c + 1]; img.data[4 * i + 2] = LUT[3 * c + 2]; img.data[4 * i + 3] = 255;
  }
  const off = document.createElement("canvas");
  off.width = frame.width; off.height = frame.height;
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
  $("frame-info").textContent = `${frame.width}×${frame.height} at ${fmtTime(frame.ts_ms)}, ${frame.min_c.toFixed(1)}–${frame.max_c.toFixed(1)} °C`;
  drawColorbar(lo, hi);
}

function drawColorbar(lo, hi) {
  const canvas = $("colorbar"), ctx = canvas.getContext("2d");
  const top = 14, bottom = canvas.height - 14, w = 18;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  for (let y = top; y <= bottom; y++) {
    const c = Math.round((bottom - y) / (bottom - top) * 255);
    ctx.fillStyle = `rgb(${LUT[3 * c]},${LUT[3 * c + 1]},${LUT[3 * c + 2]})`;
    ctx.fillRect(4, y, w, 1);
  }
  ctx.fillStyle = "#cfd8e3";
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillText("°C", 4, 10);
  if (lo === null) return;
  for (let i = 0; i <= 4; i++) {
    const v = lo + (hi - lo) * i / 4, y = bottom - (bottom - top) * i / 4;
    ctx.fillRect(4 + w, y, 4, 1);
    ctx.fillText(v.toFixed(1), 4 + w + 6, y + 4);
  }
}

function drawChart(canvas, points, field, opts) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  const L = 52, R = 10, T = 18, B = 20;
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = "#cfd8e3";
  ctx.font = "12px system-ui, sans-serif";
  const vals = points.filter((p) => p[field] !== null && p[field] !== undefined);
  canvas.dataset.points = String(vals.length);
  const last = vals.length ? vals[vals.length - 1][field] : null;
  ctx.fillText(`${opts.label} [${opts.unit}]` + (last === null ? "" : `  ${last.toFixed(opts.digits)}`), L, 12);
  if (vals.length === 0) { ctx.fillStyle = "#78909c"; ctx.fillText("no data yet", L, H / 2); return; }
  let lo = opts.min !== undefined ? opts.min : Math.min(...vals.map((p) => p[field]));
  let hi = opts.max !== undefined ? opts.max : Math.max(...vals.map((p) => p[field]));
  if (hi - lo < opts.span) { const m = (hi + lo) / 2; lo = m - opts.span / 2; hi = m + opts.span / 2; }
  const t0 = vals[0].ts_ms, t1 = Math.max(vals[vals.length - 1].ts_ms, t0 + 1);
  const X = (t) => L + (W - L - R) * (t - t0) / (t1 - t0);
  const Y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  ctx.strokeStyle = "#2b3440";
  ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, H - B); ctx.lineTo(W - R, H - B); ctx.stroke();
  ctx.fillStyle = "#9aa7b8";
  ctx.font = "10px system-ui, sans-serif";
  for (let i = 0; i <= 2; i++) { const v = lo + (hi - lo) * i / 2; ctx.fillText(v.toFixed(opts.digits), 4, Y(v) + 3); }
  ctx.fillText(fmtTime(t0), L, H - 5);
  ctx.fillText(fmtTime(t1), W - R - 60, H - 5);
  for (const th of opts.thresholds || []) {
    ctx.strokeStyle = th.color; ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(L, Y(th.value)); ctx.lineTo(W - R, Y(th.value)); ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.strokeStyle = opts.color; ctx.lineWidth = 1.5;
  ctx.beginPath();
  vals.forEach((p, i) => { const x = X(p.ts_ms), y = Y(p[field]); if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y); });
  ctx.stroke();
  ctx.lineWidth = 1;
}

function renderDevices() {
  const box = $("devices");
  box.textContent = "";
  if (S.devices.size === 0) { box.appendChild(text("p", "No device has reported yet.", "empty")); return; }
  const sites = new Map();
  for (const d of S.devices.values()) { if (!sites.has(d.site)) sites.set(d.site, []); sites.get(d.site).push(d); }
  for (const [site, list] of [...sites.entries()].sort()) {
    const div = document.createElement("div");
    div.className = "site";
    div.appendChild(text("h3", site));
    for (const d of list.sort((a, b) => a.thing.localeCompare(b.thing))) {
      const b = document.createElement("button");
      b.className = "device" + (S.selected === key(d.site, d.thing) ? " selected" : "");
      b.dataset.testid = "device-" + d.thing;
      b.setAttribute("data-testid", "device-" + d.thing);
      b.appendChild(text("b", d.thing));
      b.appendChild(text("span", d.state, "badge state-" + d.state));
      if (d.level) b.appendChild(text("span", d.level, "badge level-" + d.level));
      const conds = (d.health.conditions || []).concat((d.health.violations || []).map((v) => DEFENDER_PREFIX + v));
      if (conds.length) b.appendChild(text("div", conds.join(", "), "health"));
      b.appendChild(text("div", "seen " + fmtTime(d.last_seen_ms), "meta"));
      b.addEventListener("click", () => { S.selected = key(d.site, d.thing); scheduleRedraw(); });
      div.appendChild(b);
    }
    box.appendChild(div);
  }
}

function renderDetail() {
  const d = S.selected ? S.devices.get(S.selected) : null;
  $("dev-title").textContent = d ? `${d.site} / ${d.thing}` : "Select a device";
  const conds = d ? (d.health.conditions || []).concat((d.health.violations || []).map((v) => "Device Defender: " + v)) : [];
  $("dev-health").textContent = d && (conds.length || d.state === "degraded" || d.state === "offline") ? `${d.state}${conds.length ? ": " + conds.join(", ") : ""}` : "";
  drawHeat(d ? d.frame : null);
  const sc = d ? d.scd41 : [], pr = d ? d.probability : [];
  drawChart($("chart-p"), pr, "probability", { label: "fire probability", unit: "-", color: "#ff7043", digits: 2, min: 0, max: 1, span: 1,
    thresholds: [{ value: 0.8, color: "#e53935" }, { value: 0.3, color: "#fb8c00" }] });
  drawChart($("chart-co2"), sc, "co2_ppm", { label: "CO2", unit: "ppm", color: "#80cbc4", digits: 0, span: 100 });
  drawChart($("chart-t"), sc, "temperature_c", { label: "temperature", unit: "°C", color: "#ef9a9a", digits: 1, span: 2 });
  drawChart($("chart-rh"), sc, "humidity_rh", { label: "relative humidity", unit: "%", color: "#90caf9", digits: 1, span: 5 });
}

function renderAlerts() {
  const ul = $("active");
  ul.textContent = "";
  if (S.alerts.open.length === 0) ul.appendChild(text("li", "none", "empty"));
  for (const a of S.alerts.open) {
    const li = document.createElement("li");
    li.className = "sig-" + a.signal;
    li.setAttribute("data-testid", "alert-" + a.alert_id);
    li.dataset.state = a.state;
    const p = a.probability === null || a.probability === undefined ? "" : ` p=${a.probability.toFixed(2)}`;
    li.appendChild(text("b", `${a.signal.toUpperCase()} ${a.level}`));
    li.appendChild(text("div", `${a.site} / ${a.thing}${p}`));
    li.appendChild(text("div", `opened ${fmtTime(a.opened_s * 1000)} · ${a.state}` + (a.acknowledged_by ? ` by ${a.acknowledged_by}` : ""), "meta alert-state"));
    if (a.state === "active" || a.state === "cleared") {
      const b = text("button", "Acknowledge", "ack");
      b.addEventListener("click", () => changeAlert(a.alert_id, "acknowledge"));
      li.appendChild(b);
    }
    const r = text("button", "Resolve", "resolve");
    r.addEventListener("click", () => changeAlert(a.alert_id, "resolve"));
    li.appendChild(r);
    ul.appendChild(li);
  }
  const body = $("history").querySelector("tbody");
  body.textContent = "";
  for (const a of S.alerts.history.slice(0, 50)) {
    const tr = document.createElement("tr");
    for (const v of [fmtTime(a.opened_s * 1000), a.thing, `${a.signal} ${a.level}`, a.state, a.resolved_by || a.acknowledged_by || ""]) tr.appendChild(text("td", v));
    body.appendChild(tr);
  }
}

function renderModel() {
  const m = S.model || {};
  $("model").textContent = m.version ? `${m.version} (${m.source || "registry"})` : (m.source || m.name || "—");
}

function redraw() { redrawPending = false; renderDevices(); renderDetail(); renderAlerts(); renderModel(); }
function scheduleRedraw() { if (!redrawPending) { redrawPending = true; requestAnimationFrame(redraw); } }

function logEvent(line) {
  const ol = $("events");
  ol.insertBefore(text("li", `${new Date().toLocaleTimeString()} ${line}`), ol.firstChild);
  while (ol.children.length > 100) ol.removeChild(ol.lastChild);
}

// ---- server ------------------------------------------------------------------------------
async function loadAlerts() {
  const r = await fetch("/api/alerts", { credentials: "same-origin" });
  if (r.ok) { S.alerts = await r.json(); scheduleRedraw(); }
}
function refreshAlertsSoon() { clearTimeout(alertsTimer); alertsTimer = setTimeout(loadAlerts, 150); }

async function changeAlert(id, action) {
  const r = await fetch(`/api/alerts/${encodeURIComponent(id)}/${action}`, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Firesight-Request": "1" }, body: "{}" });
  if (!r.ok) { logEvent(`${action} failed: ${r.status}`); return; }
  logEvent(`${action}d ${id}`);
  await loadAlerts();
}

async function start() {
  const r = await fetch("/api/state", { credentials: "same-origin" });
  if (!r.ok) { window.location.href = "/login"; return; }
  const st = await r.json();
  for (const d of st.devices) Object.assign(device(d.site, d.thing), d);
  S.model = st.model; S.alerts = st.alerts; S.user = st.user;
  $("user").textContent = `${st.user.name} (${st.user.role})`;
  if (!S.selected && st.devices.length) S.selected = key(st.devices[0].site, st.devices[0].thing);
  for (const e of st.events.slice(-20)) logEvent(`${e.signal} ${e.state} ${e.level} ${e.thing}`);
  scheduleRedraw();

  const es = new EventSource("/api/events");
  es.onopen = () => { $("conn").textContent = "live"; $("conn").className = "conn-on"; };
  es.onerror = () => { $("conn").textContent = "reconnecting"; $("conn").className = "conn-off"; };
  const on = (type, fn) => es.addEventListener(type, (ev) => { fn(JSON.parse(ev.data)); scheduleRedraw(); });
  on("scd41", (m) => { const d = merge(m.device); d.scd41.push(m.point); if (d.scd41.length > 720) d.scd41.shift(); if (!S.selected) S.selected = key(m.site, m.thing); });
  on("thermal", (m) => { const d = merge(m.device); d.frame = m.frame; if (!S.selected) S.selected = key(m.site, m.thing); });
  on("probability", (m) => { const d = merge(m.device); d.probability.push(m.point); if (d.probability.length > 720) d.probability.shift(); });
  on("device", (m) => { merge(m.device); });
  on("model", (m) => { S.model = m.model; });
  on("alert", (m) => {
    if (m.event) {
      const e = m.event;
      logEvent(`${e.signal} ${e.state} ${e.level} ${e.site}/${e.thing}`);
      if (e.signal === "alarm" || e.signal === "watch") { const d = device(e.site, e.thing); if (e.state === "active") d.level = e.level; }
      if ((e.signal === "trouble" || e.signal === "supervisory") && e.thing) {
        // Device Defender's conditions are the device's violations (the behaviour names)
        const defender = e.level.startsWith(DEFENDER_PREFIX);
        const field = defender ? "violations" : "conditions", name = defender ? e.level.slice(DEFENDER_PREFIX.length) : e.level;
        const d = device(e.site, e.thing), c = new Set(d.health[field] || []);
        if (e.state === "active") c.add(name); else c.delete(name);
        d.health[field] = [...c];
      }
    } else if (m.change) {
      logEvent(`alert ${m.change.alert_id} ${m.change.state} by ${m.change.by}`);
    }
    refreshAlertsSoon();
  });
}

start();
