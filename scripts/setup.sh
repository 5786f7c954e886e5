#!/usr/bin/env bash
# Installs what building, running or testing codexia needs. Idempotent: every step is
# skipped quickly when already done, so re-running costs seconds.
#
# Usage: scripts/setup.sh MODE
#   run    packages to build the app (the tray build when a display is available,
#          otherwise only what the headless CLI/gateway needs)
#   build  packages to build the tray app, whether or not there is a display
#   lint   build packages + the rustfmt and clippy components and cargo-machete (.tools/bin)
#   test   everything above + the runtime test tools (Xvfb, D-Bus, gnome-keyring, ...),
#          the Python SDKs in ./.venv and the Node SDKs, Claude Code and the Codex CLI in
#          tests/node/
#
# Environment: CODEXIA_APT_UPDATED=1 skips `apt-get update` (the caller just ran it).
set -euo pipefail

MODE="${1:-}"
case "$MODE" in
  run | build | lint | test) ;;
  *)
    echo "usage: scripts/setup.sh run|build|lint|test" >&2
    exit 2
    ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf 'setup: %s\n' "$*"; }
die() {
  printf 'setup: %s\n' "$*" >&2
  exit 1
}

# --- system packages -----------------------------------------------------------------------

# Headless CLI/gateway (cargo build --no-default-features): only a C compiler (ring builds
# its C and assembly parts). No system library: scripts/check-deps.sh (make lint) keeps it so.
HEADLESS_PKGS=(build-essential)
# Tray app (Tauri 2 on Linux): pkg-config to find the libraries, libdbus (tao links it),
# WebKitGTK 4.1, the tray-icon library, SVG icons, libxdo; `file` is on Tauri's list of
# Linux prerequisites.
TRAY_PKGS=(pkg-config file libdbus-1-dev libwebkit2gtk-4.1-dev libayatana-appindicator3-dev
  librsvg2-dev libxdo-dev)
# Running the test suite: virtual display, private session bus, keychain, inspection tools.
# Not dbus-x11: it makes GLib autolaunch a dbus-daemon that outlives the tests.
TEST_PKGS=(xvfb xauth dbus gnome-keyring libsecret-tools keyutils curl at-spi2-core
  webkit2gtk-driver imagemagick x11-utils)

have_display() { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }

wanted=()
case "$MODE" in
  run)
    wanted+=("${HEADLESS_PKGS[@]}")
    if have_display; then wanted+=("${TRAY_PKGS[@]}"); fi
    ;;
  build | lint) wanted+=("${HEADLESS_PKGS[@]}" "${TRAY_PKGS[@]}") ;;
  test) wanted+=("${HEADLESS_PKGS[@]}" "${TRAY_PKGS[@]}" "${TEST_PKGS[@]}") ;;
esac
if [ "$MODE" = test ] && command -v python3 >/dev/null 2>&1 &&
  ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  wanted+=(python3-venv) # Debian's python3 needs it for `python3 -m venv`
fi

is_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "installing system packages needs root; run this as root or install sudo."
  fi
}

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${wanted[@]}"; do
    is_installed "$p" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    if [ "${CODEXIA_APT_UPDATED:-}" != 1 ]; then
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  else
    say "system packages present"
  fi
else
  say "not a Debian/Ubuntu system: make sure the equivalents of these are installed: ${wanted[*]}"
fi

# --- Rust ----------------------------------------------------------------------------------

if ! command -v cargo >/dev/null 2>&1; then
  die "cargo was not found; install Rust with: curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh  (then open a new shell or run: . \"\$HOME/.cargo/env\")."
fi

if [ "$MODE" = lint ] || [ "$MODE" = test ]; then
  components=()
  cargo fmt --version >/dev/null 2>&1 || components+=(rustfmt)
  cargo clippy --version >/dev/null 2>&1 || components+=(clippy)
  if [ "${#components[@]}" -gt 0 ]; then
    command -v rustup >/dev/null 2>&1 ||
      die "cargo ${components[*]} is missing and rustup is not available to add it; install the ${components[*]} component(s) for your toolchain."
    say "adding Rust components ${components[*]}"
    rustup component add "${components[@]}"
  fi
fi

# --- cargo-machete (unused dependencies, make lint; .tools/bin) -----------------------------

