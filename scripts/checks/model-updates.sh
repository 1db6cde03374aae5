#!/usr/bin/env bash
# Model updates (issue 9) with the real binaries over real HTTP: a coordinator
# (edgevlm-coordinator serve, plaintext gRPC + HTTP on 127.0.0.1) gets the demo pair and a
# fine-tuned variant published (models publish: blobs, per-tensor digests, Ed25519 signature);
# `edgevlm models pull` then plays the device:
#   1. the first pull is rate-limited and killed with SIGKILL mid-download; the next pull resumes
#      (fetches fewer bytes than the model) and ends on the complete, verified model;
#   2. the variant arrives as a tensor delta (only the changed layer travels); a first delta
#      pull is killed with SIGKILL after some changed tensors are durable, and the next pull
#      resumes it without fetching those again;
#   3. a model whose weights are NaN (valid digests, valid signature) fails the canary and the
#      active model stays;
#   4. a device that does not trust the signing key refuses the model;
#   5. a disk floor larger than the free space refuses before any byte is fetched;
#   6. rollback switches to the previous slot and forward again, but never onto a slot whose
#      model failed its canary;
#   7. `models activate` clears the model's rolled-back record (the operator chose it);
#   8. pull/activate/rollback refuse while the agent's state lock is held (a running agent).
# Needs .testdata/models (scripts/gen-testdata.sh). Bounded: about 30 s after the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build --product edgevlm >/dev/null 2>&1 || { echo "model-updates: build failed" >&2; exit 1; }
swift build --product edgevlm-coordinator >/dev/null 2>&1 || { echo "model-updates: build failed" >&2; exit 1; }
BIN=$(swift build --show-bin-path)
ROOT=$PWD
[[ -f .testdata/models/llm-v2.gguf ]] || { echo "model-updates: missing .testdata/models: run scripts/gen-testdata.sh" >&2; exit 1; }
WORK=$(mktemp -d /tmp/edgevlm-model-updates.XXXXXX)
COORD_PID=""
trap '[[ -n "$COORD_PID" ]] && kill "$COORD_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
fail() { echo "model-updates: FAIL: $*" >&2; exit 1; }
cd "$WORK"

"$BIN/edgevlm-coordinator" models keygen --out op.key > op.pub
"$BIN/edgevlm-coordinator" models keygen --out other.key > other.pub
"$BIN/edgevlm-coordinator" serve --state-dir st --grpc-host 127.0.0.1 --http-host 127.0.0.1 --grpc-port 0 --http-port 0 \
  --insecure-plaintext --trust-model-key "$(cat op.pub)" > serve.log 2>&1 &
COORD_PID=$!
for _ in $(seq 100); do grep -qs "listening grpc=" serve.log && break; sleep 0.2; done
GRPC=$(sed -n 's/.*listening grpc=\([0-9]*\).*/\1/p' serve.log)
HTTP=$(sed -n 's/.*http=\([0-9]*\).*/\1/p' serve.log)
[[ -n "$GRPC" && -n "$HTTP" ]] || fail "coordinator did not start: $(cat serve.log)"

publish() {  # $1 = llm file, $2 = version, $3 = assignment out
  "$BIN/edgevlm-coordinator" models publish --host 127.0.0.1 --grpc-port "$GRPC" --state-dir st --insecure-plaintext \
    --llm "$1" --mmproj "$ROOT/models/demo/mmproj-edgevlm-demo-F16.gguf" --key op.key --name demo --version "$2" \
    --assignment-out "$3" 2>/dev/null
}
D1=$(publish "$ROOT/models/demo/edgevlm-demo-F16.gguf" 1 a1.json)
D2=$(publish "$ROOT/.testdata/models/llm-v2.gguf" 2 a2.json)
DN=$(publish "$ROOT/.testdata/models/llm-nan.gguf" nan an.json)

cat > canary.json <<JSON
{"max_seconds": 60, "max_rss_mib": 0, "max_fallbacks": 0,
 "cases": [{"image": "$ROOT/Tests/RuntimeTests/Fixtures/vision-goldens/small.png", "prompt": "Describe the image.", "expect": []}]}
