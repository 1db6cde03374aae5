"""Export a trained demo model to the official MiniCPM-V 2.6 GGUF pair llama.cpp reads.

    .venv/bin/python tools/demo-model/export_gguf.py --run build/demo --out models/demo

Writes OUT/edgevlm-demo-Q2-F16.gguf (LLM, `qwen2`) and OUT/mmproj-edgevlm-demo-F16.gguf (vision
tower + resampler in the legacy MiniCPM-V layout: `clip` arch, projector `resampler`,
`clip.minicpmv_version` 3, fc1 stored as `ffn_down` and fc2 as `ffn_up`, transposed
`resampler.proj.weight`, 70x70 `resampler.pos_embed_k`). Dtypes follow the legacy converter:
F16 for 2-D `.weight` tensors and the 4-D conv kernel, F32 for everything else.
"""
from __future__ import annotations

import argparse
import os

import gguf
import numpy as np
import torch
from tokenizers import Tokenizer

import demomodel as dm

LLM_NAME = "edgevlm-demo-F16.gguf"
MMPROJ_NAME = "mmproj-edgevlm-demo-F16.gguf"

# Plain ChatML, no injected system prompt: llama.cpp's template detection classifies it as
# chatml (it contains "<|im_start|>") and the Jinja rendering gives the same text.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def f16(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().numpy().astype(np.float16)


def f32(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().float().numpy().astype(np.float32))


