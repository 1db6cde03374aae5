#!/usr/bin/env python3
"""Model-update test data (issue 9), made with gguf-py and hashlib.

Usage: models.py OUTDIR   (writes OUTDIR/models/; skips the work when it is up to date)

  llm-v2.gguf       the demo LLM (models/demo/edgevlm-demo-F16.gguf) "fine-tuned": every tensor of
                    its last layer (blk.2.*) changed by one unit in the last place of each F16
                    value (the F32 norms and biases scaled by 1.001); same layout, same header.
  llm-nan.gguf      the demo LLM with token_embd.weight set to NaN: a file whose digests are
                    valid but whose model cannot answer the canary.
  llm-unloadable.gguf  the demo LLM with one tensor renamed in the header (blk.1.ffn_down.weight ->
                    blk.1.ffn_dowX.weight, same length): a well-formed GGUF with valid digests
                    that the model loader refuses (a required tensor is missing).
  digests.json      for those files and the demo pair: size, SHA-256 of the whole file and of
                    every tensor's data bytes (gguf-py's GGUFReader offsets), in file order.
"""
import hashlib
import json
import shutil
import sys
from pathlib import Path

sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import gguf  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEMO_LLM = ROOT / "models/demo/edgevlm-demo-F16.gguf"
DEMO_MMPROJ = ROOT / "models/demo/mmproj-edgevlm-demo-F16.gguf"
VERSION = "2"


def describe(path):
    reader = gguf.GGUFReader(str(path))
    data = Path(path).read_bytes()
    tensors = []
    for t in reader.tensors:
        start = int(t.data_offset)
        tensors.append({"name": t.name, "sha256": hashlib.sha256(data[start:start + int(t.n_bytes)]).hexdigest(),
                        "offset": start, "size": int(t.n_bytes)})
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "tensors": tensors}


def modified_copy(src, dst, change):
    shutil.copyfile(src, dst)
    reader = gguf.GGUFReader(str(dst), "r+")
    for t in reader.tensors:
        change(t)
    reader.data.flush()


def finetune(t):
    if not t.name.startswith("blk.2."):
        return
    if t.tensor_type == gguf.GGMLQuantizationType.F16:
        bits = t.data.view(np.uint16)
        bits ^= 1
    else:
        t.data[...] = t.data * np.float32(1.001)


def poison(t):
    if t.name == "token_embd.weight":
        t.data[...] = np.nan


def rename_ffn_down(t):
    if t.name == "blk.1.ffn_down.weight":
        # The tensor-info field's parts: name length, name bytes, dims, type, offset.
        name = t.field.parts[1]
        name[...] = np.frombuffer(b"blk.1.ffn_dowX.weight", dtype=np.uint8)


def main():
    out = Path(sys.argv[1]) / "models"
    stamp = out / "VERSION"
    if stamp.exists() and stamp.read_text() == VERSION + str(DEMO_LLM.stat().st_mtime_ns):
        return
    out.mkdir(parents=True, exist_ok=True)
    modified_copy(DEMO_LLM, out / "llm-v2.gguf", finetune)
    modified_copy(DEMO_LLM, out / "llm-nan.gguf", poison)
    modified_copy(DEMO_LLM, out / "llm-unloadable.gguf", rename_ffn_down)
    digests = {
        "demo-llm": describe(DEMO_LLM),
        "demo-mmproj": describe(DEMO_MMPROJ),
        "llm-v2": describe(out / "llm-v2.gguf"),
        "llm-nan": describe(out / "llm-nan.gguf"),
        "llm-unloadable": describe(out / "llm-unloadable.gguf"),
    }
    (out / "digests.json").write_text(json.dumps(digests, indent=1))
    stamp.write_text(VERSION + str(DEMO_LLM.stat().st_mtime_ns))


if __name__ == "__main__":
    main()
