#!/usr/bin/env python3
"""Decode-step logits of the tiny Q8_0 and Q4_0 fixtures from llama.cpp, for the bit-for-bit tests
(not run in CI).

    LLAMA_CPP_LIB_PATH=/work/ref/llama.cpp/build-noamx/bin /work/ref/venv/bin/python \\
        tools/goldens/make_decode_goldens.py

For each fixture, llama.cpp evaluates the golden greedy prompt in one batch and then feeds the
golden greedy tokens one at a time (as greedy decoding does, F16 KV cache, no flash attention);
the 32 logits rows that pick the 32 tokens go to Tests/ModelsTests/Fixtures/<name>.decode.f32
(row-major Float32). Use a llama.cpp built for AVX-512 (GGML_NATIVE=OFF with the AVX-512 flags,
no AMX): EdgeVLM's AVX-512 level follows that build's order of float operations.
"""
import json
import os
import sys

import numpy as np
from llama_cpp import Llama

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures")
NAMES = ["tiny-qwen2-q8_0", "tiny-llama-q8_0", "tiny-qwen2-q4_0", "tiny-llama-q4_0"]


def main() -> None:
    for name in NAMES:
        golden = json.load(open(os.path.join(FIXTURES, name + ".json")))
        model = Llama(model_path=os.path.join(FIXTURES, name + ".gguf"), n_ctx=256, n_batch=512, logits_all=True,
                      n_threads=2, n_threads_batch=2, verbose=False, seed=0)
        model.reset()
        model.eval(golden["greedy_prompt_tokens"])
        rows = []
        for step, token in enumerate(golden["greedy_tokens"]):
            rows.append(np.array(model.scores[model.n_tokens - 1], dtype="<f4"))
            if step + 1 < len(golden["greedy_tokens"]):
                model.eval([token])
        np.stack(rows).tofile(os.path.join(FIXTURES, name + ".decode.f32"))
        picked = [int(np.argmax(r)) for r in rows]
        print(name, "rows", len(rows), "argmax equals the golden greedy tokens:", picked == golden["greedy_tokens"])
        del model


if __name__ == "__main__":
    sys.exit(main())
