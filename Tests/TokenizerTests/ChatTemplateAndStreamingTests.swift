import Testing
@testable import Tokenizer

@Suite struct ChatTemplateDetectionTests {
    @Test func detectsLikeLlamaCpp() {
        #expect(ChatTemplate.detect(from: nil) == .chatML)  // llama.cpp's default
        #expect(ChatTemplate.detect(from: "chatml") == .chatML)
        #expect(ChatTemplate.detect(from: "llama3") == .llama3)
        #expect(ChatTemplate.detect(from: "{{ '<|im_start|>' + role }}") == .chatML)
        #expect(ChatTemplate.detect(from: "<|start_header_id|>{{ role }}<|end_header_id|>") == .llama3)
        // Formats llama.cpp recognises first and EdgeVLM does not implement.
        #expect(ChatTemplate.detect(from: "<|im_start|>{{ x }}<|im_sep|>") == nil)  // Phi-4
        #expect(ChatTemplate.detect(from: "[INST] <|start_header_id|><|end_header_id|>") == nil)
        #expect(ChatTemplate.detect(from: "<start_of_turn>user") == nil)
        #expect(ChatTemplate.detect(from: "something else") == nil)
    }

    @Test func llama3TrimsOnlyCSpaces() {
        let rendered = ChatTemplate.llama3.render(
            messages: [ChatMessage(role: "user", content: "\u{00A0} hi \n\t")], addAssistantPrompt: false)
        #expect(rendered == "<|start_header_id|>user<|end_header_id|>\n\n\u{00A0} hi<|eot_id|>")
    }

    @Test func rawConcatenatesContents() {
        let messages = [ChatMessage(role: "system", content: "a "), ChatMessage(role: "user", content: "b")]
        #expect(ChatTemplate.raw.render(messages: messages, addAssistantPrompt: true) == "a b")
    }
}

@Suite struct StreamingGoldenTests {
    /// Streaming the pieces of llama.cpp's tokens gives llama.cpp's detokenization (qwen2 has
    /// no clean-up pass), and no chunk ends inside a character.
    @Test func streamingEqualsDetokenization() throws {
        let tokenizer = try GoldenFixtures.tokenizer("qwen2", from: .ggufFile)
        let goldens = try GoldenFixtures.goldens("qwen2")
        for golden in goldens.cases {
            let expected = GoldenFixtures.bytes(golden.detok_keep)
            guard let text = String(validating: expected, as: UTF8.self) else { continue }
            var stream = StreamingDetokenizer(tokenizer: tokenizer)
            var chunks = golden.tokens_add1_parse1.map { stream.append($0) }
            chunks.append(stream.finish())
            let joined = chunks.joined()
            if joined != text || (!text.contains("\u{FFFD}") && joined.contains("\u{FFFD}")) {
                Issue.record("streamed \(joined.debugDescription) != \(text.debugDescription)")
            }
        }
    }
}
