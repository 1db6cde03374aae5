#!/usr/bin/env bash
# The main job on embedded defaults: a fleet coordinator (SQLite, TLS on loopback) and one
# device agent (durable SQLite queue, inbox source, local API on a Unix socket, sync to the
# coordinator) in a temporary state directory. The agent enrolls with a token made by the
# operator command, captions freshly generated kiosk scenes with the bundled demo model
# (models/demo), and uploads the results; the demo prints each caption as the agent stored it
# and as the coordinator received it, then stops both cleanly.
#
#   scripts/demo.sh            # 4 scenes
#   DEMO_SCENES=10 scripts/demo.sh
#   DEMO_KEEP=1 scripts/demo.sh   # keep both running afterwards (Ctrl-C stops them)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCENES=${DEMO_SCENES:-4}

scripts/setup.sh
echo "== building edgevlm and edgevlm-coordinator (release)"
swift build -c release --product edgevlm 2>&1 | tail -n 1
swift build -c release --product edgevlm-coordinator 2>&1 | tail -n 1
BIN="$(swift build -c release --show-bin-path)/edgevlm"
COORD="$(swift build -c release --show-bin-path)/edgevlm-coordinator"
PY=.venv/bin/python

STATE=$(mktemp -d "${TMPDIR:-/tmp}/edgevlm-demo.XXXXXX")
mkdir -p "$STATE/staging"

echo "== starting the coordinator (SQLite and TLS material in $STATE/coordinator)"
"$COORD" serve --state-dir "$STATE/coordinator" --grpc-host 127.0.0.1 --grpc-port 0 \
    --http-host 127.0.0.1 --http-port 0 --poll-interval 5 > "$STATE/coordinator.out" 2> "$STATE/coordinator.log" &
COORDINATOR=$!
AGENT=""
stop_all() {
  if [[ -n "$AGENT" ]] && kill -0 "$AGENT" 2>/dev/null; then
    kill -TERM "$AGENT" && wait "$AGENT" || true
    echo "== agent stopped (log: $STATE/agent.log)"
  fi
  if kill -0 "$COORDINATOR" 2>/dev/null; then
    kill -TERM "$COORDINATOR" && wait "$COORDINATOR" || true
    echo "== coordinator stopped (log: $STATE/coordinator.log)"
  fi
}
trap stop_all EXIT
for _ in $(seq 1 300); do
  grep -q "listening" "$STATE/coordinator.out" 2>/dev/null && break
  kill -0 "$COORDINATOR" 2>/dev/null || { cat "$STATE/coordinator.log" >&2; echo "demo: the coordinator exited" >&2; exit 1; }
  sleep 0.2
done
GRPC_PORT=$(sed -n 's/.*grpc=\([0-9]*\).*/\1/p' "$STATE/coordinator.out")
[[ -n "$GRPC_PORT" ]] || { echo "demo: the coordinator did not announce its port" >&2; exit 1; }
OPS=(--state-dir "$STATE/coordinator" --grpc-port "$GRPC_PORT")
"$COORD" enrollment-token "${OPS[@]}" --max-uses 1 --tag demo > "$STATE/enrollment.token"
echo "   listening on 127.0.0.1:$GRPC_PORT; enrollment token made for one device (tag demo)"
cat > "$STATE/agent.toml" <<EOF
[model]
llm = "$ROOT/models/demo/edgevlm-demo-F16.gguf"
mmproj = "$ROOT/models/demo/mmproj-edgevlm-demo-F16.gguf"
threads = 0
prompt = "Describe the image."
max_tokens = 48

[state]
directory = "$STATE/state"

[inbox]
enabled = true
directory = "$STATE/inbox"
processed_directory = "$STATE/processed"
failed_directory = "$STATE/failed"

[api]
enabled = true
socket = "$STATE/agent.sock"
mode = "0600"

[sync]
enabled = true
coordinator = "127.0.0.1:$GRPC_PORT"
enrollment_token_file = "$STATE/enrollment.token"
hardware_id = "demo-kiosk-1"
device_name = "demo kiosk"
ca_file = "$STATE/coordinator/tls/ca.pem"
min_upload_interval_seconds = 1.0
EOF

