"""Times the reference pipeline (Pillow + tools/pyref slicing + numpy normalisation) stage by
stage on one image, for side-by-side comparison with `edgevlm imaging bench` (BENCHMARKS.md).

Usage: imaging_pillow.py IMAGE [RUNS]
"""
import os
import sys
import time

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pyref"))
import minicpmv_slicing  # noqa: E402


def median(label, fn, runs):
    """Minimum and median of thread CPU time and wall time (CPU time is robust on a loaded machine)."""
    cpu, wall = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - c) * 1000); wall.append((time.perf_counter() - w) * 1000)
    cpu.sort(); wall.sort()
    print(f"{label:<34} cpu min {cpu[0]:7.2f} median {cpu[runs // 2]:7.2f} ms | "
          f"wall min {wall[0]:7.2f} median {wall[runs // 2]:7.2f} ms ({runs} runs)")


def main():
    path, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 21
    data = open(path, "rb").read()
    import io
    decode = lambda: ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    im = decode()
    p = minicpmv_slicing.plan(im.size)
    print(f"image {im.width}x{im.height}, grid {p.grid}, overview {p.overview_size}, refine {p.refine_size}")
    median("decode", decode, runs)
    median("resize overview (bicubic)", lambda: im.resize(p.overview_size, Image.Resampling.BICUBIC), runs)
    if p.refine_size:
        median("resize refine (bicubic)", lambda: im.resize(p.refine_size, Image.Resampling.BICUBIC), runs)
        median("  horizontal pass only", lambda: im.resize((p.refine_size[0], im.height), Image.Resampling.BICUBIC), runs)
        median("  vertical pass only", lambda: im.resize((im.width, p.refine_size[1]), Image.Resampling.BICUBIC), runs)
    median("slice (overview + refine + crops)", lambda: minicpmv_slicing.slice_image(im), runs)
    ov, slices, _ = minicpmv_slicing.slice_image(im)
    norm = lambda x: ((np.asarray(x, dtype=np.float32) / np.float32(255) - np.float32(0.5)) / np.float32(0.5)).transpose(2, 0, 1).copy()
    median("normalise all encoder inputs", lambda: [norm(x) for x in [ov] + slices], runs)
    def total():
        d = decode(); o, s, _ = minicpmv_slicing.slice_image(d); [norm(x) for x in [o] + s]
    median("total: decode + slice + normalise", total, runs)


if __name__ == "__main__":
    main()
