#!/usr/bin/env bash
# Load benchmark: starts edgevlm-coordinator (TLS) on loopback and runs edgevlm-loadgen against it.
# SQLite:      scripts/bench-coordinator.sh
# PostgreSQL:  scripts/with-postgres.sh env BENCH_DATABASE=postgres scripts/bench-coordinator.sh
# Extra loadgen flags: BENCH_ARGS="--devices 500 --concurrency 32 --duration 15".
set -euo pipefail
cd "$(dirname "$0")/.."
DB_ARGS=()
if [[ "${BENCH_DATABASE:-sqlite}" == postgres ]]; then DB_ARGS=(--database "$EDGEVLM_TEST_POSTGRES_URL"); fi
BIN=$(swift build --show-bin-path 2>/dev/null)
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
"$BIN/edgevlm-coordinator" serve --state-dir $S/state "${DB_ARGS[@]}" --grpc-host 127.0.0.1 --grpc-port 0 --http-host 127.0.0.1 --http-port 0 > $S/out 2>$S/err &
PID=$!
for i in $(seq 100); do grep -q listening $S/out && break; sleep 0.1; done
cat $S/out
G=$(sed -E 's/.*grpc=([0-9]+).*/\1/' < $S/out)
timeout 120 "$BIN/edgevlm-loadgen" --port $G --ca $S/state/tls/ca.pem --operator-token @$S/state/admin.token ${BENCH_ARGS:---devices 500 --concurrency 32 --connections 4 --duration 15}
kill -TERM $PID; wait $PID || true
