"""Read the shipped GGUF pair back into the PyTorch DemoVLM and a `tokenizers` tokenizer.

The inverse of export_gguf.py, written against the file format (gguf-py's reader), so the
Python evaluation scores exactly the bytes that are committed — F16 rounding included — and
any export mistake in names, shapes or orientation shows up as wrong answers.
"""
from __future__ import annotations

import numpy as np
import torch
from gguf import GGUFReader

import demomodel as dm


def _fields(r: GGUFReader) -> dict:
    out = {}
    for name, f in r.fields.items():
        try:
            out[name] = f.contents()
        except Exception:  # noqa: BLE001 - fields we do not need may not decode
            pass
    return out


def _tensors(r: GGUFReader) -> dict[str, torch.Tensor]:
    out = {}
    for t in r.tensors:
        a = np.asarray(t.data).astype(np.float32)
        shape = [int(x) for x in reversed(t.shape)]  # ne order -> numpy order
        out[t.name] = torch.from_numpy(a.reshape(shape).copy())
    return out


def load_tokenizer(kv: dict):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers
    tokens = kv["tokenizer.ggml.tokens"]
    types = kv["tokenizer.ggml.token_type"]
    merges = [tuple(m.split(" ", 1)) for m in kv["tokenizer.ggml.merges"]]
    special = [t for t, ty in zip(tokens, types) if ty == 3]
    vocab = {t: i for i, t in enumerate(tokens) if t not in special}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(dm.QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(s, special=True) for s in special])
    for i, t in enumerate(tokens):
        assert tok.token_to_id(t) == i, f"token id mismatch for {t!r}"
    return tok


def load_pair(model_path: str, mmproj_path: str):
    lr, vr = GGUFReader(model_path), GGUFReader(mmproj_path)
    lk, vk = _fields(lr), _fields(vr)
    lt, vt = _tensors(lr), _tensors(vr)
    cfg = dm.Config(
        image_size=int(vk["clip.vision.image_size"]), patch_size=int(vk["clip.vision.patch_size"]),
        v_width=int(vk["clip.vision.embedding_length"]), v_layers=int(vk["clip.vision.block_count"]),
        v_heads=int(vk["clip.vision.attention.head_count"]),
        v_ffn=int(vk["clip.vision.feed_forward_length"]),
        d_model=int(lk["qwen2.embedding_length"]), queries=int(vk["clip.minicpmv_query_num"]),
        n_layers=int(lk["qwen2.block_count"]), n_heads=int(lk["qwen2.attention.head_count"]),
        n_kv_heads=int(lk["qwen2.attention.head_count_kv"]),
        ffn=int(lk["qwen2.feed_forward_length"]), rope_base=float(lk["qwen2.rope.freq_base"]),
        ctx=int(lk["qwen2.context_length"]), vocab_size=len(lk["tokenizer.ggml.tokens"]),
        eps=float(lk["qwen2.attention.layer_norm_rms_epsilon"]))
    sd = {"embed.weight": lt["token_embd.weight"], "norm.weight": lt["output_norm.weight"]}
    for i in range(cfg.n_layers):
        p, b = f"blocks.{i}.", f"blk.{i}."
        sd[p + "attn_norm.weight"] = lt[b + "attn_norm.weight"]
        for ours, theirs in (("q", "attn_q"), ("k", "attn_k"), ("v", "attn_v")):
            sd[p + ours + ".weight"] = lt[b + theirs + ".weight"]
            sd[p + ours + ".bias"] = lt[b + theirs + ".bias"]
        sd[p + "o.weight"] = lt[b + "attn_output.weight"]
        sd[p + "ffn_norm.weight"] = lt[b + "ffn_norm.weight"]
        for ours, theirs in (("gate", "ffn_gate"), ("up", "ffn_up"), ("down", "ffn_down")):
            sd[p + ours + ".weight"] = lt[b + theirs + ".weight"]
    W, P = cfg.v_width, cfg.patch_size
    sd["patch.weight"] = vt["v.patch_embd.weight"].reshape(W, 3 * P * P)
    sd["patch.bias"] = vt["v.patch_embd.bias"]
    sd["pos.weight"] = vt["v.position_embd.weight"]
    for i in range(cfg.v_layers):
        s, b = f"vit.{i}.", f"v.blk.{i}."
        for ours, theirs in (("q", "attn_q"), ("k", "attn_k"), ("v", "attn_v"), ("o", "attn_out")):
            sd[s + ours + ".weight"] = vt[b + theirs + ".weight"]
            sd[s + ours + ".bias"] = vt[b + theirs + ".bias"]
        for ln in ("ln1", "ln2"):
            sd[s + ln + ".weight"] = vt[b + ln + ".weight"]
            sd[s + ln + ".bias"] = vt[b + ln + ".bias"]
        # decide fc1/fc2 by shape, as llama.cpp does: the W -> F matrix has rows of length W
        down, up = vt[b + "ffn_down.weight"], vt[b + "ffn_up.weight"]
        swapped = down.shape[1] == W
        fc1, fc2 = ("ffn_down", "ffn_up") if swapped else ("ffn_up", "ffn_down")
        sd[s + "fc1.weight"], sd[s + "fc1.bias"] = vt[b + fc1 + ".weight"], vt[b + fc1 + ".bias"]
        sd[s + "fc2.weight"], sd[s + "fc2.bias"] = vt[b + fc2 + ".weight"], vt[b + fc2 + ".bias"]
    sd["post_ln.weight"], sd["post_ln.bias"] = vt["v.post_ln.weight"], vt["v.post_ln.bias"]
    r = "resampler."
    sd[r + "query"] = vt["resampler.query"]
    sd[r + "proj"] = vt["resampler.proj.weight"].t().contiguous()
    sd[r + "kv.weight"] = vt["resampler.kv.weight"]
    for ours, theirs in (("q", "q"), ("k", "k"), ("v", "v"), ("o", "out")):
        sd[r + ours + ".weight"] = vt[f"resampler.attn.{theirs}.weight"]
        sd[r + ours + ".bias"] = vt[f"resampler.attn.{theirs}.bias"]
    for ln in ("ln_q", "ln_kv", "ln_post"):
        sd[r + ln + ".weight"] = vt[f"resampler.{ln}.weight"]
        sd[r + ln + ".bias"] = vt[f"resampler.{ln}.bias"]
    model = dm.DemoVLM(cfg)
    model.load_state_dict(sd, strict=True)
    model.eval()
    tok = load_tokenizer(lk)
    return model, dm.Vocab(tok), cfg
