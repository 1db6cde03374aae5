#!/usr/bin/env python3
"""Reference data for the language-model tests, produced by llama.cpp itself (not run in CI).

Usage (with the reference llama.cpp and a venv holding llama-cpp-python 0.3.36 + gguf):
    LLAMA_CPP_BIN=/work/ref/llama.cpp/build/bin /work/ref/venv/bin/python \
        tools/goldens/make_llm_fixtures.py [--realistic DIR [--untied]] [--skip-tiny]
    (plus LLAMA_CPP_LIB_PATH=/work/ref/llama.cpp/build/bin if llama-cpp-python has no library of its own)

1. Writes the tiny random-weight F16 GGUFs with tools/testdata/llm.py's deterministic builder
   (the same bytes the test-time generator writes), quantizes them with `llama-quantize` to Q8_0,
   Q4_0 and Q4_K_M and commits those (small) to Tests/ModelsTests/Fixtures/.
2. For every tiny file, with llama.cpp through llama-cpp-python (F16 KV cache, `logits_all`):
   tokenization of a few prompts, full logits for a fixed token sequence (raw f32,
   `<name>.logits.f32`, row-major [position][vocab]), and a greedy 32-token generation.
3. With --realistic DIR: the Qwen2-0.5B-shaped file (F16 + the three quantizations) in DIR (not
   committed; ~2 GB), and its goldens (greedy 32 tokens, top-16 logits of the last prompt
   position) in DIR/goldens.json for `tools/bench/llm_parity_realistic.py`. `--untied` makes the
   same shape with an untied output instead (`qwen2-0.5b-untied-*`): the tied file's greedy text
   repeats one token, the untied one's varies, so only the latter's 32-token check means much.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "testdata"))
import llm  # noqa: E402  (the deterministic model builder)

from llama_cpp import Llama  # noqa: E402

FIXTURES = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures")
QUANTS = ["Q8_0", "Q4_0", "Q4_K_M"]

PROMPTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "In 2024 the model answered 1234 questions in 56.7 seconds.",
    "这是一张图片。请描述这张图片。",
    "Emoji 😀🐱 and   spaces\n\nnew lines",
    "<|im_start|>user\nWhat is in the picture?<|im_end|>\n<|im_start|>assistant\n",
    "<|start_header_id|>user<|end_header_id|>\n\nDescribe this image.<|eot_id|>",
    "<image></image><slice></slice>",
]
LOGITS_PROMPT = "You are a helpful assistant. Describe this image in detail: there is a cat on a red chair."
GREEDY_PROMPT = "The weather is nice today. There is a cat"
N_GREEDY = 32


FTYPES = {"Q8_0": 7, "Q4_0": 2, "Q4_K_M": 15}  # enum llama_ftype


def quantize(bin_dir: str, src: str, dst: str, qtype: str) -> None:
    """llama-quantize if built, else the same code through libllama's llama_model_quantize."""
    tool = os.path.join(bin_dir, "llama-quantize")
    if os.path.exists(tool):
        subprocess.run([tool, src, dst, qtype], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[qtype]
    params.nthread = 2
    if llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params) != 0:
        raise RuntimeError(f"quantizing {src} to {qtype} failed")


def open_model(path: str, n_ctx: int) -> Llama:
    return Llama(model_path=path, n_ctx=n_ctx, n_batch=512, logits_all=True, n_threads=2,
                 verbose=False, seed=0)


def greedy(model: Llama, prompt_tokens: list[int], n: int) -> list[int]:
    model.reset()
    model.eval(prompt_tokens)
    out = []
    for _ in range(n):
        tok = int(np.argmax(model.scores[model.n_tokens - 1]))
        out.append(tok)
        model.eval([tok])
    return out


