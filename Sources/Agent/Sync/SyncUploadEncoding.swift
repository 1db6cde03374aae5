import GRPCCore
import Synchronization

/// Whether result uploads go gzip-compressed. They start compressed; a coordinator that does
/// not accept compression answers a compressed call UNIMPLEMENTED with the encodings it does
/// accept in `grpc-accept-encoding` (the gRPC rule), and from then on this agent process sends
/// uploads uncompressed (a restart tries compression again, e.g. after a coordinator upgrade).
final class SyncUploadEncoding: Sendable {
    private let compressed = Mutex(true)

    /// The compression for the next upload call.
    var compression: CompressionAlgorithm { compressed.withLock { $0 } ? .gzip : .none }

    /// True when `error` (from an upload sent with `compression`) says the coordinator refuses
    /// that compression; then later calls go uncompressed. An UNIMPLEMENTED that lists gzip as
    /// accepted is about something else and changes nothing.
    func fallBackIfRefused(_ error: RPCError, sentWith compression: CompressionAlgorithm) -> Bool {
        guard compression != .none, error.code == .unimplemented else { return false }
        let accepted = error.metadata[stringValues: "grpc-accept-encoding"]
            .flatMap { $0.split(separator: ",").map { String($0.filter { !$0.isWhitespace }) } }
        guard !accepted.contains("gzip") else { return false }
        compressed.withLock { $0 = false }
        return true
    }
}
