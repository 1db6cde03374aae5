#!/usr/bin/env python3
"""Builds the tokenizer test vocabularies and llama.cpp's reference outputs for them.
Run by hand (not in CI); the outputs are committed under Tests/TokenizerTests/Fixtures/.

Step 1, vocabularies (needs `tokenizers` and `gguf` from PyPI, e.g. in the worktree venv):

    .venv/bin/pip install tokenizers==0.23.3 gguf==0.19.0
    .venv/bin/python tools/goldens/tokenizer_goldens.py vocab Tests/TokenizerTests/Fixtures

  trains two byte-level BPE vocabularies with Hugging Face `tokenizers` on a generated
  multilingual corpus (tokenizer_corpus.py), one split with Qwen2's regex and one with Llama 3's,
  adds the ChatML / Llama 3 / MiniCPM-V special tokens, and writes vocab-only GGUF files
  `vocab-qwen2.gguf` (tokenizer.ggml.pre = qwen2, no full byte alphabet, so byte fallback is
  exercised) and `vocab-llama-bpe.gguf` (pre = llama-bpe, full alphabet).

Step 2, goldens (needs llama-cpp-python 0.3.36, i.e. the reference llama.cpp):

    LLAMA_CPP_LIB_PATH=/work/ref/llama.cpp/build/bin \
        /work/ref/venv/bin/python tools/goldens/tokenizer_goldens.py goldens Tests/TokenizerTests/Fixtures

  tokenizes every string of golden_strings() with llama.cpp (vocab_only) with and without
  special-token parsing and with/without BOS/EOS, renders every token's piece, detokenizes,
  applies llama.cpp's built-in chat templates, and writes `tokenizer-goldens-<pre>.json`.
"""
import base64
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

QWEN2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")

# (text, GGUF token type): 3 = control, 4 = user-defined
QWEN2_SPECIALS = [
    ("<|endoftext|>", 3), ("<|im_start|>", 3), ("<|im_end|>", 3), ("<|fim_prefix|>", 3),
    ("<|fim_middle|>", 3), ("<|fim_suffix|>", 3), ("<|fim_pad|>", 3), ("<|repo_name|>", 3),
    ("<|file_sep|>", 3), ("<image>", 4), ("</image>", 4), ("<slice>", 4), ("</slice>", 4),
    ("<image_id>", 3), ("</image_id>", 3), ("<unk>", 3), ("<ref>", 4), ("</ref>", 4),
    ("<box>", 4), ("</box>", 4), ("<|unused_0|>", 3),
]
LLAMA3_SPECIALS = [
    ("<|begin_of_text|>", 3), ("<|end_of_text|>", 3), ("<|reserved_special_token_0|>", 3),
    ("<|reserved_special_token_1|>", 3), ("<|start_header_id|>", 3), ("<|end_header_id|>", 3),
    ("<|eot_id|>", 3), ("<image>", 4), ("</image>", 4), ("<slice>", 4), ("</slice>", 4),
    ("<unk>", 3),
]


