#!/usr/bin/env bash
# The main job on embedded defaults: the device agent (durable SQLite queue, inbox source,
# local API on a Unix socket) captions freshly generated kiosk scenes with the bundled demo
# model (models/demo), in a temporary state directory; then it stops the agent cleanly.
#
#   scripts/demo.sh            # 4 scenes
#   DEMO_SCENES=10 scripts/demo.sh
#   DEMO_KEEP=1 scripts/demo.sh   # keep the agent running afterwards (Ctrl-C stops it)
#
# Not yet in the demo: syncing the results to a coordinator (the agent's sync client is not
# written yet; `edgevlm-coordinator serve` runs on its own, see README).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCENES=${DEMO_SCENES:-4}

scripts/setup.sh
echo "== building edgevlm (release)"
swift build -c release --product edgevlm 2>&1 | tail -n 1
BIN="$(swift build -c release --show-bin-path)/edgevlm"
PY=.venv/bin/python

STATE=$(mktemp -d "${TMPDIR:-/tmp}/edgevlm-demo.XXXXXX")
mkdir -p "$STATE/staging"
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
EOF

echo "== starting the agent (state in $STATE)"
"$BIN" agent --config "$STATE/agent.toml" --log-level notice 2> "$STATE/agent.log" &
AGENT=$!
stop_agent() {
  if kill -0 "$AGENT" 2>/dev/null; then
    kill -TERM "$AGENT" && wait "$AGENT" || true
    echo "== agent stopped (log: $STATE/agent.log)"
  fi
}
trap stop_agent EXIT

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
echo "(The demo model is still under-trained: see models/demo/README.md for its measured accuracy.)"

if [[ "${DEMO_KEEP:-0}" == "1" ]]; then
  echo "== the agent keeps running; socket $STATE/agent.sock; Ctrl-C stops it"
  wait "$AGENT"
fi
