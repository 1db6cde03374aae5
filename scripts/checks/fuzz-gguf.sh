#!/usr/bin/env bash
# Bounded libFuzzer run of the GGUF parser (45 s of fuzzing after a ~1-2 min build); fails on any
# crash, sanitizer report or hang. Longer runs: scripts/fuzz-gguf.sh SECONDS.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec scripts/fuzz-gguf.sh 45