def train(regex: str, vocab_size: int, full_alphabet: bool):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    import tokenizer_corpus

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(regex), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=1, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet() if full_alphabet else [])
    tok.train_from_iterator(tokenizer_corpus.training_corpus(), trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    vocab = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    tokens = [t for t, _ in vocab]
    assert [i for _, i in vocab] == list(range(len(tokens)))
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return tokens, merges


def vocab_only_writer(path: str, arch: str, name: str):
    """A GGUFWriter with the hyperparameters llama.cpp reads before the vocabulary even for
    vocab_only loads (also used by make_spm_goldens.py)."""
    import gguf

    w = gguf.GGUFWriter(path, arch)
    w.add_name(name)
    w.add_context_length(4096)
    w.add_embedding_length(64)
    w.add_block_count(1)
    w.add_feed_forward_length(128)
    w.add_head_count(4)
    w.add_head_count_kv(4)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(10000.0)
    return w


def write_vocab(path: str, arch: str, pre: str, tokens, merges, specials, ids, add_bos, template):
    all_tokens = tokens + [t for t, _ in specials]
    types = [1] * len(tokens) + [ty for _, ty in specials]
    w = vocab_only_writer(path, arch, f"edgevlm-test-vocab-{pre}")
    w.add_vocab_size(len(all_tokens))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(all_tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    index = {t: i for i, t in enumerate(all_tokens)}
    for key, text in ids.items():
        getattr(w, f"add_{key}_token_id")(index[text])
    if add_bos is not None:
        w.add_add_bos_token(add_bos)
    w.add_chat_template(template)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"{path}: {len(all_tokens)} tokens, {len(merges)} merges")


def make_vocabularies(out_dir: str):
    tokens, merges = train(QWEN2_REGEX, 12000, full_alphabet=False)
    write_vocab(os.path.join(out_dir, "vocab-qwen2.gguf"), "qwen2", "qwen2", tokens, merges, QWEN2_SPECIALS,
                {"bos": "<|endoftext|>", "eos": "<|im_end|>", "pad": "<|endoftext|>"}, False,
                QWEN2_CHAT_TEMPLATE)
    tokens, merges = train(LLAMA3_REGEX, 12000, full_alphabet=True)
    write_vocab(os.path.join(out_dir, "vocab-llama-bpe.gguf"), "llama", "llama-bpe", tokens, merges,
                LLAMA3_SPECIALS, {"bos": "<|begin_of_text|>", "eos": "<|eot_id|>"}, None,
                LLAMA3_CHAT_TEMPLATE)


def golden_strings() -> list[str]:
    import tokenizer_corpus as tc

    fixed = [
        "", " ", "  ", "   ", "\n", "\n\n\n", "\t", " \t \n", "\r\n", "\r\n\r\n", "a\r\nb", " \r\n  \r\n x",
        "hello", " hello", "  hello", "   hello  ", "Hello World", "hello world\n", "HELLO", "hello\n\nworld",
        "'s'S'll", "'s", "'S", "'re'RE'Ve'm'D't", "don't", "I'm here, you're there; they'll go.", "x'y", "''",
        "' s", "' 's", "it 's", "a ' b", "hi ,there . ok !", "What 's up ?",
        "1", "12", "123", "1234", "1234567", "12345678901234567890", "3.14159", "-42", "1,000,000", "v1.2.3",
        "３４５", "٣٤٥", "१२३", "²³", "Ⅻ", "½", "0x1F", "a1b2c3",
        "你好，世界！", "我们今天学习人工智能。", "中文English混合123", "こんにちは、世界。", "カタカナとひらがな",
        "東京は晴れです", "مرحبا بالعالم", "السلام عليكم ١٢٣", "नमस्ते दुनिया", "हिन्दी भाषा।",
        "Привет, мир!", "русский текст", "안녕하세요", "สวัสดีครับ", "Ελληνικά", "עברית",
        "😀", "👍🏽", "👩‍👩‍👧", "🏳️‍🌈", "🇯🇵🇺🇸", "I ❤️ emoji 🎉🚀!", "✨x✨",
        "e\u0301", "é", "ñandú", "a\u0300\u0301\u0302", "\u0301start", "Z\u0351\u0368\u0368a\u0362l\u0358g\u0359o",
        "non\u00a0breaking", "thin\u2009space", "ideographic\u3000space", "line\u2028sep", "nel\u0085x",
        "zero\u200bwidth", "soft\u00adhyphen", "bom\ufeffhere", "tab\there",
        "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", "<|im_end|>", "text<|im_end|>more",
        "<|endoftext|><|endoftext|>", "<image></image><slice></slice>", "<image_id>0</image_id>",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        "<|eot_id|>", "< |im_end| >", "<|im_end", "<unk>", "<|unused_0|>", "a<ref>b</ref>c<box>1 2</box>",
        "<|reserved_special_token_0|>x", "<|fim_prefix|>def f():<|fim_suffix|><|fim_middle|>",
        "def f(x):\n    return x * 2\n", "    indented", "\t\tdouble tab", "if (a != b) { c++; }",
        "path/to/file.txt", "https://example.com/a?b=c&d=e", "user@example.com", "#hashtag @mention",
        "!!!???...", "...", "—–-", "«quotes»", "“smart quotes”", "(parens) [brackets] {braces}", "$100 €50 ¥1000",
        "a" * 50, "ab" * 30, " " * 20 + "x", "\n" * 10, "x" + " " * 17, "🙂" * 5,
        "\u0000nul", "\u0001\u0002\u0003", "\x7f", "\u00ff\u00fe", "\U0001F9FF", "\U000E0041", "\uE000",
        "Ǆǅǆ", "ﬁ ligature", "Ａｂｃ fullwidth", "ǰ", "ß ẞ", "İstanbul", "ΣΊΣΥΦΟΣ", "KELVIN \u212a",
        "'\u212a", "'\u0130", " 's", "\n's", "'s's's", "x's y'S z'lL",
    ]
    rng = random.Random(99)
    generated = [s.strip("\n") if rng.random() < 0.5 else s for s in tc.sentences(rng, 90)]
    mixed = [" ".join(rng.choice(tc.sentences(rng, 3)) for _ in range(3)) for _ in range(20)]
    return fixed + generated + mixed


def golden_bytes() -> list[bytes]:
    """Malformed UTF-8 inputs (llama.cpp replaces each bad byte with U+FFFD)."""
    return [b"\xff", b"abc\xfe\xffdef", b"\xc3", b"\xc3(", b"\xe6\x97", b"\xe6\x97\xa5\xe6", b"\xed\xa0\x80",
            b"\xc0\x80", b"\xf0\x9f\x98", b"\x80\x80 hi", b"ok\xf8\x88\x80\x80\x80"]


class LlamaVocabulary:
    """A vocabulary-only GGUF loaded by llama.cpp (through llama-cpp-python's low-level API):
    tokenization, pieces and detokenization as llama.cpp computes them (also used by
    make_spm_goldens.py)."""

    def __init__(self, path: str):
        import llama_cpp as L

        self.L = L
        params = L.llama_model_default_params()
        params.vocab_only = True
        self.model = L.llama_model_load_from_file(path.encode(), params)
        assert self.model, f"llama.cpp could not load {path}"
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)

    def tokenize(self, data: bytes, add_special: bool, parse_special: bool) -> list[int]:
        cap = len(data) * 4 + 8
        buf = (self.L.llama_token * cap)()
        n = self.L.llama_tokenize(self.vocab, data, len(data), buf, cap, add_special, parse_special)
        assert n >= 0, n
        return list(buf[:n])

    def piece(self, token: int, special: bool, lstrip: int = 0) -> bytes:
        import ctypes

        buf = ctypes.create_string_buffer(256)
        n = self.L.llama_token_to_piece(self.vocab, token, buf, 256, lstrip, special)
        assert n >= 0
        return buf.raw[:n]

    def detokenize(self, tokens: list[int], remove_special: bool, unparse_special: bool) -> bytes:
        import ctypes

        cap = 64 + 64 * len(tokens)
        buf = ctypes.create_string_buffer(cap)
        arr = (self.L.llama_token * max(1, len(tokens)))(*tokens)
        n = self.L.llama_detokenize(self.vocab, arr, len(tokens), buf, cap, remove_special, unparse_special)
        assert n >= 0
        return buf.raw[:n]

    def free(self) -> None:
        self.L.llama_model_free(self.model)


