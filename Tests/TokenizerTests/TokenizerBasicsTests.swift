import Testing
@testable import Tokenizer

/// A small byte-level vocabulary: the 256 alphabet characters, a few merges, special tokens.
func makeToyTokenizer(pre: String = "qwen2", addBOS: Bool? = nil) throws -> BPETokenizer {
    var tokens = (0..<256).map { String(decoding: ByteLevelAlphabet.encodedByte[$0], as: UTF8.self) }
    let merges = ["Ġ t", "h e", "Ġt he", "Ġ a", "i n", "Ġa n", "Ġan d"]
    for merge in merges { tokens.append(String(merge.filter { $0 != " " })) }
    let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "</image>"]
    tokens += specials
    var types = [Int32](repeating: 1, count: tokens.count)
    for index in (tokens.count - specials.count)..<tokens.count { types[index] = 3 }
    types[tokens.count - 2] = 4  // <image> user-defined
    return try BPETokenizer(tokens: tokens, tokenTypes: types, merges: merges, preTokenizer: pre,
                            specialTokens: SpecialTokenIDs(bos: 263, eos: 263), addBOS: addBOS)
}

@Suite struct TokenizerBasicsTests {
    @Test func roundTripsArbitraryText() throws {
        let tokenizer = try makeToyTokenizer()
        for text in ["the and then", "  héllo\n\n wörld ", "日本語のテキスト", "👩‍👩‍👧 ok", "", "a\r\nb"] {
            let ids = tokenizer.tokenize(text, addSpecial: false)
            #expect(tokenizer.detokenize(ids) == text)
        }
    }

    @Test func mergesApplyByRank() throws {
        let tokenizer = try makeToyTokenizer()
        let ids = tokenizer.tokenize(" the", addSpecial: false)
        #expect(ids.count == 1)
        #expect(tokenizer.text(of: ids[0]) == "Ġthe")
    }

    @Test func controlTokensNeedParseSpecial() throws {
        let tokenizer = try makeToyTokenizer()
        let imStart = try #require(tokenizer.token(forText: "<|im_start|>"))
        let image = try #require(tokenizer.token(forText: "<image>"))
        #expect(tokenizer.tokenize("<|im_start|>user", addSpecial: false, parseSpecial: true).first == imStart)
        #expect(!tokenizer.tokenize("<|im_start|>user", addSpecial: false, parseSpecial: false).contains(imStart))
        // user-defined tokens are matched either way
        #expect(tokenizer.tokenize("a<image>b", addSpecial: false, parseSpecial: false).contains(image))
    }

    @Test func endOfGenerationSetFollowsNames() throws {
        let tokenizer = try makeToyTokenizer()
        let imEnd = try #require(tokenizer.token(forText: "<|im_end|>"))
        let endOfText = try #require(tokenizer.token(forText: "<|endoftext|>"))
        #expect(tokenizer.isEndOfGeneration(imEnd))
        #expect(tokenizer.isEndOfGeneration(endOfText))
        #expect(!tokenizer.isEndOfGeneration(try #require(tokenizer.token(forText: "<|im_start|>"))))
    }

    @Test func bosFollowsPreTokenizerDefaultAndOverride() throws {
        #expect(try makeToyTokenizer(pre: "llama-bpe").tokenize("x").first == 263)
        #expect(try makeToyTokenizer(pre: "qwen2").tokenize("x").first != 263)
        #expect(try makeToyTokenizer(pre: "qwen2", addBOS: true).tokenize("x").first == 263)
    }

    @Test func rejectsBadVocabularies() throws {
        #expect(throws: TokenizerError.vocabularyWithoutMerges(key: "tokenizer.ggml.merges")) {
            try BPETokenizer(tokens: ["a", "b"], merges: [], preTokenizer: "qwen2")
        }
        #expect(throws: TokenizerError.unsupportedPreTokenizer(key: "tokenizer.ggml.pre", value: "bogus")) {
            try BPETokenizer(tokens: ["a", "b"], merges: ["a b"], preTokenizer: "bogus")
        }
        #expect(throws: TokenizerError.specialTokenOutOfRange(key: "tokenizer.ggml.eos_token_id", id: 7,
                                                             vocabularySize: 2)) {
            try BPETokenizer(tokens: ["a", "b"], merges: ["a b"], preTokenizer: "qwen2",
                             specialTokens: SpecialTokenIDs(eos: 7))
        }
    }

    @Test func streamingNeverSplitsCharacters() throws {
        let tokenizer = try makeToyTokenizer()
        let text = "naïve 日本 👍🏽!"
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        var chunks: [String] = []
        for id in tokenizer.tokenize(text, addSpecial: false) { chunks.append(stream.append(id)) }
        chunks.append(stream.finish())
        #expect(chunks.joined() == text)
        #expect(!chunks.joined().contains("\u{FFFD}"))
    }

    @Test func streamingDecoderReplacesOnlyWhatIsBroken() {
        var decoder = StreamingUTF8Decoder()
        #expect(decoder.decode([0xE6, 0x97]) == "")
        #expect(decoder.hasPendingBytes)
        #expect(decoder.decode([0xA5, 0x41]) == "日A")
        #expect(decoder.decode([0xFF, 0x42]) == "\u{FFFD}B")
        #expect(decoder.decode([0xF0, 0x9F]) == "")
        #expect(decoder.finish() == "\u{FFFD}")
    }
}
