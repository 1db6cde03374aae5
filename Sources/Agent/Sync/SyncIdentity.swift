#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What enrollment gave this device: its fleet id and its secret bearer credential. Stored as
/// JSON in `<state>/sync/identity.json`, mode 0600, written crash-safely (temporary file, fsync,
/// rename), so a device either has a complete identity or none and never enrolls twice.
public struct SyncIdentity: Codable, Sendable, Equatable {
    public var deviceID: String
    public var credential: String
    /// Coordinator wall clock at enrollment (Unix ms).
    public var enrolledAtUnixMs: Int64

    public init(deviceID: String, credential: String, enrolledAtUnixMs: Int64) {
        self.deviceID = deviceID
        self.credential = credential
        self.enrolledAtUnixMs = enrolledAtUnixMs
    }

    enum CodingKeys: String, CodingKey {
        case deviceID = "device_id"
        case credential
        case enrolledAtUnixMs = "enrolled_at_unix_ms"
    }

    /// The identity file inside `syncDirectory`.
    static func path(in syncDirectory: String) -> String { syncDirectory + "/identity.json" }

    /// The stored identity, or nil when the device has not enrolled yet. Throws `AgentError.io`
    /// when the file exists but cannot be read or is damaged (never silently re-enroll: the
    /// operator must look, since the old credential may still be valid).
    static func load(from syncDirectory: String) throws -> SyncIdentity? {
        let path = path(in: syncDirectory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentError(.io, "cannot read the device identity", path: path)
        }
        do {
            let identity = try JSONDecoder().decode(SyncIdentity.self, from: data)
            guard !identity.deviceID.isEmpty, !identity.credential.isEmpty else {
                throw AgentError(.io, "the device identity is empty; remove the file to enroll again", path: path)
            }
            return identity
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError(.io, "the device identity is damaged (\(error)); remove the file to enroll again", path: path)
        }
    }

    /// Writes the identity durably with mode 0600. Throws `AgentError.io`.
    func save(to syncDirectory: String) throws {
        try DurableFiles.makeDirectory(syncDirectory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(self) } catch {
            throw AgentError(.io, "cannot encode the device identity: \(error)", path: Self.path(in: syncDirectory))
        }
        try DurableFiles.write(data, to: Self.path(in: syncDirectory), mode: 0o600)
    }
}
