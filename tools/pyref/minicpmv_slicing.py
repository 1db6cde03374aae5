"""MiniCPM-V adaptive visual encoding: the reference slicing algorithm, in Python.

A transcription of minicpmv-spec.md §3.2 (the official processor's behaviour) with Python
semantics on purpose: round() is half-to-even, int() truncates, arithmetic is double. It is the
independent reference the Swift `Imaging` slicing is tested against, and what the demo model is
trained with. Pillow does the bicubic resizes, exactly as the reference processor does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

SCALE_RESOLUTION = 448
PATCH_SIZE = 14
MAX_SLICE_NUMS = 9


def ensure_divide(length: float, patch_size: int = PATCH_SIZE) -> int:
    return max(round(length / patch_size) * patch_size, patch_size)


def find_best_resize(size, scale_resolution=SCALE_RESOLUTION, patch_size=PATCH_SIZE,
                     allow_upscale=False):
    width, height = size
    if width * height > scale_resolution * scale_resolution or allow_upscale:
        r = width / height
        height = int(scale_resolution / math.sqrt(r))
        width = int(height * r)
    return ensure_divide(width, patch_size), ensure_divide(height, patch_size)


def choose_grid(size, scale_resolution=SCALE_RESOLUTION, max_slice_nums=MAX_SLICE_NUMS):
    """Returns (cols, rows) or None when the image is encoded whole (no slices)."""
    width, height = size
    multiple = min(math.ceil(width * height / (scale_resolution * scale_resolution)),
                   max_slice_nums)
    if multiple <= 1:
        return None
    candidates = [k for k in (multiple - 1, multiple, multiple + 1)
                  if k != 1 and k <= max_slice_nums]
    grids = []
    for k in candidates:
        for m in range(1, k + 1):
            if k % m == 0:
                grids.append((m, k // m))
    log_ratio = math.log(width / height)
    best, best_err = (1, 1), float("inf")
    for grid in grids:
        err = abs(log_ratio - math.log(grid[0] / grid[1]))
        if err < best_err:
            best, best_err = grid, err
    return best


def ensure_divide_by(length: float, n: int) -> int:
    return max(round(length / n) * n, n)


def get_refine_size(size, grid, scale_resolution=SCALE_RESOLUTION, patch_size=PATCH_SIZE):
    width, height = size
    cols, rows = grid
    refine_w = ensure_divide_by(width, cols)
    refine_h = ensure_divide_by(height, rows)
    best_w, best_h = find_best_resize((refine_w / cols, refine_h / rows), scale_resolution,
                                      patch_size, allow_upscale=True)
    return best_w * cols, best_h * rows


@dataclass
class SlicePlan:
    """Sizes only (no pixels): what slice_image produces for an image of `size`."""
    grid: tuple[int, int] | None
    overview_size: tuple[int, int]
    refine_size: tuple[int, int] | None
    slice_size: tuple[int, int] | None


def plan(size, scale_resolution=SCALE_RESOLUTION, patch_size=PATCH_SIZE,
         max_slice_nums=MAX_SLICE_NUMS) -> SlicePlan:
    grid = choose_grid(size, scale_resolution, max_slice_nums)
    if grid is None:
        return SlicePlan(None, find_best_resize(size, scale_resolution, patch_size, True),
                         None, None)
    overview = find_best_resize(size, scale_resolution, patch_size, False)
    refine = get_refine_size(size, grid, scale_resolution, patch_size)
    return SlicePlan(grid, overview, refine, (refine[0] // grid[0], refine[1] // grid[1]))


def slice_image(image, scale_resolution=SCALE_RESOLUTION, patch_size=PATCH_SIZE,
                max_slice_nums=MAX_SLICE_NUMS):
    """Returns (overview, slices row-major, grid) as PIL images, like the reference."""
    from PIL import Image

    p = plan(image.size, scale_resolution, patch_size, max_slice_nums)
    overview = image.resize(p.overview_size, Image.Resampling.BICUBIC)
    if p.grid is None:
        return overview, [], None
    refined = image.resize(p.refine_size, Image.Resampling.BICUBIC)
    sw, sh = p.slice_size
    slices = [refined.crop((j * sw, i * sh, (j + 1) * sw, (i + 1) * sh))
              for i in range(p.grid[1]) for j in range(p.grid[0])]
    return overview, slices, p.grid


if __name__ == "__main__":
    # The worked examples of minicpmv-spec.md §3.4, as a self-check.
    expected = {
        (448, 448): (None, (448, 448), None, None),
        (400, 300): (None, (518, 392), None, None),
        (600, 300): (None, (630, 322), None, None),
        (1000, 500): ((2, 1), (630, 322), (896, 448), (448, 448)),
        (1024, 768): ((2, 2), (518, 392), (1036, 784), (518, 392)),
        (1344, 1344): ((3, 3), (448, 448), (1344, 1344), (448, 448)),
        (1920, 1080): ((4, 2), (602, 336), (1680, 952), (420, 476)),
        (3000, 400): ((7, 1), (1218, 168), (3234, 434), (462, 434)),
    }
    for size, want in expected.items():
        p = plan(size)
        got = (p.grid, p.overview_size, p.refine_size, p.slice_size)
        assert got == want, (size, got, want)
    print(f"{len(expected)} worked examples match")
