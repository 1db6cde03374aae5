"""Reference data for KernelsTests: weight blocks of every ggml type the CPU kernels support,
with their dequantization by gguf-py (an independent implementation of the block layouts).

Usage: kernels.py OUTDIR  -> OUTDIR/kernels/<type>.blocks (raw rows) and <type>.f32 (decoded),
both for a ROWS x COLUMNS matrix. Deterministic (fixed seed); skips work when files exist.
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

ROWS, COLUMNS = 5, 512  # two 256-blocks / sixteen 32-blocks per row

QUANTIZABLE = {"q4_0": T.Q4_0, "q4_1": T.Q4_1, "q5_0": T.Q5_0, "q5_1": T.Q5_1, "q8_0": T.Q8_0,
               "f16": T.F16, "bf16": T.BF16}
# gguf-py only decodes K-quants: random block bytes with small, finite fp16 scales.
RANDOM_BLOCKS = {"q2_K": (T.Q2_K, [80, 82]), "q3_K": (T.Q3_K, [108]), "q4_K": (T.Q4_K, [0, 2]),
                 "q5_K": (T.Q5_K, [0, 2]), "q6_K": (T.Q6_K, [208])}


def main(out: str) -> None:
    folder = os.path.join(out, "kernels")
    os.makedirs(folder, exist_ok=True)
    marker = os.path.join(folder, "done-v1")
    if os.path.exists(marker):
        return
    rng = np.random.default_rng(1234)
    for name, qtype in QUANTIZABLE.items():
        x = rng.standard_normal((ROWS, COLUMNS)).astype(np.float32)
        raw = quants.quantize(x, qtype)
        decoded = quants.dequantize(raw, qtype).astype(np.float32)
        raw.tofile(os.path.join(folder, f"{name}.blocks"))
        decoded.tofile(os.path.join(folder, f"{name}.f32"))
    for name, (qtype, scale_offsets) in RANDOM_BLOCKS.items():
        block_size, type_size = quants.GGML_QUANT_SIZES[qtype]
        nblocks = ROWS * COLUMNS // block_size
        raw = rng.integers(0, 256, size=(nblocks, type_size), dtype=np.uint8)
        for offset in scale_offsets:
            scales = (rng.uniform(0.001, 0.02, size=nblocks)).astype(np.float16)
            raw[:, offset:offset + 2] = scales.view(np.uint8).reshape(nblocks, 2)
        raw = raw.reshape(ROWS, COLUMNS // block_size * type_size)
        decoded = quants.dequantize(raw, qtype).astype(np.float32)
        raw.tofile(os.path.join(folder, f"{name}.blocks"))
        decoded.tofile(os.path.join(folder, f"{name}.f32"))
    with open(marker, "w") as f:
        f.write(f"{ROWS} {COLUMNS}\n")


if __name__ == "__main__":
    main(sys.argv[1])