def make_goldens(out_dir: str):
    import ctypes
    import llama_cpp as L

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    for pre in ["qwen2", "llama-bpe"]:
        path = os.path.join(out_dir, f"vocab-{pre}.gguf")
        lv = LlamaVocabulary(path)
        model, vocab, n_vocab = lv.model, lv.vocab, lv.n_vocab
        tokenize, piece, detokenize = lv.tokenize, lv.piece, lv.detokenize

        cases = []
        inputs = [s.encode("utf-8") for s in golden_strings()] + golden_bytes()
        for data in inputs:
            case = {"input": b64(data)}
            for add_special in (False, True):
                for parse_special in (False, True):
                    key = f"tokens_add{int(add_special)}_parse{int(parse_special)}"
                    case[key] = tokenize(data, add_special, parse_special)
            toks = case["tokens_add1_parse1"]
            case["detok_keep"] = b64(detokenize(toks, False, False))
            case["detok_unparse"] = b64(detokenize(toks, False, True))
            case["detok_remove_unparse"] = b64(detokenize(toks, True, True))
            cases.append(case)

        pieces = [b64(piece(t, True)) for t in range(n_vocab)]
        pieces_plain = {str(t): b64(piece(t, False)) for t in range(n_vocab) if piece(t, False) != piece(t, True)}

        def chat(template: str | None, messages, add_ass: bool) -> str:
            arr = (L.llama_chat_message * len(messages))()
            keep = []
            for i, (role, content) in enumerate(messages):
                r, c = role.encode(), content.encode()
                keep += [r, c]
                arr[i].role = r
                arr[i].content = c
            tmpl = template.encode() if template is not None else None
            n = L.llama_chat_apply_template(tmpl, arr, len(messages), add_ass, None, 0)
            if n < 0:
                return None
            buf = ctypes.create_string_buffer(n + 1)
            L.llama_chat_apply_template(tmpl, arr, len(messages), add_ass, buf, n + 1)
            return buf.raw[:n].decode("utf-8")

        conversations = [
            [("user", "Hello")],
            [("system", "You are a helpful assistant."), ("user", "  What is in the image?\n ")],
            [("user", "你好"), ("assistant", " 你好！有什么可以帮你？ "), ("user", "描述这张图片。\n")],
            [("system", ""), ("user", "\tTabs and\nnewlines\n\n"), ("assistant", "ok"), ("user", "x")],
        ]
        builtin_template = L.llama_model_chat_template(model, None)
        builtin_template = builtin_template.decode() if builtin_template else None
        templates = {"file": builtin_template, "chatml": "chatml", "llama3": "llama3"}
        chats = []
        for name, template in templates.items():
            for conv in conversations:
                for add_ass in (False, True):
                    chats.append({"template": name, "messages": [{"role": r, "content": c} for r, c in conv],
                                  "add_assistant": add_ass, "output": chat(template, conv, add_ass)})

        def opt(token: int):
            return None if token < 0 else token

        golden = {
            "vocab": os.path.basename(path),
            "reference": "llama.cpp vendored in llama-cpp-python " + L.__version__,
            "n_vocab": n_vocab,
            "bos": opt(L.llama_vocab_bos(vocab)), "eos": opt(L.llama_vocab_eos(vocab)),
            "eot": opt(L.llama_vocab_eot(vocab)),
            "add_bos": bool(L.llama_vocab_get_add_bos(vocab)), "add_eos": bool(L.llama_vocab_get_add_eos(vocab)),
            "eog": [t for t in range(n_vocab) if L.llama_vocab_is_eog(vocab, t)],
            "control": [t for t in range(n_vocab) if L.llama_vocab_is_control(vocab, t)],
            "chat_template_in_file": builtin_template,
            "pieces_special": pieces,
            "pieces_plain_differing": pieces_plain,
            "cases": cases,
            "chats": chats,
        }
        out = os.path.join(out_dir, f"tokenizer-goldens-{pre}.json")
        with open(out, "w", encoding="utf-8") as f:
            json.dump(golden, f, ensure_ascii=False, indent=0, separators=(",", ":"))
        print(f"{out}: {len(cases)} cases, {len(chats)} chats, {n_vocab} tokens")
        lv.free()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("vocab", "goldens"):
        sys.exit(__doc__)
    os.makedirs(sys.argv[2], exist_ok=True)
    (make_vocabularies if sys.argv[1] == "vocab" else make_goldens)(sys.argv[2])
