#!/usr/bin/env python3
"""Random-weight LLM GGUF files in the exact layouts of MiniCPM-V's language models.

Usage: llm.py OUTDIR   (writes OUTDIR/llm/tiny-qwen2-f16.gguf and OUTDIR/llm/tiny-llama-f16.gguf)

* `qwen2`: MiniCPM-V 2.6's LLM layout: q/k/v biases, NEOX RoPE, freq_base 1e6, RMS eps 1e-6,
  ChatML template, pre-tokenizer `qwen2`, untied `output.weight`.
* `llama`: MiniCPM-Llama3-V 2.5's LLM layout: no biases, NORM RoPE, freq_base 500000, eps 1e-5,
  GQA, Llama-3 template, pre-tokenizer `llama-bpe`, BOS added.

The vocabulary is a real byte-level BPE: the 256 GPT-2 byte tokens, merges learned by a tiny BPE
trainer over the corpus below, then the ChatML / Llama-3 / MiniCPM-V special tokens. Everything is
deterministic (fixed seeds, no dependence on dict order), so the files are byte-identical on every
run: the committed llama.cpp goldens and quantized files (tools/goldens/make_llm_fixtures.py) were
made from exactly these files. `build_model` is shared with that script for the realistic-size
Qwen2-0.5B-shaped file.
"""
from __future__ import annotations

import collections
import os
import re
import sys

import numpy as np

# tools/testdata/gguf.py (the GGUF generator) would shadow the gguf package: drop this folder.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
import gguf  # noqa: E402

CORPUS = """
The quick brown fox jumps over the lazy dog. A picture is worth a thousand words.
Describe this image in detail. What is in the picture? There is a cat sitting on a red chair
next to the window, and the sun is shining through the glass. The weather is nice today.
In 2024 the model answered 1234 questions in 56.7 seconds; the answer was 42, not 3.14159.
You are a helpful assistant. Please answer the question about the image below.
She said: "I'll go there, we're sure it's fine, they've done it, I'd like that." Don't stop!
def generate(model, prompt): return model.forward(prompt) if prompt else None
for i in range(10): print(i * 2 + 1)   # indentation    and    spaces
这是一张图片。图片中有一只猫坐在红色的椅子上。请描述这张图片。你好，世界！
مرحبا بالعالم. هذه صورة قطة جميلة.
Привет, мир! Это картинка с кошкой.
Emoji: 😀 🐱 🚀 ✨ and symbols € £ ¥ © ® ™ — – … « »
the the the image image image picture picture model model answer answer question question
""" * 3

SPECIAL_QWEN2 = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
SPECIAL_LLAMA = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                 "<|end_header_id|>", "<|eot_id|>"]
# MiniCPM-V's added tokens (user-defined in the official GGUFs).
SPECIAL_MINICPMV = ["<unk>", "<image>", "</image>", "<ref>", "</ref>", "<box>", "</box>",
                    "<quad>", "</quad>", "<point>", "</point>", "<slice>", "</slice>",
                    "<image_id>", "</image_id>"]

CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte → printable unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def train_bpe(corpus: str, n_merges: int) -> list[tuple[str, str]]:
    """A tiny byte-level BPE trainer: most frequent adjacent pair first, ties by text order."""
    b2u = bytes_to_unicode()
    # Rough GPT-2-like pre-split (only decides which merges are learned, not how we tokenize).
    pieces = re.findall(r"'(?:s|t|re|ve|m|ll|d)| ?[^\W\d_]+| ?\d| ?[^\s\w]+|\s+(?!\S)|\s+", corpus)
    words = collections.Counter(tuple(b2u[b] for b in p.encode("utf-8")) for p in pieces)
    words = sorted(words.items())
    merges: list[tuple[str, str]] = []
    for _ in range(n_merges):
        pairs: collections.Counter = collections.Counter()
        for w, c in words:
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        joined = best[0] + best[1]
        new_words = []
        for w, c in words:
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words.append((tuple(out), c))
        words = new_words
    return merges


