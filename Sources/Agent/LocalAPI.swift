import Foundation
import Hummingbird
import JobQueue
import Logging

/// The local HTTP+JSON API for kiosk apps, on a Unix socket (mode and group from `[api]`):
///
/// - `POST /v1/jobs` — JSON `LocalAPISubmitRequest`, or raw image bytes with `?prompt=` and
///   `?idempotency_key=`; answers 201 with the job (200 with `duplicate: true` for a repeat).
/// - `GET /v1/jobs/{id}` — the job and its result.
/// - `GET /v1/jobs?state=queued&limit=100` — jobs, newest first.
/// - `GET /v1/sources/{source}/latest` — the newest result of a source.
/// - `POST /v1/sources/{camera}/capture` — capture a frame now.
/// - `GET /v1/events` — server-sent events, one `result` event per finished job.
/// - `GET /v1/sync` — the sync state (`SyncStatus`: device id, last success, backlog, last error).
/// - `GET /metrics` — Prometheus text.
struct LocalAPI {
    let intake: JobIntake
    let metrics: AgentMetrics
    let events: ResultEvents
    let cameras: [String: CameraSource]
    let syncStatus: SyncStatusBoard
    let configuration: AgentConfiguration
    let logger: Logger

    func makeApplication() -> some ApplicationProtocol {
        let router = Router()
        let queue = intake.queue
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let intake = intake, metrics = metrics, events = events, cameras = cameras, configuration = configuration

        @Sendable func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
            let data = try encoder.encode(value)
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        @Sendable func mapError(_ error: any Error) -> HTTPError {
            if let error = error as? JobQueueError {
                switch error.kind {
                case .jobNotFound: return HTTPError(.notFound, message: error.description)
                case .diskFull, .queueFull, .busy: return HTTPError(.serviceUnavailable, message: error.description)
                case .invalidArgument: return HTTPError(.badRequest, message: error.description)
                default: return HTTPError(.internalServerError, message: error.description)
                }
            }
            if let error = error as? AgentError {
                return HTTPError(error.kind == .capture ? .badGateway : .badRequest, message: error.description)
            }
            if let error = error as? HTTPError { return error }
            return HTTPError(.internalServerError, message: "\(error)")
        }

        router.post("/v1/jobs") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: configuration.api.maxUploadBytes * 4 / 3 + 4096)
            let query = request.uri.queryParameters
            let contentType = request.headers[.contentType] ?? ""
            do {
                let outcome: JobEnqueueOutcome = try await BlockingWork.run {
                    if contentType.hasPrefix("application/json") {
                        let submit = try JSONDecoder().decode(LocalAPISubmitRequest.self, from: Data(body.readableBytesView))
                        let source = submit.source ?? "api"
                        if let path = submit.path {
                            return try intake.submitPath(path, prompt: submit.prompt, source: source, priority: submit.priority ?? 0,
                                                         idempotencyKey: submit.idempotencyKey)
                        }
                        guard let encoded = submit.imageBase64, let data = Data(base64Encoded: encoded) else {
                            throw HTTPError(.badRequest, message: "give either path or image_base64")
                        }
                        return try intake.submitUpload(data, prompt: submit.prompt, source: source, priority: submit.priority ?? 0,
                                                       idempotencyKey: submit.idempotencyKey)
                    }
                    let data = Data(body.readableBytesView)
                    guard !data.isEmpty else { throw HTTPError(.badRequest, message: "empty upload") }
                    return try intake.submitUpload(data, prompt: query["prompt"].map(String.init), source: query["source"].map(String.init) ?? "api",
                                                   priority: query["priority"].flatMap { Int(String($0)) } ?? 0,
                                                   idempotencyKey: query["idempotency_key"].map(String.init))
                }
                switch outcome {
                case .created(let job): return try json(LocalAPIJob(job: job, result: nil, duplicate: false), status: .created)
                case .duplicate(let job):
                    let result = try await BlockingWork.run { try queue.result(jobID: job.id)?.result }
                    return try json(LocalAPIJob(job: job, result: result, duplicate: true))
                }
            } catch let error as DecodingError {
                throw HTTPError(.badRequest, message: "bad JSON: \(error)")
            } catch {
                throw mapError(error)
            }
        }

        router.get("/v1/jobs/:id") { _, context -> Response in
            let id = try context.parameters.require("id", as: Int64.self)
            do {
                let (job, result) = try await BlockingWork.run { (try queue.job(id: id), try queue.result(jobID: id)?.result) }
                return try json(LocalAPIJob(job: job, result: result))
            } catch { throw mapError(error) }
        }

        router.get("/v1/jobs") { request, _ -> Response in
            let query = request.uri.queryParameters
            var state: JobState?
            if let text = query["state"] {
                guard let parsed = JobState(rawValue: String(text)) else {
                    throw HTTPError(.badRequest, message: "state must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                state = parsed
            }
            let limit = min(1000, max(1, query["limit"].flatMap { Int(String($0)) } ?? 100))
            let filter = state
            do {
                let jobs = try await BlockingWork.run { try queue.jobs(state: filter, limit: limit) }
                return try json(jobs)
            } catch { throw mapError(error) }
        }

        router.get("/v1/sources/:source/latest") { _, context -> Response in
            let source = try context.parameters.require("source")
            let record = try await BlockingWork.run { try queue.latestResult(source: source) }
            guard let record else {
                let captureError = metrics.lastCaptureError(source: source)
                throw HTTPError(.notFound, message: "no result for source \(source)" + (captureError.map { "; last capture error: \($0)" } ?? ""))
            }
            return try json(LocalAPIJob(job: record.job, result: record.result))
        }

        router.post("/v1/sources/:source/capture") { _, context -> Response in
            let source = try context.parameters.require("source")
            guard let camera = cameras[source] else { throw HTTPError(.notFound, message: "no camera named \(source)") }
            do {
                let job = try await camera.captureOnce()
                return try json(LocalAPIJob(job: job, result: nil), status: .created)
            } catch { throw mapError(error) }
        }

        router.get("/v1/events") { _, _ -> Response in
            let stream = events.subscribe()
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: ResponseBody { writer in
                                try await writer.write(ByteBuffer(string: ": connected\n\n"))
                                for await job in stream {
                                    let result = try? await BlockingWork.run { try queue.result(jobID: job.id)?.result }
                                    let data = try encoder.encode(LocalAPIJob(job: job, result: result ?? nil))
                                    try await writer.write(ByteBuffer(string: "event: result\nid: \(job.id)\ndata: \(String(decoding: data, as: UTF8.self))\n\n"))
                                }
                                try await writer.finish(nil)
                            })
        }

        router.get("/v1/sync") { [syncStatus] _, _ -> Response in
            var status = syncStatus.snapshot
            // The backlog is read live: results finish between heartbeats.
            status.outboxBacklog = try await BlockingWork.run { try queue.unacknowledgedOutboxCount() }
            return try json(status)
        }

        router.get("/metrics") { _, _ -> Response in
            let counts = try await BlockingWork.run { try queue.stateCounts() }
            let depth = Dictionary(uniqueKeysWithValues: counts.counts.map { ($0.key.rawValue, $0.value) })
            let text = metrics.prometheusText(queueDepth: depth, diskFreeBytes: DurableFiles.freeBytes(at: configuration.state.directory))
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }

        let socket = configuration.api.socket
        let mode = configuration.api.mode
        let group = configuration.api.group
        let log = logger
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .unixDomainSocket(path: socket), serverName: "edgevlm-agent"),
            onServerRunning: { _ in
                // Permissions are set right after bind; clients of other users connect only after this.
                if chmod(socket, mode_t(mode)) != 0 { log.error("cannot chmod the API socket", metadata: ["socket": "\(socket)"]) }
                if !group.isEmpty {
                    if let entry = getgrnam(group) {
                        if chown(socket, uid_t.max, entry.pointee.gr_gid) != 0 {
                            log.error("cannot chown the API socket", metadata: ["group": "\(group)"])
                        }
                    } else {
                        log.error("unknown group for the API socket", metadata: ["group": "\(group)"])
                    }
                }
            },
            logger: logger
        )
    }
}
