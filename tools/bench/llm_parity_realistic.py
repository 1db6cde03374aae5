#!/usr/bin/env python3
"""Greedy 32-token identity with llama.cpp on the realistic (Qwen2-0.5B-shaped) files.

    tools/bench/llm_parity_realistic.py DIR [THREADS]

DIR is the output of `tools/goldens/make_llm_fixtures.py --realistic DIR` (files + goldens.json).
Runs `edgevlm generate --raw --json --max-tokens 32` on each file with the golden prompt and
compares prompt tokens and generated tokens with llama.cpp's. Exits 1 on any difference.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "goldens"))

directory = sys.argv[1]
threads = sys.argv[2] if len(sys.argv) > 2 else "2"
edgevlm = os.environ.get("EDGEVLM", ".build/release/edgevlm")
goldens = json.load(open(os.path.join(directory, "goldens.json")))
prompt = "The weather is nice today. There is a cat"  # GREEDY_PROMPT of make_llm_fixtures.py
failed = False
for name, golden in goldens.items():
    out = subprocess.run([edgevlm, "generate", "--model", os.path.join(directory, name), "--prompt", prompt,
                          "--raw", "--json", "--max-tokens", "32", "--threads", threads],
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    same_prompt = result["prompt_token_ids"] == golden["prompt_tokens"]
    same = result["tokens"] == golden["greedy_tokens"]
    first_diff = next((i for i, (a, b) in enumerate(zip(result["tokens"], golden["greedy_tokens"])) if a != b), None)
    print(f"{name}: prompt tokens {'identical' if same_prompt else 'DIFFER'}, greedy 32 "
          f"{'identical' if same else f'DIFFER at {first_diff}'}; tg {result['timings']['generate_tps']:.1f} tok/s")
    failed |= not (same and same_prompt)
sys.exit(1 if failed else 0)
