#!/usr/bin/env bash
# Measures the tray app's memory (RSS of the app and of its WebKit child processes): idle with
# no window, with the Settings window open, and after that window was closed.
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
def rss(p):
    try:
        for line in open(f'/proc/{p}/status'):
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
todo, total, n = [root], 0, 0
while todo:
    p = todo.pop(); total += rss(p); n += 1; todo += kids.get(p, [])
print(f"app {rss(root) / 1024:.1f} MB; app + {n - 1} child processes {total / 1024:.1f} MB")
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
python3 - <<'PY'
# Close the Settings window the way a window manager does (WM_DELETE_WINDOW).
import ctypes, ctypes.util, subprocess
tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True).stdout
win = next(int(l.split()[0], 16) for l in tree.splitlines() if '"codexia Settings"' in l)
x = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11"))
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
class ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("l", ctypes.c_long * 5)]
class XEvent(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]
x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.POINTER(XEvent)]
x.XFlush.argtypes = [ctypes.c_void_p]
d = x.XOpenDisplay(None)
ev = XEvent()
ev.xclient.type, ev.xclient.window, ev.xclient.format = 33, win, 32
ev.xclient.message_type = x.XInternAtom(d, b"WM_PROTOCOLS", 0)
ev.xclient.l[0] = x.XInternAtom(d, b"WM_DELETE_WINDOW", 0)
x.XSendEvent(d, win, 0, 0, ctypes.byref(ev))
x.XFlush(d)
PY
settle
echo "after closing the window:  $(rss "$PID")"
left=$(xwininfo -root -tree | grep -c '"codexia Settings"' || true)
echo "Settings windows left:     $left"
