import Foundation
import JobQueue

/// Turns images into jobs for every source (inbox, cameras, local API): digests the bytes,
/// derives the idempotency key, stores uploaded and captured bytes durably, and enqueues.
/// Blocking; call through `BlockingWork`.
public final class JobIntake: Sendable {
    public let queue: JobQueue
    public let modelDigest: String
    let configuration: AgentConfiguration
    let wakeWorkers: @Sendable () -> Void

    init(queue: JobQueue, modelDigest: String, configuration: AgentConfiguration, wakeWorkers: @escaping @Sendable () -> Void) {
        self.queue = queue
        self.modelDigest = modelDigest
        self.configuration = configuration
        self.wakeWorkers = wakeWorkers
    }

    /// The prompt to use: the given one, else the source's, else the model default.
    func prompt(_ given: String?, sourceDefault: String) -> String {
        if let given, !given.isEmpty { return given }
        return sourceDefault.isEmpty ? configuration.model.prompt : sourceDefault
    }

    /// The submission for `data` that will live at `imagePath`.
    func submission(kind: JobKind, source: String, prompt: String, data: Data, imagePath: String, owned: Bool,
                    priority: Int = 0, idempotencyKey: String? = nil) -> JobSubmission {
        let digest = ContentDigest.sha256Hex(data)
        let key = idempotencyKey ?? ContentDigest.idempotencyKey(imageDigest: digest, prompt: prompt, modelDigest: modelDigest)
        return JobSubmission(kind: kind, source: source, prompt: prompt, imagePath: imagePath, imageBytes: Int64(data.count),
                             imageOwned: owned, priority: priority, idempotencyKey: key)
    }

    /// Stores uploaded bytes under the state directory and enqueues them.
    /// Throws `AgentError` for oversize uploads, `JobQueueError` (`.diskFull`, `.queueFull`...).
    public func submitUpload(_ data: Data, prompt: String?, source: String, priority: Int, idempotencyKey: String?) throws -> JobEnqueueOutcome {
        guard data.count <= configuration.api.maxUploadBytes else {
            throw AgentError(.badImage, "upload of \(data.count) bytes exceeds api.max_upload_bytes (\(configuration.api.maxUploadBytes))")
        }
        let directory = configuration.state.directory + "/uploads"
        try DurableFiles.makeDirectory(directory)
        let path = directory + "/\(ContentDigest.sha256Hex(data)).img"
        let sub = submission(kind: .file, source: source, prompt: self.prompt(prompt, sourceDefault: ""), data: data,
                             imagePath: path, owned: true, priority: priority, idempotencyKey: idempotencyKey)
        if !FileManager.default.fileExists(atPath: path) { try DurableFiles.write(data, to: path) }
        let outcome = try queue.enqueue(sub)
        wakeWorkers()
        return outcome
    }

    /// Enqueues a file the caller keeps (the agent never deletes it).
    public func submitPath(_ path: String, prompt: String?, source: String, priority: Int, idempotencyKey: String?) throws -> JobEnqueueOutcome {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = attributes?[.size] as? Int else { throw AgentError(.badImage, "cannot read the image", path: path) }
        guard size <= configuration.queue.maxImageBytes else {
            throw AgentError(.badImage, "image of \(size) bytes exceeds queue.max_image_bytes (\(configuration.queue.maxImageBytes))", path: path)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw AgentError(.badImage, "cannot read the image", path: path) }
        let sub = submission(kind: .file, source: source, prompt: self.prompt(prompt, sourceDefault: ""), data: data,
                             imagePath: path, owned: false, priority: priority, idempotencyKey: idempotencyKey)
        let outcome = try queue.enqueue(sub)
        wakeWorkers()
        return outcome
    }

    /// Stores a captured frame and enqueues it so that only the newest frame of `camera` waits.
    public func submitCapture(_ data: Data, camera: AgentConfiguration.Camera) throws -> (JobEnqueueOutcome, superseded: Int) {
        let directory = configuration.imagesDirectory + "/\(camera.name)"
        try DurableFiles.makeDirectory(directory)
        let digest = ContentDigest.sha256Hex(data)
        let stamp = Int64(Date().timeIntervalSince1970 * 1000)
        let path = directory + "/\(stamp)-\(digest.prefix(16)).jpg"
        let prompt = self.prompt(nil, sourceDefault: camera.prompt)
        // Frames are keyed by time too: an unchanged scene is still a new observation.
        let key = ContentDigest.idempotencyKey(imageDigest: digest + "@\(stamp)", prompt: prompt, modelDigest: modelDigest)
        let sub = submission(kind: .camera, source: camera.name, prompt: prompt, data: data, imagePath: path, owned: true,
                             idempotencyKey: key)
        try DurableFiles.write(data, to: path)
        do {
            let (outcome, superseded) = try queue.enqueueLatest(sub)
            wakeWorkers()
            return (outcome, superseded.count)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }
}
