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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = Array(command.dropFirst())
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw AgentError(.capture, "cannot start capture command: \(error.localizedDescription)", path: program)
        }
        let timedOut = TimeoutFlag()
        let pid = process.processIdentifier
        let killer = DispatchWorkItem {
            timedOut.set()
            kill(pid, SIGTERM)
            DispatchQueue.global().asyncAfter(deadline: .now() + 1) { kill(pid, SIGKILL) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeoutSeconds, execute: killer)
        // Reads until the program (and anything holding its stdout) closes the pipe.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        killer.cancel()
        if timedOut.isSet {
            throw AgentError(.capture, "capture command did not finish within \(timeoutSeconds) s and was killed", path: program)
        }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw AgentError(.capture, "capture command failed with status \(process.terminationStatus)", path: program)
        }
        guard JPEGCheck.looksLikeJPEG(data) else {
            throw AgentError(.capture, "capture command did not write a JPEG to stdout (\(data.count) bytes)", path: program)
        }
        return data
    }
}

/// A flag set from another thread.
final class TimeoutFlag: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
