import Foundation

/// What a model slot holds, written as `slot.json` in the slot only after every file in it was
/// verified against the signed manifest; a slot without a readable record is incomplete.
public struct ModelSlotRecord: Codable, Sendable, Equatable {
    /// One verified file of the slot.
    public struct File: Codable, Sendable, Equatable {
        /// "llm" or "mmproj".
        public var role: String
        /// File name inside the slot (`llm.gguf`, `mmproj.gguf`).
        public var fileName: String
        public var sizeBytes: Int64
        public var sha256: String

        public init(role: String, fileName: String, sizeBytes: Int64, sha256: String) {
            self.role = role
            self.fileName = fileName
            self.sizeBytes = sizeBytes
            self.sha256 = sha256
        }
    }

    /// The model's id: hex SHA-256 of the signed manifest bytes.
    public var modelDigest: String
    public var name: String
    public var version: String
    public var files: [File]
    /// Rollout that brought the model, if any.
    public var rolloutID: String
    /// When the files were verified (Unix seconds).
    public var verifiedAtUnix: Double
    /// Canary outcome, set once evaluated ("" when not evaluated).
    public var evaluation: String

    public init(modelDigest: String, name: String, version: String, files: [File], rolloutID: String = "",
                verifiedAtUnix: Double = Date().timeIntervalSince1970, evaluation: String = "") {
        self.modelDigest = modelDigest
        self.name = name
        self.version = version
        self.files = files
        self.rolloutID = rolloutID
        self.verifiedAtUnix = verifiedAtUnix
        self.evaluation = evaluation
    }

    /// The file with `role`, or nil.
    public func file(role: String) -> File? { files.first { $0.role == role } }
}