echo "== starting the agent (state in $STATE)"
"$BIN" agent --config "$STATE/agent.toml" --log-level notice 2> "$STATE/agent.log" &
AGENT=$!

for _ in $(seq 1 300); do
  [[ -S "$STATE/agent.sock" ]] && break
  kill -0 "$AGENT" 2>/dev/null || { cat "$STATE/agent.log" >&2; echo "demo: the agent exited" >&2; exit 1; }
  sleep 0.2
done
[[ -S "$STATE/agent.sock" ]] || { echo "demo: the agent did not open its socket" >&2; exit 1; }

echo "== generating $SCENES kiosk scenes and dropping them into the inbox"
"$PY" - "$STATE" "$SCENES" <<'EOF'
import hashlib, json, os, sys
sys.path.insert(0, "tools/demo-model")
import scenes
state, count = sys.argv[1], int(sys.argv[2])
truth = {}
for i in range(count):
    scene = scenes.make_scene(900_000 + i)
    staged = os.path.join(state, "staging", f"scene_{i}.png")
    scene.image.save(staged)
    digest = hashlib.sha256(open(staged, "rb").read()).hexdigest()
    truth[digest] = {"file": f"scene_{i}.png", "size": scene.image.size, "truth": scenes.caption(scene.objects)}
    os.rename(staged, os.path.join(state, "inbox", f"scene_{i}.png"))  # rename into place
json.dump(truth, open(os.path.join(state, "truth.json"), "w"))
EOF

echo "== waiting for the captions"
for _ in $(seq 1 600); do
  done_count=$("$BIN" jobs --socket "$STATE/agent.sock" --state done --limit 1000 | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
  [[ "$done_count" -ge "$SCENES" ]] && break
  sleep 0.5
done

"$BIN" jobs --socket "$STATE/agent.sock" --state done --limit 1000 > "$STATE/done.json"
"$PY" - "$STATE" "$BIN" <<'EOF'
import json, os, subprocess, sys
state, binary = sys.argv[1], sys.argv[2]
truth = {v["file"]: v for v in json.load(open(os.path.join(state, "truth.json"))).values()}
for job in sorted(json.load(open(os.path.join(state, "done.json"))), key=lambda j: j["id"]):
    answer = json.loads(subprocess.run([binary, "result", "--socket", os.path.join(state, "agent.sock"), str(job["id"])],
                                       check=True, capture_output=True, text=True).stdout)
    result = answer.get("result") or {}
    name = next((f for f in truth if (job.get("imagePath") or "").endswith(f)), "?")
    scene = truth.get(name, {})
    print(f"job {job['id']}  {name}  {scene.get('size', '')}  ({result.get('tokens', '?')} tokens)")
    print(f"   caption: {result.get('text', '').strip()}")
    print(f"   truth:   {scene.get('truth', '?')}")
EOF

echo "== waiting for the coordinator to receive them"
for _ in $(seq 1 120); do
  received=$("$COORD" results "${OPS[@]}" 2>/dev/null | grep -c . || true)
  [[ "$received" -ge "$SCENES" ]] && break
  sleep 0.5
done
"$COORD" results "${OPS[@]}" > "$STATE/coordinator-results.jsonl"
"$COORD" devices "${OPS[@]}" > "$STATE/coordinator-devices.jsonl"
"$PY" - "$STATE" <<'EOF'
import json, os, sys
state = sys.argv[1]
devices = [json.loads(l) for l in open(os.path.join(state, "coordinator-devices.jsonl")) if l.strip()]
results = [json.loads(l) for l in open(os.path.join(state, "coordinator-results.jsonl")) if l.strip()]
for d in devices:
    print(f"coordinator: device {d.get('deviceId')} ({d.get('name', '')}, tags {d.get('tags', [])})")
print(f"coordinator: {len(results)} result(s) received")
for r in results:
    body = r.get("result", {})
    print(f"   seq {body.get('seq')}: {body.get('text', '').strip()}")
EOF
echo "(How accurate the demo model is: models/demo/README.md.)"

if [[ "${DEMO_KEEP:-0}" == "1" ]]; then
  echo "== the agent and the coordinator keep running; socket $STATE/agent.sock; Ctrl-C stops them"
  wait "$AGENT"
fi