def tiny_goldens(bin_dir: str, work: str) -> None:
    os.makedirs(FIXTURES, exist_ok=True)
    for arch, shape in (("qwen2", llm.TINY_QWEN2), ("llama", llm.TINY_LLAMA)):
        f16 = os.path.join(work, f"tiny-{arch}-f16.gguf")
        llm.build_model(shape, f16)
        files = {"F16": f16}
        for q in QUANTS:
            dst = os.path.join(FIXTURES, f"tiny-{arch}-{q.lower()}.gguf")
            quantize(bin_dir, f16, dst, q)
            files[q] = dst
        for q, path in files.items():
            model = open_model(path, shape.n_ctx)
            name = f"tiny-{arch}-{q.lower()}"
            add_bos = model._model.add_bos_token()
            tokenization = [{"text": p, "tokens": model.tokenize(p.encode(), add_bos=add_bos, special=True)}
                            for p in PROMPTS]
            logits_tokens = model.tokenize(LOGITS_PROMPT.encode(), add_bos=add_bos, special=True)
            model.reset()
            model.eval(logits_tokens)
            logits = np.array(model.scores[:len(logits_tokens)], dtype="<f4")
            logits.tofile(os.path.join(FIXTURES, name + ".logits.f32"))
            greedy_tokens = model.tokenize(GREEDY_PROMPT.encode(), add_bos=add_bos, special=True)
            gen = greedy(model, greedy_tokens, N_GREEDY)
            golden = {
                "model": os.path.basename(path), "source": "llama.cpp via llama-cpp-python 0.3.36, "
                "n_threads=2, KV cache F16, logits_all", "n_vocab": int(model.n_vocab()),
                "add_bos": bool(add_bos), "tokenization": tokenization,
                "logits_prompt": LOGITS_PROMPT, "logits_tokens": logits_tokens,
                "logits_file": name + ".logits.f32",
                "greedy_prompt": GREEDY_PROMPT, "greedy_prompt_tokens": greedy_tokens,
                "greedy_tokens": gen,
                "greedy_text": model.detokenize(gen).decode("utf-8", errors="replace"),
            }
            with open(os.path.join(FIXTURES, name + ".json"), "w") as f:
                json.dump(golden, f, ensure_ascii=False, indent=1)
            del model
            print(name, "greedy:", gen[:12], "...")


def realistic(bin_dir: str, out: str, untied: bool = False) -> None:
    os.makedirs(out, exist_ok=True)
    stem = "qwen2-0.5b-untied" if untied else "qwen2-0.5b-shape"
    f16 = os.path.join(out, f"{stem}-f16.gguf")
    if not os.path.exists(f16):
        llm.build_model(llm.QWEN2_05B_UNTIED if untied else llm.QWEN2_05B, f16)
    files = {"F16": f16}
    for q in QUANTS:
        dst = os.path.join(out, f"{stem}-{q.lower()}.gguf")
        if not os.path.exists(dst):
            quantize(bin_dir, f16, dst, q)
        files[q] = dst
    goldens = {}
    for q, path in files.items():
        model = open_model(path, 512)
        prompt = model.tokenize(GREEDY_PROMPT.encode(), add_bos=False, special=True)
        gen = greedy(model, prompt, N_GREEDY)
        model.reset()
        model.eval(prompt)
        last = np.array(model.scores[len(prompt) - 1], dtype=np.float32)
        top = np.argsort(-last)[:16]
        goldens[os.path.basename(path)] = {
            "prompt_tokens": prompt, "greedy_tokens": gen,
            "last_top16": [[int(i), float(last[i])] for i in top],
        }
        print(os.path.basename(path), gen[:12], "...")
        del model
    with open(os.path.join(out, "goldens.json"), "w") as f:
        json.dump(goldens, f, indent=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--realistic", help="directory for the Qwen2-0.5B-shaped files")
    ap.add_argument("--untied", action="store_true",
                    help="with --realistic: the untied variant (varied greedy text) for the greedy parity check")
    ap.add_argument("--skip-tiny", action="store_true")
    args = ap.parse_args()
    bin_dir = os.environ.get("LLAMA_CPP_BIN", "/work/ref/llama.cpp/build/bin")
    work = os.path.join(ROOT, ".testdata", "llm-goldens-work")
    os.makedirs(work, exist_ok=True)
    if not args.skip_tiny:
        tiny_goldens(bin_dir, work)
        shutil.rmtree(work)
    if args.realistic:
        realistic(bin_dir, args.realistic, untied=args.untied)


if __name__ == "__main__":
    main()
