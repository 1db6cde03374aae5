#if canImport(Glibc)
import Glibc
#endif
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Takes one JPEG frame from a camera.
protocol CameraCapture: Sendable {
    /// Returns the encoded frame. Throws `AgentError.capture` with the reason (timeout, HTTP
    /// status, exit code, device error, not a JPEG).
    func capture() async throws -> Data
}

extension AgentConfiguration.Camera {
    /// The capture implementation for this camera's kind.
    func makeCapture() -> any CameraCapture {
        switch kind {
        case .http: return HTTPSnapshotCapture(url: url, timeoutSeconds: timeoutSeconds, source: name)
        case .command: return CommandCapture(command: command, timeoutSeconds: timeoutSeconds, source: name)
        case .v4l2: return V4L2Capture(device: device, width: width, height: height, timeoutSeconds: timeoutSeconds, source: name)
        }
    }
}

enum JPEGCheck {
    /// True when `data` starts with the JPEG start-of-image marker.
    static func looksLikeJPEG(_ data: Data) -> Bool { data.count > 3 && data.prefix(3) == Data([0xff, 0xd8, 0xff]) }
}

/// `kind = "http"`: GET a snapshot URL as IP cameras offer (`/snapshot.jpg`, ONVIF snapshot URI).
struct HTTPSnapshotCapture: CameraCapture {
    let url: String
    let timeoutSeconds: Double
    let source: String

    func capture() async throws -> Data {
        guard let target = URL(string: url) else { throw AgentError(.capture, "bad snapshot URL", key: "camera.\(source).url") }
        var request = URLRequest(url: target, timeoutInterval: timeoutSeconds)
        request.httpMethod = "GET"
        let (data, response): (Data, URLResponse)
        do { (data, response) = try await URLSession.shared.data(for: request) } catch {
            throw AgentError(.capture, "snapshot request failed: \(error.localizedDescription)", path: url)
        }
        if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
            throw AgentError(.capture, "snapshot URL answered HTTP \(http.statusCode)", path: url)
        }
        guard JPEGCheck.looksLikeJPEG(data) else { throw AgentError(.capture, "snapshot is not a JPEG (\(data.count) bytes)", path: url) }
        return data
    }
}

/// `kind = "command"`: runs a program that writes one JPEG to stdout (e.g.
/// `libcamera-still -n -o - -t 1`). A program that outlives the timeout is terminated, then killed.
struct CommandCapture: CameraCapture {
    let command: [String]
    let timeoutSeconds: Double
    let source: String

    func capture() async throws -> Data {
        let command = command, timeoutSeconds = timeoutSeconds
        return try await BlockingWork.run { try Self.runBlocking(command: command, timeoutSeconds: timeoutSeconds) }
    }

    static func runBlocking(command: [String], timeoutSeconds: Double) throws -> Data {
        guard let program = command.first else { throw AgentError(.capture, "empty capture command") }
        // posix_spawn + poll + waitpid on this one thread: Foundation's Process watches children
        // through a Dispatch source, and on a busy 2-core device neither that nor a timer on a
        // global queue is guaranteed to run when a hung camera must be killed.
        let child = try SpawnedProgram(command)
        defer { child.closeOutput() }
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutSeconds * 1000))
        let (data, timedOut) = Self.readUntilClosed(child.output, deadline: deadline)
        if timedOut {
            kill(child.pid, SIGTERM)
            if child.wait(within: .seconds(1)) == nil {
                kill(child.pid, SIGKILL)
                _ = child.wait(within: nil)
            }
            throw AgentError(.capture, "capture command did not finish within \(timeoutSeconds) s and was killed", path: program)
        }
        let status = child.wait(within: nil) ?? -1
        guard status == 0 else {
            throw AgentError(.capture, "capture command failed with status \(status)", path: program)
        }
        guard JPEGCheck.looksLikeJPEG(data) else {
            throw AgentError(.capture, "capture command did not write a JPEG to stdout (\(data.count) bytes)", path: program)
        }
        return data
    }
}

/// A child process with stdout on a pipe, stdin and stderr on /dev/null.
struct SpawnedProgram {
    let pid: pid_t
    let output: Int32

    init(_ command: [String]) throws {
        guard let program = command.first else { throw AgentError(.capture, "empty capture command") }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            throw AgentError(.capture, "cannot create a pipe: \(String(cString: strerror(errno)))", path: program)
        }
        // Close-on-exec (Glibc's Swift module has no pipe2), so another capture spawned later
        // cannot inherit the write end and hold our end-of-file back; dup2 clears the flag on
        // the child's stdout.
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Default dispositions and an empty mask in the child: the daemon ignores SIGTERM (the
        // lifecycle handles it through a signal source) and that would otherwise be inherited,
        // making a hung capture program deaf to our SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, program, &actions, &attributes, &argv, environ)
        close(pipeEnds[1])
        guard result == 0 else {
            close(pipeEnds[0])
            throw AgentError(.capture, "cannot start capture command: \(String(cString: strerror(result)))", path: program)
        }
        pid = child
        output = pipeEnds[0]
    }

    func closeOutput() { close(output) }

    /// The exit status (128 + signal when killed), or nil if it is still running after `limit`
    /// (nil limit: wait as long as it takes).
    func wait(within limit: Duration?) -> Int32? {
        let end = limit.map { ContinuousClock.now + $0 }
        while true {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, end == nil ? 0 : WNOHANG)
            if reaped == pid {
                let signal = status & 0x7f
                return signal == 0 ? (status >> 8) & 0xff : 128 + signal
            }
            if reaped < 0 && errno != EINTR { return -1 }
            if let end, ContinuousClock.now >= end { return nil }
            if end != nil { usleep(10_000) }
        }
    }
}

extension CommandCapture {
    /// Reads `fd` until end of file or `deadline`; returns what was read and whether time ran out.
    static func readUntilClosed(_ fd: Int32, deadline: ContinuousClock.Instant) -> (Data, Bool) {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return (data, true) }
            let (seconds, attoseconds) = remaining.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                return (data, false)
            }
            if ready == 0 { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return (data, false)
            }
            if count == 0 { return (data, false) }
            data.append(contentsOf: buffer[0..<count])
        }
    }
}
