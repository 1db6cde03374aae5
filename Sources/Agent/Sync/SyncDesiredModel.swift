import FleetProtocol
import Foundation

/// The coordinator's model assignment, persisted for the model store (issue 9) as the
/// protobuf JSON of `ModelAssignment` in `<state>/sync/desired-model.json`. Sync only records
/// it; downloading and switching models is the model store's job.
enum SyncDesiredModel {
    static func path(in syncDirectory: String) -> String { syncDirectory + "/desired-model.json" }

    /// The stored assignment's digest, or "" when none is stored or it cannot be read.
    static func storedDigest(in syncDirectory: String) -> String {
        guard let data = FileManager.default.contents(atPath: path(in: syncDirectory)),
              let assignment = try? FleetModelAssignment(jsonUTF8Data: data) else { return "" }
        return assignment.modelDigest
    }

    /// Writes `assignment` durably when it differs from the stored one; returns true when written.
    /// Throws `AgentError.io`.
    @discardableResult
    static func record(_ assignment: FleetModelAssignment, in syncDirectory: String) throws -> Bool {
        let path = path(in: syncDirectory)
        let data: Data
        do { data = try assignment.jsonUTF8Data() } catch {
            throw AgentError(.io, "cannot encode the model assignment: \(error)", path: path)
        }
        if FileManager.default.contents(atPath: path) == data { return false }
        try DurableFiles.makeDirectory(syncDirectory)
        try DurableFiles.write(data, to: path)
        return true
    }
}
