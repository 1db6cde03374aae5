#!/usr/bin/env bash
# Device-agent reliability checks against the real agent services (test host with a
# deterministic caption engine, Tests/AgentTestHost):
#   1. kill -9 at random moments over CYCLES restarts while files keep arriving: afterwards every
#      input file has exactly one job, which ended done (with exactly one correct result) or
#      failed/dead; the inbox is empty; PRAGMA integrity_check is ok;
#   2. an inbox file still being written is not taken until it is complete;
#   3. a camera command that hangs is killed at its timeout and the error is recorded;
#   4. a database file that is not SQLite: clear error, file unchanged;
#   5. disk full (small tmpfs, when mounting is permitted): clear refusal, recovery by itself.
# Bounded: about 2-3 minutes. Environment: CYCLES (default 200), FILES (default 300).
set -euo pipefail
cd "$(dirname "$0")/../.."
CYCLES=${CYCLES:-200}
FILES=${FILES:-300}
swift build --product edgevlm-agent-testhost >/dev/null
HOST="$(swift build --show-bin-path)/edgevlm-agent-testhost"
WORK=$(mktemp -d /tmp/edgevlm-reliability.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; umount "$WORK/full" 2>/dev/null || true; rm -rf "$WORK"' EXIT
fail() { echo "agent-reliability: FAIL: $*" >&2; exit 1; }

write_config() {  # $1 = state dir, $2 = extra TOML
  cat > "$1.toml" <<TOML
[state]
directory = "$1"
[queue]
max_attempts = 30
retry_base_seconds = 0.05
retry_max_seconds = 0.5
lease_seconds = 5
[inbox]
stable_seconds = 0.05
[retention]
max_age_hours = 0
max_image_mib = 0
[api]
socket = "$1/agent.sock"
$2
TOML
}

# ---- 1. kill -9 cycles with files arriving continuously
STATE="$WORK/kill"
mkdir -p "$STATE/inbox"
write_config "$STATE" ""
python3 - "$STATE/inbox" "$FILES" <<'PY' &
import os, random, sys, time
inbox, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    good = i % 10 != 7            # every tenth file is not an image: its job must fail
    body = (b"\xff\xd8\xff\xe0" if good else b"GIF89a") + os.urandom(64) + str(i).encode()
    tmp = os.path.join(inbox, f".img-{i}.part")
    with open(tmp, "wb") as f:
        f.write(body); f.flush(); os.fsync(f.fileno())
    os.rename(tmp, os.path.join(inbox, f"img-{i}.jpg"))
    time.sleep(random.uniform(0.0, 0.02))
PY
PRODUCER=$!
start=$(date +%s)
for ((c = 1; c <= CYCLES; c++)); do
  "$HOST" "$STATE.toml" 15 2>>"$WORK/kill.log" &
  pid=$!
  sleep "0.$(printf '%03d' $((RANDOM % 250 + 20)))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
wait "$PRODUCER"
echo "agent-reliability: $CYCLES kill -9 cycles in $(( $(date +%s) - start )) s"
# Drain: run undisturbed until every file is taken and no job waits, then stop with SIGTERM.
"$HOST" "$STATE.toml" 0 2>>"$WORK/kill.log" &
pid=$!
for ((i = 0; i < 600; i++)); do
  sleep 0.2
  left=$(ls -A "$STATE/inbox" | wc -l)
  pending=$(sqlite3 "$STATE/queue.sqlite" "SELECT count(*) FROM jobs WHERE state IN ('queued','running')" 2>/dev/null || echo 1)
  [[ "$left" == 0 && "$pending" == 0 ]] && break
done
kill -TERM "$pid"
wait "$pid" || fail "agent did not exit cleanly after SIGTERM (see $WORK/kill.log)"
python3 - "$STATE" "$FILES" <<'PY' || fail "kill -9 invariants (above)"
import hashlib, os, sqlite3, sys
state, n = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(os.path.join(state, "queue.sqlite"))
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check"
rows = db.execute("SELECT j.id, j.image_path, j.state, j.prompt, r.text FROM jobs j LEFT JOIN results r ON r.job_id = j.id").fetchall()
by_name = {}
for job_id, path, state_, prompt, text in rows:
    name = os.path.basename(path).split("-", 1)[1]
    by_name.setdefault(name, []).append((job_id, path, state_, prompt, text))
problems = []
assert not os.listdir(os.path.join(state, "inbox")), "inbox not empty"
for i in range(n):
    name = f"img-{i}.jpg"
    jobs = by_name.get(name, [])
    if len(jobs) != 1:
        problems.append(f"{name}: {len(jobs)} jobs"); continue
    job_id, path, st, prompt, text = jobs[0]
    data = open(path, "rb").read()
    if i % 10 == 7:
        # A bad image fails on its first complete attempt; if kill -9 interrupted it on every
        # allowed attempt it is dead-lettered instead, like any other job. Never done.
        if st not in ("failed", "dead"): problems.append(f"{name}: bad image ended {st}")
    elif st == "done":
        expected = "sha256:" + hashlib.sha256(data + prompt.encode()).hexdigest()
        if text != expected: problems.append(f"{name}: wrong result")
    elif st != "dead":
        problems.append(f"{name}: ended {st}")
extra = set(by_name) - {f"img-{i}.jpg" for i in range(n)}
if extra: problems.append(f"unexpected jobs: {sorted(extra)[:5]}")
results = db.execute("SELECT count(*) FROM results").fetchone()[0]
done = db.execute("SELECT count(*) FROM jobs WHERE state='done'").fetchone()[0]
if results != done: problems.append(f"{results} results for {done} done jobs")
outbox = db.execute("SELECT count(*), count(DISTINCT job_id) FROM outbox").fetchone()
if outbox[0] != n or outbox[1] != n: problems.append(f"outbox has {outbox} entries for {n} jobs")
states = dict(db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
print("agent-reliability: kill -9:", n, "files,", states)
if problems:
    print("\n".join(problems[:20])); sys.exit(1)
PY

# ---- 2-3. partially written inbox file; hanging camera command
STATE="$WORK/live"
mkdir -p "$STATE/inbox"
write_config "$STATE" "[[camera]]
name = \"hang\"
kind = \"command\"
command = [\"/bin/sleep\", \"30\"]
interval_seconds = 1
timeout_seconds = 0.5"
sed -i 's/stable_seconds = 0.05/stable_seconds = 1.0/' "$STATE.toml"
"$HOST" "$STATE.toml" 0 2>>"$WORK/live.log" &
pid=$!
for ((i = 0; i < 100; i++)); do [[ -S "$STATE/agent.sock" ]] && break; sleep 0.1; done
curl -sN --unix-socket "$STATE/agent.sock" http://localhost/v1/events > "$WORK/events.txt" &   # open SSE stream
exec 7>"$STATE/inbox/slow.jpg"
printf '\xff\xd8\xff\xe0half' >&7
# The writer keeps writing for 3 s, longer than stable_seconds (1 s) in total but never
# pausing that long: the file must stay in the inbox the whole time.
for ((i = 0; i < 10; i++)); do
  sleep 0.3
  printf 'more' >&7
  [[ -e "$STATE/inbox/slow.jpg" ]] || fail "a file still being written was taken"
done
printf 'end' >&7
exec 7>&-
for ((i = 0; i < 50; i++)); do [[ -e "$STATE/inbox/slow.jpg" ]] || break; sleep 0.1; done
[[ -e "$STATE/inbox/slow.jpg" ]] && fail "a completed file was not taken"
sqlite3 "$STATE/queue.sqlite" "SELECT count(*) FROM jobs WHERE image_path LIKE '%slow.jpg'" | grep -qx 1 || fail "slow.jpg has no job"
answer=$(curl -s --unix-socket "$STATE/agent.sock" http://localhost/v1/sources/hang/latest)
echo "$answer" | grep -Eq "killed|did not finish" || fail "hanging camera not reported: $answer"
curl -s --unix-socket "$STATE/agent.sock" http://localhost/metrics | grep -q 'edgevlm_captures_total{source="hang",result="error"}' \
  || fail "capture errors missing from /metrics"
sleep 0.5
grep -q 'slow.jpg' "$WORK/events.txt" || fail "no server-sent event for the finished job"
# SIGTERM with an event stream open: the agent must still stop, cleanly and promptly.
kill -TERM "$pid"; wait "$pid" || fail "agent did not stop cleanly"
echo "agent-reliability: partial inbox file, event stream, hanging camera OK"

# ---- 4. not an SQLite database
STATE="$WORK/foreign"
mkdir -p "$STATE"
write_config "$STATE" ""
head -c 8192 /dev/urandom > "$STATE/queue.sqlite"
sum=$(sha256sum < "$STATE/queue.sqlite")
if "$HOST" "$STATE.toml" 0 2>"$WORK/foreign.log"; then fail "agent started on a foreign database file"; fi
grep -q "not an SQLite database" "$WORK/foreign.log" || fail "unclear error: $(cat "$WORK/foreign.log")"
[[ "$(sha256sum < "$STATE/queue.sqlite")" == "$sum" ]] || fail "foreign database file was modified"
echo "agent-reliability: foreign database file refused and left unchanged"
# ---- 5. disk full: the database lives on a small tmpfs that is filled up (skipped when mounting
# is not permitted); the inbox is on another file system.
STATE="$WORK/full"
mkdir -p "$STATE" "$WORK/full-inbox"
if mount -t tmpfs -o size=4m tmpfs "$STATE" 2>/dev/null; then
  write_config "$STATE" ""
  sed -i "s|^\[inbox\]|[inbox]\ndirectory = \"$WORK/full-inbox\"\nprocessed_directory = \"$WORK/full-inbox-done\"\nfailed_directory = \"$WORK/full-inbox-failed\"|" "$STATE.toml"
  "$HOST" "$STATE.toml" 0 2>>"$WORK/full.log" &
  pid=$!
  for ((i = 0; i < 100; i++)); do [[ -S "$STATE/agent.sock" ]] && break; sleep 0.1; done
  dd if=/dev/zero of="$STATE/filler" bs=64k 2>/dev/null || true   # fills the tmpfs
  for i in 1 2 3 4 5; do
    head -c 20000 /dev/urandom | { printf '\xff\xd8\xff\xe0'; cat; } > "$WORK/full-inbox/.f$i.part"
    mv "$WORK/full-inbox/.f$i.part" "$WORK/full-inbox/full-$i.jpg"
  done
  sleep 3
  [[ $(ls "$WORK/full-inbox" | wc -l) -ge 1 ]] || fail "files were taken although the disk is full"
  answer=$(head -c 30000 /dev/urandom | { printf '\xff\xd8\xff\xe0'; cat; } | \
    curl -s --unix-socket "$STATE/agent.sock" -H 'Content-Type: image/jpeg' --data-binary @- http://localhost/v1/jobs)
  echo "$answer" | grep -Eiq "full|space|write" || fail "upload on a full disk not refused clearly: $answer"
  rm -f "$STATE/filler"
  for ((i = 0; i < 100; i++)); do
    [[ -z "$(ls -A "$WORK/full-inbox")" ]] && \
      [[ $(sqlite3 "$STATE/queue.sqlite" "SELECT count(*) FROM jobs WHERE state='done' AND image_path LIKE '%full-%'") == 5 ]] && break
    sleep 0.2
  done
  [[ -z "$(ls -A "$WORK/full-inbox")" ]] || fail "inbox files not taken after space returned"
  [[ $(sqlite3 "$STATE/queue.sqlite" "PRAGMA integrity_check") == ok ]] || fail "integrity after disk full"
  kill -TERM "$pid"; wait "$pid" || fail "agent did not stop cleanly after disk full"
  umount "$STATE"
  echo "agent-reliability: disk full refused clearly and recovered by itself"
else
  echo "agent-reliability: disk-full check skipped (cannot mount a tmpfs here)"
fi
echo "agent-reliability: all checks passed"
