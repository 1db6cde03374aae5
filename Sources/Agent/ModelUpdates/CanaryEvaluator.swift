#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The canary set a staged model must pass before it is switched to (issue 9 item 5): a few
/// images with a prompt and words the answer must contain, plus limits. Read from a JSON file
/// (`[models] canary_file`; images relative to it):
/// `{"max_seconds": 60, "max_rss_mib": 4096, "max_fallbacks": 0,
///   "cases": [{"image": "a.png", "prompt": "...", "expect": ["red"]}]}`.
public struct CanarySet: Codable, Sendable, Equatable {
    public struct Case: Codable, Sendable, Equatable {
        public var image: String
        public var prompt: String
        /// Words the answer must contain (case-insensitive); empty: any answer with letters.
        public var expect: [String]
        public init(image: String, prompt: String, expect: [String]) {
            self.image = image
            self.prompt = prompt
            self.expect = expect
        }
    }
    /// Longest time one case may take (load excluded).
    public var maxSeconds: Double
    /// Peak resident memory of the agent process allowed after the canary run, MiB (0: no limit).
    public var maxRSSMiB: Int
    /// Backend fallbacks allowed over the whole set.
    public var maxFallbacks: Int
    public var cases: [Case]

    enum CodingKeys: String, CodingKey {
        case maxSeconds = "max_seconds", maxRSSMiB = "max_rss_mib", maxFallbacks = "max_fallbacks", cases
    }

    public init(maxSeconds: Double, maxRSSMiB: Int, maxFallbacks: Int, cases: [Case]) {
        self.maxSeconds = maxSeconds
        self.maxRSSMiB = maxRSSMiB
        self.maxFallbacks = maxFallbacks
        self.cases = cases
    }

    /// Reads a canary file. Throws `.configuration` naming the file.
    public static func load(path: String) throws -> (set: CanarySet, directory: String) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentError(.configuration, "cannot read the canary file", key: "models.canary_file", path: path)
        }
        do {
            return (try JSONDecoder().decode(CanarySet.self, from: data), (path as NSString).deletingLastPathComponent)
        } catch {
            throw AgentError(.configuration, "the canary file is not valid: \(error)", key: "models.canary_file", path: path)
        }
    }
}

/// What a canary run found.
public struct CanaryReport: Sendable, Equatable, Codable {
    public var passed: Bool
    /// Why it failed ("" when it passed), the first failure.
    public var reason: String
    public var cases: Int
    public var slowestSeconds: Double
    public var peakRSSMiB: Int
    public var fallbacks: Int

    /// One line for status output and the slot record.
    public var summary: String {
        (passed ? "passed" : "failed: \(reason)")
            + String(format: " (%d cases, slowest %.2f s, peak RSS %d MiB, %d fallbacks)", cases, slowestSeconds, peakRSSMiB, fallbacks)
    }
}

/// Loads a staged model pair and runs the canary set against it.
public struct CanaryEvaluator: Sendable {
    public let set: CanarySet
    /// Folder the case images are relative to.
    public let directory: String
    /// Loads an engine for a model pair (the runtime engine in the agent).
    public let load: @Sendable (_ llm: String, _ mmproj: String) throws -> any CaptionEngine

    public init(set: CanarySet, directory: String,
                load: @escaping @Sendable (_ llm: String, _ mmproj: String) throws -> any CaptionEngine) {
        self.set = set
        self.directory = directory
        self.load = load
    }

    /// Runs every case; never throws for a model that fails (the report says why), only
    /// `.configuration` when a canary image cannot be read.
    public func evaluate(llm: String, mmproj: String) async throws -> CanaryReport {
        var report = CanaryReport(passed: true, reason: "", cases: 0, slowestSeconds: 0, peakRSSMiB: 0, fallbacks: 0)
        func fail(_ reason: String) -> CanaryReport {
            report.passed = false
            report.reason = reason
            report.peakRSSMiB = Self.peakRSSMiB()
            return report
        }
        let engine: any CaptionEngine
        do { engine = try load(llm, mmproj) } catch {
            return fail("the model does not load: \(error)")
        }
        for item in set.cases {
            let path = item.image.hasPrefix("/") ? item.image : directory + "/" + item.image
            guard let image = FileManager.default.contents(atPath: path) else {
                throw AgentError(.configuration, "cannot read canary image", key: "models.canary_file", path: path)
            }
            let start = ContinuousClock.now
            let result: CaptionResult
            do { result = try await engine.caption(image: image, prompt: item.prompt) } catch {
                return fail("case \(item.image) failed: \(error)")
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            report.cases += 1
            report.slowestSeconds = max(report.slowestSeconds, seconds)
            report.fallbacks += result.backendFallbacks
            let answer = result.text.lowercased()
            // Broken weights (NaN, garbage) decode to empty or punctuation-only text.
            guard answer.unicodeScalars.contains(where: { CharacterSet.letters.contains($0) }) else {
                return fail("case \(item.image) got a degenerate answer \"\(result.text)\" (no letters)")
            }
            for word in item.expect where !answer.contains(word.lowercased()) {
                return fail("case \(item.image): the answer \"\(result.text)\" lacks \"\(word)\"")
            }
            if set.maxSeconds > 0, seconds > set.maxSeconds {
                return fail(String(format: "case %@ took %.2f s, the limit is %.2f s", item.image, seconds, set.maxSeconds))
            }
            if report.fallbacks > set.maxFallbacks {
                return fail("\(report.fallbacks) backend fallbacks, \(set.maxFallbacks) allowed")
            }
        }
        report.peakRSSMiB = Self.peakRSSMiB()
        if set.maxRSSMiB > 0, report.peakRSSMiB > set.maxRSSMiB {
            return fail("peak RSS \(report.peakRSSMiB) MiB exceeds the limit of \(set.maxRSSMiB) MiB")
        }
        return report
    }

    /// The process's peak resident set (getrusage), MiB.
    static func peakRSSMiB() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) / 1024
    }
}
