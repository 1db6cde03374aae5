"""Reference data for the Imaging tests, made with independent implementations.

Usage: imaging.py OUTDIR  (writes OUTDIR/imaging/...; idempotent: skips work when the
manifest for this generator version exists).

- decode/: JPEGs and PNGs written by Pillow and pypng, corrupt/truncated variants, and each
  image's expected pixels as Pillow decodes it (`ImageOps.exif_transpose` for JPEG, then
  `convert("RGB")`), raw RGB.
- resize/: source images and Pillow `Image.resize(size, BICUBIC|BILINEAR)` outputs.
- slicing.json: slice plans over thousands of sizes, from tools/pyref/minicpmv_slicing.py
  (reference) and tools/pyref/llamacpp_slicing.py (llama.cpp 0.3.36 compatibility).
- slices/: images and their overview/slices pixels from both transcriptions + Pillow.
"""
from __future__ import annotations

import io
import json
import os
import struct
import sys
import zlib

import numpy as np
import png  # pypng: an independent PNG encoder (16-bit, interlaced)
from PIL import Image, ImageDraw, ImageOps

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pyref"))
import llamacpp_slicing  # noqa: E402
import minicpmv_slicing  # noqa: E402

VERSION = 6


def photo_like(w: int, h: int, seed: int) -> Image.Image:
    """A deterministic image with smooth gradients, edges, fine texture and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / max(w, 1) * 6.1 + seed) * np.cos(y / max(h, 1) * 3.7)
    g = 255 * x / max(w - 1, 1)
    b = 128 + 90 * np.sin((x + y) / 7.0) + 30 * np.cos(x / 2.3)
    arr = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (h, w, 3))
    im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    for i in range(6):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(1, max(2, w // 3))), y0 + int(rng.integers(1, max(2, h // 3)))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        (d.ellipse if i % 2 else d.rectangle)([x0, y0, x1, y1], fill=color)
    d.text((w // 10, h // 10), "EdgeVLM 0123", fill=(255, 255, 255))
    return im


def rgb_bytes(im: Image.Image) -> bytes:
    return im.convert("RGB").tobytes()


def write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def pillow_decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    if im.format == "JPEG":
        im = ImageOps.exif_transpose(im)
    return im.convert("RGB")


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def with_png_size(data: bytes, w: int, h: int) -> bytes:
    """The PNG with its IHDR width/height replaced (CRC recomputed)."""
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", w, h)
    return data[:8] + png_chunk(b"IHDR", bytes(ihdr)) + data[33:]


def with_jpeg_size(data: bytes, w: int, h: int) -> bytes:
    """The JPEG with its SOF width/height replaced."""
    b = bytearray(data)
    i = 2
    while i < len(b):
        marker, length = b[i + 1], (b[i + 2] << 8) | b[i + 3]
        if marker in (0xC0, 0xC1, 0xC2):
            b[i + 5:i + 9] = struct.pack(">HH", h, w)
            return bytes(b)
        i += 2 + length
    raise ValueError("no SOF")


def make_decode(out: str) -> list:
    d = os.path.join(out, "decode")
    os.makedirs(d, exist_ok=True)
    cases = []

    def add(name, data, expect_error=None):
        write(os.path.join(d, name), data)
        case = {"file": f"decode/{name}"}
        if expect_error:
            case["error"] = expect_error
        else:
            im = pillow_decode(data)
            write(os.path.join(d, name + ".rgb"), rgb_bytes(im))
            case.update(expected=f"decode/{name}.rgb", width=im.width, height=im.height)
        cases.append(case)

    base = photo_like(97, 61, 1)
    def jpeg(im, **kw):
        b = io.BytesIO(); im.save(b, "JPEG", **kw); return b.getvalue()
    add("baseline420.jpg", jpeg(base, quality=90))
    add("baseline444.jpg", jpeg(base, quality=95, subsampling=0))
    add("baseline422.jpg", jpeg(base, quality=85, subsampling=1))
    add("progressive.jpg", jpeg(base, quality=88, progressive=True))
    add("optimized_restart.jpg", jpeg(photo_like(130, 90, 2), quality=75, optimize=True, restart_marker_rows=1))
    add("gray.jpg", jpeg(base.convert("L"), quality=90))
    add("gray_progressive.jpg", jpeg(base.convert("L"), quality=90, progressive=True))
    add("cmyk.jpg", jpeg(base.convert("CMYK"), quality=90))
    add("tiny1x1.jpg", jpeg(Image.new("RGB", (1, 1), (200, 10, 30))))
    add("odd17x9.jpg", jpeg(photo_like(17, 9, 3), quality=92))
    big = photo_like(640, 480, 4)
    add("large640x480.jpg", jpeg(big, quality=85))
    oriented = photo_like(23, 13, 5)
    for o in range(1, 9):
        exif = Image.Exif(); exif[0x0112] = o
        add(f"exif_orientation{o}.jpg", jpeg(oriented, quality=90, exif=exif.tobytes()))
    full = jpeg(big, quality=85)
    add("truncated.jpg", full[: len(full) * 6 // 10], "truncated")
    add("truncated_header.jpg", full[:300], "truncated")
    corrupt = bytearray(full); corrupt[600:700] = b"\x00" * 100; corrupt[2:4] = b"\xff\xc4"
    add("corrupt.jpg", bytes(corrupt[:2]) + b"\xff\xdb\x00\x03\x00" + bytes(corrupt[700:]), "corrupt")
    add("zero_height.jpg", with_jpeg_size(jpeg(base), 97, 0), "zeroSize")
    add("bomb.jpg", with_jpeg_size(jpeg(base), 60000, 60000), "tooManyPixels")

    def pillow_png(im, **kw):
        b = io.BytesIO(); im.save(b, "PNG", **kw); return b.getvalue()
    rgba = base.copy(); rgba.putalpha(Image.linear_gradient("L").resize(base.size))
    add("rgb8.png", pillow_png(base))
    add("rgba8.png", pillow_png(rgba))
    add("gray8.png", pillow_png(base.convert("L")))
    add("la8.png", pillow_png(rgba.convert("LA")))
    add("gray1.png", pillow_png(base.convert("1")))
    add("palette8.png", pillow_png(base.convert("P", palette=Image.Palette.ADAPTIVE, colors=200)))
    add("palette4.png", pillow_png(base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), bits=4))
    pal = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    add("palette_trns.png", pillow_png(pal, transparency=bytes(range(0, 256, 4))))
    add("gray_trns.png", pillow_png(base.convert("L"), transparency=77))

    rng = np.random.default_rng(7)
    w, h = 37, 29
    def pypng(rows, **kw):
        b = io.BytesIO(); png.Writer(w, h, **kw).write(b, rows); return b.getvalue()
    g16 = rng.integers(0, 65536, (h, w)); g16[:5] = rng.integers(0, 300, (5, w))
    add("gray16.png", pypng(g16.tolist(), greyscale=True, bitdepth=16))
    add("gray2.png", pypng(rng.integers(0, 4, (h, w)).tolist(), greyscale=True, bitdepth=2))
    add("gray4.png", pypng(rng.integers(0, 16, (h, w)).tolist(), greyscale=True, bitdepth=4))
    add("la16.png", pypng(rng.integers(0, 65536, (h, w * 2)).tolist(), greyscale=True, alpha=True, bitdepth=16))
    add("rgb16.png", pypng(rng.integers(0, 65536, (h, w * 3)).tolist(), greyscale=False, bitdepth=16))
    add("rgba16.png", pypng(rng.integers(0, 65536, (h, w * 4)).tolist(), greyscale=False, alpha=True, bitdepth=16))
    add("rgb8_interlaced.png", pypng(np.asarray(photo_like(w, h, 8)).reshape(h, -1).tolist(), greyscale=False, interlace=True))
    add("gray16_interlaced.png", pypng(g16.tolist(), greyscale=True, bitdepth=16, interlace=True))
    add("tiny1x1.png", pillow_png(Image.new("RGB", (1, 1), (1, 2, 3))))
    p = pillow_png(base)
    add("truncated.png", p[: len(p) // 2], "truncated")
    bad = bytearray(p); bad[60] ^= 0xFF  # inside IDAT: CRC mismatch
    add("corrupt.png", bytes(bad), "corrupt")
    add("zero_width.png", with_png_size(p, 0, 61), "zeroSize")
    add("bomb.png", with_png_size(p, 10000, 10000), "tooManyPixels")
    add("empty.jpg", b"", "empty")
    add("gif.jpg", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "unsupportedFormat")
    return cases


def make_resize(out: str) -> list:
    d = os.path.join(out, "resize")
    os.makedirs(d, exist_ok=True)
    sources = {"a": photo_like(61, 43, 11), "b": photo_like(1, 1, 12), "c": photo_like(1, 37, 13),
               "d": photo_like(300, 7, 14), "e": photo_like(640, 480, 15)}
    # hard edges stress clamping (cubic overshoot)
    edges = Image.new("RGB", (40, 30), (0, 0, 0))
    ImageDraw.Draw(edges).rectangle([10, 5, 29, 24], fill=(255, 255, 255))
    sources["f"] = edges
    targets = {
        "a": [(61, 43), (30, 21), (122, 86), (7, 5), (1, 1), (200, 3), (3, 200), (61, 10), (10, 43),
              (45, 60), (183, 129), (14, 14), (448, 448), (60, 42), (62, 44), (2, 1)],
        "b": [(1, 1), (5, 3), (448, 448), (1, 9)],
        "c": [(1, 1), (3, 100), (5, 12), (2, 37)],
        "d": [(150, 3), (900, 21), (17, 1), (300, 1), (64, 64)],
        "e": [(602, 336), (448, 448), (518, 392), (1036, 784), (210, 157), (13, 11), (1280, 960), (639, 479), (641, 481)],
        "f": [(13, 9), (97, 71), (41, 31), (400, 300)],
    }
    cases = []
    for key, im in sources.items():
        write(os.path.join(d, f"{key}.rgb"), rgb_bytes(im))
        for (tw, th) in targets[key]:
            for filt, fname in ((Image.Resampling.BICUBIC, "bicubic"), (Image.Resampling.BILINEAR, "bilinear")):
                name = f"{key}_{tw}x{th}_{fname}.rgb"
                write(os.path.join(d, name), rgb_bytes(im.resize((tw, th), filt)))
                cases.append({"source": f"resize/{key}.rgb", "width": im.width, "height": im.height,
                              "target_width": tw, "target_height": th, "filter": fname,
                              "expected": f"resize/{name}"})
    return cases


def slicing_sizes() -> list:
    sizes = {(w, h) for w in range(14, 2101, 37) for h in range(14, 2101, 37)}
    extra = [(3000, 400), (400, 3000), (14, 5000), (5000, 14), (1, 1), (13, 13), (1, 2), (2, 1),
             (1, 5000), (5000, 1), (7, 3), (14, 14), (448, 448), (449, 448), (448, 449), (449, 449),
             (400, 300), (600, 300), (1000, 500), (1024, 768), (1344, 1344), (1920, 1080),
             (1080, 1920), (4032, 3024), (3024, 4032), (8000, 6000), (100, 170), (896, 448),
             (1345, 1345), (2688, 1344), (10000, 10), (10, 10000), (897, 224), (224, 897)]
    sizes.update(extra)
    return sorted(sizes)


def make_slicing(out: str) -> dict:
    rows = []
    for (w, h) in slicing_sizes():
        r = minicpmv_slicing.plan((w, h))
        c = llamacpp_slicing.plan((w, h))
        rows.append({
            "w": w, "h": h,
            "ref": {"grid": r.grid, "overview": r.overview_size, "refine": r.refine_size,
                    "slice": r.slice_size},
            "compat": {"grid": c["grid"], "overview": c["overview"], "refine": c["refine"],
                       "slice": c["slice"], "content": c["refine_content"]},
        })
    with open(os.path.join(out, "slicing.json"), "w") as f:
        json.dump(rows, f, separators=(",", ":"))
    return {"count": len(rows)}


def make_slices(out: str) -> list:
    d = os.path.join(out, "slices")
    os.makedirs(d, exist_ok=True)
    cases = []
    images = {"wide": photo_like(1920, 1080, 21), "square": photo_like(1024, 768, 22),
              "small": photo_like(400, 300, 23), "strip": photo_like(3000, 400, 24),
              "tall": photo_like(300, 1100, 25), "mid": photo_like(600, 300, 26),
              "jpeg": pillow_decode(_jpeg_bytes(photo_like(1280, 720, 27)))}
    for name, im in images.items():
        write(os.path.join(d, f"{name}.rgb"), rgb_bytes(im))
        for mode, mod in (("reference", minicpmv_slicing), ("llamacpp", llamacpp_slicing)):
            overview, slices, grid = mod.slice_image(im)
            write(os.path.join(d, f"{name}_{mode}_overview.rgb"), rgb_bytes(overview))
            files = []
            for i, s in enumerate(slices):
                write(os.path.join(d, f"{name}_{mode}_slice{i}.rgb"), rgb_bytes(s))
                files.append(f"slices/{name}_{mode}_slice{i}.rgb")
            cases.append({"source": f"slices/{name}.rgb", "width": im.width, "height": im.height,
                          "mode": mode, "grid": grid,
                          "overview": f"slices/{name}_{mode}_overview.rgb",
                          "overview_size": overview.size,
                          "slices": files, "slice_size": slices[0].size if slices else None})
    return cases


def make_tensors(out: str) -> dict:
    """Normalised planar float32 tensors (llama.cpp's float32 order of operations) and
    position buckets floor(70*i/n), both with numpy."""
    d = os.path.join(out, "tensors")
    os.makedirs(d, exist_ok=True)
    im = photo_like(42, 28, 31)
    write(os.path.join(d, "source.rgb"), rgb_bytes(im))
    a = np.asarray(im).astype(np.float32) / np.float32(255)
    cases = []
    for name, mean, std in (("minicpmv", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
                            ("clip", (0.48145466, 0.4578275, 0.40821073),
                             (0.26862954, 0.26130258, 0.27577711))):
        planar = np.stack([(a[:, :, c] - np.float32(mean[c])) / np.float32(std[c]) for c in range(3)])
        write(os.path.join(d, f"{name}.f32"), planar.astype("<f4").tobytes())
        cases.append({"name": name, "mean": mean, "std": std, "file": f"tensors/{name}.f32"})
    buckets = {str(n): [int(np.floor(70.0 * i / n)) for i in range(n)] for n in range(1, 260)}
    return {"source": "tensors/source.rgb", "width": im.width, "height": im.height,
            "normalizations": cases, "buckets": buckets}


def _jpeg_bytes(im):
    b = io.BytesIO(); im.save(b, "JPEG", quality=90); return b.getvalue()


def main() -> None:
    import PIL
    if int(PIL.__version__.split(".")[0]) >= 13:
        # Pillow 13 may resize vertically first (python-pillow/Pillow#9549); the reference
        # processor and llama.cpp resize horizontally first, as Pillow <= 12 always does.
        sys.exit(f"imaging.py: Pillow {PIL.__version__} found; run "
                 "'.venv/bin/pip install -r tools/requirements.txt' (needs pillow<13)")
    out = os.path.join(sys.argv[1], "imaging")
    manifest_path = os.path.join(out, "manifest.json")
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            if json.load(f).get("version") == VERSION:
                return
    os.makedirs(out, exist_ok=True)
    manifest = {"version": VERSION, "decode": make_decode(out), "resize": make_resize(out),
                "slicing": make_slicing(out), "slices": make_slices(out),
                "tensors": make_tensors(out)}
    # A 1920x1080 photo-like JPEG for `edgevlm imaging bench` and tools/bench/imaging_pillow.py.
    write(os.path.join(out, "bench1920x1080.jpg"), _jpeg_bytes(photo_like(1920, 1080, 41)))
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
