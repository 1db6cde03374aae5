#!/usr/bin/env bash
# Fuzzes the GGUF header parser with libFuzzer (+ AddressSanitizer) for N seconds (default 60),
# starting from the gguf-py files in .testdata/gguf (run scripts/gen-testdata.sh first).
# Usage: scripts/fuzz-gguf.sh [SECONDS]. Exit status non-zero when libFuzzer finds a crash,
# a leak or a hang; the reproducer is left in .build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
OUT=.build-fuzz
mkdir -p "$OUT/corpus"
if ! ls .testdata/gguf/*.gguf >/dev/null 2>&1; then
  echo "fuzz-gguf: no seed files in .testdata/gguf; run scripts/gen-testdata.sh" >&2
  exit 1
fi
cp .testdata/gguf/*.gguf "$OUT/corpus/"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name GGUF \
  Sources/GGUF/*.swift Tests/Fuzz/GGUFFuzz.swift -o "$OUT/gguf-fuzz"
# -max_len covers the seed headers (the largest is ~11 KB of header in ~80 KB).
"$OUT/gguf-fuzz" "$OUT/corpus" -max_total_time="$SECONDS_TO_RUN" -max_len=131072 -timeout=10 \
  -rss_limit_mb=2048 -artifact_prefix="$OUT/" -print_final_stats=1
