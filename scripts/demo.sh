#!/usr/bin/env bash
# The main job on embedded defaults. Until the agent and the demo model land, this builds
# EdgeVLM and inspects a GGUF file made on the spot (the most real end-to-end path today).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product edgevlm
scripts/gen-testdata.sh
BIN=$(swift build -c release --show-bin-path)
"$BIN/edgevlm" --help
