#!/usr/bin/env python3
"""Reads the committed test vocabularies (Tests/TokenizerTests/Fixtures/vocab-*.gguf) with gguf-py
and writes their tokenizer metadata as plain JSON to <out>/tokenizer/vocab-<pre>.json, so the
Swift tests can build tokenizers from plain values with an independent GGUF reader.
Usage: tools/testdata/tokenizer.py OUTPUT_DIR  (idempotent; skips files newer than their GGUF)."""
import json
import os
import sys

# tools/testdata/gguf.py (a sibling generator) would shadow the gguf package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
import gguf  # noqa: E402

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


def write_bad_vocab(path: str, model="gpt2", pre="qwen2", merges=True, eos=3, arch="qwen2") -> None:
    """A tiny vocabulary with one thing wrong, for the error-path tests."""
    if os.path.exists(path):
        return
    w = gguf.GGUFWriter(path, arch)
    w.add_tokenizer_model(model)
    if pre is not None:
        w.add_tokenizer_pre(pre)
    w.add_token_list(["a", "b", "ab", "<|im_end|>"])
    w.add_token_types([1, 1, 1, 3])
    if merges:
        w.add_token_merges(["a b"])
    w.add_eos_token_id(eos)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_bad_vocabs(out_dir: str) -> None:
    write_bad_vocab(os.path.join(out_dir, "bad-no-merges.gguf"), merges=False)
    write_bad_vocab(os.path.join(out_dir, "bad-pre.gguf"), pre="not-a-pre-tokenizer")
    write_bad_vocab(os.path.join(out_dir, "bad-no-pre.gguf"), pre=None)
    write_bad_vocab(os.path.join(out_dir, "bad-model.gguf"), model="bert")
    write_bad_vocab(os.path.join(out_dir, "bad-eos.gguf"), eos=4)
    write_bad_vocab(os.path.join(out_dir, "good-tiny.gguf"))


if __name__ == "__main__":
    main()
    write_bad_vocabs(os.path.join(sys.argv[1], "tokenizer"))
