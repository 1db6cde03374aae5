import Foundation
import GGUF
import Testing
@testable import Tokenizer

/// llama.cpp's outputs for the SentencePiece test vocabularies (written, with the vocabularies,
/// by tools/goldens/make_spm_goldens.py).
enum SentencePieceFixtures {
    /// `spm`: llama.cpp's defaults (space prefix, BOS); `spm-noprefix`: no space prefix, EOS.
    static let variants = ["spm", "spm-noprefix"]

    struct Case: Decodable {
        let input: String
        let tokens_add0_parse0: [Int32]
        let tokens_add0_parse1: [Int32]
        let tokens_add1_parse0: [Int32]
        let tokens_add1_parse1: [Int32]
        /// Per token list: [remove0 unparse0, remove0 unparse1, remove1 unparse0, remove1 unparse1].
        let detok_add0_parse0: [String]
        let detok_add0_parse1: [String]
        let detok_add1_parse0: [String]
        let detok_add1_parse1: [String]
    }

    struct Goldens: Decodable {
        let n_vocab: Int
        let bos: Int32?
        let eos: Int32?
        let eot: Int32?
        let add_bos: Bool
        let add_eos: Bool
        let eog: [Int32]
        let control: [Int32]
        let pieces_special: [String]
        let pieces_plain_differing: [String: String]
        let pieces_lstrip1_differing: [String: String]
        let cases: [Case]
    }

    static func vocabularyPath(_ variant: String) -> String {
        GoldenFixtures.fixtures.appendingPathComponent("vocab-\(variant).gguf").path
    }

    /// Loaded through the public GGUF path the runtime uses.
    static func tokenizer(_ variant: String) throws -> BPETokenizer {
        try BPETokenizer(gguf: GGUFFile(path: vocabularyPath(variant)))
    }

    static func goldens(_ variant: String) throws -> Goldens {
        try GoldenFixtures.load(
            Goldens.self, GoldenFixtures.fixtures.appendingPathComponent("tokenizer-goldens-\(variant).json"),
            hint: "committed goldens; regenerate with tools/goldens/make_spm_goldens.py")
    }
}

/// Compares SentencePiece tokenization, pieces, detokenization and special ids with llama.cpp.
@Suite struct SentencePieceGoldenTests {
    @Test(arguments: SentencePieceFixtures.variants)
    func loadsAsSentencePiece(variant: String) throws {
        let tokenizer = try SentencePieceFixtures.tokenizer(variant)
        #expect(tokenizer.model == .sentencePiece)
        #expect(tokenizer.preTokenizer == nil)
        #expect(tokenizer.addsSpacePrefix == (variant == "spm"))
    }

    @Test(arguments: SentencePieceFixtures.variants)
    func tokenizationMatchesLlamaCpp(variant: String) throws {
        let tokenizer = try SentencePieceFixtures.tokenizer(variant)
        let goldens = try SentencePieceFixtures.goldens(variant)
        #expect(goldens.cases.count >= 200)
        var mismatches = 0
        for golden in goldens.cases {
            let input = GoldenFixtures.bytes(golden.input)
            let expected = [(false, false, golden.tokens_add0_parse0), (false, true, golden.tokens_add0_parse1),
                            (true, false, golden.tokens_add1_parse0), (true, true, golden.tokens_add1_parse1)]
            for (addSpecial, parseSpecial, tokens) in expected {
                let actual = try tokenizer.tokenize(utf8: input, addSpecial: addSpecial, parseSpecial: parseSpecial)
                if actual != tokens {
                    mismatches += 1
                    Issue.record("\(variant) add=\(addSpecial) parse=\(parseSpecial) \(input): \(actual) != \(tokens)")
                }
                if let text = String(validating: input, as: UTF8.self),
                   tokenizer.tokenize(text, addSpecial: addSpecial, parseSpecial: parseSpecial) != tokens {
                    mismatches += 1
                    Issue.record("\(variant): String path differs for \(text.debugDescription)")
                }
            }
            if mismatches > 20 { break }
        }
    }

