// The Settings window: reads and saves settings through codexia's page commands.
"use strict";

// Every page command goes through codexia's one Tauri command, `page` (the commands are listed
// in src-tauri/tray/ipc.rs, `PageCommand`).
const invoke = (command, args) => window.__TAURI__.core.invoke("page", { request: { command, args } });
const $ = (id) => document.getElementById(id);

function showMessage(text, kind) {
  const el = $("message");
  el.textContent = text;
  el.className = kind === "error" ? "danger" : kind === "ok" ? "ok" : "muted";
}

function setGateway(url, attached) {
  const pill = $("gateway-pill");
  if (url) {
    pill.className = "pill ok";
    $("gateway-text").textContent = `${url} · ${attached ? "daemon" : "running"}`;
  } else {
    pill.className = "pill warn";
    $("gateway-text").textContent = "Gateway not running";
  }
}

async function load() {
  const s = await invoke("get_settings");
  $("host").value = s.host;
  $("port").value = s.port;
  $("api-key").value = s.api_key || "";
  $("models").value = s.models;
  $("extra-models").value = s.extra_models;
  $("fallback").value = s.model_fallback;
  $("aliases").value = s.model_aliases;
  $("proxy").value = s.proxy;
  $("autostart").checked = s.autostart;
  $("capture").checked = s.capture;
  $("capture-dir").textContent = s.capture_dir;
  $("credentials").textContent = s.credentials;
  $("config-file").textContent = s.config_file;
  $("version").textContent = s.version;
  setGateway(s.gateway_url, s.attached);
  gatewayUrl = s.gateway_url;
}

// --- Requests page: the gateway's captures (docs/inspector.md) -------------------------------

let gatewayUrl = null;
let shownRequest = null;
let shownListKey = null;

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function emptyRow(text, columns) {
  const tr = document.createElement("tr");
  const td = cell(text, "muted");
  td.colSpan = columns;
  tr.append(td);
  return tr;
}

function tokensText(t) {
  if (!t) return "";
  return `${shortTokens(t.input)} in (${shortTokens(t.cached)} cached) · ${shortTokens(t.output)} out`;
}

function timeOf(at) {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? at : date.toLocaleTimeString();
}

async function loadRequests() {
  const body = $("requests");
  let list;
  try {
    list = await invoke("requests", { last: 100 });
  } catch (err) {
    body.dataset.filled = "0";
    body.replaceChildren(emptyRow(err && err.message ? err.message : String(err), 7));
    return;
  }
  // The list is refreshed every few seconds: rows are rebuilt only when something changed, so
  // a row being clicked is not replaced under the pointer.
  const key = JSON.stringify(list.data.map((r) => [r.id, r.state, r.status, r.duration_ms]));
  if (key === shownListKey && body.dataset.filled === "1") return;
  shownListKey = key;
  body.dataset.filled = "1";
  const memory = list.memory || {};
  $("requests-memory").textContent = memory.budget_bytes
    ? `${shortTokens(memory.bytes)}B of ${shortTokens(memory.budget_bytes)}B kept${memory.dropped ? `, ${memory.dropped} dropped` : ""}`
    : "Capture is off (inspector_memory_mb = 0)";
  body.replaceChildren();
  if (list.data.length === 0) {
    body.append(emptyRow("No requests yet.", 7));
    return;
  }
  for (const r of list.data) {
    const tr = document.createElement("tr");
    tr.dataset.id = r.id;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link";
    open.textContent = timeOf(r.at);
    open.title = `Show ${r.id}: both sides and the events`;
    const first = document.createElement("td");
    first.append(open);
    tr.append(
      first,
      cell(r.client_version ? `${r.client} ${r.client_version}` : r.client),
      cell(r.route),
      cell(r.model || r.model_asked || ""),
      cell(r.status === null ? r.state.replaceAll("_", " ") : r.status),
      cell(r.duration_ms === null ? "" : `${r.duration_ms} ms`),
      cell(tokensText(r.tokens)),
    );
    if (r.state === "error" || (r.status !== null && r.status >= 400)) tr.classList.add("danger");
    body.append(tr);
  }
}

