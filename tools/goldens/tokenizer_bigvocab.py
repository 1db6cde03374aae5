#!/usr/bin/env python3
"""Writes a Qwen2-sized (151k tokens, 151k merges) synthetic byte-level BPE vocabulary for load-time
benchmarks, by extending Tests/TokenizerTests/Fixtures/vocab-qwen2.gguf with merged pairs of its own
tokens. Run by hand: .venv/bin/python tools/goldens/tokenizer_bigvocab.py /tmp/vocab-big.gguf"""
import random, sys
sys.path = [p for p in sys.path if 'testdata' not in p]
import gguf
r = gguf.GGUFReader('Tests/TokenizerTests/Fixtures/vocab-qwen2.gguf')
def arr(key):
    f = r.get_field(key)
    if f.types[1] == gguf.GGUFValueType.STRING:
        return [bytes(f.parts[i]).decode() for i in f.data]
    return [int(f.parts[i][0]) for i in f.data]
tokens = arr('tokenizer.ggml.tokens'); types = arr('tokenizer.ggml.token_type'); merges = arr('tokenizer.ggml.merges')
normal = [t for t, ty in zip(tokens, types) if ty == 1]
specials = [(t, ty) for t, ty in zip(tokens, types) if ty != 1]
seen = set(tokens)
rng = random.Random(1)
while len(normal) < 151000:
    a, b = rng.choice(normal), rng.choice(normal)
    if len(a) + len(b) > 24 or (a + b) in seen: continue
    seen.add(a + b); normal.append(a + b); merges.append(a + ' ' + b)
w = gguf.GGUFWriter(sys.argv[1], 'qwen2')
w.add_context_length(4096); w.add_embedding_length(64); w.add_block_count(1); w.add_feed_forward_length(128)
w.add_head_count(4); w.add_head_count_kv(4); w.add_layer_norm_rms_eps(1e-6)
w.add_tokenizer_model('gpt2'); w.add_tokenizer_pre('qwen2')
w.add_token_list(normal + [t for t, _ in specials]); w.add_token_types([1]*len(normal) + [ty for _, ty in specials])
w.add_token_merges(merges); w.add_eos_token_id(len(normal) + 2)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
print(len(normal) + len(specials), len(merges))
