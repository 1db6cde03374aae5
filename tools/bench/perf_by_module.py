#!/usr/bin/env python3
"""Self CPU of a `perf record -g` profile by the module that spent it.

Usage: perf script -i FILE -F comm,tid,ip,sym,dso | python3 tools/bench/perf_by_module.py [--layers] [BINARY_NAME]

Each sample goes to one bucket: "kernel" when its leaf frame is in the kernel (syscalls, the
network stack, scheduling); otherwise the innermost frame that lies in BINARY_NAME (the
coordinator executable, where every Swift package is linked statically): its Swift module (read
from the mangled name, so the Swift runtime's retain/release/malloc/metadata work is charged to
the module that asked for it) or "C in binary" (BoringSSL, llhttp, zlib shims) for C symbols;
"runtime only" when no frame of the binary is on the stack (executor and thread plumbing).
"""
import re
import sys
from collections import Counter

args = [a for a in sys.argv[1:] if not a.startswith("--")]
binary = args[0] if args else "edgevlm-coordinator"
mangled = re.compile(r"^\$s(\d+)([A-Za-z_][A-Za-z0-9_]*)")
# With --layers, generic NIO plumbing is charged to the protocol layer above it (a ByteBuffer
# copy made for an HTTP/2 frame counts as HTTP/2); stacks with nothing above it are "event loop".
PLUMBING = {"NIOCore", "NIOPosix", "NIOConcurrencyHelpers", "DequeModule", "NIOEmbedded"}
layers = "--layers" in sys.argv
frame_line = re.compile(r"^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)$")


def module_of(sym: str) -> str | None:
    m = mangled.match(sym)
    if not m:  # $ss… / $sS…: the standard library's own code or a specialisation of it
        return None
    n = int(m.group(1))
    return m.group(2)[:n]


def classify(frames):
    if not frames:
        return "unknown"
    if frames[0][1] == "[kernel.kallsyms]":
        return "kernel"
    plumbing_seen = False
    for sym, dso in frames:
        if not dso.endswith(binary):
            continue
        if sym.startswith("$s"):
            mod = module_of(sym)
            if mod is None:  # stdlib specialisation: keep walking to the caller
                continue
            if layers and mod in PLUMBING:
                plumbing_seen = True
                continue
            return mod
        if sym.startswith(("__swift", "swift_", "objectdestroy", "[unknown]")) or "Tm" in sym[-3:]:
            continue  # Swift runtime thunks linked into the binary: charge the caller
        return "C in binary (BoringSSL, zlib, llhttp)"
    return "NIO event loop (no layer above)" if plumbing_seen else "runtime only"


counts = Counter()
frames = []
for line in sys.stdin:
    if not line.strip():
        if frames:
            counts[classify(frames)] += 1
        frames = []
        continue
    fm = frame_line.match(line)
    if fm:
        frames.append((fm.group(1), fm.group(2).split("/")[-1] if "/" in fm.group(2) else fm.group(2)))
if frames:
    counts[classify(frames)] += 1
total = sum(counts.values())
print(f"{total} samples")
for name, c in counts.most_common(25):
    print(f"{100 * c / total:6.2f}%  {name}")
