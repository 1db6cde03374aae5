/// The GGUF tokenizer models EdgeVLM implements (`tokenizer.ggml.model`).
public enum TokenizerModel: String, Sendable, CaseIterable {
    /// Byte-level BPE (`gpt2`): pre-tokenizer words merged by rank (llama.cpp `LLAMA_VOCAB_TYPE_BPE`).
    case byteLevelBPE = "gpt2"
    /// SentencePiece (`llama`): spaces as "▁", pairs merged by token score, byte fallback to
    /// `<0xXX>` tokens (llama.cpp `LLAMA_VOCAB_TYPE_SPM`).
    case sentencePiece = "llama"
}

/// A GGUF vocabulary's tokenizer that tokenizes and detokenizes exactly as llama.cpp does:
/// byte-level BPE (`tokenizer.ggml.model = gpt2`) for the supported pre-tokenizers
/// (`PreTokenizer`), or SentencePiece (`llama`). Special tokens are cut out of the text first;
/// for BPE the rest is split into words, each written in the byte-level alphabet and merged by
/// rank; for SentencePiece each remaining fragment is encoded by `SentencePieceEncoder`.
///
/// The name predates SentencePiece support; it is kept because it is used widely. `model` says
/// which kind a value is.
public struct BPETokenizer: Sendable {
    /// Which algorithm this vocabulary uses.
    public let model: TokenizerModel
    /// Token texts as stored (UTF-8 bytes, in the byte-level alphabet for normal BPE tokens).
    let tokenTexts: [[UInt8]]
    /// Token texts (ids below `vocabularySize`) followed by merge-only strings (BPE).
    let strings: ByteStringTable
    /// Per-token attributes after llama.cpp's load-time heuristics.
    public let attributes: [TokenAttributes]
    /// BPE merge ranks (empty for SentencePiece).
    let mergeTable: BPEMergeTable
    /// BPE: token whose text is the single byte b, or -1.
    let singleByteToken: [Int32]
    /// SentencePiece: per-token scores (`tokenizer.ggml.scores`; empty for BPE).
    let scores: [Float]
    /// SentencePiece: byte fallback token of each byte value (`<0xXX>`, else the one-byte
    /// text, as llama.cpp's `byte_to_token`), or -1; empty for BPE.
    let byteTokens: [Int32]
    /// Control, user-defined and unknown tokens, longest text first (matching order).
    let specialTokensByLength: [TokenID]
    /// Rendered piece of every token with `special = true` (llama.cpp's piece cache).
    let pieces: [[UInt8]]

    /// The pre-tokenizer in use (nil for SentencePiece, which has none).
    public let preTokenizer: PreTokenizer?
    /// Special token ids after llama.cpp's defaults and auto-detection (nil = none).
    public let specialTokens: SpecialTokenIDs
    /// Whether `tokenize(_:addSpecial: true)` prepends BOS.
    public let addsBOS: Bool
    /// Whether `tokenize(_:addSpecial: true)` appends EOS.
    public let addsEOS: Bool
    /// llama.cpp's `add_space_prefix`: SentencePiece prepends a space to text at the start or
    /// after a special token; detokenization drops one leading space of the first piece.
    public let addsSpacePrefix: Bool
    /// Whether detokenization applies llama.cpp's `clean_spaces` passes.
    public let cleansSpaces: Bool
    /// Tokens that end generation (llama.cpp `special_eog_ids`).
    public let endOfGenerationTokens: Set<TokenID>
    /// The `tokenizer.chat_template` text, if the vocabulary has one.
    public let chatTemplate: String?

    /// Number of tokens in the vocabulary.
    public var vocabularySize: Int { tokenTexts.count }