function showList() {
  $("request-detail").hidden = true;
  $("requests-list").hidden = false;
  $("curl").hidden = true;
}

function pre(text, className) {
  const el = document.createElement("pre");
  el.textContent = text;
  if (className) el.className = className;
  return el;
}

function bodyText(body) {
  if (body === null || body === undefined) return "";
  return typeof body === "string" ? body : JSON.stringify(body, null, 2);
}

// One side: the request line, its headers, its body.
function side(message, title) {
  const box = document.createElement("div");
  box.className = "stack";
  if (!message) {
    box.append(pre("Not sent: the request was answered before it reached ChatGPT.", "muted"));
    return box;
  }
  const line = document.createElement("div");
  line.className = "request-line";
  line.textContent = `${message.method || ""} ${message.url || ""}`.trim() || title;
  box.append(line);
  box.append(pre(message.headers.map(([n, v]) => `${n}: ${v}`).join("\n"), "headers"));
  const body = bodyText(message.body);
  box.append(pre(body || "(no body)", "body"));
  if (message.truncated) box.append(pre(`Cut to fit the capture budget (${message.body_bytes} bytes in all).`, "muted"));
  return box;
}

function eventText(e) {
  if (e.comment) return `: ${bodyText(e.data)}`;
  const data = e.data === null || e.data === undefined ? "" : typeof e.data === "string" ? e.data : JSON.stringify(e.data);
  const short = data.length > 120 ? `${data.slice(0, 120)}…` : data;
  return e.event ? `${e.event}  ${short}` : short;
}

async function openRequest(id) {
  try {
    showRequest(await invoke("request_detail", { id }));
  } catch (err) {
    $("requests-memory").textContent = `${id}: ${err && err.message ? err.message : String(err)}`;
  }
}

function showRequest(detail) {
  shownRequest = detail;
  $("requests-list").hidden = true;
  $("request-detail").hidden = false;
  $("curl").hidden = true;
  $("replay-result").hidden = true;
  const parts = [
    `${detail.id} · ${timeOf(detail.at)} · ${detail.client}${detail.client_version ? ` ${detail.client_version}` : ""}`,
    `${detail.route} · ${detail.model_asked || ""}${detail.model && detail.model !== detail.model_asked ? ` → ${detail.model}` : ""}`,
    `status ${detail.status === null ? "—" : detail.status} (${detail.state.replaceAll("_", " ")})`,
    detail.duration_ms === null ? "" : `${detail.duration_ms} ms`,
    detail.first_content_ms === null ? "" : `first content ${detail.first_content_ms} ms`,
    tokensText(detail.tokens),
  ].filter(Boolean);
  const summary = $("detail-summary");
  summary.replaceChildren(document.createTextNode(parts.join(" · ")));
  if (detail.error) {
    const error = document.createElement("div");
    error.className = "danger";
    error.textContent = `${detail.error.kind}: ${detail.error.message}`;
    summary.append(error);
  }
  const client = side(detail.client_request, "client request");
  const answer = detail.client_response;
  if (answer && answer.body !== null && answer.body !== undefined) {
    client.append(pre(`Answer ${answer.status || ""}\n${bodyText(answer.body)}`, "body"));
  }
  $("client-side").replaceChildren(client);
  const upstream = side(detail.upstream_request, "backend request");
  if (detail.upstream_status !== null) {
    upstream.append(pre(`ChatGPT answered ${detail.upstream_status}`, "muted"));
  }
  $("upstream-side").replaceChildren(upstream);

  // Both streams on one clock: a row per arrival, in the column of its side.
  const events = [
    ...detail.upstream_events.map((e) => ({ ...e, lane: 0 })),
    ...detail.client_events.map((e) => ({ ...e, lane: 1 })),
  ].sort((a, b) => a.ms - b.ms || a.lane - b.lane);
  // The request opens at its top, wherever the list was scrolled to.
  $("requests-page").scrollIntoView({ block: "start" });
  const timeline = $("timeline");
  timeline.replaceChildren();
  if (events.length === 0) timeline.append(emptyRow("No events (the answer was not streamed).", 3));
  for (const e of events) {
    const tr = document.createElement("tr");
    tr.className = e.lane === 0 ? "from-upstream" : "to-client";
    tr.append(cell(e.ms), cell(e.lane === 0 ? eventText(e) : ""), cell(e.lane === 1 ? eventText(e) : ""));
    timeline.append(tr);
  }
}

