"""Goldens from llama.cpp for the vision path (run by hand; CI only reads what it wrote).

For the tiny random-weight pair (tools/testdata/llm.py's tiny qwen2 + tools/testdata/vision.py's
width-256 mmproj) and a few generated images, records what llama.cpp 0.3.36 (the version
vendored in llama-cpp-python 0.3.36) produces:
  * the mtmd prompt layout and every image chunk's embeddings (tools/goldens/mtmd_embeddings.cpp),
  * the greedy answer of `llama-mtmd-cli` (16 tokens) for a prompt.
Writes Tests/RuntimeTests/Fixtures/vision-goldens/{goldens.json, *.png, *.embeddings.f32}.

Usage: LLAMA_BIN=/path/to/llama.cpp/build/bin MTMD_EMBEDDINGS=/path/to/mtmd_embeddings \
       python tools/goldens/make_vision_goldens.py .testdata
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/RuntimeTests/Fixtures/vision-goldens"
IMAGES = {"small": (40, 30), "wide": (150, 60), "large": (130, 120)}
PROMPT = "Describe the image."


def make_image(w, h):
    """The same pattern as VisionLanguageModelTests.image(width:height:)."""
    x = np.arange(w)[None, :].repeat(h, 0)
    y = np.arange(h)[:, None].repeat(w, 1)
    r = (x * 255) // max(w - 1, 1)
    g = (y * 255) // max(h - 1, 1)
    b = np.where((x // 7 + y // 5) % 2 == 0, 200, 30)
    return np.stack([r, g, b], -1).astype(np.uint8)


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def main():
    data = Path(sys.argv[1])
    llm = data / "llm/tiny-qwen2-f16.gguf"
    mmproj = data / "vision/mmproj-tiny256-f16.gguf"
    bin_dir = Path(os.environ["LLAMA_BIN"])
    tool = os.environ["MTMD_EMBEDDINGS"]
    OUT.mkdir(parents=True, exist_ok=True)
    goldens = {"llm_sha256": sha256(llm), "mmproj_sha256": sha256(mmproj), "prompt": PROMPT,
               "llama_cpp": "llama-cpp-python 0.3.36 vendored llama.cpp (0c1e570)", "images": {}}
    for name, (w, h) in IMAGES.items():
        pixels = make_image(w, h)
        png = OUT / f"{name}.png"
        Image.fromarray(pixels).save(png)
        raw = data / f"vision-golden-{name}.rgb"
        raw.write_bytes(pixels.tobytes())
        emb = OUT / f"{name}.embeddings.f32"
        layout = json.loads(subprocess.run([tool, str(llm), str(mmproj), str(raw), str(w), str(h), str(emb)],
                                           check=True, capture_output=True, text=True).stdout)
        cli = subprocess.run([str(bin_dir / "llama-mtmd-cli"), "-m", str(llm), "--mmproj", str(mmproj),
                              "--image", str(png), "-p", PROMPT, "-n", "16", "--temp", "0", "--seed", "0",
                              "-t", "2", "--no-warmup"], check=True, capture_output=True)
        goldens["images"][name] = {"width": w, "height": h, "layout": layout["chunks"],
                                   "n_embd": layout["n_embd"],
                                   # Raw bytes: a random model's pieces need not be valid UTF-8.
                                   "mtmd_cli_output_hex": cli.stdout.hex()}
    (OUT / "goldens.json").write_text(json.dumps(goldens, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(goldens, indent=1, ensure_ascii=False)[:3000])


if __name__ == "__main__":
    main()
