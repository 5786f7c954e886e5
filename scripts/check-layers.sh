#!/usr/bin/env bash
# The import rules between the crate's top-level modules (docs/architecture.md), checked
# from the source text: every `crate::x` path (also in `use crate::{x, y}` groups) and every
# `super::…` chain that climbs out of its top-level module, in every .rs file of src-tauri/
# except lib.rs (the root: `mod` and `pub use` lines) and the binaries main.rs and
# window_main.rs (crates of their own; may use anything). Comments are ignored; test
# modules are not: a test is an importer too.
#
# Fails with `file:line: from -> to` and the rule for every forbidden arrow, for a
# top-level module that has no rule yet (add it to RULES below and to the document), and for
# a cycle between top-level modules.
#
# Usage: scripts/check-layers.sh [--graph]   (--graph also prints the arrows found)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec python3 - "$ROOT/src-tauri" "$@" <<'PY'
import bisect
import os
import re
import sys

# Who may import whom (lowest layer first): the table of docs/architecture.md §2; change
# both together. A module may always use itself.
BASE = {"settings", "models", "files", "logging"}  # "the base four"
ALL = None  # (ALL, except): anything but the modules in `except`
RULES = {
    "protocol": (set(), "imports nothing else of the crate"),
    # The one redactor (known secrets + shapes): used by logging, the inspector, the bundle.
    "redact": (set(), "imports nothing else of the crate"),
    **{
        base: ((BASE - {base}) | {"protocol", "redact"}, "may import only the base four, protocol and redact")
        for base in BASE
    },
    "upstream": ({"protocol", "settings", "models", "files"}, None),
    "translate": ({"protocol", "models", "upstream"}, "is pure: it may import only protocol, models and upstream"),
    "auth": ({"protocol", "settings", "files", "upstream", "redact"}, None),
    "status": (BASE | {"protocol", "upstream", "auth"}, None),
    "daemon": (BASE | {"protocol"}, None),
    # A running gateway seen from outside, and the replay of its captures (the inspector's views).
    "local": (BASE | {"protocol", "upstream", "status", "inspector"}, None),
    # The usage ledger: SQLite and its own types; the gateway fills its rows.
    "ledger": ({"files"}, None),
    # Pure: Claude Code's environment from an address, a key and the model map.
    "claude_env": ({"protocol", "models"}, "is pure: it may import only protocol and models"),
    # The benchmarks' narrow door: anything below the CLI and the tray.
    "bench_api": ((ALL, {"cli", "tray"}), "may import anything except cli and tray"),
    # The request inspector's store and views: the gateway feeds it; it knows no HTTP routes.
    "inspector": ({"protocol", "settings", "files", "logging", "redact"}, None),
    "gateway": ((ALL, {"cli", "tray"}), "may import anything except cli and tray"),
    # The support bundle: reads settings, logs, the credential store's description and a
    # running gateway's answers; the CLI and the tray call it.
    "support": ((ALL, {"cli", "tray", "gateway"}), "may import anything except cli, tray and gateway"),
    "tray": ((ALL, {"cli"}), "may import anything except cli (the tray is a shell)"),
    "cli": ((ALL, set()), "may import anything"),
}


def allowed(src, dst):
    rule = RULES[src][0]
    if isinstance(rule, tuple):
        return dst not in rule[1]
    return dst in rule


def rule_text(src):
    rule, text = RULES[src]
    if text is None:
        text = "may import only " + ", ".join(sorted(rule))
    return f"{src} {text}"