// A shell-quoted curl of the client's request against this gateway. Secret headers were
// redacted when captured: the key comes from $CODEXIA_API_KEY instead.
function curlOf(request, base) {
  const quote = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`;
  const skip = new Set(["host", "content-length", "connection", "accept-encoding", "transfer-encoding"]);
  const lines = [`curl -X ${request.method || "POST"} ${quote(`${base || "http://127.0.0.1:14550"}${request.url || ""}`)}`];
  for (const [name, value] of request.headers) {
    const lower = name.toLowerCase();
    if (skip.has(lower)) continue;
    if (value.includes("[redacted")) {
      if (lower === "authorization") lines.push(`-H "authorization: Bearer $CODEXIA_API_KEY"`);
      else if (lower === "x-api-key") lines.push(`-H "x-api-key: $CODEXIA_API_KEY"`);
      continue;
    }
    lines.push(`-H ${quote(`${name}: ${value}`)}`);
  }
  const body = bodyText(request.body);
  if (body) lines.push(`--data-raw ${quote(typeof request.body === "string" ? request.body : JSON.stringify(request.body))}`);
  return lines.join(" \\\n  ");
}

// One listener for every row, present and future.
$("requests").addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-id]");
  if (row) openRequest(row.dataset.id);
});

$("back-to-requests").addEventListener("click", showList);

// "Replay": the request through the gateway again; the backend requests compared field by field.
$("replay").addEventListener("click", async () => {
  if (!shownRequest) return;
  const result = $("replay-result");
  $("replay").disabled = true;
  result.hidden = false;
  result.className = "small muted";
  result.textContent = `Replaying ${shownRequest.id}…`;
  try {
    const r = await invoke("replay_request", { id: shownRequest.id });
    const head = `Replayed as ${r.replay} (status ${r.status}): `;
    if (r.problem) {
      result.className = "small danger";
      result.textContent = head + r.problem;
    } else if (r.identical) {
      result.className = "small ok";
      result.textContent = `${head}identical`;
    } else {
      result.className = "small";
      result.replaceChildren(document.createTextNode(`${head}${r.changes.length} changed in the request to ChatGPT:`),
        pre(r.changes.join("\n"), "changes"));
    }
  } catch (err) {
    result.className = "small danger";
    result.textContent = err && err.message ? err.message : String(err);
  } finally {
    $("replay").disabled = false;
  }
});

$("copy-curl").addEventListener("click", async () => {
  if (!shownRequest) return;
  const text = curlOf(shownRequest.client_request, gatewayUrl);
  const shown = $("curl");
  shown.textContent = text;
  shown.hidden = false;
  try {
    await invoke("copy_text", { text });
    $("copy-curl").textContent = "Copied";
  } catch (err) {
    $("copy-curl").textContent = "Copy failed";
  }
  setTimeout(() => { $("copy-curl").textContent = "Copy as curl"; }, 1500);
});

$("support-bundle").addEventListener("click", async () => {
  const message = $("bundle-message");
  $("support-bundle").disabled = true;
  message.className = "muted small";
  message.textContent = "Creating the support bundle…";
  try {
    const written = await invoke("create_support_bundle", { include_contents: $("bundle-contents").checked });
    message.className = "ok small";
    message.textContent = `Saved ${written.path} (${written.files} files; README.txt inside lists them).`;
  } catch (err) {
    message.className = "danger small";
    message.textContent = err && err.message ? err.message : String(err);
  } finally {
    $("support-bundle").disabled = false;
  }
});

$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const port = Number.parseInt($("port").value, 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    showMessage("The port must be a number from 0 to 65535.", "error");
    return;
  }
  $("save").disabled = true;
  showMessage("Saving…");
  try {
    const result = await invoke("save_settings", {
      form: {
        host: $("host").value,
        port,
        api_key: $("api-key").value || null,
        models: $("models").value,
        extra_models: $("extra-models").value,
        model_fallback: $("fallback").value,
        model_aliases: $("aliases").value,
        proxy: $("proxy").value,
        autostart: $("autostart").checked,
        capture: $("capture").checked,
      },
    });
    showMessage(result.message, "ok");
    await load();
  } catch (err) {
    showMessage(err && err.message ? err.message : String(err), "error");
  } finally {
    $("save").disabled = false;
  }
});

$("generate-key").addEventListener("click", async () => {
  $("api-key").value = await invoke("generate_api_key");
  $("api-key").type = "text";
  $("show-key").textContent = "Hide";
  showMessage("A new key is ready; Save to use it.");
});

$("show-key").addEventListener("click", () => {
  const input = $("api-key");
  input.type = input.type === "password" ? "text" : "password";
  $("show-key").textContent = input.type === "password" ? "Show" : "Hide";
});

$("copy-key").addEventListener("click", async () => {
  if (!$("api-key").value) return showMessage("There is no key to copy.");
  await invoke("copy_text", { text: $("api-key").value });
  showMessage("Key copied.", "ok");
});

$("reload-requests").addEventListener("click", () => {
  showList();
  loadRequests();
});

// --- Usage page: plain SVG, no library (the page works offline) ---------------------------

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["--chart-1", "--chart-3", "--chart-4", "--chart-5", "--chart-2", "--chart-6"];
const color = (i) => `var(${PALETTE[i % PALETTE.length]})`;

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function shortTokens(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

function localDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

// Stacked bars: one column per day of the last 30, one colour per client.
function drawDays(days) {
  const svg = $("usage-days");
  svg.replaceChildren();
  const clients = [...new Set(days.map((d) => d.client))];
  const columns = [];
  for (let i = 29; i >= 0; i -= 1) {
    const date = new Date(Date.now() - i * 86400000);
    columns.push(localDay(date));
  }
  const totals = columns.map((day) => days.filter((d) => d.day === day).reduce((s, d) => s + d.tokens, 0));
  const max = Math.max(1, ...totals);
  const [left, top, width, height] = [44, 8, 548, 150];
  const step = width / columns.length;
  svg.append(svgEl("line", { class: "axis", x1: left, y1: top + height, x2: left + width, y2: top + height }));
  svg.append(svgEl("text", { x: left - 6, y: top + 8, "text-anchor": "end" }, shortTokens(max)));
  svg.append(svgEl("text", { x: left - 6, y: top + height, "text-anchor": "end" }, "0"));
  columns.forEach((day, i) => {
    let y = top + height;
    clients.forEach((client, c) => {
      const tokens = days.filter((d) => d.day === day && d.client === client).reduce((s, d) => s + d.tokens, 0);
      if (!tokens) return;
      const h = (tokens / max) * height;
      y -= h;
      const bar = svgEl("rect", { x: left + i * step + 1, y, width: Math.max(1, step - 2), height: h, rx: 1.5, fill: color(c) });
      bar.append(svgEl("title", {}, `${day} · ${client}: ${shortTokens(tokens)} tokens`));
      svg.append(bar);
    });
    // A label a week apart, counted back from today (the last column).
    if ((columns.length - 1 - i) % 7 === 0) {
      svg.append(svgEl("text", { x: left + i * step + step / 2, y: top + height + 14, "text-anchor": "middle" }, day.slice(5)));
    }
  });
  const legend = $("usage-legend");
  legend.replaceChildren();
  clients.forEach((client, c) => {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = color(c);
    item.append(swatch, document.createTextNode(client));
    legend.append(item);
  });
}

// Lines of each window's used % per hour over 7 days; a drop is a reset.
function drawWindows(points) {
  const svg = $("usage-windows");
  svg.replaceChildren();
  const [left, top, width, height] = [44, 8, 548, 110];
  const now = Date.now() / 1000;
  const start = now - 7 * 86400;
  const x = (t) => left + ((t - start) / (now - start)) * width;
  const y = (p) => top + height - (p / 100) * height;
  for (const p of [0, 50, 100]) {
    svg.append(svgEl("line", { class: "axis", x1: left, y1: y(p), x2: left + width, y2: y(p) }));
    svg.append(svgEl("text", { x: left - 6, y: y(p) + 3, "text-anchor": "end" }, `${p}%`));
  }
  for (let d = 0; d <= 7; d += 1) {
    const t = start + d * 86400;
    const anchor = d === 0 ? "start" : d === 7 ? "end" : "middle";
    svg.append(svgEl("text", { x: x(t), y: top + height + 14, "text-anchor": anchor }, localDay(new Date(t * 1000)).slice(5)));
  }
  [["used_5h", color(0)], ["used_weekly", "var(--chart-2)"]].forEach(([field, stroke]) => {
    const pts = points.filter((p) => p[field] !== null).map((p) => `${x(p.at).toFixed(1)},${y(p[field]).toFixed(1)}`);
    if (pts.length) svg.append(svgEl("polyline", { points: pts.join(" "), fill: "none", stroke, "stroke-width": 2, "stroke-linejoin": "round" }));
  });
}

function paceText(w) {
  let text = `${w.window}: ${Math.round(w.used_percent)}% used`;
  if (w.verdict) text += `, ${w.verdict.replaceAll("_", " ")}`;
  if (w.forecast && w.forecast.before_reset_seconds > 0) {
    const at = new Date(w.forecast.runs_out_at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const mins = Math.round(w.forecast.before_reset_seconds / 60);
    text += ` — at this pace it runs out at ${at}, ${Math.floor(mins / 60)}h ${mins % 60}m before it resets`;
  }
  return text;
}

async function loadUsage() {
  const by = $("usage-by").value;
  const page = await invoke("usage", { by });
  drawDays(page.days);
  drawWindows(page.windows);
  $("usage-key").textContent = { client: "Client", session: "Session", model: "Model" }[by];
  const pace = $("usage-pace");
  pace.replaceChildren(...page.report.windows.map((w) => {
    const line = document.createElement("div");
    line.textContent = paceText(w);
    return line;
  }));
  const body = $("usage-rows");
  body.replaceChildren();
  const groups = page.report.groups;
  if (groups.length === 0) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = 6;
    td.className = "muted";
    td.textContent = "No usage recorded yet.";
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const g of groups) {
    const tr = document.createElement("tr");
    const cache = g.cache_percent === null ? "–" : `${Math.round(g.cache_percent)}%`;
    for (const value of [g.key, g.requests, shortTokens(g.input_tokens + g.output_tokens), cache, g.share_5h.toFixed(1), g.share_weekly.toFixed(1)]) {
      const td = document.createElement("td");
      td.textContent = String(value);
      tr.append(td);
    }
    body.append(tr);
  }
}

$("usage-by").addEventListener("change", () => loadUsage().catch(() => {}));
$("reload-usage").addEventListener("click", () => loadUsage().catch(() => {}));
loadUsage().catch(() => {});

load().catch((err) => showMessage(String(err && err.message ? err.message : err), "error"));
loadRequests().catch(() => {});
// The gateway may start (or stop) while the window is open: the pill follows it, leaving the
// form alone.
setInterval(() => {
  invoke("get_settings")
    .then((s) => setGateway(s.gateway_url, s.attached))
    .catch(() => {});
}, 2000);
// The list follows new requests; an open request stays as it is.
setInterval(() => {
  if (!$("requests-list").hidden) loadRequests().catch(() => {});
}, 5000);
