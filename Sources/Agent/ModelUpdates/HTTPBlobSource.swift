import AsyncHTTPClient
import Foundation
import NIOCore

/// Fetches blobs from the coordinator's artifact server (`GET /v1/blobs/<sha256>` with a
/// `Range` header and the device's bearer credential). Integrity does not rest on the link:
/// every byte is checked against the signed manifest's digests afterwards.
public final class HTTPBlobSource: ModelBlobSource {
    /// e.g. `http://coordinator:7080`.
    public let baseURL: String
    private let credential: String
    private let client: HTTPClient

    /// `stallSeconds`: a response that delivers no byte for this long fails (transient).
    public init(baseURL: String, credential: String, stallSeconds: Double) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.credential = credential
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .milliseconds(Int64(max(0.1, stallSeconds) * 1000)))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the connection pool. Call once when done.
    public func shutdown() async {
        try? await client.shutdown()
    }

    public func fetch(blob sha256: String, range: Range<Int64>,
                      sink: (Data) async throws -> Void) async throws {
        guard !range.isEmpty else { return }
        var request = HTTPClientRequest(url: baseURL + "/v1/blobs/" + sha256)
        request.headers.add(name: "Range", value: "bytes=\(range.lowerBound)-\(range.upperBound - 1)")
        if !credential.isEmpty { request.headers.add(name: "Authorization", value: "Bearer " + credential) }
        let response: HTTPClientResponse
        do {
            // The stall (read) timeout guards the body; the deadline only bounds a whole blob.
            response = try await client.execute(request, timeout: .hours(24))
        } catch {
            throw AgentError(.transfer, "GET blob \(sha256): \(error)")
        }
        let status = Int(response.status.code)
        switch status {
        case 206:
            break
        case 200 where range.lowerBound == 0:
            break
        case 200:
            throw AgentError(.modelUpdate, "the artifact server ignored the Range header for blob \(sha256)")
        case 408, 429:
            throw AgentError(.transfer, "HTTP \(status) for blob \(sha256)")
        case 400..<500:
            throw AgentError(.modelUpdate, "HTTP \(status) for blob \(sha256) from \(baseURL)"
                                            + (status == 401 || status == 403 ? " (the device credential was refused)" : ""))
        default:
            throw AgentError(.transfer, "HTTP \(status) for blob \(sha256)")
        }
        var remaining = range.upperBound - range.lowerBound
        do {
            for try await buffer in response.body {
                let take = min(Int64(buffer.readableBytes), remaining)
                let data = Data(buffer.getBytes(at: buffer.readerIndex, length: Int(take)) ?? [])
                try await sink(data)
                remaining -= take
                if remaining == 0 { break }
            }
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError(.transfer, "blob \(sha256) stopped after \(range.upperBound - range.lowerBound - remaining) bytes: \(error)")
        }
        if remaining > 0 {
            throw AgentError(.transfer, "blob \(sha256) ended \(remaining) bytes early")
        }
    }
}
