#!/usr/bin/env python3
"""How far EdgeVLM's greedy tokens are from llama.cpp's, next to how far llama.cpp's own builds
are from each other, on the realistic-size files (not run in CI).

    /work/ref/venv/bin/python tools/goldens/llm_build_spread.py DIR \
        --lib avx512=/path/to/build-noamx/bin --lib avx2=/path/to/build-avx2/bin \
        [--edgevlm .build/release/edgevlm] [--threads 2] [--json OUT]
    /work/ref/venv/bin/python tools/goldens/llm_build_spread.py --tiny --lib NAME=DIR ... [--edgevlm BIN]

DIR holds the files of `make_llm_fixtures.py --realistic DIR --untied` (its goldens.json names
them). Each --lib is a directory with a libllama.so of the reference llama.cpp built one way
(llama-cpp-python loads it through LLAMA_CPP_LIB_PATH, one subprocess per library). The first
--lib is the reference.

For every file it measures:
1. greedy 32 tokens, incremental decode (prompt in one batch, then one token per step), for each
   library and for `edgevlm generate --raw --json`; the first position where each differs from
   the reference;
2. teacher-forced: the reference's sequence (prompt + its 32 tokens) evaluated the same way by
   every implementation; at each of the 32 generating positions, whether the argmax equals the
   reference's token, the relative L2 distance of the logits row to the reference's, and the
   reference's top-2 margin where they disagree. A divergence in (1) cascades; (2) counts every
   position on its own.

--tiny instead compares the logits of the committed tiny fixtures (Tests/ModelsTests/Fixtures,
the goldens of DecoderParityTests) from each library and from `edgevlm logits` with the committed
golden rows: the spread of llama.cpp's builds next to the tolerance the tests allow EdgeVLM.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

PROMPT = "The weather is nice today. There is a cat"  # GREEDY_PROMPT of make_llm_fixtures.py
N = 32


def worker(model_path: str, forced: list[int] | None, out: str, threads: int) -> None:
    """Runs inside a subprocess whose LLAMA_CPP_LIB_PATH selects the library."""
    from llama_cpp import Llama
    model = Llama(model_path=model_path, n_ctx=512, n_batch=512, logits_all=True, n_threads=threads,
                  n_threads_batch=threads, verbose=False, seed=0)
    prompt = model.tokenize(PROMPT.encode(), add_bos=False, special=True)
    model.reset()
    model.eval(prompt)
    rows, tokens = [], []
    for step in range(N):
        row = np.array(model.scores[model.n_tokens - 1], dtype=np.float32)
        rows.append(row)
        token = forced[step] if forced is not None else int(np.argmax(row))
        tokens.append(token)
        if step < N - 1:
            model.eval([token])
    np.save(out, np.stack(rows))
    with open(out + ".json", "w") as f:
        json.dump({"prompt": prompt, "tokens": tokens}, f)


def run_library(lib: str, model_path: str, forced: list[int] | None, threads: int, work: str):
    out = os.path.join(work, "rows.npy")
    env = dict(os.environ, LLAMA_CPP_LIB_PATH=lib)
    args = [sys.executable, os.path.abspath(__file__), "--worker", model_path, "--out", out, "--threads", str(threads)]
    if forced is not None:
        args += ["--forced", ",".join(map(str, forced))]
    subprocess.run(args, env=env, check=True)
    meta = json.load(open(out + ".json"))
    return meta["prompt"], meta["tokens"], np.load(out)


def run_edgevlm(binary: str, model_path: str, prompt: list[int], forced: list[int], threads: int, work: str):
    out = subprocess.run([binary, "generate", "--model", model_path, "--prompt", PROMPT, "--raw", "--json",
                          "--max-tokens", str(N), "--threads", str(threads)], check=True, capture_output=True, text=True)
    generated = json.loads(out.stdout)
    assert generated["prompt_token_ids"] == prompt, "edgevlm tokenized the prompt differently"
    path = os.path.join(work, "edgevlm.f32")
    sequence = prompt + forced[:N - 1]
    subprocess.run([binary, "logits", "--model", model_path, "--tokens", ",".join(map(str, sequence)),
                    "--batch", str(len(prompt)), "--output", path, "--threads", str(threads)],
                   check=True, capture_output=True)
    rows = np.fromfile(path, dtype="<f4").reshape(len(sequence), -1)[len(prompt) - 1:]
    return generated["tokens"], rows


FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "Tests", "ModelsTests", "Fixtures")


def tiny_worker(model_path: str, tokens: list[int], out: str, threads: int) -> None:
    from llama_cpp import Llama
    model = Llama(model_path=model_path, n_ctx=512, n_batch=512, logits_all=True, n_threads=threads,
                  n_threads_batch=threads, verbose=False, seed=0)
    model.reset()
    model.eval(tokens)
    np.save(out, np.array(model.scores[:len(tokens)], dtype=np.float32))


def tiny(libs: list[list[str]], edgevlm: str | None, threads: int) -> None:
    names = sorted(f[:-5] for f in os.listdir(FIXTURES) if f.endswith(".json") and
                   os.path.exists(os.path.join(FIXTURES, f[:-5] + ".gguf")))
    with tempfile.TemporaryDirectory() as work:
        for name in names:
            golden = json.load(open(os.path.join(FIXTURES, name + ".json")))
            tokens = golden["logits_tokens"]
            expected = np.fromfile(os.path.join(FIXTURES, golden["logits_file"]), dtype="<f4").reshape(len(tokens), -1)
            model = os.path.join(FIXTURES, name + ".gguf")
            results = {}
            for lib_name, lib in libs:
                out = os.path.join(work, "rows.npy")
                subprocess.run([sys.executable, os.path.abspath(__file__), "--tiny-worker", model, "--forced",
                                ",".join(map(str, tokens)), "--out", out, "--threads", str(threads)],
                               env=dict(os.environ, LLAMA_CPP_LIB_PATH=lib), check=True)
                results[lib_name] = np.load(out)
            if edgevlm:
                out = os.path.join(work, "edgevlm.f32")
                subprocess.run([edgevlm, "logits", "--model", model, "--tokens", ",".join(map(str, tokens)),
                                "--output", out, "--threads", str(threads)], check=True, capture_output=True)
                results["edgevlm"] = np.fromfile(out, dtype="<f4").reshape(len(tokens), -1)
            line = ", ".join(f"{k} {np.linalg.norm(v - expected) / np.linalg.norm(expected):.1e}" for k, v in results.items())
            print(f"{name}: relative L2 to the committed golden: {line}", flush=True)


def first_difference(a: list[int], b: list[int]):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)


def compare(reference_tokens: list[int], reference_rows: np.ndarray, rows: np.ndarray) -> dict:
    agree = [int(np.argmax(r)) == t for r, t in zip(rows, reference_tokens)]
    rel = float(np.linalg.norm(rows - reference_rows) / np.linalg.norm(reference_rows))
    worst = max(float(np.linalg.norm(r - q) / np.linalg.norm(q)) for r, q in zip(rows, reference_rows))
    margins = []
    for i, ok in enumerate(agree):
        if not ok:
            top = np.sort(reference_rows[i])[-2:]
            margins.append([i, round(float(top[1] - top[0]), 5)])
    return {"forced_argmax_agree": sum(agree), "rel_l2": rel, "worst_row_rel_l2": worst,
            "disagreements_reference_margin": margins}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("directory", nargs="?")
    ap.add_argument("--lib", action="append", default=[], help="NAME=DIR of a libllama.so (first: reference)")
    ap.add_argument("--edgevlm")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--worker")
    ap.add_argument("--forced")
    ap.add_argument("--out")
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--tiny-worker")
    a = ap.parse_args()
    if a.tiny_worker:
        tiny_worker(a.tiny_worker, [int(t) for t in a.forced.split(",")], a.out, a.threads)
        return
    if a.worker:
        worker(a.worker, [int(t) for t in a.forced.split(",")] if a.forced else None, a.out, a.threads)
        return
    libs = [entry.split("=", 1) for entry in a.lib]
    if a.tiny:
        tiny(libs, a.edgevlm, a.threads)
        return
    if not libs or not a.directory:
        ap.error("give DIR and at least one --lib NAME=DIR")
    names = json.load(open(os.path.join(a.directory, "goldens.json")))
    report = {}
    with tempfile.TemporaryDirectory() as work:
        for name in names:
            path = os.path.join(a.directory, name)
            ref_name, ref_lib = libs[0]
            prompt, ref_tokens, ref_rows = run_library(ref_lib, path, None, a.threads, work)
            entry = {"reference": ref_name, "reference_tokens": ref_tokens}
            for lib_name, lib in libs[1:]:
                _, tokens, _ = run_library(lib, path, None, a.threads, work)
                _, _, rows = run_library(lib, path, ref_tokens, a.threads, work)
                entry[lib_name] = {"greedy_first_difference": first_difference(tokens, ref_tokens),
                                   **compare(ref_tokens, ref_rows, rows)}
            if a.edgevlm:
                tokens, rows = run_edgevlm(a.edgevlm, path, prompt, ref_tokens, a.threads, work)
                entry["edgevlm"] = {"greedy_first_difference": first_difference(tokens, ref_tokens),
                                    **compare(ref_tokens, ref_rows, rows)}
            report[name] = entry
            for key, value in entry.items():
                if isinstance(value, dict):
                    print(f"{name} {key} vs {ref_name}: greedy first difference {value['greedy_first_difference']}, "
                          f"forced argmax {value['forced_argmax_agree']}/{N}, rel L2 {value['rel_l2']:.2e} "
                          f"(worst row {value['worst_row_rel_l2']:.2e}), reference margins where they differ "
                          f"{value['disagreements_reference_margin']}", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
