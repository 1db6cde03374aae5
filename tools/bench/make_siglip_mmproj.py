"""A random-weight mmproj with SigLIP-400M's real shapes (27 blocks, width 1152, MLP 4304,
16 heads, 448 slices) and a resampler for a width-D LLM, in the legacy MiniCPM-V layout, F16.
For the vision benchmarks only (about 0.9 GB; not used by tests).

Usage: make_siglip_mmproj.py OUT.gguf [D=896] [QUERIES=64]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "testdata"))
import numpy as np  # noqa: E402
import vision  # noqa: E402

out = sys.argv[1]
d = int(sys.argv[2]) if len(sys.argv) > 2 else 896
queries = int(sys.argv[3]) if len(sys.argv) > 3 else 64
vision.WIDTH, vision.HEADS, vision.FFN, vision.LAYERS, vision.IMAGE = 1152, 16, 4304, 27, 448
weights = vision.make_weights(np.random.default_rng(5), D=d, QUERIES=queries)
vision.write_mmproj(out, weights)
print(f"wrote {out}")