JSON
device() {  # $1 = name, $2 = trusted key file, $3 = extra [models] lines
  cat > "$1.toml" <<TOML
[state]
directory = "$WORK/$1"
[model]
llm = "$ROOT/models/demo/edgevlm-demo-F16.gguf"
mmproj = "$ROOT/models/demo/mmproj-edgevlm-demo-F16.gguf"
threads = 1
max_tokens = 8
[models]
artifact_url = "http://127.0.0.1:$HTTP"
trusted_keys = ["$(cat "$2")"]
min_free_mib = 16
stall_seconds = 5
canary_file = "$WORK/canary.json"
$3
TOML
}
pull() { "$BIN/edgevlm" models pull --config "$1.toml" --assignment "$2" --token-file st/admin.token; }
active_digest() { "$BIN/edgevlm" models list --config "$1.toml" | sed -n 's/^\* [AB]  \([0-9a-f]*\).*/\1/p'; }

# 1. SIGKILL mid-download, then resume.
device dev op.pub 'bandwidth_kib_per_second = 1024'
# Started directly, not through the pull() function: $! must be edgevlm itself, not a subshell
# (killing a subshell left the pull running; the store lock made that visible).
"$BIN/edgevlm" models pull --config dev.toml --assignment a1.json --token-file st/admin.token > pull1.out 2> pull1.err &
PULL=$!
sleep 3
kill -KILL "$PULL" 2>/dev/null || fail "the rate-limited pull ended before it could be killed"
wait "$PULL" 2>/dev/null || true
PARTS=$(ls dev/models/staging/ | grep -c 'part.json$' || true)
[[ "$PARTS" -ge 1 ]] || fail "no resume record after the kill: $(ls dev/models/staging/)"
[[ -z "$(active_digest dev)" ]] || fail "a model became active from a killed download"
sed -i 's/^bandwidth_kib_per_second.*//' dev.toml
pull dev a1.json > pull2.out 2> pull2.err || fail "resumed pull failed: $(cat pull2.err)"
FETCHED=$(sed -n 's/.*fetched \([0-9]*\) bytes.*/\1/p' pull2.out)
FULL=$(( $(stat -c %s "$ROOT/models/demo/edgevlm-demo-F16.gguf") + $(stat -c %s "$ROOT/models/demo/mmproj-edgevlm-demo-F16.gguf") ))
[[ -n "$FETCHED" && "$FETCHED" -lt "$FULL" ]] || fail "the resumed pull fetched $FETCHED of $FULL bytes (should resume): $(cat pull2.out)"
[[ "$(active_digest dev)" == "$D1" ]] || fail "active model after resume is not $D1"
echo "model-updates: killed at 3 s, resumed: fetched $FETCHED of $FULL bytes afterwards"

# 2. Delta, killed (SIGKILL, by the test crash point) right after some changed tensors became
#    durable, then resumed: what the first run made durable is not fetched again.
if EDGEVLM_TEST_KILL_AT=delta.checkpoint "$BIN/edgevlm" models pull --config dev.toml --assignment a2.json \
     --token-file st/admin.token > pull3k.out 2> pull3k.err; then fail "the delta pull was not killed at its checkpoint"; fi
