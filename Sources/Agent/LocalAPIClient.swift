#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A minimal HTTP/1.1 client for the agent's Unix-socket API (used by `edgevlm submit|jobs|
/// result|watch` and the tests). One request per connection. Blocking; call off the
/// cooperative pool for long reads.
public struct LocalAPIClient: Sendable {
    /// The API socket path.
    public let socketPath: String

    public init(socketPath: String) { self.socketPath = socketPath }

    /// A complete response.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data

        /// The body as text.
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends one request and reads the whole response. Throws `AgentError.api` when the socket
    /// cannot be reached or the answer is not HTTP.
    public func request(_ method: String, _ path: String, body: Data = Data(), contentType: String = "application/json") throws -> Response {
        let fd = try connectSocket()
        defer { close(fd) }
        try sendRequest(fd: fd, method: method, path: path, body: body, contentType: contentType)
        var reader = SocketReader(fd: fd)
        let (status, headers) = try reader.readHead(socketPath: socketPath)
        var body = Data()
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            while let chunk = try reader.readChunk() { body.append(chunk) }
        } else if let length = headers["content-length"].flatMap(Int.init) {
            body = try reader.read(count: length)
        } else {
            body = reader.readToEnd()
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// Streams `GET /v1/events`, calling `onEvent` with each event's data line (JSON) until the
    /// server closes the stream or `onEvent` returns false.
    public func streamEvents(_ onEvent: (String) -> Bool) throws {
        let fd = try connectSocket()
        defer { close(fd) }
        try sendRequest(fd: fd, method: "GET", path: "/v1/events", body: Data(), contentType: "text/plain")
        var reader = SocketReader(fd: fd)
        let (status, headers) = try reader.readHead(socketPath: socketPath)
        guard status == 200 else { throw AgentError(.api, "events stream answered HTTP \(status)", path: socketPath) }
        let chunked = headers["transfer-encoding"]?.lowercased() == "chunked"
        var pending = ""
        while true {
            let piece: Data?
            if chunked { piece = try reader.readChunk() } else { let d = reader.readSome(); piece = d.isEmpty ? nil : d }
            guard let piece else { return }
            pending += String(decoding: piece, as: UTF8.self)
            while let range = pending.range(of: "\n\n") {
                let event = String(pending[..<range.lowerBound])
                pending = String(pending[range.upperBound...])
                for line in event.split(separator: "\n") where line.hasPrefix("data: ") {
                    if !onEvent(String(line.dropFirst(6))) { return }
                }
            }
        }
    }

    private func connectSocket() throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AgentError(.api, "cannot create a socket", path: socketPath) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw AgentError(.api, "socket path too long", path: socketPath)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw AgentError(.api, "cannot reach the agent (\(message)); is `edgevlm agent` running and is the socket path right?", path: socketPath)
        }
        return fd
    }

    private func sendRequest(fd: Int32, method: String, path: String, body: Data, contentType: String) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        if !body.isEmpty || method == "POST" { head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        var message = Data(head.utf8)
        message.append(body)
        try message.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw AgentError(.api, "cannot send the request: \(String(cString: strerror(errno)))", path: socketPath) }
                offset += n
            }
        }
    }
}

/// Buffered reads from a socket.
private struct SocketReader {
    let fd: Int32
    var buffer = Data()
    var closed = false

    init(fd: Int32) { self.fd = fd }

    mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        if n <= 0 { closed = true; return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    mutating func readLine() throws -> String {
        while true {
            if let index = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[buffer.startIndex..<index]
                buffer = Data(buffer[(index + 1)...])
                return String(decoding: line, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            }
            guard fill() else { throw AgentError(.api, "connection closed mid-response") }
        }
    }

    mutating func readHead(socketPath: String) throws -> (Int, [String: String]) {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            throw AgentError(.api, "not an HTTP answer: \(statusLine)", path: socketPath)
        }
        var headers: [String: String] = [:]
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return (status, headers)
    }

    mutating func read(count: Int) throws -> Data {
        while buffer.count < count { guard fill() else { throw AgentError(.api, "connection closed mid-body") } }
        let out = Data(buffer.prefix(count))
        buffer = Data(buffer.dropFirst(count))
        return out
    }

    /// The next chunk of a chunked body, or nil at the end.
    mutating func readChunk() throws -> Data? {
        let sizeLine = try readLine()
        guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
            throw AgentError(.api, "bad chunk size \(sizeLine)")
        }
        if size == 0 { _ = try? readLine(); return nil }
        let data = try read(count: size)
        _ = try readLine()
        return data
    }

    mutating func readSome() -> Data {
        if buffer.isEmpty { _ = fill() }
        defer { buffer = Data() }
        return buffer
    }

    mutating func readToEnd() -> Data {
        while fill() {}
        return buffer
    }
}
