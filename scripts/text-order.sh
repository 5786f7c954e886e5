#!/usr/bin/env bash
# Writes link/text-order.txt: the functions a running gateway executes, in the order it first
# executes them, for rust-lld's --symbol-ordering-file (src-tauri/build.rs passes it when
# linking the binaries).
#
# Why: the kernel maps a binary's code 64 KiB at a time around each page a process touches, so a
# gateway that runs 3.5 MB of scattered functions kept about 12 MB of the 12.6 MB of code
# resident. Laid out side by side, they take about a third of that (docs/performance.md).
#
# How: the release `codexia serve` runs the two load benchmarks of tests/suite/bench.rs under
# valgrind's callgrind, dumped every few seconds (the benchmark kills the gateway at its end);
# every function named in a dump was executed. Each runs against the fake over TLS with HTTP/2
# first (the path a user's gateway takes to the real backend: rustls, h2), then over plain
# HTTP/1.1 (the fake of the older figures), so the code of both is laid out. The names carry
# hashes that change with the toolchain, the dependencies' versions and the features, so run it
# again after any of those change or the request path changes much: a function the list does not
# name only stays where it was. The list is for the headless build; the tray build shares most
# of it. Needs valgrind and python3; building needs neither.
#
# Usage: scripts/text-order.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v valgrind >/dev/null || { echo "text-order: valgrind is needed (apt-get install valgrind)." >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Two builds of the same code: `make bench`'s (built with the tests, whose dev-dependencies add
# features to some dependencies) and `cargo build`'s, the one users run. Their generic functions
# carry different hashes, so both are run and the list names the functions of each.
test_binary=$(cargo test --release --no-default-features --test all --no-run 2>&1 |
  sed -n 's/.*Executable tests\/all.rs (\(.*\))/\1/p')
[ -x "$test_binary" ] || { echo "text-order: the release test binary was not found." >&2; exit 1; }
cp target/release/codexia "$work/codexia-tests"
cargo build --release --no-default-features
cp target/release/codexia "$work/codexia-build"

for build in build tests; do
  mkdir "$work/dumps-$build"
  printf '#!/bin/sh\necho $$ > "%s"\nexec valgrind --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file="%s/$$.out" "%s" "$@"\n' \
    "$work/pid" "$work/dumps-$build" "$work/codexia-$build" >"$work/gateway"
  chmod +x "$work/gateway"
  for run in tls:serve_cpu_and_memory_under_load tls:time_to_first_byte_added_by_the_gateway \
    plain:serve_cpu_and_memory_under_load plain:time_to_first_byte_added_by_the_gateway; do
    fake=${run%%:*} bench=${run#*:}
    rm -f "$work/pid"
    # Dumps every 3 s while the benchmark runs (callgrind writes nothing when it is killed).
    (
      while [ ! -s "$work/pid" ]; do sleep 0.2; done
      while true; do
        sleep 3
        timeout 20 callgrind_control -d "$(cat "$work/pid")" >/dev/null 2>&1 || true
      done
    ) &
    dumper=$!
    CODEXIA_BENCH_FAKE=$fake CODEXIA_BENCH_BINARY="$work/gateway" "$test_binary" "suite::bench::$bench" \
      --ignored --exact >/dev/null
    kill "$dumper"
    wait "$dumper" 2>/dev/null || true
  done
done

python3 - "$work" >link/text-order.txt <<'PYTHON'
import glob, os, re, subprocess, sys

work = sys.argv[1]
names, seen = [], set()
for build in ["build", "tests"]:
    binary = os.path.join(work, "codexia-" + build)
    symbols = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True)
    rows = (line.split() for line in symbols.stdout.splitlines())
    code = {row[2] for row in rows if len(row) == 3 and row[1] in "tT"}
    # Dumps in the order they were written: start-up code first.
    dumps = sorted(glob.glob(os.path.join(work, "dumps-" + build, "*")), key=os.path.getmtime)
    for path in dumps:
        for line in open(path, errors="replace"):
            m = re.match(r"^c?fn=\(\d+\) (.+)$", line)
            name = m.group(1).strip() if m else None
            if name in code and name not in seen:
                seen.add(name)
                names.append(name)
print("\n".join(names))
PYTHON
echo "text-order: $(wc -l <link/text-order.txt) functions written to link/text-order.txt"
