import FleetProtocol
import Foundation

/// The one server-rendered dashboard page: devices, rollouts with stage progress and failure
/// reasons, latest captions. Plain HTML + a little CSS, no scripts; everything escaped.
public enum DashboardPage {
    public struct Content: Sendable {
        public var devices: [DeviceRecord]
        public var rollouts: [(rollout: RolloutRecord, failures: [RolloutDeviceRecord])]
        public var captions: [StoredResultRecord]
        public var now: Int64
    }

    /// Gathers the page's data from `store`.
    public static func load(from store: any CoordinatorStore, now: Int64) async throws -> Content {
        let devices = try await store.listDevices(tags: [], limit: 500, afterID: "")
        var rollouts: [(rollout: RolloutRecord, failures: [RolloutDeviceRecord])] = []
        for rollout in try await store.listRollouts().prefix(20) {
            let failures = try await store.rolloutDevices(rolloutID: rollout.rolloutID)
                .filter { $0.state == .failed || $0.state == .rolledBack }
            rollouts.append((rollout: rollout, failures: failures))
        }
        let captions = try await store.queryResults(ResultQuery(limit: 50, newestFirst: true))
        return Content(devices: devices, rollouts: rollouts, captions: captions, now: now)
    }

    /// The page's HTML.
    public static func render(_ content: Content) -> String {
        var html = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>EdgeVLM fleet</title>
        <style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:2em}
        td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}.bad{color:#b00}.ok{color:#070}
        progress{width:10em}</style></head><body><h1>EdgeVLM fleet</h1>
        """
        html += "<h2 id=\"devices\">Devices (\(content.devices.count))</h2><table id=\"devices-table\"><tr><th>Device</th><th>Name</th><th>Tags</th><th>Last seen</th><th>Model</th><th>Queue</th><th>Health</th></tr>"
        for device in content.devices {
            let status = device.lastStatus
            let active = status?.slots.first(where: \.active)?.modelDigest ?? ""
            let unhealthy = status?.backends.filter { !$0.healthy }.map(\.name) ?? []
            let fallbacks = status?.backends.reduce(UInt64(0)) { $0 + $1.fallbackCount } ?? 0
            let health = device.isRevoked ? "<span class=\"bad\">revoked</span>"
                : status == nil ? "never reported"
                : unhealthy.isEmpty ? "<span class=\"ok\">healthy</span> (\(fallbacks) fallbacks)"
                : "<span class=\"bad\">unhealthy: \(escape(unhealthy.joined(separator: ", ")))</span> (\(fallbacks) fallbacks)"
            html += "<tr><td>\(escape(device.deviceID))</td><td>\(escape(device.name))</td><td>\(escape(device.tags.joined(separator: ", ")))</td>"
            html += "<td>\(age(device.lastSeen, now: content.now))</td><td>\(escape(String(active.prefix(12))))</td>"
            html += "<td>\(status.map { String($0.queueDepth) } ?? "")</td><td>\(health)</td></tr>"
        }
        html += "</table><h2 id=\"rollouts\">Rollouts</h2><table id=\"rollouts-table\"><tr><th>Rollout</th><th>Model</th><th>Phase</th><th>Stage</th><th>Devices</th><th>Reason</th><th>Failures</th></tr>"
        for (rollout, failures) in content.rollouts {
            let stageCount = rollout.stages.count
            let stageIndex = max(0, rollout.currentStage)
            let percent = stageIndex < stageCount ? rollout.stages[stageIndex].percent : 100
            let counts = rollout.counts
            html += "<tr><td>\(escape(rollout.rolloutID))</td><td>\(escape(String(rollout.modelDigest.prefix(12))))</td>"
            html += "<td>\(RolloutStateMachine.name(of: rollout.phase))</td>"
            html += "<td>stage \(stageIndex + 1) of \(stageCount) (\(percent)%) <progress max=\"\(max(1, counts.target))\" value=\"\(counts.succeeded)\"></progress></td>"
            html += "<td>\(counts.succeeded) ok / \(counts.failed) failed / \(counts.assigned) assigned / \(counts.target) target</td>"
            html += "<td>\(escape(rollout.phaseReason))</td><td><ul>"
            for failure in failures.prefix(20) {
                html += "<li>\(escape(failure.deviceID)): \(escape(failure.reason.isEmpty ? "no reason given" : failure.reason))</li>"
            }
            html += "</ul></td></tr>"
        }
        html += "</table><h2 id=\"captions\">Latest captions</h2><table id=\"captions-table\"><tr><th>Device</th><th>Seq</th><th>Made</th><th>Caption</th></tr>"
        for row in content.captions {
            html += "<tr><td>\(escape(row.deviceID))</td><td>\(row.result.seq)</td><td>\(age(row.result.createdAtUnixMs, now: content.now))</td><td>\(escape(row.result.text))</td></tr>"
        }
        html += "</table></body></html>\n"
        return html
    }

    /// "42 s ago" style text; "never" for 0.
    static func age(_ time: Int64, now: Int64) -> String {
        guard time > 0 else { return "never" }
        let seconds = max(0, (now - time) / 1000)
        if seconds < 120 { return "\(seconds) s ago" }
        if seconds < 7200 { return "\(seconds / 60) min ago" }
        if seconds < 172_800 { return "\(seconds / 3600) h ago" }
        return "\(seconds / 86400) days ago"
    }

    /// HTML-escapes text for element content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
