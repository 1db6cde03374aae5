#!/usr/bin/env bash
# Renders the coordinator dashboard in a real headless browser (Chromium from Debian) after
# simulated devices enrolled and uploaded captions, and checks the rendered DOM shows them.
# Bounded: ~1 min after the build. Needs: apt-get install chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$CHROMIUM" ]]; then
  echo "dashboard: chromium is not installed (apt-get install chromium)" >&2
  exit 1
fi
swift build --product edgevlm-coordinator >/dev/null
swift build --product edgevlm-loadgen >/dev/null
BIN=$(swift build --show-bin-path)
STATE=$(mktemp -d)
OUT="$STATE/out.txt"
cleanup() {
  [[ -n "${PID:-}" ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -rf "$STATE"
}
trap cleanup EXIT
"$BIN/edgevlm-coordinator" serve --state-dir "$STATE/state" --grpc-host 127.0.0.1 --grpc-port 0 \
  --http-host 127.0.0.1 --http-port 0 >"$OUT" 2>"$STATE/err.txt" &
PID=$!
for _ in $(seq 100); do grep -q listening "$OUT" 2>/dev/null && break; sleep 0.1; done
LINE=$(grep listening "$OUT") || { echo "dashboard: coordinator did not start" >&2; cat "$STATE/err.txt" >&2; exit 1; }
GRPC=$(sed -E 's/.*grpc=([0-9]+).*/\1/' <<<"$LINE")
HTTP=$(sed -E 's/.*http=([0-9]+).*/\1/' <<<"$LINE")
TOKEN=$(cat "$STATE/state/admin.token")
timeout 60 "$BIN/edgevlm-loadgen" --port "$GRPC" --ca "$STATE/state/tls/ca.pem" --operator-token "$TOKEN" \
  --devices 3 --concurrency 3 --connections 1 --duration 1 >/dev/null
DOM=$(timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --dump-dom "http://127.0.0.1:$HTTP/?token=$TOKEN" 2>/dev/null)
rows=$(grep -o '<tr><td>dev_[0-9a-f]*</td>' <<<"$DOM" | sort -u | wc -l)
if [[ "$rows" -ne 3 ]]; then
  echo "dashboard: expected 3 device rows in the rendered page, found $rows" >&2
  exit 1
fi
grep -q 'a person in a red jacket' <<<"$DOM" || { echo "dashboard: no caption rendered" >&2; exit 1; }
grep -q 'healthy' <<<"$DOM" || { echo "dashboard: no health column rendered" >&2; exit 1; }
echo "dashboard: Chromium rendered 3 devices and their captions"