    @Test(arguments: SentencePieceFixtures.variants)
    func detokenizationMatchesLlamaCpp(variant: String) throws {
        let tokenizer = try SentencePieceFixtures.tokenizer(variant)
        let goldens = try SentencePieceFixtures.goldens(variant)
        var mismatches = 0
        for golden in goldens.cases {
            let lists = [(golden.tokens_add0_parse0, golden.detok_add0_parse0),
                         (golden.tokens_add0_parse1, golden.detok_add0_parse1),
                         (golden.tokens_add1_parse0, golden.detok_add1_parse0),
                         (golden.tokens_add1_parse1, golden.detok_add1_parse1)]
            for (tokens, expected) in lists {
                try #require(expected.count == 4)
                for (index, (remove, unparse)) in [(false, false), (false, true), (true, false), (true, true)].enumerated() {
                    let actual = tokenizer.detokenizeBytes(tokens, removeSpecial: remove, unparseSpecial: unparse)
                    if actual != GoldenFixtures.bytes(expected[index]) {
                        mismatches += 1
                        let wanted = GoldenFixtures.bytes(expected[index])
                        Issue.record("\(variant) remove=\(remove) unparse=\(unparse) \(tokens): \(actual) != \(wanted)")
                    }
                }
            }
            if mismatches > 20 { break }
        }
    }

    @Test(arguments: SentencePieceFixtures.variants)
    func piecesMatchLlamaCpp(variant: String) throws {
        let tokenizer = try SentencePieceFixtures.tokenizer(variant)
        let goldens = try SentencePieceFixtures.goldens(variant)
        #expect(tokenizer.vocabularySize == goldens.n_vocab)
        var mismatched: [Int] = []
        for (index, expected) in goldens.pieces_special.enumerated() {
            let token = TokenID(index)
            let special = GoldenFixtures.bytes(expected)
            let plain = goldens.pieces_plain_differing[String(index)].map(GoldenFixtures.bytes) ?? special
            let stripped = goldens.pieces_lstrip1_differing[String(index)].map(GoldenFixtures.bytes) ?? special
            if tokenizer.piece(for: token, special: true) != special || tokenizer.piece(for: token, special: false) != plain
                || tokenizer.piece(for: token, special: true, lstrip: 1) != stripped {
                mismatched.append(index)
            }
        }
        #expect(mismatched.isEmpty, "tokens whose pieces differ from llama.cpp's: \(mismatched.prefix(20))")
    }

    @Test(arguments: SentencePieceFixtures.variants)
    func specialTokensMatchLlamaCpp(variant: String) throws {
        let tokenizer = try SentencePieceFixtures.tokenizer(variant)
        let goldens = try SentencePieceFixtures.goldens(variant)
        #expect(tokenizer.specialTokens.bos == goldens.bos)
        #expect(tokenizer.specialTokens.eos == goldens.eos)
        #expect(tokenizer.specialTokens.eot == goldens.eot)
        #expect(tokenizer.specialTokens.unknown == 0)
        #expect(tokenizer.addsBOS == goldens.add_bos)
        #expect(tokenizer.addsEOS == goldens.add_eos)
        #expect(tokenizer.endOfGenerationTokens == Set(goldens.eog))
        let control = (0..<tokenizer.vocabularySize).filter { tokenizer.attributes[$0].contains(.control) }
        #expect(control.map { TokenID($0) } == goldens.control)
    }

    @Test func streamingDetokenizationRebuildsText() throws {
        let tokenizer = try SentencePieceFixtures.tokenizer("spm")
        let text = "Hello 世界 ñandú 😀 tab\there"
        let ids = tokenizer.tokenize(text, addSpecial: false)
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        var chunks = ids.map { stream.append($0) }
        chunks.append(stream.finish())
        // Pieces keep the space the tokenizer put in front; `detokenize` drops it.
        #expect(chunks.joined() == " " + text)
        #expect(tokenizer.detokenize(ids) == text)
    }
}