if [ "$MODE" = lint ] || [ "$MODE" = test ]; then
  CARGO_MACHETE_VERSION=0.9.2
  if [ ! -x .tools/bin/cargo-machete ] || [ ! -f ".tools/.cargo-machete-$CARGO_MACHETE_VERSION" ]; then
    say "installing cargo-machete $CARGO_MACHETE_VERSION (about a minute)"
    cargo install "cargo-machete@$CARGO_MACHETE_VERSION" --locked --quiet --root .tools
    touch ".tools/.cargo-machete-$CARGO_MACHETE_VERSION"
  else
    say "cargo-machete up to date"
  fi
fi

[ "$MODE" = test ] || exit 0

# --- Python SDKs (./.venv) -----------------------------------------------------------------

fingerprint() { cat "$@" | sha256sum | cut -d' ' -f1; }

command -v python3 >/dev/null 2>&1 ||
  die "python3 was not found; install Python 3.9 or newer (apt-get install python3 python3-venv)."

REQ=tests/py/requirements.txt
VENV=.venv
PY_STAMP="$VENV/.codexia-requirements.sha256"
if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  say "removing broken $VENV"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  python3 -m venv "$VENV"
fi
want="$(fingerprint "$REQ")"
if [ "$(cat "$PY_STAMP" 2>/dev/null || true)" != "$want" ]; then
  say "installing Python packages from $REQ"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
  "$VENV/bin/python" -c 'import anthropic, openai, pydantic'
  printf '%s\n' "$want" >"$PY_STAMP"
else
  say "Python packages up to date"
fi

# --- Node SDKs, Claude Code and the Codex CLI (tests/node/node_modules) ---------------------

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  die "node and npm were not found; install Node.js 20 or newer (https://nodejs.org or apt-get install nodejs npm)."
fi

NODE_DIR=tests/node
NODE_STAMP="$NODE_DIR/node_modules/.codexia-lock.sha256"
if [ -f "$NODE_DIR/package-lock.json" ]; then
  want="$(fingerprint "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json")"
else
  want="$(fingerprint "$NODE_DIR/package.json")"
fi
if [ "$(cat "$NODE_STAMP" 2>/dev/null || true)" != "$want" ] ||
  ! "$NODE_DIR/node_modules/.bin/claude" --version >/dev/null 2>&1 ||
  ! "$NODE_DIR/node_modules/.bin/codex" --version >/dev/null 2>&1; then
  say "installing Node packages in $NODE_DIR"
  # Claude Code and openai 7 declare node >=22; on node 20 npm only warns (EBADENGINE) and
  # everything the tests use works. The Claude Code postinstall copies its native binary.
  if [ -f "$NODE_DIR/package-lock.json" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error)
  fi
  "$NODE_DIR/node_modules/.bin/claude" --version >/dev/null ||
    die "Claude Code did not install correctly in $NODE_DIR (its postinstall script must run)."
  # The Codex CLI's native binary comes in a per-platform optional dependency
  # (@openai/codex-linux-x64, …); npm skips it silently with --omit=optional.
  "$NODE_DIR/node_modules/.bin/codex" --version >/dev/null ||
    die "the Codex CLI did not install correctly in $NODE_DIR (its native binary is an optional dependency; do not omit those)."
  # Recompute: `npm install` may just have written the lock file.
  if [ -f "$NODE_DIR/package-lock.json" ]; then
    want="$(fingerprint "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json")"
  fi
  printf '%s\n' "$want" >"$NODE_STAMP"
else
  say "Node packages up to date"
fi

# --- tauri-driver (WebDriver for the tray app's windows; .tools/bin) ------------------------

TAURI_DRIVER_VERSION=2.1.0
if [ ! -x .tools/bin/tauri-driver ] || [ ! -f ".tools/.tauri-driver-$TAURI_DRIVER_VERSION" ]; then
  say "installing tauri-driver $TAURI_DRIVER_VERSION (about a minute)"
  cargo install "tauri-driver@$TAURI_DRIVER_VERSION" --locked --quiet --root .tools
  touch ".tools/.tauri-driver-$TAURI_DRIVER_VERSION"
else
  say "tauri-driver up to date"
fi

say "ready for tests"
