#!/usr/bin/env python3
"""Builds the SentencePiece (GGUF `tokenizer.ggml.model = llama`) test vocabularies and
llama.cpp's reference outputs for them. Run by hand (not in CI); the outputs are committed under
Tests/TokenizerTests/Fixtures/.

    LLAMA_CPP_LIB_PATH=/work/ref/llama.cpp/build-noamx/bin \\
        /work/ref/venv/bin/python tools/goldens/make_spm_goldens.py Tests/TokenizerTests/Fixtures

(the venv holds llama-cpp-python 0.3.36 and gguf; LLAMA_CPP_LIB_PATH names a llama.cpp build
whose libllama runs on this machine).

1. Vocabularies, written with gguf-py: `<unk>` (unknown), `<s>` `</s>` (control), the 256 byte
   tokens `<0x00>`..`<0xFF>`, then pieces scored like a SentencePiece model: frequent substrings
   of "▁"-prefixed words of a small English / Chinese / Arabic corpus (so merges go through
   intermediate pieces), single characters except a few left out on purpose (Q, Z, ~, some CJK)
   so byte fallback happens, runs of "▁", an emoji; then `<image>` `</image>` `<slice>`
   (user-defined) and `<|im_start|>` `<|im_end|>` (control). Scores come in groups of equal
   value so the bigram queue's tie rule (leftmost first) matters.
   - `vocab-spm.gguf`: llama.cpp's SPM defaults (add_space_prefix absent = true, BOS/EOS/UNK ids
     absent = 1/2/0), `add_bos_token = true`.
   - `vocab-spm-noprefix.gguf`: `add_space_prefix = false`, `add_bos_token = false`,
     `add_eos_token = true`, explicit bos/eos/unk ids, integer scores.
2. For each: every golden string (and a few malformed byte strings) tokenized by llama.cpp with
   add_special and parse_special both ways; each of the four token lists detokenized with
   remove_special and unparse_special both ways; every token's piece (special true and false,
   and with lstrip 1); written to `tokenizer-goldens-<name>.json`.
"""
import base64
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SPACE = "\u2581"  # ▁, SentencePiece's escaped space

WORDS = """the of and to in is you that it he was for on are as with his they at be this have from or
one had by word but not what all were we when your can said there use an each which she do how their
if will up other about out many then them these so some her would make like him into time has look two
more write go see number no way could people my than first water been call who its now find long
down day did get come made may part image model token vision language device camera hello world
running jumped quickly beautiful important different following without between another through because
however tokenizer sentence piece merge score vocabulary byte bytes unicode character characters
Hello World The This New York I don't can't it's we're""".split()
CHINESE = "我们 你好 世界 中国 北京 上海 模型 图像 视觉 语言 人工 智能 今天 天气 很好 谢谢 朋友 学习 工作 时间 问题".split()
ARABIC = "مرحبا العالم اللغة العربية نموذج صورة كتاب مدرسة".split()
# Characters that get no token of their own: they tokenize as <0xXX> byte tokens.
LEFT_OUT = set("QZ~`^|\\\t") | set("京智")