def build_vocab(arch: str, n_merges: int, n_vocab: int | None):
    """Tokens, token types and merges; pads with synthetic normal tokens up to n_vocab."""
    b2u = bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    types = [gguf.TokenType.NORMAL] * 256
    merges = train_bpe(CORPUS, n_merges)
    seen = set(tokens)
    for a, b in merges:
        t = a + b
        if t not in seen:
            seen.add(t)
            tokens.append(t)
            types.append(gguf.TokenType.NORMAL)
    if n_vocab is not None:
        i = 0
        reserved = len(SPECIAL_QWEN2) + len(SPECIAL_LLAMA) + len(SPECIAL_MINICPMV)
        while len(tokens) < n_vocab - reserved:
            # Synthetic tokens: reachable only by generation (no merge builds them).
            tokens.append(f"[T{i}]")
            types.append(gguf.TokenType.NORMAL)
            i += 1
    specials = SPECIAL_QWEN2 if arch == "qwen2" else SPECIAL_LLAMA
    ids = {}
    for s in specials:
        ids[s] = len(tokens)
        tokens.append(s)
        types.append(gguf.TokenType.CONTROL)
    for s in SPECIAL_MINICPMV:
        ids[s] = len(tokens)
        tokens.append(s)
        types.append(gguf.TokenType.USER_DEFINED)
    merge_strings = [f"{a} {b}" for a, b in merges]
    return tokens, types, merge_strings, ids


class Shape:
    def __init__(self, arch, n_layer, n_embd, n_head, n_head_kv, n_ff, n_merges, n_vocab,
                 n_ctx, tied, seed):
        self.arch, self.n_layer, self.n_embd, self.n_head, self.n_head_kv = arch, n_layer, n_embd, n_head, n_head_kv
        self.n_ff, self.n_merges, self.n_vocab, self.n_ctx, self.tied, self.seed = n_ff, n_merges, n_vocab, n_ctx, tied, seed


TINY_QWEN2 = Shape("qwen2", n_layer=2, n_embd=256, n_head=4, n_head_kv=2, n_ff=512, n_merges=400,
                   n_vocab=None, n_ctx=256, tied=False, seed=2026)
TINY_LLAMA = Shape("llama", n_layer=2, n_embd=256, n_head=4, n_head_kv=1, n_ff=512, n_merges=400,
                   n_vocab=None, n_ctx=256, tied=False, seed=2025)
# Small files with one defect each, for the error tests.
BROKEN = Shape("qwen2", n_layer=1, n_embd=64, n_head=2, n_head_kv=1, n_ff=128, n_merges=50,
               n_vocab=None, n_ctx=64, tied=True, seed=1)
# Qwen2-0.5B's shape (MiniCPM-V 2.6's LLM family at the smallest size), tied output embedding.
QWEN2_05B = Shape("qwen2", n_layer=24, n_embd=896, n_head=14, n_head_kv=2, n_ff=4864, n_merges=2000,
                  n_vocab=151936, n_ctx=32768, tied=True, seed=7)
# The same shape with an untied output (as MiniCPM-V 2.6's Qwen2-7B has) for the greedy parity
# check: with the tied N(0, 1) embedding every token's own embedding dominates the stream and the
# model repeats the last prompt token forever (scaled down to 0.15 it repeats one attractor
# token instead), so 32 identical tokens would prove little. Untied, greedy text varies.
QWEN2_05B_UNTIED = Shape("qwen2", n_layer=24, n_embd=896, n_head=14, n_head_kv=2, n_ff=4864, n_merges=2000,
                         n_vocab=151936, n_ctx=32768, tied=False, seed=8)


