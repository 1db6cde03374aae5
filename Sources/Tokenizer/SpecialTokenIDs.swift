/// Special token ids as stored in GGUF metadata (`tokenizer.ggml.*_token_id`); nil = key absent.
public struct SpecialTokenIDs: Sendable, Equatable {
    public var bos: TokenID?
    public var eos: TokenID?
    public var eot: TokenID?
    public var eom: TokenID?
    public var unknown: TokenID?
    public var separator: TokenID?
    public var padding: TokenID?
    public var mask: TokenID?
    public var fimPrefix: TokenID?
    public var fimSuffix: TokenID?
    public var fimMiddle: TokenID?
    public var fimPad: TokenID?
    public var fimRepo: TokenID?
    public var fimSeparator: TokenID?

    public init(bos: TokenID? = nil, eos: TokenID? = nil, eot: TokenID? = nil, eom: TokenID? = nil,
                unknown: TokenID? = nil, separator: TokenID? = nil, padding: TokenID? = nil,
                mask: TokenID? = nil, fimPrefix: TokenID? = nil, fimSuffix: TokenID? = nil,
                fimMiddle: TokenID? = nil, fimPad: TokenID? = nil, fimRepo: TokenID? = nil,
                fimSeparator: TokenID? = nil) {
        self.bos = bos; self.eos = eos; self.eot = eot; self.eom = eom
        self.unknown = unknown; self.separator = separator; self.padding = padding; self.mask = mask
        self.fimPrefix = fimPrefix; self.fimSuffix = fimSuffix; self.fimMiddle = fimMiddle
        self.fimPad = fimPad; self.fimRepo = fimRepo; self.fimSeparator = fimSeparator
    }

    /// The GGUF key of each field, in llama.cpp's order (used for messages and loading).
    static var keys: [(key: String, path: WritableKeyPath<SpecialTokenIDs, TokenID?>)] { [
        ("tokenizer.ggml.bos_token_id", \.bos),
        ("tokenizer.ggml.eos_token_id", \.eos),
        ("tokenizer.ggml.eot_token_id", \.eot),
        ("tokenizer.ggml.eom_token_id", \.eom),
        ("tokenizer.ggml.unknown_token_id", \.unknown),
        ("tokenizer.ggml.seperator_token_id", \.separator),
        ("tokenizer.ggml.padding_token_id", \.padding),
        ("tokenizer.ggml.mask_token_id", \.mask),
        ("tokenizer.ggml.fim_pre_token_id", \.fimPrefix),
        ("tokenizer.ggml.fim_suf_token_id", \.fimSuffix),
        ("tokenizer.ggml.fim_mid_token_id", \.fimMiddle),
        ("tokenizer.ggml.fim_pad_token_id", \.fimPad),
        ("tokenizer.ggml.fim_rep_token_id", \.fimRepo),
        ("tokenizer.ggml.fim_sep_token_id", \.fimSeparator),
    ] }
}
