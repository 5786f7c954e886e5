#!/usr/bin/env bash
# Runs inside `xvfb-run ... dbus-run-session --` (see scripts/test.sh): starts and unlocks a
# private gnome-keyring on the private session bus, then runs the given test command
# (default: `cargo test`) with the environment it received plus the keyring's variables.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

[ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || {
  echo "in-session: no D-Bus session; run this under dbus-run-session (scripts/test.sh does)." >&2
  exit 1
}

# The keyring file (and WebKit's data) go under XDG_DATA_HOME: scripts/test.sh points it into
# target/; never create a test keyring in the real ~/.local/share of whoever runs this.
case "${XDG_DATA_HOME:-}" in
  "$ROOT"/target/*) ;;
  *) export XDG_DATA_HOME="$ROOT/target/test-home/data" ;;
esac
case "${XDG_CACHE_HOME:-}" in
  "$ROOT"/target/*) ;;
  *) export XDG_CACHE_HOME="$ROOT/target/test-home/cache" ;;
esac
rm -rf "$XDG_DATA_HOME/keyrings" # a fresh login keyring, created with the password below
mkdir -p "$XDG_DATA_HOME" "$XDG_CACHE_HOME"

# Start gnome-keyring's Secret Service on this bus, unlocked (creates the login keyring with
# this password), and export what it prints (GNOME_KEYRING_CONTROL=...).
while IFS= read -r line; do
  case "$line" in
    *=*) export "${line?}" ;;
  esac
done < <(printf '%s' test | gnome-keyring-daemon --unlock --components=secrets)

# --unlock returns before the daemon owns org.freedesktop.secrets; wait, or D-Bus would
# auto-activate a second, locked daemon for the first client.
secrets_ready=0
for _ in $(seq 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
    grep -q 'boolean true'; then
    secrets_ready=1
    break
  fi
  sleep 0.1
done
if [ "$secrets_ready" = 1 ]; then
  export CODEXIA_TEST_SECRET_SERVICE=1
else
  echo "in-session: warning: gnome-keyring did not take org.freedesktop.secrets; keychain tests will skip" >&2
fi

[ "$#" -gt 0 ] || set -- cargo test

# Inside this session, tests that need the display, the bus or the keyring must run, not skip.
export CODEXIA_TEST_REQUIRE_SESSION=1

# A fresh session keyring for the kernel keyutils backend, when the kernel allows it
# (containers with a strict seccomp profile do not).
if command -v keyctl >/dev/null 2>&1 && keyctl session - true >/dev/null 2>&1; then
  export CODEXIA_TEST_KEYUTILS=1
  set -- keyctl session - "$@"
fi

# Drop known harmless noise from the container's dbus-daemon and the a11y bus.
set +e
"$@" 2>&1 | grep --line-buffered -v -E 'Failed to set fd limit|org\.a11y|SpiRegistry'
rc=${PIPESTATUS[0]}
exit "$rc"
