import GGUF

extension BPETokenizer {
    /// Builds the tokenizer from a GGUF file's `tokenizer.*` metadata (minicpmv-spec §4.4):
    /// byte-level BPE for `tokenizer.ggml.model = gpt2`, SentencePiece for `llama`.
    /// - Throws: `TokenizerError.missingKey` (no `tokenizer.ggml.model` / `tokens`),
    ///   `.unsupportedModel` (neither `gpt2` nor `llama`), `.vocabularyWithoutMerges`,
    ///   `.unsupportedPreTokenizer` (BPE: missing or unknown `tokenizer.ggml.pre`),
    ///   `.specialTokenOutOfRange`, `.invalidValue` (a key with the wrong type), `.duplicateToken`.
    public init(gguf: GGUFFile) throws {
        try self.init(metadata: gguf.metadata)
    }

    /// As `init(gguf:)`, from already parsed metadata.
    public init(metadata: GGUFMetadata) throws {
        let modelKey = "tokenizer.ggml.model", preKey = "tokenizer.ggml.pre"
        let tokensKey = "tokenizer.ggml.tokens", mergesKey = "tokenizer.ggml.merges"
        let modelName = try Self.read(metadata, modelKey) { try $0.string(modelKey) }
        guard let model = TokenizerModel(rawValue: modelName) else {
            throw TokenizerError.unsupportedModel(key: modelKey, value: modelName)
        }
        var merges: [String] = []
        var pre: String?
        if model == .byteLevelBPE {
            guard metadata.contains(mergesKey) else { throw TokenizerError.vocabularyWithoutMerges(key: mergesKey) }
            merges = try Self.read(metadata, mergesKey) { try $0.stringArray(mergesKey) }
            pre = try Self.readOptional(metadata, preKey, { try $0.string(preKey) })
            if pre == nil {
                // llama.cpp falls back to its generic regex pre-tokenizer here, which EdgeVLM lacks.
                throw TokenizerError.unsupportedPreTokenizer(key: preKey, value: "(missing)")
            }
        }
        let tokens = try Self.read(metadata, tokensKey) { try $0.stringArray(tokensKey) }
        let typesKey = "tokenizer.ggml.token_type"
        let types = try Self.readOptional(metadata, typesKey) { try $0.int32Array(typesKey) }
        var ids = SpecialTokenIDs()
        for (key, path) in SpecialTokenIDs.keys {
            guard let value = try Self.readOptional(metadata, key, { try $0.integer(key, as: Int64.self) }) else { continue }
            guard value >= 0 && value < Int64(tokens.count) else {
                throw TokenizerError.specialTokenOutOfRange(key: key, id: value, vocabularySize: tokens.count)
            }
            ids[keyPath: path] = TokenID(value)
        }
        let addBOSKey = "tokenizer.ggml.add_bos_token", addEOSKey = "tokenizer.ggml.add_eos_token"
        let spacePrefixKey = "tokenizer.ggml.add_space_prefix", templateKey = "tokenizer.chat_template"
        let addBOS = try Self.readOptional(metadata, addBOSKey) { try $0.bool(addBOSKey) }
        let addEOS = try Self.readOptional(metadata, addEOSKey) { try $0.bool(addEOSKey) }
        let addSpacePrefix = try Self.readOptional(metadata, spacePrefixKey) { try $0.bool(spacePrefixKey) }
        let chatTemplate = try Self.readOptional(metadata, templateKey) { try $0.string(templateKey) }
        switch model {
        case .byteLevelBPE:
            try self.init(tokens: tokens, tokenTypes: types, merges: merges, preTokenizer: pre ?? "",
                          specialTokens: ids, addBOS: addBOS, addEOS: addEOS, addSpacePrefix: addSpacePrefix,
                          chatTemplate: chatTemplate)
        case .sentencePiece:
            let scoresKey = "tokenizer.ggml.scores"
            // llama.cpp accepts float32 or int32 scores.
            let scores = try Self.readOptional(metadata, scoresKey) { metadata -> [Float] in
                if case .float32(let values)? = try? metadata.array(scoresKey) { return values }
                return try metadata.int32Array(scoresKey).map { Float($0) }
            }
            try self.init(sentencePieceTokens: tokens, scores: scores, tokenTypes: types, specialTokens: ids,
                          addBOS: addBOS, addEOS: addEOS, addSpacePrefix: addSpacePrefix, chatTemplate: chatTemplate)
        }
    }

    private static func read<T>(_ metadata: GGUFMetadata, _ key: String,
                                _ body: (GGUFMetadata) throws -> T) throws -> T {
        guard metadata.contains(key) else { throw TokenizerError.missingKey(key) }
        do { return try body(metadata) } catch {
            throw TokenizerError.invalidValue(key: key, reason: String(describing: error))
        }
    }

    private static func readOptional<T>(_ metadata: GGUFMetadata, _ key: String,
                                        _ body: (GGUFMetadata) throws -> T) throws -> T? {
        metadata.contains(key) ? try read(metadata, key, body) : nil
    }
}
