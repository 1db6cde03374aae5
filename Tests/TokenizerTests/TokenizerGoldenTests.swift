import Foundation
import GGUF
import Testing
@testable import Tokenizer

/// Compares tokenization, pieces, detokenization, special ids and chat templates with
/// llama.cpp's outputs on the committed test vocabularies.
@Suite struct TokenizerGoldenTests {
    @Test(arguments: GoldenFixtures.preTokenizers, GoldenFixtures.Source.allCases)
    func tokenizationMatchesLlamaCpp(pre: String, source: GoldenFixtures.Source) throws {
        let tokenizer = try GoldenFixtures.tokenizer(pre, from: source)
        let goldens = try GoldenFixtures.goldens(pre)
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
                    Issue.record("\(pre) add=\(addSpecial) parse=\(parseSpecial) \(input): \(actual) != \(tokens)")
                }
            }
            if let text = String(validating: input, as: UTF8.self),
               tokenizer.tokenize(text, addSpecial: true, parseSpecial: true) != golden.tokens_add1_parse1 {
                Issue.record("\(pre): String path differs for \(text.debugDescription)")
            }
            if mismatches > 20 { break }
        }
    }

    @Test(arguments: GoldenFixtures.preTokenizers)
    func detokenizationMatchesLlamaCpp(pre: String) throws {
        let tokenizer = try GoldenFixtures.tokenizer(pre, from: .ggufFile)
        let goldens = try GoldenFixtures.goldens(pre)
        for golden in goldens.cases {
            let tokens = golden.tokens_add1_parse1
            let results = [
                tokenizer.detokenizeBytes(tokens) == GoldenFixtures.bytes(golden.detok_keep),
                tokenizer.detokenizeBytes(tokens, unparseSpecial: true) == GoldenFixtures.bytes(golden.detok_unparse),
                tokenizer.detokenizeBytes(tokens, removeSpecial: true, unparseSpecial: true)
                    == GoldenFixtures.bytes(golden.detok_remove_unparse),
            ]
            if results.contains(false) { Issue.record("\(pre): detokenization of \(golden.input) differs: \(results)") }
        }
    }

    @Test(arguments: GoldenFixtures.preTokenizers, GoldenFixtures.Source.allCases)
    func piecesMatchLlamaCpp(pre: String, source: GoldenFixtures.Source) throws {
        let tokenizer = try GoldenFixtures.tokenizer(pre, from: source)
        let goldens = try GoldenFixtures.goldens(pre)
        #expect(tokenizer.vocabularySize == goldens.n_vocab)
        var mismatched: [Int] = []
        for (index, expected) in goldens.pieces_special.enumerated() {
            let token = TokenID(index)
            let special = GoldenFixtures.bytes(expected)
            let plain = goldens.pieces_plain_differing[String(index)].map(GoldenFixtures.bytes) ?? special
            if tokenizer.piece(for: token, special: true) != special || tokenizer.piece(for: token, special: false) != plain {
                mismatched.append(index)
            }
        }
        #expect(mismatched.isEmpty, "tokens whose pieces differ from llama.cpp's: \(mismatched.prefix(20))")
    }

    @Test(arguments: GoldenFixtures.preTokenizers, GoldenFixtures.Source.allCases)
    func specialTokensMatchLlamaCpp(pre: String, source: GoldenFixtures.Source) throws {
        let tokenizer = try GoldenFixtures.tokenizer(pre, from: source)
        let goldens = try GoldenFixtures.goldens(pre)
        #expect(tokenizer.specialTokens.bos == goldens.bos)
        #expect(tokenizer.specialTokens.eos == goldens.eos)
        // Without an eot key llama.cpp takes the first end-of-turn-looking name in its hash map's
        // iteration order, which is unspecified; require only that both picked such a token.
        let eot = try #require(tokenizer.specialTokens.eot)
        let expectedEOT = try #require(goldens.eot)
        #expect(SpecialTokenNames.endOfTurn.contains(tokenizer.text(of: eot) ?? ""))
        #expect(SpecialTokenNames.endOfTurn.contains(tokenizer.text(of: expectedEOT) ?? ""))
        #expect(tokenizer.addsBOS == goldens.add_bos)
        #expect(tokenizer.addsEOS == goldens.add_eos)
        #expect(tokenizer.endOfGenerationTokens == Set(goldens.eog))
        let control = (0..<tokenizer.vocabularySize).filter { tokenizer.attributes[$0].contains(.control) }
        #expect(control.map { TokenID($0) } == goldens.control)
    }

    @Test(arguments: GoldenFixtures.preTokenizers)
    func chatTemplatesMatchLlamaCpp(pre: String) throws {
        let goldens = try GoldenFixtures.goldens(pre)
        #expect(!goldens.chats.isEmpty)
        for chat in goldens.chats {
            let source = chat.template == "file" ? goldens.chat_template_in_file : chat.template
            let template = ChatTemplate.detect(from: source)
            let messages = chat.messages.map { ChatMessage(role: $0.role, content: $0.content) }
            #expect(template?.render(messages: messages, addAssistantPrompt: chat.add_assistant) == chat.output,
                    "\(pre) \(chat.template)")
        }
    }
}
