"""Reference data for the MiniCPM-V vision tower (SigLIP encoder + resampler).

Writes a small random-weight mmproj in the legacy MiniCPM-V layout llama.cpp reads (gguf-py),
and the outputs of an independent numpy transcription of minicpmv-spec.md §1.2–1.3 for a few
random pixel tensors. The Swift `Models` vision code is tested against these numbers.

Usage: vision.py OUTPUT_DIR   (writes OUTPUT_DIR/vision/…; skips if present)
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

import gguf

WIDTH, HEADS, FFN, LAYERS, PATCH, IMAGE = 64, 4, 96, 2, 14, 56
D, QUERIES, GRID = 128, 8, 70
EPS = 1e-6
CASES = [(28, 42), (56, 56), (70, 28), (14, 14)]  # (height, width) of each input slice


def f16(a):
    return a.astype(np.float16).astype(np.float32)


def make_weights(rng, D=D, QUERIES=QUERIES):
    def lin(o, i, s=None):
        return f16(rng.standard_normal((o, i)).astype(np.float32) * (s or 1 / math.sqrt(i)))

    def vec(n, s=0.1):
        return rng.standard_normal(n).astype(np.float32) * s

    w = {
        "v.patch_embd.weight": f16(rng.standard_normal((WIDTH, 3, PATCH, PATCH)).astype(np.float32) * 0.05),
        "v.patch_embd.bias": vec(WIDTH),
        "v.position_embd.weight": f16(rng.standard_normal((GRID * GRID, WIDTH)).astype(np.float32) * 0.1),
    }
    for i in range(LAYERS):
        p = f"v.blk.{i}."
        for n in ("attn_q", "attn_k", "attn_v", "attn_out"):
            w[p + n + ".weight"] = lin(WIDTH, WIDTH)
            w[p + n + ".bias"] = vec(WIDTH)
        for n in ("ln1", "ln2"):
            w[p + n + ".weight"] = 1 + vec(WIDTH)
            w[p + n + ".bias"] = vec(WIDTH)
        # Legacy MiniCPM-V naming: fc1 (WIDTH→FFN) is stored as ffn_down, fc2 as ffn_up.
        w[p + "ffn_down.weight"] = lin(FFN, WIDTH)
        w[p + "ffn_down.bias"] = vec(FFN)
        w[p + "ffn_up.weight"] = lin(WIDTH, FFN)
        w[p + "ffn_up.bias"] = vec(WIDTH)
    w["v.post_ln.weight"] = 1 + vec(WIDTH)
    w["v.post_ln.bias"] = vec(WIDTH)
    w["resampler.query"] = rng.standard_normal((QUERIES, D)).astype(np.float32)
    w["resampler.pos_embed_k"] = rng.standard_normal((GRID * GRID, D)).astype(np.float32)  # unused
    w["resampler.kv.weight"] = lin(D, WIDTH)
    for n in ("q", "k", "v", "out"):
        w[f"resampler.attn.{n}.weight"] = lin(D, D)
        w[f"resampler.attn.{n}.bias"] = vec(D)
    for n in ("ln_q", "ln_kv", "ln_post"):
        w[f"resampler.{n}.weight"] = 1 + vec(D)
        w[f"resampler.{n}.bias"] = vec(D)
    w["resampler.proj.weight"] = lin(D, D)
    return w


def write_mmproj(path, w):
    writer = gguf.GGUFWriter(str(path), "clip")
    writer.add_string("general.description", "random-weight MiniCPM-V mmproj for tests")
    writer.add_bool("clip.has_text_encoder", False)
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_bool("clip.has_minicpmv_projector", True)
    writer.add_string("clip.projector_type", "resampler")
    writer.add_int32("clip.minicpmv_version", 3)
    writer.add_uint32("clip.minicpmv_query_num", w["resampler.query"].shape[0])
    writer.add_uint32("clip.vision.image_size", IMAGE)
    writer.add_uint32("clip.vision.patch_size", PATCH)
    writer.add_uint32("clip.vision.embedding_length", WIDTH)
    writer.add_uint32("clip.vision.feed_forward_length", FFN)
    writer.add_uint32("clip.vision.projection_dim", 0)
    writer.add_uint32("clip.vision.attention.head_count", HEADS)
    writer.add_float32("clip.vision.attention.layer_norm_epsilon", EPS)
    writer.add_uint32("clip.vision.block_count", LAYERS)
    writer.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    writer.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])
    writer.add_bool("clip.use_gelu", True)
    for name, a in w.items():
        # The legacy converter's dtype rule: 4-D tensors and 2-D `.weight` tensors F16, else F32.
        half = a.ndim == 4 or (a.ndim == 2 and name.endswith(".weight"))
        writer.add_tensor(name, a.astype(np.float16) if half else a)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def layer_norm(x, w, b):
    x64 = x.astype(np.float64)
    mu = x64.mean(-1, keepdims=True)
    var = ((x64 - mu) ** 2).mean(-1, keepdims=True)
    return ((x64 - mu) / np.sqrt(var + EPS) * w + b).astype(np.float32)


def gelu_tanh(x):
    x = x.astype(np.float64)
    return (0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))).astype(np.float32)


def attention(q, k, v, heads):
    n_q, dim = q.shape
    hd = dim // heads
    out = np.zeros((n_q, dim), np.float64)
    for h in range(heads):
        s = slice(h * hd, (h + 1) * hd)
        scores = q[:, s].astype(np.float64) @ k[:, s].astype(np.float64).T / math.sqrt(hd)
        scores -= scores.max(-1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(-1, keepdims=True)
        out[:, s] = p @ v[:, s]
    return out.astype(np.float32)


def vit(w, pixels):
    _, h, wd = pixels.shape
    gh, gw = h // PATCH, wd // PATCH
    patches = pixels.reshape(3, gh, PATCH, gw, PATCH).transpose(1, 3, 0, 2, 4).reshape(gh * gw, -1)
    x = patches @ w["v.patch_embd.weight"].reshape(WIDTH, -1).T + w["v.patch_embd.bias"]
    rows = np.floor(GRID * np.arange(gh) / gh).astype(int)
    cols = np.floor(GRID * np.arange(gw) / gw).astype(int)
    pos = (rows[:, None] * GRID + cols[None, :]).reshape(-1)
    x = x + w["v.position_embd.weight"][pos]
    for i in range(LAYERS):
        p = f"v.blk.{i}."
        y = layer_norm(x, w[p + "ln1.weight"], w[p + "ln1.bias"])
        q = y @ w[p + "attn_q.weight"].T + w[p + "attn_q.bias"]
        k = y @ w[p + "attn_k.weight"].T + w[p + "attn_k.bias"]
        v = y @ w[p + "attn_v.weight"].T + w[p + "attn_v.bias"]
        x = x + attention(q, k, v, HEADS) @ w[p + "attn_out.weight"].T + w[p + "attn_out.bias"]
        y = layer_norm(x, w[p + "ln2.weight"], w[p + "ln2.bias"])
        y = gelu_tanh(y @ w[p + "ffn_down.weight"].T + w[p + "ffn_down.bias"])
        x = x + y @ w[p + "ffn_up.weight"].T + w[p + "ffn_up.bias"]
    return layer_norm(x, w["v.post_ln.weight"], w["v.post_ln.bias"]), (gh, gw)


def sincos_2d(gh, gw):
    quarter = D // 4
    omega = 1.0 / 10000 ** (np.arange(quarter, dtype=np.float64) / quarter)
    t = np.arange(gh * gw)
    x, y = (t % gw)[:, None] * omega, (t // gw)[:, None] * omega
    return np.concatenate([np.sin(x), np.cos(x), np.sin(y), np.cos(y)], axis=1).astype(np.float32)


def resampler(w, feats, grid):
    kv = layer_norm(feats @ w["resampler.kv.weight"].T, w["resampler.ln_kv.weight"], w["resampler.ln_kv.bias"])
    q = layer_norm(w["resampler.query"], w["resampler.ln_q.weight"], w["resampler.ln_q.bias"])
    k = kv + sincos_2d(*grid)
    Q = q @ w["resampler.attn.q.weight"].T + w["resampler.attn.q.bias"]
    K = k @ w["resampler.attn.k.weight"].T + w["resampler.attn.k.bias"]
    V = kv @ w["resampler.attn.v.weight"].T + w["resampler.attn.v.bias"]
    o = attention(Q, K, V, D // 128) @ w["resampler.attn.out.weight"].T + w["resampler.attn.out.bias"]
    o = layer_norm(o, w["resampler.ln_post.weight"], w["resampler.ln_post.bias"])
    return o @ w["resampler.proj.weight"].T


def main():
    out = Path(sys.argv[1]) / "vision"
    if (out / "manifest.json").exists():
        return
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    w = make_weights(rng)
    write_mmproj(out / "mmproj-tiny-f16.gguf", w)
    # A projector for tools/testdata/llm.py's tiny qwen2 (width 256): end-to-end captioning.
    global D
    saved, D = D, 256
    write_mmproj(out / "mmproj-tiny256-f16.gguf", make_weights(np.random.default_rng(99), D=256, QUERIES=16))
    D = saved
    cases = []
    for idx, (h, wd) in enumerate(CASES):
        pixels = rng.uniform(-1, 1, (3, h, wd)).astype(np.float32)
        feats, grid = vit(w, pixels)
        emb = resampler(w, feats, grid)
        stem = f"case{idx}"
        pixels.tofile(out / f"{stem}.pixels.f32")
        feats.astype(np.float32).tofile(out / f"{stem}.vit.f32")
        emb.astype(np.float32).tofile(out / f"{stem}.embeddings.f32")
        cases.append({"name": stem, "height": h, "width": wd, "grid": list(grid)})
    (out / "manifest.json").write_text(json.dumps({
        "mmproj": "mmproj-tiny-f16.gguf", "width": WIDTH, "embedding": D, "queries": QUERIES,
        "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
