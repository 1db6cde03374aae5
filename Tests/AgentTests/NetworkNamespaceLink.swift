import Foundation

/// A network namespace joined to the test's own by a veth pair, made with iproute2 (needs root
/// or CAP_NET_ADMIN): `hostAddress` on the test side, `innerAddress` inside the namespace.
/// `cut()` takes the test side of the link down (packets vanish, no reset: a real outage), `heal()`
/// brings it up. `txBytes` counts what actually crossed the link towards the namespace.
final class NetworkNamespaceLink: @unchecked Sendable {
    // @unchecked: used from one test task at a time.
    let name: String
    let hostInterface: String
    let innerInterface: String
    let hostAddress: String
    let innerAddress: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Whether this machine lets the test make namespaces (probes with a throwaway one).
    static let available: Bool = {
        let probe = "evprobe\(getpid())"
        guard (try? run(["netns", "add", probe])) != nil else { return false }
        _ = try? run(["netns", "del", probe])
        return true
    }()

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let (status, text) = try runCapturingOutput("/usr/sbin/ip", arguments)
        guard status == 0 else {
            throw Failure(description: "ip \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    init() throws {
        let tag = String(UUID().uuidString.prefix(6)).lowercased()
        let octet = Int.random(in: 1...250)
        name = "evm-\(tag)"
        hostInterface = "evh\(tag)"
        innerInterface = "eva\(tag)"
        hostAddress = "10.213.\(octet).1"
        innerAddress = "10.213.\(octet).2"
        try Self.run(["netns", "add", name])
        do {
            try Self.run(["link", "add", hostInterface, "type", "veth", "peer", "name", innerInterface])
            try Self.run(["link", "set", innerInterface, "netns", name])
            try Self.run(["addr", "add", hostAddress + "/30", "dev", hostInterface])
            try Self.run(["link", "set", hostInterface, "up"])
            try Self.run(["-n", name, "addr", "add", innerAddress + "/30", "dev", innerInterface])
            try Self.run(["-n", name, "link", "set", innerInterface, "up"])
            try Self.run(["-n", name, "link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    /// Limits the rate towards the namespace on the link itself (tc token bucket), so the
    /// sender, not a receive buffer on the device, holds what has not arrived yet.
    func limit(kilobitsPerSecond: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/tc")
        process.arguments = ["qdisc", "replace", "dev", hostInterface, "root", "tbf", "rate", "\(kilobitsPerSecond)kbit",
                             "burst", "16kb", "latency", "50ms"]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "tc qdisc replace dev \(hostInterface) ... tbf failed (\(process.terminationStatus))")
        }
    }

    func cut() throws { try Self.run(["link", "set", hostInterface, "down"]) }
    func heal() throws { try Self.run(["link", "set", hostInterface, "up"]) }

    /// Bytes the test side sent into the link (IP packets, headers included).
    var txBytes: Int64 {
        let path = "/sys/class/net/\(hostInterface)/statistics/tx_bytes"
        return (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? -1
    }

    /// Deletes the pair and the namespace (the veth goes with the namespace).
    func remove() {
        _ = try? Self.run(["link", "del", hostInterface])
        _ = try? Self.run(["netns", "del", name])
    }
}
