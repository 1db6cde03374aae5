import GGUF
import Tokenizer

/// Builds the file's ``BPETokenizer`` (byte-level BPE or SentencePiece) from its
/// `tokenizer.ggml.*` metadata, reporting problems as runtime errors that name the file.
enum GGUFTokenizerLoader {
    /// - Throws: ``RuntimeError/tokenizer(file:detail:)`` for an unsupported
    ///   `tokenizer.ggml.model`, missing keys, a BPE vocabulary without merges, or anything the
    ///   tokenizer rejects; the detail is the ``TokenizerError`` description (it names the key).
    static func load(_ file: GGUFFile) throws -> BPETokenizer {
        do {
            return try BPETokenizer(gguf: file)
        } catch {
            throw RuntimeError.tokenizer(file: file.path, detail: "\(error)")
        }
    }
}
