#!/usr/bin/env bash
# Measures the tray app's memory (RSS of the app, and with its window processes and their WebKit
# processes): idle with no window, with the Settings window open, and after it was closed.
#   usage: scripts/tray-memory.sh [BINARY]     (default: target/release/codexia)
# Runs inside its own Xvfb and D-Bus session; needs xvfb, dbus and python3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(realpath "${1:-$ROOT/target/release/codexia}")"
[ -x "$BIN" ] || { echo "tray-memory: build first (cargo build --release) or pass a binary" >&2; exit 1; }

if [ -z "${CODEXIA_MEMORY_INNER:-}" ]; then
  exec env CODEXIA_MEMORY_INNER=1 xvfb-run -a -s "-screen 0 1280x800x24" \
    dbus-run-session -- "$0" "$BIN" 2> >(grep -vE 'dbus-daemon|SpiRegistry' >&2)
fi

WORK="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export CODEXIA_HOME="$WORK/home" CODEXIA_BIND=127.0.0.1:0 CODEXIA_CREDENTIAL_STORE=file
export XDG_DATA_HOME="$WORK/data" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache"
mkdir -p "$CODEXIA_HOME"

rss() { # "app X MB, app + N WebKit processes Y MB"
  python3 - "$1" <<'PY'
import os, sys
root = int(sys.argv[1]); kids = {}
for p in os.listdir('/proc'):
    if p.isdigit():
        try:
            ppid = int(open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(p))
        except OSError:
            pass
def kib(p, file, key):  # a "Key:   N kB" line of /proc/PID/FILE, 0 once the process is gone
    try:
        for line in open(f'/proc/{p}/{file}'):
            if line.startswith(key + ':'):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
rss = lambda p: kib(p, 'status', 'VmRSS')
pss = lambda p: kib(p, 'smaps_rollup', 'Pss')  # shared library pages divided among their users
todo, total, n = [root], 0, 0
while todo:
    p = todo.pop(); total += rss(p); n += 1; todo += kids.get(p, [])
print(f"app {rss(root) / 1024:.1f} MB (PSS {pss(root) / 1024:.1f} MB); "
      f"app + {n - 1} child processes {total / 1024:.1f} MB")
PY
}

settle() { sleep 6; } # let allocations settle before reading RSS (a measurement, not a test)

"$BIN" tray >"$WORK/app.log" 2>&1 &
PID=$!
for _ in $(seq 150); do grep -q "gateway listening" "$WORK/app.log" && break; sleep 0.2; done
settle
echo "idle, no window:           $(rss "$PID")"
"$BIN" tray >/dev/null 2>&1 # a second launch opens Settings in the running app
settle
echo "Settings window open:      $(rss "$PID")"
python3 "$ROOT/tests/py/close_window.py" "codexia Settings"
settle
echo "after closing the window:  $(rss "$PID")"
left=$(xwininfo -root -tree | grep -c '"codexia Settings"' || true)
echo "Settings windows left:     $left"
