#!/usr/bin/env bash
# Runs the whole EdgeVLM test suite on a fresh Debian/Ubuntu machine (installs what it needs):
# reference data generation, `swift test`, then every extra check in scripts/checks/
# (cross-architecture kernel tests under qemu, generated-code drift, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
EDGEVLM_SETUP_TESTS=1 scripts/setup.sh
scripts/gen-testdata.sh
swift build --build-tests
swift test --skip-build
for check in scripts/checks/*.sh; do
  [[ -e "$check" ]] || continue
  echo "== $check"
  bash "$check"
done
