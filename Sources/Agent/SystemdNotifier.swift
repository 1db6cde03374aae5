#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Speaks systemd's notification protocol (sd_notify) without libsystemd: one datagram per
/// message to the socket named by `$NOTIFY_SOCKET` (a path, or an abstract socket when it starts
/// with '@'). With no socket configured every call is a no-op, so the agent runs the same
/// outside systemd.
public struct SystemdNotifier: Sendable {
    /// The notification socket; nil when not started by systemd with Type=notify.
    public let socketPath: String?
    /// The watchdog interval systemd expects pings within (`$WATCHDOG_USEC`); nil when disabled.
    public let watchdogInterval: Duration?

    /// Builds a notifier from the values of `$NOTIFY_SOCKET` and `$WATCHDOG_USEC` (the executable
    /// reads the environment; libraries do not).
    public init(notifySocket: String?, watchdogMicroseconds: String?) {
        socketPath = (notifySocket?.isEmpty ?? true) ? nil : notifySocket
        if let text = watchdogMicroseconds, let usec = UInt64(text), usec > 0 {
            watchdogInterval = .microseconds(Int64(usec))
        } else {
            watchdogInterval = nil
        }
    }

    /// Sends `READY=1` and an optional status line.
    public func ready(status: String? = nil) throws { try send(["READY=1"] + (status.map { ["STATUS=\($0)"] } ?? [])) }
    /// Sends `STATUS=...` (shown by `systemctl status`).
    public func status(_ text: String) throws { try send(["STATUS=\(text)"]) }
    /// Sends `WATCHDOG=1`.
    public func watchdog() throws { try send(["WATCHDOG=1"]) }
    /// Sends `STOPPING=1`.
    public func stopping() throws { try send(["STOPPING=1"]) }
    /// Asks systemd for `duration` more time for the current start-up or stop phase.
    public func extendTimeout(_ duration: Duration) throws {
        let usec = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        try send(["EXTEND_TIMEOUT_USEC=\(usec)"])
    }

    /// Sends the assignments as one datagram. Throws `AgentError.io` when the socket is
    /// configured but the datagram cannot be delivered.
    public func send(_ assignments: [String]) throws {
        guard let socketPath else { return }
        let message = assignments.joined(separator: "\n")
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AgentError(.io, "cannot create the notify socket: \(String(cString: strerror(errno)))", path: socketPath) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        let abstract = pathBytes.first == UInt8(ascii: "@")
        if abstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { throw AgentError(.io, "NOTIFY_SOCKET path is too long", path: socketPath) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in pathBytes.enumerated() { raw[i] = byte }
        }
        // Abstract names are not NUL-terminated: the length says where they end.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (abstract ? 0 : 1))
        let sent = message.withCString { text in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, text, strlen(text), Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
        guard sent >= 0 else {
            throw AgentError(.io, "cannot send to the notify socket: \(String(cString: strerror(errno)))", path: socketPath)
        }
    }
}
