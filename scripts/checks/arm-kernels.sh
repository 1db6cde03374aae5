#!/usr/bin/env bash
# Cross-compiles the C kernels (Sources/CKernels) for aarch64 with clang, runs the NEON and
# NEON+dotprod paths against the scalar reference under qemu, and checks that the dotprod
# kernels really contain `sdot`. Needs: clang (Swift toolchain), gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross, qemu-user-static. Exit status non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
CLANG=${CLANG:-$(command -v clang || echo /opt/swift/usr/bin/clang)}
QEMU=${QEMU:-qemu-aarch64-static}
SYSROOT=/usr/aarch64-linux-gnu
for tool in "$CLANG" "$QEMU" aarch64-linux-gnu-gcc; do
  command -v "$tool" >/dev/null || { echo "arm-kernels: missing $tool (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static)"; exit 1; }
done
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# Baseline ARMv8-A: dotprod kernels come from per-function target attributes, chosen at run time.
CFLAGS=(--target=aarch64-linux-gnu -O2 -Wall -Werror -ISources/CKernels/include -ISources/CKernels)
objs=()
for src in Sources/CKernels/*.c scripts/checks/arm-kernels-driver.c; do
  obj="$OUT/$(basename "$src" .c).o"
  "$CLANG" "${CFLAGS[@]}" -c "$src" -o "$obj"
  objs+=("$obj")
done
aarch64-linux-gnu-gcc -o "$OUT/arm-kernels" "${objs[@]}" -lm -lpthread
echo "arm-kernels: running under $QEMU -cpu max"
timeout 300 "$QEMU" -cpu max -L "$SYSROOT" "$OUT/arm-kernels"
# Without dotprod the dispatcher must fall back to plain NEON (cortex-a53 is ARMv8.0).
echo "arm-kernels: running under $QEMU -cpu cortex-a53 (no dotprod)"
timeout 300 "$QEMU" -cpu cortex-a53 -L "$SYSROOT" "$OUT/arm-kernels" | tee "$OUT/a53.log"
grep -q "best ISA: neon$" "$OUT/a53.log" || { echo "arm-kernels: expected plain NEON on cortex-a53"; exit 1; }
# The toolchain's objdump first (a distribution llvm-objdump may be older); --mattr makes any
# LLVM objdump decode sdot instead of printing it as an unknown word.
OBJDUMP=/opt/swift/usr/bin/llvm-objdump
[[ -x "$OBJDUMP" ]] || OBJDUMP=$(command -v llvm-objdump || echo aarch64-linux-gnu-objdump)
if [[ "$OBJDUMP" == *llvm-objdump ]]; then DISASM=("$OBJDUMP" -d --mattr=+dotprod); else DISASM=("$OBJDUMP" -d); fi
count=$("${DISASM[@]}" "$OUT/ck_arm.o" | grep -c -w sdot || true)
echo "arm-kernels: $count sdot instructions in ck_arm.o"
[[ "$count" -ge 4 ]] || { echo "arm-kernels: expected sdot in the dotprod kernels"; exit 1; }
count=$("${DISASM[@]}" "$OUT/ck_gemm.o" | grep -c -w sdot || true)
echo "arm-kernels: $count sdot instructions in ck_gemm.o"
[[ "$count" -ge 16 ]] || { echo "arm-kernels: expected sdot in the integer GEMM"; exit 1; }
echo "arm-kernels: OK"