def write_llm(path: str, cfg: dm.Config, sd: dict, tok: Tokenizer):
    w = gguf.GGUFWriter(path, arch="qwen2")
    w.add_name("EdgeVLM demo (MiniCPM-V 2.6 layout, synthetic kiosk scenes)")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_context_length(cfg.ctx)
    w.add_embedding_length(cfg.d_model)
    w.add_block_count(cfg.n_layers)
    w.add_feed_forward_length(cfg.ffn)
    w.add_head_count(cfg.n_heads)
    w.add_head_count_kv(cfg.n_kv_heads)
    w.add_rope_freq_base(cfg.rope_base)
    w.add_layer_norm_rms_eps(cfg.eps)
    # tokenizer: GPT-2 style byte-level BPE, Qwen2 pre-tokenizer
    vocab = tok.get_vocab(with_added_tokens=True)
    n = tok.get_vocab_size(with_added_tokens=True)
    inv = {i: s for s, i in vocab.items()}
    assert sorted(inv) == list(range(n)), "token ids must be dense"
    tokens = [inv[i] for i in range(n)]
    special = set(dm.SPECIAL_TOKENS)
    types = [gguf.TokenType.CONTROL if t in special else gguf.TokenType.NORMAL for t in tokens]
    import json
    model_json = json.loads(tok.to_str())["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model_json["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab["<|endoftext|>"])
    w.add_eos_token_id(vocab["<|im_end|>"])
    w.add_pad_token_id(vocab["<|endoftext|>"])
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)

    w.add_tensor("token_embd.weight", f16(sd["embed.weight"]))
    for i in range(cfg.n_layers):
        p = f"blocks.{i}."
        b = f"blk.{i}."
        w.add_tensor(b + "attn_norm.weight", f32(sd[p + "attn_norm.weight"]))
        for ours, theirs in (("q", "attn_q"), ("k", "attn_k"), ("v", "attn_v")):
            w.add_tensor(b + theirs + ".weight", f16(sd[p + ours + ".weight"]))
            w.add_tensor(b + theirs + ".bias", f32(sd[p + ours + ".bias"]))
        w.add_tensor(b + "attn_output.weight", f16(sd[p + "o.weight"]))
        w.add_tensor(b + "ffn_norm.weight", f32(sd[p + "ffn_norm.weight"]))
        w.add_tensor(b + "ffn_gate.weight", f16(sd[p + "gate.weight"]))
        w.add_tensor(b + "ffn_up.weight", f16(sd[p + "up.weight"]))
        w.add_tensor(b + "ffn_down.weight", f16(sd[p + "down.weight"]))
    w.add_tensor("output_norm.weight", f32(sd["norm.weight"]))  # output tied to token_embd
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_mmproj(path: str, cfg: dm.Config, sd: dict):
    w = gguf.GGUFWriter(path, arch="clip")
    w.add_name("EdgeVLM demo vision encoder + resampler")
    w.add_description("image encoder for MiniCPM-V")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_bool("clip.has_text_encoder", False)
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_minicpmv_projector", True)
    w.add_string("clip.projector_type", "resampler")
    w.add_int32("clip.minicpmv_version", 3)
    w.add_uint32("clip.minicpmv_query_num", cfg.queries)
    w.add_bool("clip.use_gelu", True)
    w.add_uint32("clip.vision.image_size", cfg.image_size)
    w.add_uint32("clip.vision.patch_size", cfg.patch_size)
    w.add_uint32("clip.vision.embedding_length", cfg.v_width)
    w.add_uint32("clip.vision.feed_forward_length", cfg.v_ffn)
    w.add_uint32("clip.vision.projection_dim", 0)
    w.add_uint32("clip.vision.attention.head_count", cfg.v_heads)
    w.add_float32("clip.vision.attention.layer_norm_epsilon", cfg.eps)
    w.add_uint32("clip.vision.block_count", cfg.v_layers)
    w.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    w.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])

    W, p = cfg.v_width, cfg.patch_size
    w.add_tensor("v.patch_embd.weight", f16(sd["patch.weight"].reshape(W, 3, p, p)))
    w.add_tensor("v.patch_embd.bias", f32(sd["patch.bias"]))
    w.add_tensor("v.position_embd.weight", f16(sd["pos.weight"]))
    for i in range(cfg.v_layers):
        s = f"vit.{i}."
        b = f"v.blk.{i}."
        for ours, theirs in (("q", "attn_q"), ("k", "attn_k"), ("v", "attn_v"), ("o", "attn_out")):
            w.add_tensor(b + theirs + ".weight", f16(sd[s + ours + ".weight"]))
            w.add_tensor(b + theirs + ".bias", f32(sd[s + ours + ".bias"]))
        for ln in ("ln1", "ln2"):
            w.add_tensor(b + ln + ".weight", f32(sd[s + ln + ".weight"]))
            w.add_tensor(b + ln + ".bias", f32(sd[s + ln + ".bias"]))
        # legacy MiniCPM-V naming: fc1 (W -> F) is called ffn_down, fc2 (F -> W) ffn_up
        w.add_tensor(b + "ffn_down.weight", f16(sd[s + "fc1.weight"]))
        w.add_tensor(b + "ffn_down.bias", f32(sd[s + "fc1.bias"]))
        w.add_tensor(b + "ffn_up.weight", f16(sd[s + "fc2.weight"]))
        w.add_tensor(b + "ffn_up.bias", f32(sd[s + "fc2.bias"]))
    w.add_tensor("v.post_ln.weight", f32(sd["post_ln.weight"]))
    w.add_tensor("v.post_ln.bias", f32(sd["post_ln.bias"]))

    r = "resampler."
    w.add_tensor("resampler.pos_embed_k", f32(dm.sincos_2d(dm.POS_GRID, dm.POS_GRID, cfg.d_model)))
    w.add_tensor("resampler.query", f32(sd[r + "query"]))
    # out = x @ P in the reference; ggml computes W·x with W stored row-major [out, in] = Pᵀ
    w.add_tensor("resampler.proj.weight", f16(sd[r + "proj"].t().contiguous()))
    w.add_tensor("resampler.kv.weight", f16(sd[r + "kv.weight"]))
    for ours, theirs in (("q", "q"), ("k", "k"), ("v", "v"), ("o", "out")):
        w.add_tensor(f"resampler.attn.{theirs}.weight", f16(sd[r + ours + ".weight"]))
        w.add_tensor(f"resampler.attn.{theirs}.bias", f32(sd[r + ours + ".bias"]))
    for ln in ("ln_q", "ln_kv", "ln_post"):
        w.add_tensor(f"resampler.{ln}.weight", f32(sd[r + ln + ".weight"]))
        w.add_tensor(f"resampler.{ln}.bias", f32(sd[r + ln + ".bias"]))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True, help="training output dir (model.pt, tokenizer.json)")
    ap.add_argument("--checkpoint", default="model.pt")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    ck = torch.load(os.path.join(args.run, args.checkpoint), map_location="cpu")
    cfg = dm.Config(**ck["config"])
    tok = Tokenizer.from_file(os.path.join(args.run, "tokenizer.json"))
    os.makedirs(args.out, exist_ok=True)
    write_llm(os.path.join(args.out, LLM_NAME), cfg, ck["state"], tok)
    write_mmproj(os.path.join(args.out, MMPROJ_NAME), cfg, ck["state"])
    for n in (LLM_NAME, MMPROJ_NAME):
        print(n, os.path.getsize(os.path.join(args.out, n)))


if __name__ == "__main__":
    main()
