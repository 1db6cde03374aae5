#!/usr/bin/env bash
# Builds the C kernels natively and switches the process-wide kernel level while worker
# threads run kernels (scripts/checks/kernel-dispatch-driver.c); a torn kernel table crashes
# or corrupts their results. Separate from `swift test`: the switches would change the level
# of every test running beside them.
set -euo pipefail
cd "$(dirname "$0")/../.."
CLANG=${CLANG:-$(command -v clang || echo /opt/swift/usr/bin/clang)}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$CLANG" -O2 -Wall -Werror -pthread -ISources/CKernels/include -ISources/CKernels \
  Sources/CKernels/*.c scripts/checks/kernel-dispatch-driver.c -lm -o "$OUT/kernel-dispatch"
timeout 300 "$OUT/kernel-dispatch"