    /// Builds a byte-level BPE tokenizer from plain values, as they appear in GGUF metadata.
    /// - Parameters:
    ///   - tokens: `tokenizer.ggml.tokens`.
    ///   - tokenTypes: `tokenizer.ggml.token_type` (nil: every token is normal).
    ///   - merges: `tokenizer.ggml.merges`; must not be empty.
    ///   - preTokenizer: `tokenizer.ggml.pre` (e.g. `qwen2`, `llama-bpe`).
    ///   - specialTokens: the `*_token_id` keys present in the file.
    ///   - addBOS / addEOS: `tokenizer.ggml.add_bos_token` / `add_eos_token` if present.
    ///   - addSpacePrefix: `tokenizer.ggml.add_space_prefix` if present (BPE uses it only when
    ///     detokenizing, as llama.cpp does).
    ///   - chatTemplate: `tokenizer.chat_template` if present.
    /// - Throws: `TokenizerError.vocabularyWithoutMerges`, `.unsupportedPreTokenizer`,
    ///   `.specialTokenOutOfRange`, `.duplicateToken`, `.invalidValue` (token type count).
    public init(tokens: [String], tokenTypes: [Int32]? = nil, merges: [String], preTokenizer: String,
                specialTokens: SpecialTokenIDs = SpecialTokenIDs(), addBOS: Bool? = nil,
                addEOS: Bool? = nil, addSpacePrefix: Bool? = nil, chatTemplate: String? = nil) throws {
        guard let pre = PreTokenizer(ggufName: preTokenizer) else {
            throw TokenizerError.unsupportedPreTokenizer(key: "tokenizer.ggml.pre", value: preTokenizer)
        }
        if merges.isEmpty { throw TokenizerError.vocabularyWithoutMerges(key: "tokenizer.ggml.merges") }
        try self.init(model: .byteLevelBPE, tokenBytes: tokens.map { Array($0.utf8) }, tokenTypes: tokenTypes,
                      scores: nil, mergeBytes: merges.map { Array($0.utf8) }, preTokenizer: pre,
                      specialTokens: specialTokens, addBOS: addBOS, addEOS: addEOS,
                      addSpacePrefix: addSpacePrefix, chatTemplate: chatTemplate)
    }

    /// Builds a SentencePiece tokenizer (GGUF `tokenizer.ggml.model = llama`) from plain values.
    /// - Parameters:
    ///   - tokens: `tokenizer.ggml.tokens` (byte fallback needs the tokens `<0x00>`..`<0xFF>`).
    ///   - scores: `tokenizer.ggml.scores` (nil: all 0, as llama.cpp); higher merges first.
    ///   - tokenTypes: `tokenizer.ggml.token_type` (nil: every token is normal).
    ///   - specialTokens: the `*_token_id` keys present in the file; absent BOS / EOS / UNK
    ///     default to 1 / 2 / 0 (when in range), as in llama.cpp.
    ///   - addBOS / addEOS: `add_bos_token` / `add_eos_token` if present (defaults true / false).
    ///   - addSpacePrefix: `tokenizer.ggml.add_space_prefix` if present (default true).
    ///   - chatTemplate: `tokenizer.chat_template` if present.
    /// - Throws: `TokenizerError.specialTokenOutOfRange`, `.duplicateToken`, `.invalidValue`
    ///   (fewer scores or types than tokens).
    public init(sentencePieceTokens tokens: [String], scores: [Float]?, tokenTypes: [Int32]? = nil,
                specialTokens: SpecialTokenIDs = SpecialTokenIDs(), addBOS: Bool? = nil, addEOS: Bool? = nil,
                addSpacePrefix: Bool? = nil, chatTemplate: String? = nil) throws {
        try self.init(model: .sentencePiece, tokenBytes: tokens.map { Array($0.utf8) }, tokenTypes: tokenTypes,
                      scores: scores, mergeBytes: [], preTokenizer: nil, specialTokens: specialTokens,
                      addBOS: addBOS, addEOS: addEOS, addSpacePrefix: addSpacePrefix, chatTemplate: chatTemplate)
    }

