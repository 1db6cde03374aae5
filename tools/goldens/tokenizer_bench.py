#!/usr/bin/env python3
"""Side-by-side tokenization speed: EdgeVLM vs llama.cpp on the same ~100 KB text and vocabulary.
Run by hand (needs the reference llama.cpp through llama-cpp-python):

    swift build -c release --product edgevlm
    LLAMA_CPP_LIB_PATH=/work/ref/llama.cpp/build/bin /work/ref/venv/bin/python \\
        tools/goldens/tokenizer_bench.py .build/release/edgevlm Tests/TokenizerTests/Fixtures/vocab-qwen2.gguf

Writes the text to /tmp/edgevlm-tokenizer-bench.txt, checks both produce the same tokens, and
prints median and minimum times over 20 runs each (load excluded) and their ratios
(the minimum is the better estimate on a shared, loaded machine).
"""
import json
import os
import random
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    import ctypes
    import llama_cpp as L
    import tokenizer_corpus

    edgevlm, vocab_path = sys.argv[1], sys.argv[2]
    rng = random.Random(7)
    text = ""
    while len(text.encode()) < 100_000:
        text += " ".join(tokenizer_corpus.sentences(rng, 50)) + "\n"
    path = "/tmp/edgevlm-tokenizer-bench.txt"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    data = text.encode()

    params = L.llama_model_default_params()
    params.vocab_only = True
    model = L.llama_model_load_from_file(vocab_path.encode(), params)
    vocab = L.llama_model_get_vocab(model)
    cap = len(data) + 16
    buf = (L.llama_token * cap)()
    times = []
    for _ in range(20):
        start = time.perf_counter()
        n = L.llama_tokenize(vocab, data, len(data), buf, cap, True, True)
        times.append(time.perf_counter() - start)
    reference = list(buf[:n])
    llama_ms = statistics.median(times) * 1000
    llama_min = min(times) * 1000

    ours = json.loads(subprocess.run([edgevlm, "tokenize", vocab_path, "--file", path, "--json"],
                                     check=True, capture_output=True, text=True).stdout)["tokens"]
    assert ours == reference, "token mismatch between EdgeVLM and llama.cpp"
    line = subprocess.run([edgevlm, "tokenize", vocab_path, "--file", path, "--repeat-count", "20"],
                          check=True, capture_output=True, text=True).stdout.strip()
    ours_ms = float(line.split("median ")[1].split(" ms")[0])
    ours_min = float(line.split("min ")[1].split(" ms")[0])
    print(f"text: {len(data)} bytes -> {n} tokens (identical in both)")
    print(f"llama.cpp llama_tokenize: median {llama_ms:.2f} ms, min {llama_min:.2f} ms")
    print(f"EdgeVLM tokenize:         median {ours_ms:.2f} ms, min {ours_min:.2f} ms ({line})")
    print(f"llama.cpp time / EdgeVLM time: median {llama_ms / ours_ms:.2f}x, min {llama_min / ours_min:.2f}x")


if __name__ == "__main__":
    main()
