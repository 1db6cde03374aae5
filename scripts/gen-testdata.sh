#!/usr/bin/env bash
# Generates reference data for the tests into .testdata/ (git-ignored) with independent
# implementations (gguf-py, numpy, Pillow). Cheap to re-run; each generator skips what exists.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .testdata
PY=.venv/bin/python
for gen in tools/testdata/*.py; do
  [[ -e "$gen" ]] || continue
  "$PY" "$gen" .testdata
done