REC=$(ls dev/models/staging/*.delta.json 2>/dev/null | head -1)
[[ -n "$REC" ]] || fail "no delta progress record after the kill: $(ls dev/models/staging/)"
# The record has two fixed 64 KiB slots overwritten in place; the newer (higher sequence) counts.
read -r DURABLE HEADER < <(python3 -c '
import json, sys
data, best = open(sys.argv[1], "rb").read(), None
for at in range(0, len(data), 65536):
    try: slot = json.loads(data[at:at + 65536])["progress"]
    except ValueError: continue
    if best is None or slot["sequence"] > best["sequence"]: best = slot
print(sum(b - a for a, b in best["ranges"]), best["headerBytes"])' "$REC")
CHANGED=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(b["size"] for a,b in zip(d["demo-llm"]["tensors"],d["llm-v2"]["tensors"]) if a["sha256"]!=b["sha256"]))' "$ROOT/.testdata/models/digests.json")
pull dev a2.json > pull3.out 2> pull3.err || fail "delta pull failed: $(cat pull3.err)"
DELTA=$(sed -n 's/.*fetched \([0-9]*\) bytes.*/\1/p' pull3.out)
RESUMED=$(sed -n 's/.*resumed \([0-9]*\) bytes.*/\1/p' pull3.out)
[[ "$DURABLE" -gt "$HEADER" && "$RESUMED" -eq $(( DURABLE - HEADER )) ]] \
  || fail "the resumed delta kept $RESUMED bytes; the killed run had made $DURABLE durable ($HEADER header)"
# Killed right after a checkpoint, nothing fetched was lost: both runs together fetch the header
# prefix (64 KiB) and the changed tensors once (plus alignment padding between them, < 4 KiB).
[[ $(( DELTA + DURABLE )) -le $(( CHANGED + 65536 + 4096 )) ]] \
  || fail "killed + resumed delta fetched $DURABLE + $DELTA bytes for $CHANGED changed bytes"
echo "model-updates: delta killed after $DURABLE durable bytes ($HEADER header), resumed: fetched $DELTA more, kept $RESUMED"
[[ "$(active_digest dev)" == "$D2" ]] || fail "active model after the delta is not $D2"
[[ "$DELTA" -lt 500000 ]] || fail "the delta fetched $DELTA bytes"
cmp -s dev/models/$( [[ -L dev/models/active ]] && readlink dev/models/active )/llm.gguf "$ROOT/.testdata/models/llm-v2.gguf" \
  || fail "the assembled LLM differs from the published file"
echo "model-updates: delta update fetched $DELTA bytes (full model $FULL)"

# 2b. Rollback and forward again.
"$BIN/edgevlm" models rollback --config dev.toml > /dev/null
[[ "$(active_digest dev)" == "$D1" ]] || fail "rollback did not return to $D1"
"$BIN/edgevlm" models rollback --config dev.toml > /dev/null
[[ "$(active_digest dev)" == "$D2" ]] || fail "rolling forward did not return to $D2"

# 3. Canary failure.
if pull dev an.json > pull4.out 2> pull4.err; then fail "the NaN model was activated"; fi
grep -q "canary failed" pull4.err || fail "no canary reason: $(cat pull4.err)"
[[ "$(active_digest dev)" == "$D2" ]] || fail "the active model changed after a failed canary"

# 4. Untrusted key.
device stranger other.pub ''
if pull stranger a1.json > pull5.out 2> pull5.err; then fail "a model signed with an untrusted key was activated"; fi
grep -q "does not trust" pull5.err || fail "no signature reason: $(cat pull5.err)"
[[ -z "$(active_digest stranger)" ]] || fail "untrusted model active"

# 5. Disk floor.
device small op.pub ''
sed -i 's/^min_free_mib.*/min_free_mib = 100000000/' small.toml
if pull small a1.json > pull6.out 2> pull6.err; then fail "a model larger than the free space was accepted"; fi
grep -q "not enough disk space" pull6.err || fail "no disk reason: $(cat pull6.err)"
[[ -z "$(ls small/models/staging/)" ]] || fail "bytes were fetched before the disk check: $(ls small/models/staging/)"

# 6. No rollback onto the model that failed its canary (it replaced the older slot).
if "$BIN/edgevlm" models rollback --config dev.toml > rb.out 2>&1; then fail "rolled back onto a model that failed its canary"; fi
grep -q "failed its canary" rb.out || fail "no rollback reason: $(cat rb.out)"
[[ "$(active_digest dev)" == "$D2" ]] || fail "active model changed by a refused rollback"
# 7. Activating a model clears its rolled-back record (another model's record stays).
echo "[{\"modelDigest\":\"$D2\",\"rolloutID\":\"r-old\"},{\"modelDigest\":\"$DN\",\"rolloutID\":\"r-old\"}]" > dev/models/rolled-back.json
SLOT=$(readlink dev/models/active)
"$BIN/edgevlm" models activate --config dev.toml "$SLOT" > /dev/null || fail "activate $SLOT failed"
grep -q "$D2" dev/models/rolled-back.json && fail "activate kept the rolled-back record of $D2"
grep -q "$DN" dev/models/rolled-back.json || fail "activate dropped another model's record"
# 8. The commands that change the store share the agent's lock: refused while it is held.
flock -n dev/agent.lock sleep 20 &
HOLDER=$!
sleep 0.5
if "$BIN/edgevlm" models rollback --config dev.toml > lock.out 2>&1; then kill "$HOLDER"; fail "rollback ran beside a running agent"; fi
kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null || true
grep -q "agent is running" lock.out || fail "no lock reason: $(cat lock.out)"
[[ "$(active_digest dev)" == "$D2" ]] || fail "active model changed while the lock was held"
echo "model-updates: ok"
