#!/usr/bin/env bash
# End-to-end accuracy of the bundled demo model (models/demo) through `edgevlm caption`: held-out
# synthetic scenes (tools/demo-model/scenes.py, seeds 7 000 000 + i, never used in training) are
# drawn with the base venv (Pillow only), every question of each scene is asked with the debug
# binary that scripts/test.sh builds, and answers are scored by exact attribute match.
# Fails if the overall accuracy is below DEMO_MIN_ACCURACY (see models/demo/README.md
# for the measured numbers the threshold derives from). Bounded: DEMO_IMAGES images, each
# question one process, a per-question timeout in evaluate.py.
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGES=${DEMO_IMAGES:-40}
# Measured on these 40 images (round-11 model): 178/182 = 97.8 % (release); the card claims 97.2 %
# on 300 scenes. Threshold 0.92 = the claim minus 5 points.
MIN_ACCURACY=${DEMO_MIN_ACCURACY:-0.92}
BIN=${EDGEVLM_BIN:-.build/debug/edgevlm}
PY=${PYTHON:-.venv/bin/python}

if [[ ! -x "$BIN" ]]; then
  echo "demo-accuracy: $BIN missing; building it (swift build --product edgevlm)"
  swift build --product edgevlm
fi
if ! "$PY" -c "import PIL" 2>/dev/null; then
  echo "demo-accuracy: $PY cannot import Pillow; run scripts/setup.sh (creates .venv from tools/requirements.txt)" >&2
  exit 1
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
timeout 600 "$PY" tools/demo-model/evaluate.py --runner edgevlm --binary "$BIN" -n "$IMAGES" \
  --json "$out/answers.json" --min-accuracy "$MIN_ACCURACY" > "$out/summary.json" && status=0 || status=$?
cat "$out/summary.json"
if ((status != 0)); then
  echo "demo-accuracy: FAILED (exit $status): overall accuracy below $MIN_ACCURACY on $IMAGES held-out scenes, or a run failed" >&2
  # The wrong answers, to see what kind of question regressed.
  "$PY" - "$out/answers.json" <<'EOF' >&2 || true
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    if not r["correct"]:
        print(f'  seed {r["seed"]} {r["kind"]}: asked {r["question"]!r} expected {r["expected"]!r} got {r["answer"]!r}')
EOF
  exit 1
fi
echo "demo-accuracy: ok (threshold $MIN_ACCURACY, $IMAGES images)"
