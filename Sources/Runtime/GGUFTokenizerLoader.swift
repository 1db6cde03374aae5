import GGUF
import Tokenizer

/// Builds the file's ``BPETokenizer`` from its `tokenizer.ggml.*` metadata.
///
/// A small glue helper until the Tokenizer module reads GGUF metadata itself.
enum GGUFTokenizerLoader {
    static var specialKeys: [(String, WritableKeyPath<SpecialTokenIDs, TokenID?>)] { [
        ("tokenizer.ggml.bos_token_id", \.bos), ("tokenizer.ggml.eos_token_id", \.eos),
        ("tokenizer.ggml.eot_token_id", \.eot), ("tokenizer.ggml.eom_token_id", \.eom),
        ("tokenizer.ggml.unknown_token_id", \.unknown), ("tokenizer.ggml.seperator_token_id", \.separator),
        ("tokenizer.ggml.padding_token_id", \.padding), ("tokenizer.ggml.mask_token_id", \.mask),
    ] }

    /// - Throws: ``RuntimeError/tokenizer(file:detail:)`` for a non-BPE vocabulary, missing keys,
    ///   a vocabulary without merges, or anything the tokenizer rejects.
    static func load(_ file: GGUFFile) throws -> BPETokenizer {
        let m = file.metadata
        do {
            let model = try m.string("tokenizer.ggml.model")
            guard model == "gpt2" else {
                throw RuntimeError.tokenizer(file: file.path, detail: "tokenizer.ggml.model '\(model)' is not supported (only byte-level BPE 'gpt2')")
            }
            guard m.contains("tokenizer.ggml.merges") else {
                throw RuntimeError.tokenizer(file: file.path, detail: "the vocabulary has no tokenizer.ggml.merges; a byte-level BPE vocabulary needs them")
            }
            var special = SpecialTokenIDs()
            for (key, path) in specialKeys where m.contains(key) {
                special[keyPath: path] = try m.integer(key, as: Int32.self)
            }
            return try BPETokenizer(
                tokens: try m.stringArray("tokenizer.ggml.tokens"),
                tokenTypes: m.contains("tokenizer.ggml.token_type") ? try m.int32Array("tokenizer.ggml.token_type") : nil,
                merges: try m.stringArray("tokenizer.ggml.merges"),
                preTokenizer: try m.optionalString("tokenizer.ggml.pre") ?? "default",
                specialTokens: special,
                addBOS: m.contains("tokenizer.ggml.add_bos_token") ? try m.bool("tokenizer.ggml.add_bos_token") : nil,
                addEOS: m.contains("tokenizer.ggml.add_eos_token") ? try m.bool("tokenizer.ggml.add_eos_token") : nil,
                chatTemplate: try m.optionalString("tokenizer.chat_template"))
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError.tokenizer(file: file.path, detail: "\(error)")
        }
    }
}
