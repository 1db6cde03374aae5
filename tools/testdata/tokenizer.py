#!/usr/bin/env python3
"""Reads the committed test vocabularies (Tests/TokenizerTests/Fixtures/vocab-*.gguf) with gguf-py
and writes their tokenizer metadata as plain JSON to <out>/tokenizer/vocab-<pre>.json, so the
Swift tests can build tokenizers from plain values with an independent GGUF reader.
Usage: tools/testdata/tokenizer.py OUTPUT_DIR  (idempotent; skips files newer than their GGUF)."""
import json
import os
import sys

import gguf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "TokenizerTests", "Fixtures")


def field_value(reader: gguf.GGUFReader, key: str):
    field = reader.get_field(key)
    if field is None:
        return None
    types = field.types
    if types[0] == gguf.GGUFValueType.ARRAY:
        if types[1] == gguf.GGUFValueType.STRING:
            return [bytes(field.parts[i]).decode("utf-8", errors="surrogateescape") for i in field.data]
        return [int(field.parts[i][0]) for i in field.data]
    if types[0] == gguf.GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    value = field.parts[field.data[0]][0]
    return bool(value) if types[0] == gguf.GGUFValueType.BOOL else value.item()


def main() -> None:
    out_dir = os.path.join(sys.argv[1], "tokenizer")
    os.makedirs(out_dir, exist_ok=True)
    for pre in ["qwen2", "llama-bpe"]:
        src = os.path.join(FIXTURES, f"vocab-{pre}.gguf")
        dst = os.path.join(out_dir, f"vocab-{pre}.json")
        if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(src):
            continue
        reader = gguf.GGUFReader(src)
        keys = ["tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                "tokenizer.ggml.eot_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token",
                "tokenizer.ggml.add_eos_token", "tokenizer.chat_template"]
        data = {key: field_value(reader, key) for key in keys}
        with open(dst, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
        print(f"{dst}: {len(data['tokenizer.ggml.tokens'])} tokens")


if __name__ == "__main__":
    main()
