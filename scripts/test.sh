#!/usr/bin/env bash
# Runs the whole EdgeVLM test suite on a fresh Debian/Ubuntu machine (installs what it needs).
set -euo pipefail
cd "$(dirname "$0")/.."
EDGEVLM_SETUP_TESTS=1 scripts/setup.sh
scripts/gen-testdata.sh
swift build --build-tests
swift test --skip-build 2>&1 | tee .testdata/swift-test.log
