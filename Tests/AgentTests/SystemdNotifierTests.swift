#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Agent

/// A real datagram socket standing in for systemd's notification socket.
private final class NotifyListener {
    let fd: Int32
    let name: String

    init(abstract: Bool) throws {
        let unique = "edgevlm-notify-\(UUID().uuidString.prefix(8))"
        name = abstract ? "@\(unique)" : FileManager.default.temporaryDirectory.appendingPathComponent(unique).path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard result == 0 else { throw AgentError(.io, "bind failed: \(errno)") }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    deinit {
        close(fd)
        if !name.hasPrefix("@") { unlink(name) }
    }
}

@Suite("sd_notify")
struct SystemdNotifierTests {
    @Test(arguments: [false, true])
    func sendsDatagramsToPathAndAbstractSockets(abstract: Bool) throws {
        let listener = try NotifyListener(abstract: abstract)
        let notifier = SystemdNotifier(notifySocket: listener.name, watchdogMicroseconds: "30000000")
        #expect(notifier.watchdogInterval == .seconds(30))
        try notifier.ready(status: "queued 0")
        #expect(listener.receive() == "READY=1\nSTATUS=queued 0")
        try notifier.watchdog()
        #expect(listener.receive() == "WATCHDOG=1")
        try notifier.extendTimeout(.seconds(15))
        #expect(listener.receive() == "EXTEND_TIMEOUT_USEC=15000000")
        try notifier.stopping()
        #expect(listener.receive() == "STOPPING=1")
    }

    @Test func withoutSocketEverythingIsANoOp() throws {
        let notifier = SystemdNotifier(notifySocket: nil, watchdogMicroseconds: nil)
        #expect(notifier.watchdogInterval == nil)
        try notifier.ready()
        try notifier.watchdog()
    }

    @Test func missingSocketIsAnError() {
        let notifier = SystemdNotifier(notifySocket: "/nonexistent/notify.sock", watchdogMicroseconds: "0")
        #expect(notifier.watchdogInterval == nil)
        #expect(throws: AgentError.self) { try notifier.ready() }
    }
}
