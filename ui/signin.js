// The Sign in window: three ways to sign in, all finished by codexia itself.
"use strict";

// Every page command goes through codexia's one Tauri command, `page` (the commands are listed
// in src-tauri/tray/ipc.rs, `PageCommand`).
const invoke = (command, args) => window.__TAURI__.core.invoke("page", { request: { command, args } });
const $ = (id) => document.getElementById(id);

function say(text, kind) {
  const el = $("message");
  el.textContent = text;
  el.className = kind === "error" ? "danger" : kind === "ok" ? "ok" : "muted";
}

function busy(on) {
  for (const id of ["here", "browser", "submit"]) $(id).disabled = on;
}

async function run(cmd, args, waiting) {
  busy(true);
  say(waiting);
  try {
    const result = await invoke(cmd, args);
    if (result) say(result, "ok");
  } catch (err) {
    say(err && err.message ? err.message : String(err), "error");
  } finally {
    busy(false);
  }
}

$("here").addEventListener("click", () => run("sign_in_here", undefined, "Opening the ChatGPT sign-in page…"));
$("browser").addEventListener("click", () =>
  run("sign_in_with_browser", undefined, "Finish signing in in your browser; this window closes by itself."),
);
$("submit").addEventListener("click", () => {
  const url = $("redirect").value.trim();
  if (!url) return say("Paste the full address that starts with http://localhost:1455/auth/callback.", "error");
  run("submit_redirect_url", { url }, "Signing in…");
});

// `signin.html?auto=1` continues straight to the sign-in page (used when the app is started
// with CODEXIA_TRAY_OPEN=signin-auto).
if (new URLSearchParams(location.search).get("auto") === "1" && !new URLSearchParams(location.search).get("error")) {
  $("here").click();
}

// Errors of a sign-in attempt come back as `signin.html?error=…`.
const failure = new URLSearchParams(location.search).get("error");
if (failure) say(failure, "error");
