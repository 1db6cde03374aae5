/// A byte-level BPE tokenizer (GGUF `tokenizer.ggml.model = gpt2`) that tokenizes and
/// detokenizes exactly as llama.cpp does for the supported pre-tokenizers (`PreTokenizer`):
/// special tokens are cut out of the text first, the rest is split into words, each word is
/// written in the byte-level alphabet and merged by rank.
public struct BPETokenizer: Sendable {
    /// Token texts as stored (UTF-8 bytes, in the byte-level alphabet for normal tokens).
    let tokenTexts: [[UInt8]]
    /// Token texts (ids below `vocabularySize`) followed by merge-only strings.
    let strings: ByteStringTable
    /// Per-token attributes after llama.cpp's load-time heuristics.
    public let attributes: [TokenAttributes]
    let mergeTable: BPEMergeTable
    /// Token whose text is the single byte b, or -1.
    let singleByteToken: [Int32]
    /// Control, user-defined and unknown tokens, longest text first (matching order).
    let specialTokensByLength: [TokenID]
    /// Rendered piece of every token with `special = true` (llama.cpp's piece cache).
    let pieces: [[UInt8]]

    /// The pre-tokenizer in use.
    public let preTokenizer: PreTokenizer
    /// Special token ids after llama.cpp's defaults and auto-detection (nil = none).
    public let specialTokens: SpecialTokenIDs
    /// Whether `tokenize(_:addSpecial: true)` prepends BOS.
    public let addsBOS: Bool
    /// Whether `tokenize(_:addSpecial: true)` appends EOS.
    public let addsEOS: Bool
    /// Whether detokenization applies llama.cpp's `clean_spaces` passes.
    public let cleansSpaces: Bool
    /// Tokens that end generation (llama.cpp `special_eog_ids`).
    public let endOfGenerationTokens: Set<TokenID>
    /// The `tokenizer.chat_template` text, if the vocabulary has one.
    public let chatTemplate: String?

    /// Number of tokens in the vocabulary.
    public var vocabularySize: Int { tokenTexts.count }

    /// Builds a tokenizer from plain values, as they appear in GGUF metadata.
    /// - Parameters:
    ///   - tokens: `tokenizer.ggml.tokens`.
    ///   - tokenTypes: `tokenizer.ggml.token_type` (nil: every token is normal).
    ///   - merges: `tokenizer.ggml.merges`; must not be empty.
    ///   - preTokenizer: `tokenizer.ggml.pre` (e.g. `qwen2`, `llama-bpe`).
    ///   - specialTokens: the `*_token_id` keys present in the file.
    ///   - addBOS / addEOS: `tokenizer.ggml.add_bos_token` / `add_eos_token` if present.
    ///   - chatTemplate: `tokenizer.chat_template` if present.
    /// - Throws: `TokenizerError.vocabularyWithoutMerges`, `.unsupportedPreTokenizer`,
    ///   `.specialTokenOutOfRange`, `.duplicateToken`, `.invalidValue` (token type count).
    public init(tokens: [String], tokenTypes: [Int32]? = nil, merges: [String], preTokenizer: String,
                specialTokens: SpecialTokenIDs = SpecialTokenIDs(), addBOS: Bool? = nil,
                addEOS: Bool? = nil, chatTemplate: String? = nil) throws {
        try self.init(tokenBytes: tokens.map { Array($0.utf8) }, tokenTypes: tokenTypes,
                      mergeBytes: merges.map { Array($0.utf8) }, preTokenizerName: preTokenizer,
                      specialTokens: specialTokens, addBOS: addBOS, addEOS: addEOS,
                      chatTemplate: chatTemplate)
    }

    /// As the public initializer, with texts as raw bytes (GGUF strings need not be UTF-8).
    init(tokenBytes: [[UInt8]], tokenTypes: [Int32]?, mergeBytes: [[UInt8]], preTokenizerName: String,
         specialTokens requested: SpecialTokenIDs, addBOS: Bool?, addEOS: Bool?,
         chatTemplate: String?) throws {
        guard let pre = PreTokenizer(ggufName: preTokenizerName) else {
            throw TokenizerError.unsupportedPreTokenizer(key: "tokenizer.ggml.pre", value: preTokenizerName)
        }
        if mergeBytes.isEmpty { throw TokenizerError.vocabularyWithoutMerges(key: "tokenizer.ggml.merges") }
        if let tokenTypes, tokenTypes.count < tokenBytes.count {
            throw TokenizerError.invalidValue(
                key: "tokenizer.ggml.token_type",
                reason: "\(tokenTypes.count) types for \(tokenBytes.count) tokens")
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

        // Special ids: llama.cpp's gpt2 defaults (BOS = EOS = 11 when in range), then the keys.
        var ids = SpecialTokenIDs()
        if count > 11 { ids.bos = 11; ids.eos = 11 }
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
        for byte in 0..<256 { single[byte] = lookup.id(of: [UInt8(byte)]) ?? -1 }
        self.tokenTexts = texts
        self.attributes = attributes
        self.mergeTable = BPEMergeTable(rules: mergeBytes, strings: &lookup)
        self.strings = lookup
        self.singleByteToken = single
        let specialMask: TokenAttributes = [.control, .userDefined, .unknown]
        self.specialTokensByLength = (0..<count)
            .filter { !attributes[$0].isDisjoint(with: specialMask) }
            .map { TokenID($0) }
            .sorted { texts[Int($0)].count > texts[Int($1)].count
                || (texts[Int($0)].count == texts[Int($1)].count && $0 < $1) }
        self.pieces = (0..<count).map { BPETokenizer.renderPiece(texts[$0], attributes[$0]) }
        self.preTokenizer = pre
        self.specialTokens = ids
        self.addsBOS = addBOS ?? pre.addsBOSByDefault
        self.addsEOS = addEOS ?? false
        self.cleansSpaces = pre.cleansSpaces
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
