import FleetProtocol
import Foundation
import Hummingbird
import NIOCore

/// The coordinator's HTTP side: `/healthz`, `/metrics` (Prometheus), artifact blobs with Range
/// and ETag (`/v1/blobs/<sha256>`, device or operator bearer), result export
/// (`/v1/results/export`, operator) and the dashboard (`/`, operator bearer or `?token=`).
public enum CoordinatorHTTPRouter {
    public static func make(core: CoordinatorCore) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: core.metrics.render())))
        }
        router.get("/v1/blobs/:sha256") { request, context -> Response in
            try await blob(request, context, core: core, head: false)
        }
        router.head("/v1/blobs/:sha256") { request, context -> Response in
            try await blob(request, context, core: core, head: true)
        }
        router.get("/v1/results/export") { request, _ -> Response in
            _ = try authenticateOperator(request, core: core)
            let query = request.uri.queryParameters
            guard let format = ResultExport.Format(rawValue: query.get("format") ?? "jsonl") else {
                throw HTTPError(.badRequest, message: "format must be jsonl or csv")
            }
            let rows = try await core.store.queryResults(ResultQuery(
                deviceID: query.get("device") ?? "", tag: query.get("tag") ?? "", modelDigest: query.get("model") ?? "",
                from: query.get("from").flatMap { Int64($0) } ?? 0, until: query.get("until").flatMap { Int64($0) } ?? 0,
                limit: query.get("limit").flatMap { Int($0) } ?? 100_000))
            let type = format == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson"
            return Response(status: .ok, headers: [.contentType: type],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: ResultExport.render(rows, as: format))))
        }
        router.get("/") { request, _ -> Response in
            _ = try authenticateOperator(request, core: core)
            let content = try await DashboardPage.load(from: core.store, now: core.clock())
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: DashboardPage.render(content))))
        }
        return router
    }

    static func bearer(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst("Bearer ".count))
    }

    static func authenticateOperator(_ request: Request, core: CoordinatorCore) throws -> String {
        let token = bearer(request) ?? request.uri.queryParameters.get("token")
        do {
            return try core.authenticateOperator(token: token)
        } catch {
            throw HTTPError(.unauthorized, message: "operator token required")
        }
    }

    /// Serves one blob: whole, or one `bytes=a-b` / `bytes=a-` / `bytes=-n` range (206), with a
    /// strong ETag (the digest itself) and `If-None-Match` (304).
    static func blob(_ request: Request, _ context: BasicRequestContext, core: CoordinatorCore, head: Bool) async throws -> Response {
        let token = bearer(request)
        if (try? core.authenticateOperator(token: token)) == nil {
            do {
                _ = try await core.authenticateDevice(token: token)
            } catch {
                throw HTTPError(.unauthorized, message: "device or operator credential required")
            }
        }
        guard let digest = context.parameters.get("sha256"), Digests.isSHA256Hex(digest) else {
            throw HTTPError(.badRequest, message: "blob address must be a lowercase hex SHA-256")
        }
        let url = core.blobs.url(for: digest)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              let size = (attributes[.size] as? NSNumber)?.int64Value else {
            throw HTTPError(.notFound, message: "no blob \(digest)")
        }
        let etag = "\"\(digest)\""
        var headers: HTTPFields = [.eTag: etag, .acceptRanges: "bytes", .contentType: "application/octet-stream"]
        if let match = request.headers[.ifNoneMatch], match == etag || match == "*" {
            return Response(status: .notModified, headers: headers)
        }
        var start: Int64 = 0, end: Int64 = size - 1, status = HTTPResponse.Status.ok
        if let range = request.headers[.range] {
            guard let parsed = parseRange(range, size: size) else {
                headers[.contentRange] = "bytes */\(size)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            }
            (start, end) = parsed
            status = .partialContent
            headers[.contentRange] = "bytes \(start)-\(end)/\(size)"
        }
        let length = max(0, end - start + 1)
        headers[.contentLength] = String(length)
        if head || length == 0 { return Response(status: status, headers: headers) }
        core.metrics.increment("edgevlm_blob_bytes_served_total", by: length)
        let path = url.path, offset = UInt64(start)
        let body = ResponseBody(contentLength: Int(length)) { writer in
            guard let handle = FileHandle(forReadingAtPath: path) else { throw HTTPError(.notFound) }
            defer { try? handle.close() }
            try handle.seek(toOffset: offset)
            var remaining = length
            while remaining > 0 {
                let data = try handle.read(upToCount: Int(min(remaining, 1 << 20))) ?? Data()
                if data.isEmpty { break }
                remaining -= Int64(data.count)
                try await writer.write(ByteBuffer(bytes: data))
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// Parses one byte range; nil when unsatisfiable or malformed (multi-range is not served).
    static func parseRange(_ header: String, size: Int64) -> (Int64, Int64)? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst("bytes=".count)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[0].isEmpty {
            guard let suffix = Int64(parts[1]), suffix > 0, size > 0 else { return nil }
            return (max(0, size - suffix), size - 1)
        }
        guard let first = Int64(parts[0]), first < size else { return nil }
        if parts[1].isEmpty { return (first, size - 1) }
        guard let last = Int64(parts[1]), last >= first else { return nil }
        return (first, min(last, size - 1))
    }
}