/// Hand-made SentencePiece vocabularies for rules the goldens only cover indirectly.
@Suite struct SentencePieceBasicsTests {
    /// `<unk> <s> </s>`, byte tokens, then `pieces` with their scores.
    static func make(_ pieces: [(String, Float)], addSpacePrefix: Bool? = nil) throws -> BPETokenizer {
        var tokens = ["<unk>", "<s>", "</s>"] + (0..<256).map { String(format: "<0x%02X>", $0) }
        var types: [Int32] = [2, 3, 3] + Array(repeating: 6, count: 256)
        var scores = [Float](repeating: 0, count: tokens.count)
        for (text, score) in pieces {
            tokens.append(text)
            types.append(1)
            scores.append(score)
        }
        return try BPETokenizer(sentencePieceTokens: tokens, scores: scores, tokenTypes: types,
                                addSpacePrefix: addSpacePrefix)
    }

    @Test func higherScoreMergesFirstAndTiesGoLeft() throws {
        // "abc": "ab" and "bc" compete; the better score wins, on a tie the left pair does.
        let pieces: [(String, Float)] = [("a", -10), ("b", -10), ("c", -10), ("ab", -2), ("bc", -1)]
        let better = try Self.make(pieces, addSpacePrefix: false)
        #expect(better.tokenize("abc", addSpecial: false).compactMap { better.text(of: $0) } == ["a", "bc"])
        let tied = try Self.make([("a", -10), ("b", -10), ("c", -10), ("ab", -1), ("bc", -1)], addSpacePrefix: false)
        #expect(tied.tokenize("abc", addSpecial: false).compactMap { tied.text(of: $0) } == ["ab", "c"])
    }

    @Test func spacesBecomeEscapedAndUnknownCharactersBecomeBytes() throws {
        let tokenizer = try Self.make([("▁", -5), ("a", -5), ("▁a", -1)])
        let ids = tokenizer.tokenize("a a\u{e9}", addSpecial: true)
        #expect(ids.compactMap { tokenizer.text(of: $0) } == ["<s>", "▁a", "▁a", "<0xC3>", "<0xA9>"])
        // One leading space is dropped only when the first token is text (llama.cpp's rule).
        #expect(tokenizer.detokenize(Array(ids.dropFirst())) == "a a\u{e9}")
        #expect(tokenizer.detokenize(ids) == " a a\u{e9}")
        #expect(tokenizer.detokenize(ids, removeSpecial: true) == " a a\u{e9}")
    }

    @Test func defaultIdsOutsideTheVocabularyAreDropped() throws {
        let tokenizer = try BPETokenizer(sentencePieceTokens: ["<unk>", "<s>"], scores: nil)
        #expect(tokenizer.specialTokens.bos == 1)
        #expect(tokenizer.specialTokens.eos == nil)
        #expect(tokenizer.specialTokens.unknown == 0)
    }

    @Test func tooFewScoresNameTheKey() throws {
        #expect(throws: TokenizerError.invalidValue(key: "tokenizer.ggml.scores", reason: "1 scores for 2 tokens")) {
            try BPETokenizer(sentencePieceTokens: ["<unk>", "a"], scores: [0])
        }
    }

    @Test func unknownModelNamesKeyAndValue() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-bert-vocab-\(getpid()).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        var writer = GGUFWriter()
        try writer.setValue(.string("llama"), forKey: "general.architecture")
        try writer.setValue(.string("bert"), forKey: "tokenizer.ggml.model")
        try writer.setValue(.array(.string(["[PAD]", "a"])), forKey: "tokenizer.ggml.tokens")
        try writer.write(to: url.path)
        let error = #expect(throws: TokenizerError.self) { try BPETokenizer(gguf: GGUFFile(path: url.path)) }
        #expect(error == .unsupportedModel(key: "tokenizer.ggml.model", value: "bert"))
        #expect(error?.description.contains("'bert'") == true)
        #expect(error?.description.contains("tokenizer.ggml.model") == true)
    }
}