def build_model(shape: Shape, path: str, defect: str | None = None) -> None:
    """Writes one F16 GGUF (2-D weights F16, norms and biases F32, like convert_hf_to_gguf).

    `defect` makes a broken file for error tests: "architecture" (declares `mamba`),
    "missing" (no blk.0.ffn_down.weight), "shape" (attn_k.weight with the query's width),
    "extra" (a valid file plus an unused tensor `blk.0.extra.weight`), "nomerges" (no
    `tokenizer.ggml.merges`).
    """
    rng = np.random.default_rng(shape.seed)
    tokens, types, merges, ids = build_vocab(shape.arch, shape.n_merges, shape.n_vocab)
    n_vocab = len(tokens)
    d, hd = shape.n_embd, shape.n_embd // shape.n_head
    n_kv = shape.n_head_kv * hd

    w = gguf.GGUFWriter(path, "mamba" if defect == "architecture" else shape.arch)
    w.add_name(f"edgevlm-random-{shape.arch}")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_context_length(shape.n_ctx)
    w.add_embedding_length(d)
    w.add_block_count(shape.n_layer)
    w.add_feed_forward_length(shape.n_ff)
    w.add_head_count(shape.n_head)
    w.add_head_count_kv(shape.n_head_kv)
    w.add_rope_dimension_count(hd)
    if shape.arch == "qwen2":
        w.add_rope_freq_base(1000000.0)
        w.add_layer_norm_rms_eps(1e-6)
    else:
        w.add_rope_freq_base(500000.0)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_vocab_size(n_vocab)

    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2" if shape.arch == "qwen2" else "llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types([int(t) for t in types])
    if defect != "nomerges":
        w.add_token_merges(merges)
    if shape.arch == "qwen2":
        w.add_bos_token_id(ids["<|endoftext|>"])
        w.add_eos_token_id(ids["<|im_end|>"])
        w.add_pad_token_id(ids["<|endoftext|>"])
        w.add_add_bos_token(False)
        w.add_chat_template(CHATML_TEMPLATE)
    else:
        w.add_bos_token_id(ids["<|begin_of_text|>"])
        w.add_eos_token_id(ids["<|end_of_text|>"])
        w.add_add_bos_token(True)
        w.add_chat_template(LLAMA3_TEMPLATE)
    w.add_unk_token_id(ids["<unk>"])

    def mat(rows, cols, gain=1.0):
        return (rng.standard_normal((rows, cols), dtype=np.float32) * (gain / np.sqrt(cols))).astype(np.float16)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n, dtype=np.float32)).astype(np.float32)

    def bias(n, scale=0.1):
        return (scale * rng.standard_normal(n, dtype=np.float32)).astype(np.float32)

    # Embeddings ~N(0,1); projections ~N(0, 1/fan_in); residual writers halved so the stream grows slowly.
    w.add_tensor("token_embd.weight", rng.standard_normal((n_vocab, d), dtype=np.float32).astype(np.float16))
    for i in range(shape.n_layer):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", norm(d))
        w.add_tensor(p + "attn_q.weight", mat(d, d))
        w.add_tensor(p + "attn_k.weight", mat(d if defect == "shape" else n_kv, d))
        w.add_tensor(p + "attn_v.weight", mat(n_kv, d))
        if shape.arch == "qwen2":
            w.add_tensor(p + "attn_q.bias", bias(d))
            w.add_tensor(p + "attn_k.bias", bias(n_kv))
            w.add_tensor(p + "attn_v.bias", bias(n_kv))
        w.add_tensor(p + "attn_output.weight", mat(d, d, 0.5))
        w.add_tensor(p + "ffn_norm.weight", norm(d))
        w.add_tensor(p + "ffn_gate.weight", mat(shape.n_ff, d))
        w.add_tensor(p + "ffn_up.weight", mat(shape.n_ff, d))
        if not (defect == "missing" and i == 0):
            w.add_tensor(p + "ffn_down.weight", mat(d, shape.n_ff, 0.5))
    if defect == "extra":
        w.add_tensor("blk.0.extra.weight", norm(d))
    w.add_tensor("output_norm.weight", norm(d))
    if not shape.tied:
        # Logit std ≈ 4: peaked enough that greedy choices have clear margins.
        w.add_tensor("output.weight", mat(n_vocab, d, 4.0))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


