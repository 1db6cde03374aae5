#!/usr/bin/env python3
"""Differential check of EdgeVLM's GGUF reader against llama.cpp's gguf.cpp (not run in CI).

Usage: LLAMA_BIN=/work/ref/llama.cpp/build/bin tools/gguf_differential.py EDGEVLM_BINARY [N]

Mutates the gguf-py files in .testdata/gguf (seeded), then asks both `llama-gguf FILE r n`
(gguf_init_from_file, which also reads the data section) and `edgevlm inspect FILE` whether
each mutant is a valid GGUF file, and prints every disagreement with both messages.
Expected difference: llama-gguf reads the whole data section including the last tensor's
padding, while EdgeVLM (like llama.cpp's mmap model loader) only needs each tensor's bytes.
"""
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

INTERESTING = [0, 1, 2, 3, 4, 8, 9, 13, 31, 32, 63, 64, 255, 256, 0xFFFF, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF, 1 << 32, 1 << 40, (1 << 63) - 1, 1 << 63, (1 << 64) - 1]


def mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if not b:
            break
        at = rng.randrange(min(len(b), 12000) if rng.random() < 0.8 else len(b))
        kind = rng.randrange(5)
        if kind == 0:
            b[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            b[at] = rng.randrange(256)
        elif kind == 2:
            width = rng.choice([4, 8])
            v = rng.choice(INTERESTING)
            for k in range(width):
                if at + k < len(b):
                    b[at + k] = (v >> (8 * k)) & 0xFF
        elif kind == 3:
            del b[at:at + rng.randint(1, 16)]
        else:
            del b[at:]
    return bytes(b)


def main():
    edgevlm = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    llama = Path(os.environ["LLAMA_BIN"]) / "llama-gguf"
    seeds = [p.read_bytes() for p in sorted(Path(".testdata/gguf").glob("*.gguf"))]
    rng = random.Random(20261128)
    counts = {"both accept": 0, "both reject": 0, "only llama.cpp accepts": 0, "only edgevlm accepts": 0}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.gguf"
        for i in range(n):
            mutant = mutate(seeds[i % len(seeds)], rng)
            path.write_bytes(mutant)
            ll = subprocess.run([str(llama), str(path), "r", "n"], capture_output=True, text=True, errors="replace")
            ev = subprocess.run([edgevlm, "inspect", str(path)], capture_output=True, text=True, errors="replace")
            if ev.returncode not in (0, 1):
                print(f"#{i}: edgevlm exited with {ev.returncode} (crash?)\n{ev.stderr[-500:]}")
            la, ea = ll.returncode == 0, ev.returncode == 0
            key = ("both accept" if ea else "only llama.cpp accepts") if la else ("only edgevlm accepts" if ea else "both reject")
            counts[key] += 1
            if la != ea:
                ll_err = [l for l in (ll.stderr + ll.stdout).splitlines() if "gguf_init" in l or "error" in l.lower()]
                print(f"#{i} ({len(mutant)} bytes): {key}\n  llama.cpp: {ll_err[:2]}\n  edgevlm:   {ev.stderr.strip()[:300]}")
    print(counts)


if __name__ == "__main__":
    main()
