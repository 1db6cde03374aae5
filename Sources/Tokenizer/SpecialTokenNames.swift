/// llama.cpp's load-time heuristics that find special tokens by their text
/// (`llama_vocab::impl::load`): end-of-turn, FIM and end-of-generation tokens, which also
/// become control tokens even when the file types them as normal.
enum SpecialTokenNames {
    static let endOfTurn: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
        "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
    ]
    static let endOfMessage: Set<String> = ["<|eom_id|>"]
    static let fimPrefix: Set<String> = [
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
        "<|code_prefix|>", "<|prefix|>",
    ]
    static let fimSuffix: Set<String> = [
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
        "<|code_suffix|>", "<|suffix|>",
    ]
    static let fimMiddle: Set<String> = [
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
        "<|code_middle|>", "<|middle|>",
    ]
    static let fimPad: Set<String> = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
    static let fimRepo: Set<String> = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
    static let fimSeparator: Set<String> = ["<|file_sep|>"]
    static let endOfGeneration: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
    ]
    /// gpt-oss tokens llama.cpp always renders (forced to user-defined).
    static let alwaysRendered: Set<String> = ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]

    /// Fills unset ids from token texts, marks the matched tokens as control, and computes the
    /// end-of-generation set. Where llama.cpp's choice depends on hash-map order (several
    /// candidates for one id), the lowest token id wins here.
    static func detect(texts: [[UInt8]], ids: inout SpecialTokenIDs, attributes: inout [TokenAttributes],
                       endOfGeneration: inout Set<TokenID>) {
        let names = texts.map { String(decoding: $0, as: UTF8.self) }
        let detected: [(Set<String>, WritableKeyPath<SpecialTokenIDs, TokenID?>)] = [
            (endOfTurn, \.eot), (endOfMessage, \.eom), (fimPrefix, \.fimPrefix), (fimSuffix, \.fimSuffix),
            (fimMiddle, \.fimMiddle), (fimPad, \.fimPad), (fimRepo, \.fimRepo), (fimSeparator, \.fimSeparator),
        ]
        for (candidates, path) in detected where ids[keyPath: path] == nil {
            if let index = names.firstIndex(where: { candidates.contains($0) }) {
                ids[keyPath: path] = TokenID(index)
                attributes[index].insert(.control)
            }
        }
        // Control tokens named "...unused..." are unused (they stay special for matching).
        for index in names.indices where attributes[index].contains(.control) && names[index].contains("unused") {
            attributes[index].insert(.unused)
        }
        for path in [\SpecialTokenIDs.fimPad, \.fimRepo, \.fimSeparator] {
            if let id = ids[keyPath: path] { endOfGeneration.insert(id) }
        }
        for index in names.indices where SpecialTokenNames.endOfGeneration.contains(names[index]) {
            endOfGeneration.insert(TokenID(index))
            attributes[index].insert(.control)
        }
        for index in names.indices where alwaysRendered.contains(names[index]) {
            attributes[index] = .userDefined
        }
        for path in [\SpecialTokenIDs.eos, \.eot, \.eom] {
            if let id = ids[keyPath: path] { endOfGeneration.insert(id) }
        }
        // gpt-oss / solar-open: "<|end|>" is not end-of-generation when the channel tokens exist.
        let eogNames = Set(endOfGeneration.map { names[Int($0)] })
        let hasCall = eogNames.contains("<|call|>") || eogNames.contains("<|calls|>")
        if hasCall && (eogNames.contains("<|return|>") || eogNames.contains("<|flush|>")),
           let end = endOfGeneration.first(where: { names[Int($0)] == "<|end|>" }) {
            endOfGeneration.remove(end)
            attributes[Int(end)] = .userDefined
        }
        // gemma4 / plamo: "</s>" is a normal token when their own end markers exist.
        if eogNames.contains("<|tool_response>") || eogNames.contains("<|plamo:eos|>"),
           let end = endOfGeneration.first(where: { names[Int($0)] == "</s>" }) {
            endOfGeneration.remove(end)
            attributes[Int(end)] = .normal
        }
    }
}
