"""The demo model: MiniCPM-V 2.6 architecture, shrunk, in PyTorch, with the exact GGUF semantics.

Shared by train.py, export_gguf.py and evaluate.py:
  * `Config`             all sizes (also written into the GGUF files);
  * `build_tokenizer`    byte-level BPE (Qwen2 pre-tokenizer regex) + ChatML/image special tokens;
  * `preprocess`         reference slicing (tools/pyref, scale_resolution = vision image size),
                         normalisation (mean = std = 0.5), patchify, bucketed position ids;
  * `prompt_layout`      token layout of llama.cpp's MiniCPM-V 2.6 template inside ChatML;
  * `DemoVLM`            SigLIP-style ViT + perceiver resampler + Qwen2 decoder.

Forward math follows what llama.cpp computes from the GGUF pair (minicpmv-spec.md §1.2-1.4):
tanh-GELU, LayerNorm eps 1e-6, attention scale 1/sqrt(head_dim) (resampler: 1/sqrt(128)),
2-D sin-cos key positions in the resampler, RMSNorm eps 1e-6, NEOX RoPE base 1e6.
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, asdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pyref"))
sys.path.insert(0, HERE)

import minicpmv_slicing  # noqa: E402
import scenes  # noqa: E402

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "</image>",
                  "<slice>", "</slice>", "<image_id>", "</image_id>", "<unk>"]
# Qwen2's pre-tokenizer split (llama.cpp LLAMA_VOCAB_PRE_TYPE_QWEN2, spec §4.4).
QWEN2_SPLIT = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+"
               r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
POS_GRID = 70  # learned ViT position table is 70x70 (spec §1.2)


@dataclass
class Config:
    # vision
    image_size: int = 168          # slice size = scale_resolution (12x12 patches)
    patch_size: int = 14
    v_width: int = 64
    v_layers: int = 3
    v_heads: int = 4
    v_ffn: int = 256
    # resampler / LLM width
    d_model: int = 128             # multiple of 128 (resampler d_head is fixed at 128)
    queries: int = 16
    # LLM
    n_layers: int = 3
    n_heads: int = 4
    n_kv_heads: int = 2
    ffn: int = 256
    rope_base: float = 1e6
    ctx: int = 1024
    vocab_size: int = 0            # set from the tokenizer
    eps: float = 1e-6
    # Training-time initialisation of the learned 70x70 ViT position table (not a format field):
    # a crop of h x w patches reads rows floor(70 i / h), so crops of different sizes use nearly
    # disjoint table entries; random init leaves most of them near zero for a long time and the
    # ViT without positions cannot compose shape from its patches. A smooth 2-D sin-cos table
    # gives every entry a consistent position from step 0.
    pos_init_sincos: bool = False
    pos_init_scale: float = 1.0


# ---------------------------------------------------------------------------------------------
# Tokenizer

def corpus_lines(n_scenes: int = 3000) -> list[str]:
    """Every string the model will ever read or write, for the BPE trainer."""
    lines = ["user", "assistant", "system", "\n", scenes.Q_DESCRIBE, scenes.Q_COUNT, scenes.Q_SIGN]
    lines += [scenes.q_colour(s) for s in scenes.SHAPES]
    lines += [c.capitalize() + "." for c in scenes.COLOURS] + [n + "." for n in scenes.NUMBERS]
    lines += [w + "." for w in scenes.WORDS]
    # captions are built without drawing (cheap): reuse the object sampler via make_scene would
    # render images; instead enumerate phrases directly.
    import random
    rng = random.Random(12345)
    for _ in range(n_scenes):
        n = rng.choice([1, 2, 3])
        objs = [scenes.SceneObject(s, rng.choice(list(scenes.COLOURS)), rng.choice(scenes.SIZES), c)
                for s, c in zip(rng.sample(scenes.SHAPES, n), rng.sample(range(9), n))]
        lines.append(scenes.caption(objs))
    return lines


def build_tokenizer(vocab_size: int = 512):
    from tokenizers import Tokenizer, Regex, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - len(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus_lines(), trainer=trainer)
    tok.add_special_tokens(SPECIAL_TOKENS)
    return tok


class Vocab:
    """Token ids of the markers, and text encoding the way llama.cpp does with parse_special."""

    def __init__(self, tok):
        self.tok = tok
        self.id = {s: tok.token_to_id(s) for s in SPECIAL_TOKENS}
        self.newline = tok.token_to_id("\u010a")  # byte-level "\n"
        assert self.newline is not None

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def decode(self, ids) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=True)


# ---------------------------------------------------------------------------------------------
# Image preprocessing

def bucket_ids(h: int, w: int) -> np.ndarray:
    rows = (POS_GRID * np.arange(h)) // h
    cols = (POS_GRID * np.arange(w)) // w
    return (rows[:, None] * POS_GRID + cols[None, :]).reshape(-1).astype(np.int64)


def patchify(img) -> tuple[np.ndarray, int, int]:
    """PIL RGB -> ([h*w, 3*14*14] float32 normalised, h, w); feature order (c, ky, kx)."""
    a = np.asarray(img.convert("RGB"), dtype=np.float32) / 127.5 - 1.0   # (x/255-0.5)/0.5
    H, W, _ = a.shape
    h, w = H // 14, W // 14
    a = a.reshape(h, 14, w, 14, 3).transpose(0, 2, 4, 1, 3).reshape(h * w, 3 * 14 * 14)
    return np.ascontiguousarray(a), h, w


@dataclass
class Prepared:
    crops: list  # [(patches, h, w)] overview first, then slices row-major
    grid: tuple[int, int] | None


def preprocess(image, cfg: Config) -> Prepared:
    overview, slices, grid = minicpmv_slicing.slice_image(image.convert("RGB"), cfg.image_size,
                                                          cfg.patch_size)
    return Prepared([patchify(overview)] + [patchify(s) for s in slices], grid)


def image_prefix(v: Vocab, grid, q: int) -> list[int]:
    """Token ids from the start of the user turn to the end of the image block; -1-k marks
    image-embedding row k (crop k//q, query k%q).

    This is exactly what llama-mtmd-cli feeds the LLM: it prepends the media marker to the user
    text with nothing in between, and uses the MiniCPM-V 2.6 slice template ("\n" between slice
    rows only, no <image_id>); add_bos is false for Qwen2.
    """
    ids = v.encode("<|im_start|>user\n")
    crop = 0

    def emb():
        nonlocal crop
        out = [-1 - (crop * q + i) for i in range(q)]
        crop += 1
        return out

    ids += [v.id["<image>"]] + emb() + [v.id["</image>"]]
    if grid is not None:
        cols, rows = grid
        for r in range(rows):
            for c in range(cols):
                ids += [v.id["<slice>"]] + emb() + [v.id["</slice>"]]
            if r != rows - 1:
                ids.append(v.newline)
    return ids


# Text between the image block and the question. EdgeVLM's default (`--compat reference`, the
# official processor, also what the agent sends) puts a newline there; llama-mtmd-cli puts
# nothing. Training mixes both so that either front end gets the trained distribution.
SEP_REFERENCE = "\n"
SEP_LLAMA_CPP = ""


def question_ids(v: Vocab, question: str, sep: str = SEP_REFERENCE) -> list[int]:
    """The rest of the prompt after the image block (`sep`, the question), up to the assistant
    header. Tokenized as one string, as the runtimes do with the text after the image marker."""
    return v.encode(sep + question + "<|im_end|>\n<|im_start|>assistant\n")


def prompt_text(question: str) -> str:
    """The chat text llama-mtmd-cli builds for `-p question` (marker = image block)."""
    return "<|im_start|>user\n<__media__>" + question + "<|im_end|>\n<|im_start|>assistant\n"


def pack(prefix: list[int], segments: list[list[int]]):
    """One shared prefix + segments -> (ids, pos, seg, order) lists; see packed_mask."""
    ids, pos, seg = list(prefix), list(range(len(prefix))), [-1] * len(prefix)
    for j, s in enumerate(segments):
        ids += s
        pos += range(len(prefix), len(prefix) + len(s))
        seg += [j] * len(s)
    return ids, pos, seg, list(range(len(ids)))


# ---------------------------------------------------------------------------------------------
# Model

def sincos_2d(h: int, w: int, d: int) -> torch.Tensor:
    """Resampler key positions [h*w, d]: (sin x, cos x, sin y, cos y), x = column (spec §1.3)."""
    k = torch.arange(d // 4, dtype=torch.float64)
    omega = 1.0 / (10000.0 ** (k / (d / 4)))
    t = torch.arange(h * w)
    x = (t % w).double()[:, None] * omega
    y = (t // w).double()[:, None] * omega
    return torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], dim=1).float()


def pos_table_sincos(width: int, scale: float) -> torch.Tensor:
    """[70*70, width] 2-D sin-cos table over the 70x70 bucket grid (row-major), features
    (sin x, cos x, sin y, cos y) with width/4 geometric periods from 140 down to 10 buckets (one
    patch of a 12-patch crop is ~6 buckets), times `scale`."""
    k = torch.arange(width // 4, dtype=torch.float64)
    omega = 2 * math.pi / (2 * POS_GRID) * 14.0 ** (k / max(width // 4 - 1, 1))
    t = torch.arange(POS_GRID * POS_GRID)
    x = (t % POS_GRID).double()[:, None] * omega
    y = (t // POS_GRID).double()[:, None] * omega
    return (torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], dim=1) * scale).float()


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


class VitBlock(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        W = c.v_width
        self.ln1 = nn.LayerNorm(W, eps=c.eps)
        self.q, self.k, self.v, self.o = (nn.Linear(W, W) for _ in range(4))
        self.ln2 = nn.LayerNorm(W, eps=c.eps)
        self.fc1 = nn.Linear(W, c.v_ffn)
        self.fc2 = nn.Linear(c.v_ffn, W)
        self.heads = c.v_heads

    def forward(self, x, mask):  # x [B,N,W], mask [B,1,1,N] bool (True = attend)
        B, N, W = x.shape
        hd = W // self.heads
        y = self.ln1(x)
        q, k, v = (m(y).view(B, N, self.heads, hd).transpose(1, 2) for m in (self.q, self.k, self.v))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0 / math.sqrt(hd))
        x = x + self.o(a.transpose(1, 2).reshape(B, N, W))
        return x + self.fc2(gelu_tanh(self.fc1(self.ln2(x))))


class Resampler(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        D = c.d_model
        self.query = nn.Parameter(torch.randn(c.queries, D) * 0.02)
        self.kv = nn.Linear(c.v_width, D, bias=False)
        self.ln_q = nn.LayerNorm(D, eps=c.eps)
        self.ln_kv = nn.LayerNorm(D, eps=c.eps)
        self.ln_post = nn.LayerNorm(D, eps=c.eps)
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.proj = nn.Parameter(torch.randn(D, D) * D ** -0.5)  # right-multiplied: out = x @ proj
        self.heads = D // 128

    def forward(self, x, pos, mask, return_attn: bool = False):
        """x [B,N,Wv], pos [B,N,D], mask [B,1,1,N] -> [B,Q,D]; with `return_attn` also the
        attention weights [B,heads,Q,N] (explicit softmax, same math; used by training's
        attention supervision)."""
        B, N, _ = x.shape
        D = self.proj.shape[0]
        kv = self.ln_kv(self.kv(x))
        qry = self.ln_q(self.query).unsqueeze(0).expand(B, -1, -1)
        Q = self.q(qry).view(B, -1, self.heads, 128).transpose(1, 2)
        K = self.k(kv + pos).view(B, N, self.heads, 128).transpose(1, 2)
        V = self.v(kv).view(B, N, self.heads, 128).transpose(1, 2)
        if return_attn:
            scores = (Q @ K.transpose(-1, -2)) / math.sqrt(128)
            w = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
            a = w @ V
        else:
            a = F.scaled_dot_product_attention(Q, K, V, attn_mask=mask, scale=1.0 / math.sqrt(128))
        o = self.o(a.transpose(1, 2).reshape(B, -1, D))
        out = self.ln_post(o) @ self.proj
        return (out, w) if return_attn else out


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_neox(x, pos, base):  # x [B,H,T,hd], pos [B,T] long; rotate halves (NEOX)
    hd = x.shape[3]
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = pos.double()[:, None, :, None] * inv
    cos, sin = ang.cos().float(), ang.sin().float()
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def packed_mask(q_seg, k_seg, q_ord, k_ord):
    """[B,1,Tq,Tk] bool. A packed sequence is one shared prefix (seg -1) followed by segments
    0..k-1 that each see the prefix and themselves only, causally: equivalent to k separate
    sequences prefix+segment (positions restart after the prefix in each segment)."""
    same = (k_seg[:, None, :] == q_seg[:, :, None]) | (k_seg[:, None, :] == -1)
    return (same & (k_ord[:, None, :] <= q_ord[:, :, None])).unsqueeze(1)


class LlmBlock(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        D, hd = c.d_model, c.d_model // c.n_heads
        self.attn_norm = RMSNorm(D, c.eps)
        self.q = nn.Linear(D, c.n_heads * hd)
        self.k = nn.Linear(D, c.n_kv_heads * hd)
        self.v = nn.Linear(D, c.n_kv_heads * hd)
        self.o = nn.Linear(c.n_heads * hd, D, bias=False)
        self.ffn_norm = RMSNorm(D, c.eps)
        self.gate = nn.Linear(D, c.ffn, bias=False)
        self.up = nn.Linear(D, c.ffn, bias=False)
        self.down = nn.Linear(c.ffn, D, bias=False)
        self.c = c

    def forward(self, x, pos, mask, cache=None, attn_out: dict | None = None):
        """With `attn_out` (training only), the attention weights [B,heads,T,Tk] are computed by
        an explicit softmax (same math) and stored in attn_out["w"], their logs in "logw"."""
        c = self.c
        B, T, D = x.shape
        hd = D // c.n_heads
        y = self.attn_norm(x)
        q = rope_neox(self.q(y).view(B, T, c.n_heads, hd).transpose(1, 2), pos, c.rope_base)
        k = rope_neox(self.k(y).view(B, T, c.n_kv_heads, hd).transpose(1, 2), pos, c.rope_base)
        v = self.v(y).view(B, T, c.n_kv_heads, hd).transpose(1, 2)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        rep = c.n_heads // c.n_kv_heads
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        if attn_out is not None:
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            logw = torch.log_softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
            w = logw.exp()
            attn_out["w"], attn_out["logw"] = w, logw
            a = w @ v
        else:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0 / math.sqrt(hd))
        x = x + self.o(a.transpose(1, 2).reshape(B, T, D))
        y = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(y)) * self.up(y))


class DemoVLM(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        W = c.v_width
        self.patch = nn.Linear(3 * c.patch_size * c.patch_size, W)  # = Conv2d(3,W,14,14) weights
        self.pos = nn.Embedding(POS_GRID * POS_GRID, W)
        if c.pos_init_sincos:
            with torch.no_grad():
                self.pos.weight.copy_(pos_table_sincos(W, c.pos_init_scale))
        else:
            nn.init.normal_(self.pos.weight, std=0.02)
        self.vit = nn.ModuleList(VitBlock(c) for _ in range(c.v_layers))
        self.post_ln = nn.LayerNorm(W, eps=c.eps)
        self.resampler = Resampler(c)
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.blocks = nn.ModuleList(LlmBlock(c) for _ in range(c.n_layers))
        self.norm = RMSNorm(c.d_model, c.eps)

    def encode_crops(self, crops, return_attn: bool = False, return_patches: bool = False):
        """crops: list of (patches [n,588] np, h, w) -> [len(crops), Q, D] (with `return_attn`,
        also the resampler's attention weights [len(crops), heads, Q, N_max]; with
        `return_patches`, also the ViT output [len(crops), N_max, Wv] after post_ln; both are
        training-only views of the same forward pass)."""
        N = max(p.shape[0] for p, _, _ in crops)
        B = len(crops)
        x = torch.zeros(B, N, 3 * 14 * 14)
        pid = torch.zeros(B, N, dtype=torch.long)
        pos = torch.zeros(B, N, self.c.d_model)
        mask = torch.zeros(B, 1, 1, N, dtype=torch.bool)
        for i, (p, h, w) in enumerate(crops):
            n = p.shape[0]
            x[i, :n] = torch.from_numpy(p)
            pid[i, :n] = torch.from_numpy(bucket_ids(h, w))
            pos[i, :n] = sincos_2d(h, w, self.c.d_model)
            mask[i, ..., :n] = True
        h = self.patch(x) + self.pos(pid)
        for blk in self.vit:
            h = blk(h, mask)
        h = self.post_ln(h)
        out = self.resampler(h, pos, mask, return_attn)
        if not return_patches:
            return out
        return (*out, h) if return_attn else (out, h)

    def embed_ids(self, ids: torch.Tensor, vis: torch.Tensor | None) -> torch.Tensor:
        """ids [B,T] with -1-k meaning row k of vis [K,D] (image embeddings)."""
        V = self.embed.weight.shape[0]
        if vis is None:
            return self.embed(ids)
        table = torch.cat([self.embed.weight, vis], dim=0)
        return F.embedding(torch.where(ids < 0, V + (-1 - ids), ids), table)

    def logits(self, ids, vis, pos, seg, order, cache=None,
               attn_layers: dict[int, dict | None] | None = None):
        """Packed forward (see packed_mask). With `cache` (a dict, filled on first call) new
        tokens attend to everything cached before them under the same segment rule. With
        `attn_layers` (training), block i stores its attention weights in attn_layers[i]."""
        x = self.embed_ids(ids, vis)
        if cache is not None and "seg" in cache:
            k_seg = torch.cat([cache["seg"], seg], 1)
            k_ord = torch.cat([cache["ord"], order], 1)
        else:
            k_seg, k_ord = seg, order
        mask = packed_mask(seg, k_seg, order, k_ord)
        if cache is not None:
            cache["seg"], cache["ord"] = k_seg, k_ord
            layers = cache.setdefault("layers", [dict() for _ in self.blocks])
        for i, blk in enumerate(self.blocks):
            x = blk(x, pos, mask, None if cache is None else layers[i],
                    (attn_layers or {}).get(i))
        return self.norm(x) @ self.embed.weight.t()  # tied output


def config_dict(c: Config) -> dict:
    return asdict(c)
