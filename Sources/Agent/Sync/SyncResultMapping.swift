import FleetProtocol
import Foundation
import JobQueue

/// Turns outbox entries into the wire's `Result`s. Only `done` entries are results; `failed`
/// and `dead` entries stay on the device (the local API shows them) and are acknowledged
/// locally without upload.
enum SyncResultMapping {
    /// The wire result for a `done` entry; nil for other events or a missing result row.
    static func fleetResult(_ entry: JobOutboxEntry) -> FleetResult? {
        guard entry.event == .done, let result = entry.result, entry.sequence > 0 else { return nil }
        var wire = FleetResult()
        wire.seq = UInt64(entry.sequence)
        wire.jobID = String(entry.job.id)
        wire.createdAtUnixMs = Int64((entry.createdAt * 1000).rounded())
        wire.modelDigest = result.modelDigest
        wire.source = entry.job.source
        wire.text = result.text
        wire.attributesJson = attributesJSON(entry.job, result)
        let total = result.timings["total"] ?? result.timings.values.reduce(0, +)
        wire.latencyMs = UInt32(clamping: Int((max(0, total) * 1000).rounded()))
        return wire
    }

    /// Prompt, image digest, token count and placement as a JSON object (sorted keys).
    static func attributesJSON(_ job: JobRecord, _ result: JobResult) -> String {
        struct Attributes: Encodable {
            var prompt: String
            var imageDigest: String
            var tokens: Int
            var placement: String
            enum CodingKeys: String, CodingKey {
                case prompt, tokens, placement
                case imageDigest = "image_digest"
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let value = Attributes(prompt: job.prompt, imageDigest: result.imageDigest, tokens: result.tokens, placement: result.placement)
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
