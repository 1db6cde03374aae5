import GRPCCore
import Synchronization

/// Whether the coordinator serves the one-call `Sync` RPC (heartbeat + result batch together).
/// Assumed until the coordinator answers it UNIMPLEMENTED, as one built before the RPC existed
/// does; from then on this agent process uses Heartbeat + UploadResults (a restart tries `Sync`
/// again, e.g. after a coordinator upgrade).
final class SyncCallSupport: Sendable {
    private let available = Mutex(true)

    /// True until `noteRefused` saw an UNIMPLEMENTED.
    var isAvailable: Bool { available.withLock { $0 } }

    /// True (and later calls take the old path) when `error`, the answer to a `Sync` call, says
    /// the coordinator has no such method.
    func noteRefused(_ error: RPCError) -> Bool {
        guard error.code == .unimplemented else { return false }
        available.withLock { $0 = false }
        return true
    }
}
