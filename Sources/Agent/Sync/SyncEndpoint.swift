import Foundation

/// The coordinator's gRPC address from `[sync] coordinator`: `host:port`, where host is a DNS
/// name, an IPv4 address, or a bracketed IPv6 address (`[::1]:8443`).
public struct SyncEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int

    /// Parses `host:port`; nil when either part is missing or the port is not 1...65535.
    public init?(parsing text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { return nil }
        }
        guard !hostPart.isEmpty, !hostPart.contains(where: \.isWhitespace),
              let port = Int(portPart), (1...65_535).contains(port) else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    /// True when `host` is a dotted-quad IPv4 address.
    var isIPv4: Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    /// True when `host` is an IPv6 address (it was written in brackets).
    var isIPv6: Bool { host.contains(":") }
}