def vocabulary(seed: int = 7):
    """(tokens, scores, types) of a SentencePiece-style vocabulary."""
    rng = random.Random(seed)
    corpus = [rng.choice(WORDS) for _ in range(4000)] + [rng.choice(CHINESE) for _ in range(800)]
    corpus += [rng.choice(ARABIC) for _ in range(300)]
    counts: dict[str, int] = {}
    chars: set[str] = set()
    for word in corpus:
        text = SPACE + word
        chars.update(text)
        for start in range(len(text)):
            for end in range(start + 2, min(len(text), start + 9) + 1):
                piece = text[start:end]
                counts[piece] = counts.get(piece, 0) + 1
    chars.update("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"()[]{}<>-_=+*/#@$%&")
    chars.update("，。！？、 éèüñ")
    chars.update("😀")
    chars.discard(" ")
    chars -= LEFT_OUT
    # Most frequent multi-character pieces, ties by text for determinism.
    multi = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:1100]
    extra = [SPACE * 2, SPACE * 4, SPACE * 8, "▁New▁York", "12", "123", "00", "▁1", "▁2", "..", "...", "!!",
             "😀😀", "ing", "tion", "▁un", "。", "▁你好", "好世", "▁(", "),"]
    pieces: list[tuple[str, float]] = []
    seen: set[str] = set()
    for rank, (piece, _) in enumerate(multi):
        pieces.append((piece, -float(rank // 7)))  # groups of 7 share a score
        seen.add(piece)
    for piece in extra:
        if piece not in seen:
            pieces.append((piece, -3.0))
            seen.add(piece)
    for char in sorted(chars):
        if char not in seen:
            pieces.append((char, -200.0))  # single characters merge last
            seen.add(char)
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    scores = [0.0, 0.0, 0.0] + [0.0] * 256
    for piece, score in pieces:
        tokens.append(piece)
        types.append(1)
        scores.append(score)
    for text, kind in [("<image>", 4), ("</image>", 4), ("<slice>", 4), ("<|im_start|>", 3), ("<|im_end|>", 3)]:
        tokens.append(text)
        types.append(kind)
        scores.append(0.0)
    assert len(set(tokens)) == len(tokens)
    return tokens, scores, types


def write_vocab(path: str, variant: str):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from tokenizer_goldens import vocab_only_writer

    tokens, scores, types = vocabulary()
    w = vocab_only_writer(path, "llama", f"edgevlm-test-vocab-{variant}")
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_types(types)
    if variant == "spm":
        w.add_token_scores(scores)
        w.add_add_bos_token(True)
    else:
        # Integer scores are accepted by llama.cpp too.
        w.add_array("tokenizer.ggml.scores", [int(s) for s in scores])
        w.add_bool("tokenizer.ggml.add_space_prefix", False)
        w.add_add_bos_token(False)
        w.add_add_eos_token(True)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"{path}: {len(tokens)} tokens")


def golden_strings() -> list[str]:
    import tokenizer_corpus as tc

    fixed = [
        "", " ", "  ", "   ", "\n", "\n\n", "\t", " \t \n", "\r\n", "a\nb", " \n  \n x",
        "hello", " hello", "  hello", "   hello  ", "hello ", "Hello World", "hello world\n", "HELLO",
        "hello\n\nworld", "the quick brown fox", "The New York time", "New York", "don't can't it's",
        "I'm here, you're there; they'll go.", "a b c d e f g", "tokenizer tokenization", "unbelievable",
        "   leading", "trailing   ", "multiple    spaces    here", "tab\there", "\ttabbed", "Quiz Zoo ~`^|\\",
        "1", "12", "123", "1234567", "3.14159", "-42", "1,000,000", "v1.2.3", "00700",
        "你好", "你好世界", "我们今天学习人工智能。", "北京是中国的首都", "中文English混合123", "こんにちは",
        "مرحبا بالعالم", "اللغة العربية", "Привет, мир!", "Ελληνικά",
        "😀", "😀😀😀", "👍🏽", "I ❤️ emoji 🎉!", "✨x✨",
        "é", "e\u0301", "ñandú", "über", "\u0000nul", "\x7f", "\U0001F9FF", "\uE000",
        "<image>", "<image></image>", "<image>hello</image>", " <image> ", "a<image>b", "<slice><image></slice>",
        "<s>", "<s>hello", "hello<s>", "</s>", "<s></s>", " <s> x </s> ", "<unk>", "a<unk>b",
        "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", "<|im_end|>", "<|im_end",
        "<0x41>", "▁", "▁hello", "▁▁", "_hello", "<<image>>", "<ima ge>",
        "def f(x):\n    return x * 2\n", "    indented", "path/to/file.txt", "https://example.com/a?b=c",
        "!!!???...", "...", "(parens) [brackets] {braces}", "$100 €50", "a" * 40, "ab " * 15, " " * 20 + "x",
        "\n" * 6, "x" + " " * 17, "😀" * 5,
    ]
    rng = random.Random(2024)
    generated = [s.strip("\n") if rng.random() < 0.5 else s for s in tc.sentences(rng, 80)]
    mixed = [" ".join(rng.choice(tc.sentences(rng, 3)) for _ in range(3)) for _ in range(15)]
    return fixed + generated + mixed


def golden_bytes() -> list[bytes]:
    """Malformed UTF-8 (SentencePiece splits by lead-byte length and falls back to byte tokens)."""
    return [b"\xff", b"abc\xfe\xffdef", b"\xc3", b"\xc3(", b"\xe6\x97", b"\xe6\x97\xa5\xe6", b"\x80\x80 hi",
            b"ok\xf8\x88\x80\x80\x80", b"hello \xe4\xbd"]


def make_goldens(out_dir: str, variant: str):
    import llama_cpp as L

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from tokenizer_goldens import LlamaVocabulary

    path = os.path.join(out_dir, f"vocab-{variant}.gguf")
    lv = LlamaVocabulary(path)
    model, vocab, n_vocab = lv.model, lv.vocab, lv.n_vocab
    assert L.llama_vocab_type(vocab) == L.LLAMA_VOCAB_TYPE_SPM
    tokenize, piece, detokenize = lv.tokenize, lv.piece, lv.detokenize

    cases = []
    for data in [s.encode("utf-8") for s in golden_strings()] + golden_bytes():
        case = {"input": b64(data)}
        for add_special in (False, True):
            for parse_special in (False, True):
                key = f"add{int(add_special)}_parse{int(parse_special)}"
                tokens = tokenize(data, add_special, parse_special)
                case[f"tokens_{key}"] = tokens
                # [remove0 unparse0, remove0 unparse1, remove1 unparse0, remove1 unparse1]
                case[f"detok_{key}"] = [b64(detokenize(tokens, r, u)) for r in (False, True) for u in (False, True)]
        cases.append(case)

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
        "pieces_special": [b64(piece(t, True)) for t in range(n_vocab)],
        "pieces_plain_differing": {str(t): b64(piece(t, False)) for t in range(n_vocab)
                                   if piece(t, False) != piece(t, True)},
        "pieces_lstrip1_differing": {str(t): b64(piece(t, True, 1)) for t in range(n_vocab)
                                     if piece(t, True, 1) != piece(t, True)},
        "cases": cases,
    }
    out = os.path.join(out_dir, f"tokenizer-goldens-{variant}.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=0, separators=(",", ":"))
    print(f"{out}: {len(cases)} cases, {n_vocab} tokens")
    lv.free()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    os.makedirs(sys.argv[1], exist_ok=True)
    for name in ("spm", "spm-noprefix"):
        write_vocab(os.path.join(sys.argv[1], f"vocab-{name}.gguf"), name)
        make_goldens(sys.argv[1], name)
