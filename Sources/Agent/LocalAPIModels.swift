import Foundation
import JobQueue

/// `POST /v1/jobs` JSON body: either `path` (a file the agent can read and the caller keeps) or
/// `image_base64` (uploaded bytes the agent stores).
public struct LocalAPISubmitRequest: Codable, Sendable {
    public var path: String?
    public var imageBase64: String?
    public var prompt: String?
    public var idempotencyKey: String?
    public var priority: Int?
    public var source: String?

    public init(path: String? = nil, imageBase64: String? = nil, prompt: String? = nil, idempotencyKey: String? = nil,
                priority: Int? = nil, source: String? = nil) {
        self.path = path
        self.imageBase64 = imageBase64
        self.prompt = prompt
        self.idempotencyKey = idempotencyKey
        self.priority = priority
        self.source = source
    }

    enum CodingKeys: String, CodingKey {
        case path, prompt, priority, source
        case imageBase64 = "image_base64"
        case idempotencyKey = "idempotency_key"
    }
}

/// A job with its result when it has one (`GET /v1/jobs/{id}`, SSE events, submit answers).
public struct LocalAPIJob: Codable, Sendable {
    public var job: JobRecord
    public var result: JobResult?
    /// True when the submission matched an existing job by idempotency key.
    public var duplicate: Bool?

    public init(job: JobRecord, result: JobResult?, duplicate: Bool? = nil) {
        self.job = job
        self.result = result
        self.duplicate = duplicate
    }
}

/// An error answer: `{"error": {"message": ...}}` as Hummingbird writes it.
struct LocalAPIErrorBody: Codable {
    struct Detail: Codable { var message: String }
    var error: Detail
}
