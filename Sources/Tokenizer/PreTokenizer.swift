/// The pre-tokenizers (text → words before BPE) EdgeVLM implements, with the behaviour flags
/// llama.cpp attaches to each (`llama_vocab::impl::load`).
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// Llama 3's split: contractions, `[^\r\n\p{L}\p{N}]?\p{L}+`, `\p{N}{1,3}`, punctuation runs
    /// with trailing newlines, newline runs, whitespace runs (GGUF `llama-bpe` and aliases).
    case llama3
    /// Qwen2's split: as `llama3` but digits one at a time (GGUF `qwen2` and aliases).
    case qwen2

    /// Maps a `tokenizer.ggml.pre` value to a pre-tokenizer as llama.cpp does; nil if this
    /// pre-tokenizer is not implemented here.
    public init?(ggufName: String) {
        switch ggufName {
        // Only names llama.cpp maps to exactly these types; others sharing a regex (dbrx,
        // stablelm2, ...) differ in BOS, ignore_merges or clean_spaces and are not accepted.
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0",
             "lfm2", "jina-v5-nano":
            self = .llama3
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2":
            self = .qwen2
        default:
            return nil
        }
    }

    /// Whether a word found whole in the vocabulary is emitted without running BPE merges.
    /// llama.cpp sets this only for the `llama3` family (its `llama-bpe` branch).
    var ignoresMerges: Bool { self == .llama3 }

    /// Whether llama.cpp adds BOS by default (before `tokenizer.ggml.add_bos_token` overrides it).
    var addsBOSByDefault: Bool { self == .llama3 }

    /// llama.cpp's `clean_spaces` default: true for BPE unless the pre-tokenizer turns it off
    /// (qwen2 does; llama3 does not).
    var cleansSpaces: Bool { self == .llama3 }

    /// Splits one text fragment (code points) into words; returns the word lengths in code
    /// points. Mirrors llama.cpp's hand-written splitters for these regexes, including how
    /// the alternatives are tried in order at each position.
    func split(_ text: UnsafeBufferPointer<UInt32>, into lengths: inout [Int]) {
        let count = text.count
        let outOfRange: UInt32 = 0xFFFF_FFFF
        @inline(__always) func codepoint(_ index: Int) -> UInt32 {
            index < count ? text[index] : outOfRange
        }
        @inline(__always) func flags(_ index: Int) -> CodepointClass {
            index < count ? CodepointClass.of(text[index]) : []
        }
        let notWordLike: CodepointClass = [.whitespace, .letter, .number]
        let newline: UInt32 = 0x0A, carriageReturn: UInt32 = 0x0D, space: UInt32 = 0x20
        let digitGroup = self == .llama3 ? 3 : 1
        var start = 0
        var position = 0
        @inline(__always) func emit(_ end: Int) {
            if end > start { lengths.append(end - start) }
            start = end
        }
        while position < count {
            let current = text[position]
            let currentFlags = CodepointClass.of(current)

            // (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])
            if current == 0x27 && position + 1 < count {
                let next = CodepointClass.asciiLowercase(text[position + 1])
                if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 {  // s t m d
                    position += 2; emit(position); continue
                }
                if position + 2 < count {
                    let nextNext = CodepointClass.asciiLowercase(text[position + 2])
                    if (next == 0x72 && nextNext == 0x65) || (next == 0x76 && nextNext == 0x65)
                        || (next == 0x6C && nextNext == 0x6C) {  // re ve ll
                        position += 3; emit(position); continue
                    }
                }
            }

            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(current == carriageReturn || current == newline || currentFlags.contains(.number)) {
                if currentFlags.contains(.letter) || flags(position + 1).contains(.letter) {
                    position += 1
                    while flags(position).contains(.letter) { position += 1 }
                    emit(position); continue
                }
            }

            // \p{N}{1,3} (llama3) or \p{N} (qwen2)
            if currentFlags.contains(.number) {
                var groupStart = position
                while flags(position).contains(.number) {
                    position += 1
                    if position - groupStart >= digitGroup {
                        emit(position); groupStart = position
                    }
                }
                emit(position); continue
            }

            // " ?[^\s\p{L}\p{N}]+[\r\n]*"
            var lookahead = current == space ? flags(position + 1) : currentFlags
            if lookahead.isDisjoint(with: notWordLike) {  // current is always present here
                if current == space { position += 1 }
                while lookahead.isDisjoint(with: notWordLike) && lookahead.contains(.present) {
                    position += 1
                    lookahead = flags(position)
                }
                var trailing = codepoint(position)
                while trailing == carriageReturn || trailing == newline {
                    position += 1
                    trailing = codepoint(position)
                }
                emit(position); continue
            }

            // \s*[\r\n]+ , \s+(?!\S) , \s+
            var spaces = 0
            var afterLastNewline = 0
            while flags(position + spaces).contains(.whitespace) {
                let value = text[position + spaces]
                if value == carriageReturn || value == newline { afterLastNewline = position + spaces + 1 }
                spaces += 1
            }
            if afterLastNewline > 0 {
                position = afterLastNewline; emit(position); continue
            }
            if spaces > 1 && codepoint(position + spaces) != outOfRange {
                position += spaces - 1; emit(position); continue
            }
            if spaces > 0 {
                position += spaces; emit(position); continue
            }

            // no alternative matched: the code point stands alone
            position += 1
            emit(position)
        }
    }
}
