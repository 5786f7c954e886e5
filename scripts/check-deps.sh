#!/usr/bin/env bash
# The headless build (CLI + gateway, --no-default-features) must build on a machine with only
# Rust and a C compiler: no `-sys` crate in its tree may link a system library that a package
# has to provide (libdbus-sys, openssl-sys, ...). The tray build is not checked: Tauri needs
# GTK, WebKitGTK and libdbus (scripts/setup.sh TRAY_PKGS).
#
# A `-sys` crate passes only when it is listed below with the reason it needs no system
# package. Fails with the crate and the path that pulls it in.
#
# Usage: scripts/check-deps.sh [cargo tree options, e.g. --locked]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# -sys crates that need no system package, and why.
declare -A ALLOWED=(
  [linux-raw-sys]="Rust declarations of Linux syscalls; links nothing"
  [dirs-sys]="pure Rust over libc / windows-sys; links no extra library"
  [windows-sys]="Windows API declarations; the import libraries come with the crate"
  [libsqlite3-sys]="feature bundled: SQLite's own C source compiled into the binary (the usage ledger); no system library"
  [tikv-jemalloc-sys]="the global allocator (main.rs): jemalloc's C source ships in the crate and is built with its configure script, cc and make; no system library"
)

CARGO="${CARGO:-cargo}"
tree="$("$CARGO" tree "$@" --no-default-features -e normal --prefix none --format '{p}')"

status=0
while read -r name; do
  [ -n "$name" ] || continue
  if [ -z "${ALLOWED[$name]:-}" ]; then
    echo "check-deps: the headless build depends on $name, which links a system library:" >&2
    "$CARGO" tree "$@" --no-default-features -e normal --invert "$name" >&2 || true
    status=1
  fi
done < <(awk '{print $1}' <<<"$tree" | grep -E -- '-sys$' | sort -u)

if [ "$status" -ne 0 ]; then
  echo "check-deps: choose a pure-Rust feature of the crate that pulls it in, or (if it truly needs no system package) add it to ALLOWED in scripts/check-deps.sh with the reason" >&2
  exit 1
fi
echo "check-deps: ok (the headless build links no system library beyond libc)"
