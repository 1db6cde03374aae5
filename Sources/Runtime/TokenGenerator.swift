import Foundation
import Models

/// The generation loop over token ids: prefix reuse, prompt pass, sampling, stop rules, timings.
///
/// Text handling is injected (`pieceText` turns a token into the text it completes, streaming
/// whole UTF-8 characters; `remainingText` flushes bytes still held back at the end, U+FFFD for
/// an unfinished character; `isEndOfGeneration` is the vocabulary's EOG set) so the loop is the
/// same for every tokenizer and prompt format.
struct TokenGenerator {
    let decoder: Decoder
    let cache: KVCache

    /// Generates after `prompt`. `onToken` returns false to stop early.
    func generate(prompt: [Int32], options: GenerationOptions,
                  isEndOfGeneration: (Int32) -> Bool,
                  pieceText: (Int32) -> String,
                  remainingText: () -> String = { "" },
                  onToken: (GeneratedToken) -> Bool) throws -> GenerationResult {
        try generate(chunks: [.tokens(prompt)], options: options, isEndOfGeneration: isEndOfGeneration,
                     pieceText: pieceText, remainingText: remainingText, onToken: onToken)
    }

    /// Generates after a prompt of text tokens and embedding rows (images), in order. The
    /// cached prefix is reused up to the first position that differs or holds an embedding.
    func generate(chunks: [PromptChunk], options: GenerationOptions,
                  isEndOfGeneration: (Int32) -> Bool,
                  pieceText: (Int32) -> String,
                  remainingText: () -> String = { "" },
                  onToken: (GeneratedToken) -> Bool) throws -> GenerationResult {
        let promptKeys = chunks.flatMap(\.cacheTokens)
        guard !promptKeys.isEmpty else { throw RuntimeError.emptyPrompt }
        guard promptKeys.count < cache.capacity else {
            throw RuntimeError.promptTooLong(promptTokens: promptKeys.count, contextLength: cache.capacity)
        }
        let started = DispatchTime.now().uptimeNanoseconds
        func seconds(since t: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9 }

        // Reuse the cached prefix; at least the last prompt position is recomputed for its logits.
        var reused = options.reusePrefix ? min(cache.commonPrefixLength(with: promptKeys), promptKeys.count - 1) : 0
        if reused < 0 { reused = 0 }
        cache.truncate(to: reused)
        var timings = GenerationTimings(promptTokens: promptKeys.count - reused, reusedPromptTokens: reused)
        var logits: [Float] = []
        do {
            var position = 0
            for chunk in chunks {
                let end = position + chunk.positionCount
                defer { position = end }
                guard end > reused else { continue }
                switch chunk {
                case let .tokens(tokens):
                    let fresh = Array(tokens[(max(reused, position) - position)...])
                    logits = try decoder.forward(tokens: fresh, cache: cache, logits: .last)
                case let .embeddings(rows, _):
                    // An embedding chunk is never reused (its keys are −1), so it starts past `reused`.
                    logits = try decoder.forward(embeddings: rows, cache: cache, logits: .last)
                }
            }
        } catch let error as ModelsError {
            throw RuntimeError.model(error)
        }
        timings.promptSeconds = seconds(since: started)

        var sampler = Sampler(parameters: options.sampling)
        var history = promptKeys.filter { $0 >= 0 }
        var generated: [Int32] = []
        var text = ""
        var stopReason = StopReason.maxTokens
        let decodeStart = DispatchTime.now().uptimeNanoseconds
        let longestStop = options.stopStrings.map(\.count).max() ?? 0
        while generated.count < options.maxTokens {
            let token = sampler.sample(logits: logits, history: history)
            if generated.isEmpty { timings.timeToFirstToken = seconds(since: started) }
            generated.append(token)
            history.append(token)
            if isEndOfGeneration(token) || options.stopTokens.contains(token) {
                stopReason = .stopToken
                break
            }
            let piece = pieceText(token)
            text += piece
            if longestStop > 0, let cut = Self.firstStop(in: text, stops: options.stopStrings,
                                                         searchFrom: text.count - piece.count - longestStop) {
                text = String(text[..<cut])
                stopReason = .stopString
                break
            }
            if !onToken(GeneratedToken(token: token, text: piece)) {
                stopReason = .cancelled
                break
            }
            guard generated.count < options.maxTokens else { break }
            guard cache.count < cache.capacity else {
                stopReason = .contextFull
                break
            }
            do {
                logits = try decoder.forward(tokens: [token], cache: cache, logits: .last)
            } catch let error as ModelsError {
                throw RuntimeError.model(error)
            }
        }
        // A character the last tokens left unfinished is not dropped: it ends the text as U+FFFD
        // (what a lenient decoder of all the generated bytes gives), except after a stop string.
        if stopReason != .stopString, let last = generated.last {
            let rest = remainingText()
            if !rest.isEmpty {
                text += rest
                if stopReason != .cancelled { _ = onToken(GeneratedToken(token: last, text: rest)) }
            }
        }
        timings.generatedTokens = generated.count
        timings.generateSeconds = seconds(since: decodeStart)
        return GenerationResult(tokens: generated, text: text, stopReason: stopReason, timings: timings)
    }

    /// Start of the first stop string in `text`, searching from character offset `searchFrom`.
    static func firstStop(in text: String, stops: [String], searchFrom: Int) -> String.Index? {
        let from = text.index(text.startIndex, offsetBy: max(0, min(searchFrom, text.count)))
        var best: String.Index?
        for stop in stops where !stop.isEmpty {
            if let r = text.range(of: stop, range: from..<text.endIndex), best.map({ r.lowerBound < $0 }) ?? true {
                best = r.lowerBound
            }
        }
        return best
    }
}