REFERENCE_TOKENS = [3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26, 43, 38, 32, 79]


def reference_logits(path: str, tokens: list[int]) -> np.ndarray:
    """An independent float64 numpy forward pass of a qwen2/llama GGUF (weights read with gguf-py).

    Used as a second reference next to llama.cpp's goldens: exact math, no activation rounding."""
    r = gguf.GGUFReader(path)
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()

    def kv(k):
        return r.fields[f"{arch}.{k}"].parts[-1][0]

    t = {x.name: np.array(x.data, dtype=np.float64).reshape([int(v) for v in reversed(x.shape)])
         for x in r.tensors}
    n_layer, d = int(kv("block_count")), int(kv("embedding_length"))
    n_head, n_head_kv = int(kv("attention.head_count")), int(kv("attention.head_count_kv"))
    base, eps = float(kv("rope.freq_base")), float(kv("attention.layer_norm_rms_epsilon"))
    hd = d // n_head
    n = len(tokens)
    pos = np.arange(n, dtype=np.float64)

    def rms(x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w

    def rope(x):
        half = hd // 2
        ang = pos[:, None] * (base ** (-2.0 * np.arange(half) / hd))[None, :]
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        x = x.copy()
        if arch == "llama":  # NORM: adjacent pairs
            a, b = x[..., 0::2].copy(), x[..., 1::2].copy()
            x[..., 0::2], x[..., 1::2] = a * c - b * s, a * s + b * c
        else:  # NEOX: halves
            a, b = x[..., :half].copy(), x[..., half:].copy()
            x[..., :half], x[..., half:] = a * c - b * s, a * s + b * c
        return x

    x = t["token_embd.weight"][tokens]
    for i in range(n_layer):
        p = f"blk.{i}."
        h = rms(x, t[p + "attn_norm.weight"])
        q, k, v = (h @ t[p + f"attn_{z}.weight"].T + t.get(p + f"attn_{z}.bias", 0.0) for z in "qkv")
        q, k = rope(q.reshape(n, n_head, hd)), rope(k.reshape(n, n_head_kv, hd))
        k = np.repeat(k, n_head // n_head_kv, axis=1)
        v = np.repeat(v.reshape(n, n_head_kv, hd), n_head // n_head_kv, axis=1)
        sc = np.einsum("ihd,jhd->hij", q, k) / np.sqrt(hd) + np.triu(np.full((n, n), -np.inf), 1)[None]
        pr = np.exp(sc - sc.max(-1, keepdims=True))
        pr /= pr.sum(-1, keepdims=True)
        x = x + np.einsum("hij,jhd->ihd", pr, v).reshape(n, d) @ t[p + "attn_output.weight"].T
        h = rms(x, t[p + "ffn_norm.weight"])
        g, u = h @ t[p + "ffn_gate.weight"].T, h @ t[p + "ffn_up.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ t[p + "ffn_down.weight"].T
    h = rms(x, t["output_norm.weight"])
    return h @ t.get("output.weight", t["token_embd.weight"]).T


def main() -> None:
    out = os.path.join(sys.argv[1], "llm")
    os.makedirs(out, exist_ok=True)
    jobs = [("tiny-qwen2-f16.gguf", TINY_QWEN2, None), ("tiny-llama-f16.gguf", TINY_LLAMA, None)]
    jobs += [(f"broken-{d}.gguf", BROKEN, d) for d in ("architecture", "missing", "shape", "extra", "nomerges")]
    for name, shape, defect in jobs:
        path = os.path.join(out, name)
        if not os.path.exists(path):
            tmp = path + ".tmp"
            build_model(shape, tmp, defect)
            os.replace(tmp, path)
        if name.startswith("tiny"):
            ref = path.replace(".gguf", ".numpy-logits.f32")
            if not os.path.exists(ref):
                reference_logits(path, REFERENCE_TOKENS).astype("<f4").tofile(ref + ".tmp")
                os.replace(ref + ".tmp", ref)


if __name__ == "__main__":
    main()