def strip(source):
    """The source with comments, string and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(source)
    blank = lambda s: re.sub(r"[^\n]", " ", s)
    while i < n:
        c = source[i]
        if source.startswith("//", i):
            j = source.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(source[i:j]))
            i = j
        elif source.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if source.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif source.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(source[i:j]))
            i = j
        elif (m := re.compile(r'b?r(#*)"').match(source, i)) and (
            i == 0 or not (source[i - 1].isalnum() or source[i - 1] == "_")
        ):
            end = source.find('"' + m.group(1), m.end())
            j = n if end < 0 else end + 1 + len(m.group(1))
            out.append(blank(source[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            out.append(blank(source[i : j + 1]))
            i = j + 1
        elif c == "'" and (m := re.compile(r"'(\\.[^']*|[^\\'])'").match(source, i)):
            out.append(blank(m.group(0)))
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_path(rel):
    parts = rel[:-3].split("/")
    if parts[-1] == "mod":
        parts.pop()
    return parts


PATH = re.compile(r"(?<![\w$])(crate::|(?:super::)+)(\{|[A-Za-z_]\w*)")
MOD_OPEN = re.compile(r"\bmod\s+([A-Za-z_]\w*)\s*\{")


def group_heads(text, start):
    """First segment of each item in the `{…}` group that opens at text[start]."""
    depth, item, heads = 0, "", []
    for j in range(start, len(text)):
        ch = text[j]
        if ch == "{":
            depth += 1
            if depth == 1:
                continue
        elif ch == "}":
            depth -= 1
            if depth == 0:
                heads.append(item)
                break
        if depth == 1 and ch == ",":
            heads.append(item)
            item = ""
        elif depth >= 1:
            item += ch
    out = []
    for h in heads:
        m = re.match(r"\s*([A-Za-z_]\w*)", h)
        if m and m.group(1) != "self":
            out.append(m.group(1))
    return out


def main():
    src_root = sys.argv[1]
    show_graph = "--graph" in sys.argv[2:]
    files = []
    for dirpath, _, names in os.walk(src_root):
        for name in names:
            if name.endswith(".rs"):
                files.append(os.path.relpath(os.path.join(dirpath, name), src_root))
    files.sort()
    modules = {module_path(f)[0] for f in files} - {"lib", "main", "window_main", "build"}

    # Names the root re-exports (`pub use settings::Settings;` → Settings is in settings).
    reexports = {}
    lib = open(os.path.join(src_root, "lib.rs"), encoding="utf-8").read()
    for m in re.finditer(r"pub\s+use\s+([A-Za-z_]\w*)::([^;]*);", strip(lib)):
        for name in re.findall(r"([A-Za-z_]\w*)\s*(?:[,}]|$)", m.group(2).split("::")[-1]):
            reexports[name] = m.group(1)

    problems, edges = [], {}
    for rel in sorted(set(modules) - set(RULES)):
        problems.append(f"src-tauri/{rel}: module `{rel}` has no import rule (add it to scripts/check-layers.sh and docs/architecture.md)")
    for rel in files:
        base = module_path(rel)
        if base[0] in ("lib", "main", "window_main", "build"):
            continue
        src = base[0]
        text = strip(open(os.path.join(src_root, rel), encoding="utf-8").read())
        # Inline modules (`mod tests { … }`) lengthen the path `super` climbs from.
        line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        opens = {m.end() - 1 for m in MOD_OPEN.finditer(text)}
        depth_at, stack, depth = [], [], 0
        for i, ch in enumerate(text):
            if ch == "{":
                depth += 1
                if i in opens:
                    stack.append(depth)
            elif ch == "}":
                if stack and stack[-1] == depth:
                    stack.pop()
                depth -= 1
            depth_at.append(len(stack))
        for m in PATH.finditer(text):
            head, seg = m.group(1), m.group(2)
            if head == "crate::":
                targets = group_heads(text, m.start(2)) if seg == "{" else [seg]
            else:
                ups = head.count("super")
                here = len(base) + depth_at[m.start()]
                if ups < here:
                    continue  # stays inside its own top-level module
                targets = group_heads(text, m.start(2)) if seg == "{" else [seg]
            line = bisect.bisect_right(line_starts, m.start())
            for dst in targets:
                dst = reexports.get(dst, dst)
                if dst not in modules or dst == src:
                    continue
                edges.setdefault((src, dst), f"src-tauri/{rel}:{line}")
                if src in RULES and dst in RULES and not allowed(src, dst):
                    problems.append(f"src-tauri/{rel}:{line}: {src} -> {dst} ({rule_text(src)})")

    # Cycles between top-level modules, whatever the rules allow.
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    index, low, on, st, sccs, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        st.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = st.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    for comp in sccs:
        arrows = "; ".join(
            f"{a} -> {b} at {edges[(a, b)]}" for a in comp for b in comp if (a, b) in edges
        )
        problems.append(f"cycle between {', '.join(comp)}: {arrows}")

    if show_graph:
        for (a, b), where in sorted(edges.items()):
            print(f"{a} -> {b}  (first at {where})")
    if problems:
        for p in problems:
            print(f"check-layers: {p}", file=sys.stderr)
        print(f"check-layers: {len(problems)} problem(s); the rules are in docs/architecture.md", file=sys.stderr)
        sys.exit(1)
    print(f"check-layers: ok ({len(files)} files, {len(edges)} arrows between {len(modules)} modules)")


main()
PY
