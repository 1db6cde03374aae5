#!/usr/bin/env bash
# Load benchmark: starts edgevlm-coordinator (TLS) on loopback and runs edgevlm-loadgen against it.
# SQLite:      scripts/bench-coordinator.sh
# PostgreSQL:  scripts/with-postgres.sh env BENCH_DATABASE=postgres scripts/bench-coordinator.sh
# Extra loadgen flags: BENCH_ARGS="--devices 500 --concurrency 32 --duration 15".
# Binaries: BENCH_BIN=DIR (e.g. .build-release/release), default the debug build's folder;
# BENCH_COORDINATOR=FILE runs another coordinator binary (e.g. a kept baseline) with the same loadgen;
# BENCH_SERVE_ARGS adds `serve` flags (e.g. "--config FILE" for batching knobs).
set -euo pipefail
cd "$(dirname "$0")/.."
DB_ARGS=()
CPU_ARGS=()
if [[ "${BENCH_DATABASE:-sqlite}" == postgres ]]; then
  DB_ARGS=(--database "$EDGEVLM_TEST_POSTGRES_URL")
  # The postmaster of scripts/with-postgres.sh (its command line carries the port).
  PG_PORT=$(sed -E 's#.*:([0-9]+)/.*#\1#' <<<"$EDGEVLM_TEST_POSTGRES_URL")
  PG_PID=$(pgrep -o -f -- "-p $PG_PORT " || true)
  [[ -n "$PG_PID" ]] && CPU_ARGS+=(--database-pid "$PG_PID")
fi
BIN=${BENCH_BIN:-$(swift build --show-bin-path 2>/dev/null)}
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
"${BENCH_COORDINATOR:-$BIN/edgevlm-coordinator}" serve --state-dir $S/state "${DB_ARGS[@]}" --grpc-host 127.0.0.1 --grpc-port 0 --http-host 127.0.0.1 --http-port 0 ${BENCH_SERVE_ARGS:-} > $S/out 2>$S/err &
PID=$!
for i in $(seq 100); do grep -q listening $S/out && break; sleep 0.1; done
cat $S/out
G=$(sed -E 's/.*grpc=([0-9]+).*/\1/' < $S/out)
uptime
timeout ${BENCH_TIMEOUT:-120} "$BIN/edgevlm-loadgen" --port $G --ca $S/state/tls/ca.pem --operator-token @$S/state/admin.token --coordinator-pid $PID "${CPU_ARGS[@]}" ${BENCH_ARGS:---devices 500 --concurrency 32 --connections 4 --duration 15}
kill -TERM $PID; wait $PID || true
