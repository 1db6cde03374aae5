/// The chat prompt formats MiniCPM-V uses, rendered byte for byte as llama.cpp's built-in
/// (non-Jinja) `llm_chat_apply_template` does.
public enum ChatTemplate: String, Sendable, CaseIterable {
    /// `<|im_start|>{role}\n{content}<|im_end|>\n` (MiniCPM-V 2.6 and later, Qwen2/Qwen3).
    case chatML = "chatml"
    /// `<|start_header_id|>{role}<|end_header_id|>\n\n{trimmed content}<|eot_id|>` (MiniCPM-Llama3-V 2.5).
    /// BOS is not part of the text: tokenization adds it (llama-bpe vocabularies add BOS).
    case llama3 = "llama3"
    /// No template: the messages' contents concatenated as they are.
    case raw = "raw"

    /// Chooses the template for a `tokenizer.chat_template` value with llama.cpp's substring
    /// heuristics (`llm_chat_detect_template`): a template name (`chatml`, `llama3`) selects
    /// itself; text containing `<|im_start|>` is ChatML (unless it marks Phi-4 or SmolVLM);
    /// text with `<|start_header_id|>` and `<|end_header_id|>` is Llama 3 unless an earlier
    /// llama.cpp rule claims it. A missing template means ChatML, as in llama.cpp.
    /// - Returns: nil when llama.cpp would pick a format not implemented here, or none.
    public static func detect(from template: String?) -> ChatTemplate? {
        guard let template else { return .chatML }
        switch template {
        case "chatml": return .chatML
        case "llama3": return .llama3
        default: break
        }
        func has(_ needle: String) -> Bool { template.contains(needle) }
        if has("<|im_start|>") {
            return has("<|im_sep|>") || has("<end_of_utterance>") ? nil : .chatML
        }
        // Rules llama.cpp checks before its Llama 3 rule; any of them means another format.
        let earlierFormats: [[String]] = [
            ["[INST]"], ["<|assistant|>", "<|end|>"], ["[gMASK]<sop>"], ["<|assistant|>", "<|user|>"],
            ["<|{{ item['role'] }}|>", "<|begin_of_image|>"], ["<|user|>", "<|endoftext|>"],
            ["bos_token + message['role']"], ["<start_of_turn>"], ["'\\n\\nAssistant: ' + eos_token"],
            ["GPT4 Correct "], ["USER: ", "ASSISTANT: "], ["### Instruction:", "<|EOT|>"],
            ["<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>"],
        ]
        if template.hasPrefix("mistral") { return nil }
        for needles in earlierFormats where needles.allSatisfy(has) { return nil }
        if has("<|start_header_id|>") && has("<|end_header_id|>") { return .llama3 }
        return nil
    }

    /// Renders the conversation.
    /// - Parameter addAssistantPrompt: end with the header that opens the assistant's turn.
    public func render(messages: [ChatMessage], addAssistantPrompt: Bool) -> String {
        var result = ""
        switch self {
        case .chatML:
            for message in messages {
                result += "<|im_start|>" + message.role + "\n" + message.content + "<|im_end|>\n"
            }
            if addAssistantPrompt { result += "<|im_start|>assistant\n" }
        case .llama3:
            for message in messages {
                result += "<|start_header_id|>" + message.role + "<|end_header_id|>\n\n"
                    + ChatTemplate.trimmingASCIISpace(message.content) + "<|eot_id|>"
            }
            if addAssistantPrompt { result += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .raw:
            for message in messages { result += message.content }
        }
        return result
    }

    /// Strips C `isspace` characters (space, \t, \n, \v, \f, \r) from both ends, byte-wise.
    static func trimmingASCIISpace(_ text: String) -> String {
        let bytes = Array(text.utf8)
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        var start = 0, end = bytes.count
        while start < end && isSpace(bytes[start]) { start += 1 }
        while end > start && isSpace(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
