import FleetProtocol
import Foundation

/// Result export formats: JSON lines (one object per line) and CSV (RFC 4180 quoting).
public enum ResultExport {
    public enum Format: String, Sendable {
        case jsonl, csv
    }

    static let csvHeader = "device_id,seq,job_id,created_at_unix_ms,received_at_unix_ms,model_digest,source,latency_ms,text,attributes_json"

    /// The rows in `format`, each line ending in "\n" (CSV starts with a header line).
    public static func render(_ rows: [StoredResultRecord], as format: Format) -> String {
        switch format {
        case .csv:
            var out = csvHeader + "\n"
            for row in rows {
                let r = row.result
                let fields = [row.deviceID, String(r.seq), r.jobID, String(r.createdAtUnixMs), String(row.receivedAt),
                              r.modelDigest, r.source, String(r.latencyMs), r.text, r.attributesJson]
                out += fields.map(csvField).joined(separator: ",") + "\n"
            }
            return out
        case .jsonl:
            var out = ""
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for row in rows {
                let r = row.result
                let line = Line(device_id: row.deviceID, seq: r.seq, job_id: r.jobID, created_at_unix_ms: r.createdAtUnixMs,
                                received_at_unix_ms: row.receivedAt, model_digest: r.modelDigest, source: r.source,
                                latency_ms: r.latencyMs, text: r.text, attributes_json: r.attributesJson)
                if let data = try? encoder.encode(line) { out += String(decoding: data, as: UTF8.self) + "\n" }
            }
            return out
        }
    }

    private struct Line: Encodable {
        var device_id: String
        var seq: UInt64
        var job_id: String
        var created_at_unix_ms: Int64
        var received_at_unix_ms: Int64
        var model_digest: String
        var source: String
        var latency_ms: UInt32
        var text: String
        var attributes_json: String
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