    /// The shared construction, with texts as raw bytes (GGUF strings need not be UTF-8).
    init(model: TokenizerModel, tokenBytes: [[UInt8]], tokenTypes: [Int32]?, scores: [Float]?,
         mergeBytes: [[UInt8]], preTokenizer pre: PreTokenizer?, specialTokens requested: SpecialTokenIDs,
         addBOS: Bool?, addEOS: Bool?, addSpacePrefix: Bool?, chatTemplate: String?) throws {
        if let tokenTypes, tokenTypes.count < tokenBytes.count {
            throw TokenizerError.invalidValue(
                key: "tokenizer.ggml.token_type",
                reason: "\(tokenTypes.count) types for \(tokenBytes.count) tokens")
        }
        if let scores, scores.count < tokenBytes.count {
            throw TokenizerError.invalidValue(
                key: "tokenizer.ggml.scores", reason: "\(scores.count) scores for \(tokenBytes.count) tokens")
        }
        let count = tokenBytes.count
        var texts: [[UInt8]] = []
        texts.reserveCapacity(count)
        var lookup = ByteStringTable(expectedCount: count + mergeBytes.count)
        var attributes: [TokenAttributes] = []
        attributes.reserveCapacity(count)
        for (index, original) in tokenBytes.enumerated() {
            let text = original.isEmpty ? Array("[EMPTY_\(index)]".utf8) : original
            let (previous, inserted) = lookup.insert(text)
            guard inserted else {
                throw TokenizerError.duplicateToken(text: String(decoding: text, as: UTF8.self),
                                                    firstID: Int(previous), secondID: index)
            }
            texts.append(text)
            attributes.append(tokenTypes.map { TokenAttributes(type: $0[index]) } ?? .normal)
        }

        // Special ids: llama.cpp's defaults for the model (each dropped when out of range), then
        // the keys.
        var ids = SpecialTokenIDs()
        switch model {
        case .byteLevelBPE:
            if count > 11 { ids.bos = 11; ids.eos = 11 }
        case .sentencePiece:
            if count > 1 { ids.bos = 1 }
            if count > 2 { ids.eos = 2 }
            if count > 0 { ids.unknown = 0 }
        }
        for (key, path) in SpecialTokenIDs.keys {
            if let id = requested[keyPath: path] {
                guard id >= 0 && Int(id) < count else {
                    throw TokenizerError.specialTokenOutOfRange(key: key, id: Int64(id), vocabularySize: count)
                }
                ids[keyPath: path] = id
            }
        }
        var endOfGeneration = Set<TokenID>()
        SpecialTokenNames.detect(texts: texts, ids: &ids, attributes: &attributes,
                                 endOfGeneration: &endOfGeneration)

        var single = [Int32](repeating: -1, count: 256)
        var byteTokens: [Int32] = []
        switch model {
        case .byteLevelBPE:
            for byte in 0..<256 { single[byte] = lookup.id(of: [UInt8(byte)]) ?? -1 }
        case .sentencePiece:
            let hex = Array("0123456789ABCDEF".utf8)
            byteTokens = (0..<256).map { byte in
                let name = Array("<0x".utf8) + [hex[byte >> 4], hex[byte & 15], UInt8(ascii: ">")]
                return lookup.id(of: name) ?? lookup.id(of: [UInt8(byte)]) ?? -1
            }
        }
        self.model = model
        self.tokenTexts = texts
        self.attributes = attributes
        self.mergeTable = BPEMergeTable(rules: mergeBytes, strings: &lookup)
        self.strings = lookup
        self.singleByteToken = single
        self.scores = model == .sentencePiece ? (scores.map { Array($0.prefix(count)) } ?? Array(repeating: 0, count: count)) : []
        self.byteTokens = byteTokens
        let specialMask: TokenAttributes = [.control, .userDefined, .unknown]
        self.specialTokensByLength = (0..<count)
            .filter { !attributes[$0].isDisjoint(with: specialMask) }
            .map { TokenID($0) }
            .sorted { texts[Int($0)].count > texts[Int($1)].count
                || (texts[Int($0)].count == texts[Int($1)].count && $0 < $1) }
        self.pieces = (0..<count).map { BPETokenizer.renderPiece(texts[$0], attributes[$0], model: model) }
        self.preTokenizer = pre
        self.specialTokens = ids
        switch model {
        case .byteLevelBPE:
            self.addsBOS = addBOS ?? pre?.addsBOSByDefault ?? false
            self.addsSpacePrefix = addSpacePrefix ?? false
            self.cleansSpaces = pre?.cleansSpaces ?? true
        case .sentencePiece:
            self.addsBOS = addBOS ?? true
            self.addsSpacePrefix = addSpacePrefix ?? true
            self.cleansSpaces = false
        }
        self.addsEOS = addEOS ?? false
        self.endOfGenerationTokens = endOfGeneration
        self.chatTemplate = chatTemplate
    }

    /// The token whose stored text is exactly `text`, if any (e.g. `<image>` for the image
    /// markers; mtmd resolves them the same way).
    public func token(forText text: String) -> TokenID? {
        tokenID(of: Array(text.utf8))
    }

    /// The token whose text is `bytes` (merge-only strings are not tokens).
    func tokenID(of bytes: [UInt8]) -> TokenID? {
        guard let id = strings.id(of: bytes), Int(id) < tokenTexts.count else { return nil }
        return id
    }

    /// The stored text of a token (nil if out of range).
    public func text(of token: TokenID) -> String? {
        guard token >= 0 && Int(token) < tokenTexts.count else { return nil }
        return String(decoding: tokenTexts[Int(token)], as: UTF8.self)
    }

    /// Whether `token` ends generation (EOS, EOT, `<|im_end|>`, `<|eot_id|>`, ...).
    public func isEndOfGeneration(_ token: TokenID) -> Bool {
        endOfGenerationTokens.contains(token)
    }
}
