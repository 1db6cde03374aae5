#!/usr/bin/env bash
# Before/after load runs alternated in one session, so a noisy shared machine hits every variant
# alike: ROUNDS rounds, each running every VARIANT once through scripts/bench-coordinator.sh.
# Usage: scripts/bench-coordinator-alternating.sh ROUNDS LABEL=COORDINATOR_BINARY[@LOADGEN_FLAGS] ...
#   e.g. scripts/bench-coordinator-alternating.sh 3 before=baseline-bin/edgevlm-coordinator-x \
#          after=.build-release/release/edgevlm-coordinator after-sync=.build-release/release/edgevlm-coordinator@--sync-call
# BENCH_DATABASE=postgres gives every run its own fresh PostgreSQL (scripts/with-postgres.sh), so
# no run inherits another's rows; BENCH_SHARED_DATABASE=1 gives all runs one server instead, so
# with `--credentials-file F` in BENCH_LOAD the first run enrolls (e.g. 100,000 devices, minutes)
# and every later run cycles the same devices (for SQLite share a file with
# BENCH_SERVE_ARGS="--database sqlite:PATH"); BENCH_TIMEOUT bounds each load tool run (s).
# BENCH_BIN (default .build-release/release) holds the one edgevlm-loadgen all variants use; BENCH_LOAD (default "--devices 500 --concurrency 32
# --connections 4 --duration 15") is the load. Full outputs go to BENCH_OUT (default a temp
# folder); one summary line per run is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
(($# >= 2)) || { sed -n 2,16p "$0" >&2; exit 2; }
if [[ "${BENCH_DATABASE:-sqlite}" == postgres && "${BENCH_SHARED_DATABASE:-0}" == 1 && -z "${EDGEVLM_TEST_POSTGRES_URL:-}" ]]; then
  exec scripts/with-postgres.sh "$0" "$@"
fi
ROUNDS=$1; shift
OUT=${BENCH_OUT:-$(mktemp -d /tmp/edgevlm-bench.XXXXXX)}
mkdir -p "$OUT"
export BENCH_BIN=${BENCH_BIN:-.build-release/release}
LOAD=${BENCH_LOAD:---devices 500 --concurrency 32 --connections 4 --duration 15}
for round in $(seq "$ROUNDS"); do
  for variant in "$@"; do
    label=${variant%%=*}
    spec=${variant#*=}
    binary=${spec%%@*}
    flags=""
    [[ "$spec" == *@* ]] && flags=${spec#*@}
    log="$OUT/$round-$label.txt"
    if [[ "${BENCH_DATABASE:-sqlite}" == postgres && "${BENCH_SHARED_DATABASE:-0}" != 1 ]]; then
      BENCH_COORDINATOR=$binary BENCH_ARGS="$LOAD $flags" scripts/with-postgres.sh scripts/bench-coordinator.sh > "$log" 2>&1
    else
      BENCH_COORDINATOR=$binary BENCH_ARGS="$LOAD $flags" scripts/bench-coordinator.sh > "$log" 2>&1
    fi
    load=$(grep -o 'load average: .*' "$log" | head -1)
    rate=$(grep -E '^ran ' "$log" | grep -oE '\(([0-9]+)/s\)|\(([0-9]+) cycles/s' | head -1 | tr -dc '0-9')
    latency=$(grep -E 'latency ms' "$log" | head -1)
    cpu=$(grep -E '^cpu s per 1000 cycles' "$log" | sed 's/^cpu s per 1000 cycles: //')
    echo "round $round $label: ${rate:-?} cycles/s | $latency | cpu s/1000 cycles: $cpu | $load"
  done
done
echo "outputs in $OUT"
