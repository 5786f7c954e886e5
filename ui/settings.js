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
  $("credentials").textContent = s.credentials;
  $("config-file").textContent = s.config_file;
  $("version").textContent = s.version;
  setGateway(s.gateway_url, s.attached);
}

async function loadRequests() {
  const rows = await invoke("recent_requests");
  const body = $("requests");
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = 6;
    td.className = "muted";
    td.textContent = "No requests yet.";
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const r of rows) {
    const tr = document.createElement("tr");
    for (const value of [r.time, r.route, r.model, r.status, `${r.duration_ms} ms`, r.tokens]) {
      const td = document.createElement("td");
      td.textContent = String(value);
      tr.append(td);
    }
    if (r.status >= 400) tr.className = "danger";
    body.append(tr);
  }
}

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

$("reload-requests").addEventListener("click", loadRequests);

load().catch((err) => showMessage(String(err && err.message ? err.message : err), "error"));
loadRequests().catch(() => {});
setInterval(() => loadRequests().catch(() => {}), 5000);
