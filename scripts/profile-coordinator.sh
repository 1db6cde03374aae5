#!/usr/bin/env bash
# Where the server's CPU goes under load: runs scripts/bench-coordinator.sh (same variables:
# BENCH_DATABASE, BENCH_BIN, BENCH_COORDINATOR) with a longer timed phase and, 10 s into it,
# samples the coordinator and (with BENCH_DATABASE=postgres) every PostgreSQL process for
# PROFILE_SECONDS (default 10) with `perf record -e cpu-clock -g`. Prints the top DSOs and
# symbols of each; perf.data files stay in PROFILE_OUT (default a temp folder, printed).
# PostgreSQL: scripts/with-postgres.sh env BENCH_DATABASE=postgres BENCH_BIN=.build-release/release scripts/profile-coordinator.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${PROFILE_OUT:-$(mktemp -d /tmp/edgevlm-profile.XXXXXX)}
mkdir -p "$OUT"
SECONDS_TO_SAMPLE=${PROFILE_SECONDS:-10}
BENCH_ARGS="${BENCH_ARGS:---devices 500 --concurrency 32 --connections 4 --duration 30}" scripts/bench-coordinator.sh > "$OUT/bench.txt" 2>&1 &
BENCH=$!
# The coordinator is up once the script printed its listening line; enrollment of the load
# tool's devices takes ~2 s, so 8 s later the timed phase runs (the load tool's own output is
# buffered until it exits).
for _ in $(seq 300); do grep -q 'listening' "$OUT/bench.txt" 2>/dev/null && break; sleep 0.1; done
sleep 8
COORD=$(pgrep -n -f -- ' serve --state-dir ')
perf record -q -F 499 -e cpu-clock -g -p "$COORD" -o "$OUT/coordinator.data" -- sleep "$SECONDS_TO_SAMPLE" 2>/dev/null &
P1=$!
P2=
if [[ "${BENCH_DATABASE:-sqlite}" == postgres ]]; then
  PG_PORT=$(sed -E 's#.*:([0-9]+)/.*#\1#' <<<"$EDGEVLM_TEST_POSTGRES_URL")
  PG_PID=$(pgrep -o -f -- "-p $PG_PORT ")
  PIDS=$( (echo "$PG_PID"; pgrep -P "$PG_PID") | paste -sd, -)
  perf record -q -F 499 -e cpu-clock -g -p "$PIDS" -o "$OUT/postgres.data" -- sleep "$SECONDS_TO_SAMPLE" 2>/dev/null &
  P2=$!
fi
wait $P1 ${P2:+$P2}
wait $BENCH
cat "$OUT/bench.txt"
for side in coordinator postgres; do
  [[ -f "$OUT/$side.data" ]] || continue
  echo "== $side: by DSO"
  perf report -i "$OUT/$side.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12
  echo "== $side: top symbols"
  perf report -i "$OUT/$side.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
done
echo "perf data in $OUT"
