"""llama.cpp's MiniCPM-V slicing (llama-cpp-python 0.3.36's vendored llama.cpp), in Python.

A transcription of `tools/mtmd/mtmd-image.cpp` (`mtmd_image_preprocessor_llava_uhd::
get_slice_instructions`, `get_best_resize`, `ensure_divide`, `get_refine_size`,
`get_best_grid`, `img_tool::resize` with PAD_CEIL) with C semantics on purpose: float32
arithmetic (numpy scalars), `std::round` half away from zero, `(int)` truncation. Differences
from the reference (`minicpmv_slicing.py`): the slice trigger is `W > 448 or H > 448`; an
image that does not trigger is stretched to 448x448; the refine image is aspect-fitted and
centre-padded with black (PAD_CEIL) instead of stretched. Both resizes are Pillow-compatible
bicubic in this version (`image_resize_algo_ov/_rf` default BICUBIC, "all algos are
Pillow-compatible").

Assumption: `log((float)W / H)` resolves to the double `log` (libstdc++ exports only
`::log(double)` from <cmath>), so the value is computed in double and stored as float.
"""
from __future__ import annotations

import math

import numpy as np

f32 = np.float32
SLICE_SIZE = 448
PATCH_SIZE = 14
MAX_SLICE_NUMS = 9


def c_round(x) -> float:
    """std::round: half away from zero (computed in double, exact for float32 inputs)."""
    v = float(x)
    return math.copysign(math.floor(abs(v) + 0.5), v)


def ensure_divide(length: int, patch_size: int) -> int:
    q = f32(length) / f32(patch_size)
    return max(int(f32(c_round(q)) * f32(patch_size)), patch_size)


def get_best_resize(size, scale_resolution, patch_size, allow_upscale):
    width, height = size
    if width * height > scale_resolution * scale_resolution or allow_upscale:
        r = f32(width) / f32(height)
        height = int(f32(scale_resolution) / np.sqrt(r))
        width = int(f32(height) * r)
    return ensure_divide(width, patch_size), ensure_divide(height, patch_size)


def get_best_grid(max_slice_nums, multiple, log_ratio):
    nums = [i for i in (multiple - 1, multiple, multiple + 1) if i != 1 and i <= max_slice_nums]
    grids = [(m, k // m) for k in nums for m in range(1, k + 1) if k % m == 0]
    best, min_error = (1, 1), f32(np.inf)
    for g in grids:
        error = f32(abs(float(log_ratio) - math.log(1.0 * g[0] / g[1])))
        if error < min_error:
            best, min_error = g, error
    return best


def get_refine_size(size, grid, scale_resolution, patch_size):
    refine_w = ensure_divide(size[0], grid[0])
    refine_h = ensure_divide(size[1], grid[1])
    bw, bh = get_best_resize((refine_w // grid[0], refine_h // grid[1]), scale_resolution,
                             patch_size, True)
    return bw * grid[0], bh * grid[1]


def pad_ceil_content(src, target):
    """img_tool::resize with PAD_CEIL: (content width, height, offset x, y) inside target."""
    if tuple(src) == tuple(target):
        return target[0], target[1], 0, 0
    scale = min(f32(target[0]) / f32(src[0]), f32(target[1]) / f32(src[1]))
    new_w = min(int(math.ceil(float(f32(src[0]) * scale))), target[0])
    new_h = min(int(math.ceil(float(f32(src[1]) * scale))), target[1])
    return new_w, new_h, (target[0] - new_w) // 2, (target[1] - new_h) // 2


def plan(size, slice_size=SLICE_SIZE, patch_size=PATCH_SIZE, max_slice_nums=MAX_SLICE_NUMS):
    """Returns dict: grid (cols, rows) or None, overview, refine, slice, refine_content."""
    width, height = size
    if not (width > slice_size or height > slice_size):
        return dict(grid=None, overview=(slice_size, slice_size), refine=None, slice=None,
                    refine_content=None)
    overview = get_best_resize(size, slice_size, patch_size, False)
    log_ratio = f32(math.log(float(f32(width) / f32(height))))
    ratio = f32(width) * f32(height) / f32(slice_size * slice_size)
    multiple = int(min(math.ceil(float(ratio)), max_slice_nums))
    grid = get_best_grid(max_slice_nums, multiple, log_ratio)
    refine = get_refine_size(size, grid, slice_size, patch_size)
    return dict(grid=grid, overview=overview, refine=refine,
                slice=(refine[0] // grid[0], refine[1] // grid[1]),
                refine_content=pad_ceil_content(size, refine))


def slice_image(image, slice_size=SLICE_SIZE, patch_size=PATCH_SIZE):
    """(overview, slices row-major, grid) as PIL images, as llama.cpp 0.3.36 makes them."""
    from PIL import Image

    p = plan(image.size, slice_size, patch_size)
    overview = image.resize(p["overview"], Image.Resampling.BICUBIC)
    if p["grid"] is None:
        return overview, [], None
    cw, ch, ox, oy = p["refine_content"]
    refined = Image.new("RGB", p["refine"], (0, 0, 0))
    refined.paste(image.resize((cw, ch), Image.Resampling.BICUBIC), (ox, oy))
    sw, sh = p["slice"]
    slices = [refined.crop((j * sw, i * sh, (j + 1) * sw, (i + 1) * sh))
              for i in range(p["grid"][1]) for j in range(p["grid"][0])]
    return overview, slices, p["grid"]
