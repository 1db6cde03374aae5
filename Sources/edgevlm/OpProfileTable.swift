import Foundation
import Models

/// The `--profile` table: time per op kind and backend, then the most expensive ops.
enum OpProfileTable {
    static func render(_ entries: [OpProfileEntry], top: Int = 15) -> String {
        guard !entries.isEmpty else { return "profile: no ops recorded\n" }
        // Stages contain their fine ops, so totals are per kind, not summed across kinds.
        var byKind: [String: (calls: Int, seconds: Double, backends: Set<String>, fallbacks: Int)] = [:]
        var kindOrder: [String] = []
        for e in entries {
            let key = e.kind.description
            if byKind[key] == nil { kindOrder.append(key) }
            var k = byKind[key] ?? (0, 0, [], 0)
            k.calls += e.calls
            k.seconds += e.seconds
            k.backends.formUnion(e.runsByBackend.keys)
            k.fallbacks += e.fallbacks
            byKind[key] = k
        }
        var text = "profile (wall time; stages include their ops):\n"
        text += "  kind              calls    total ms  backends           fallbacks\n"
        for key in kindOrder {
            guard let k = byKind[key] else { continue }
            text += "  " + pad(key, 16) + String(format: " %6d %11.1f  ", k.calls, k.seconds * 1000)
                + pad(k.backends.sorted().joined(separator: ","), 18) + String(format: " %9d\n", k.fallbacks)
        }
        text += "  slowest ops:\n"
        for e in entries.filter({ !$0.kind.isStage }).sorted(by: { $0.seconds > $1.seconds }).prefix(top) {
            let backends = e.runsByBackend.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ",")
            text += "  " + pad(e.op, 24) + " " + pad(e.kind.description, 12)
                + String(format: " %6d calls %9.1f ms  ", e.calls, e.seconds * 1000) + backends + "\n"
        }
        return text
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
