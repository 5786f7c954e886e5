#!/usr/bin/env bash
# Runs the whole test suite (what `make test` runs, after scripts/setup.sh test):
#   1. the headless build (--no-default-features: CLI + gateway, no GTK) and its tests;
#   2. the tray build and the full test suite under a virtual X display (Xvfb), a private
#      D-Bus session and an unlocked gnome-keyring (scripts/in-session.sh).
# Stops at the first failing step.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [ -n "${CI:-}" ]; then
  export CARGO_TERM_COLOR=never
fi

# Real clients the tests drive (installed by scripts/setup.sh test).
export CODEXIA_TEST_PYTHON="$ROOT/.venv/bin/python"
export CODEXIA_TEST_NODE_MODULES="$ROOT/tests/node/node_modules"
export PATH="$ROOT/tests/node/node_modules/.bin:$ROOT/.tools/bin:$PATH"
# Hermetic homes: the tests never touch the real ~/.codexia, keyring, ~/.config or caches of
# whoever runs them. Everything goes under target/test-home/, fresh for every run.
TEST_HOME="$ROOT/target/test-home"
rm -rf "$TEST_HOME"
export CODEXIA_HOME="$TEST_HOME/codexia"
export XDG_DATA_HOME="$TEST_HOME/data" XDG_CACHE_HOME="$TEST_HOME/cache"
export XDG_CONFIG_HOME="$TEST_HOME/config" XDG_STATE_HOME="$TEST_HOME/state"
mkdir -p "$CODEXIA_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"

for f in "$CODEXIA_TEST_PYTHON" "$CODEXIA_TEST_NODE_MODULES/.bin/claude"; do
  [ -x "$f" ] || {
    echo "test: $f is missing; run scripts/setup.sh test first (make test does)." >&2
    exit 1
  }
done

# `--locked` in CI: the committed Cargo.lock must be up to date.
locked=()
if [ -n "${CI:-}" ] && [ -f Cargo.lock ]; then
  locked=(--locked)
fi

# cargo-nextest only when it is installed and the project configures it.
if [ -f .config/nextest.toml ] && cargo nextest --version >/dev/null 2>&1; then
  runner=(cargo nextest run "${locked[@]}")
else
  runner=(cargo test "${locked[@]}")
fi

START=$SECONDS
step() {
  local name="$1" t0=$SECONDS
  shift
  printf '\n==> [%s] %s\n' "$(date '+%H:%M:%S')" "$name"
  if "$@"; then
    printf '==> %s: ok (%ss)\n' "$name" "$((SECONDS - t0))"
  else
    local rc=$?
    printf '==> %s: FAILED (exit %s, %ss)\n' "$name" "$rc" "$((SECONDS - t0))" >&2
    exit "$rc"
  fi
}

step "headless build" cargo build "${locked[@]}" --no-default-features
step "headless tests" "${runner[@]}" --no-default-features
step "tray build" cargo build "${locked[@]}"
step "all tests (Xvfb + D-Bus + keyring)" \
  xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- "$ROOT/scripts/in-session.sh" "${runner[@]}"

printf '\n==> all tests passed (%ss)\n' "$((SECONDS - START))"
