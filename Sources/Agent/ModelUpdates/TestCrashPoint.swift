#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Named points of a model install and switch where the fault tests kill the agent for real:
/// when `EDGEVLM_TEST_KILL_AT` names the point, the process sends itself SIGKILL there (no
/// cleanup, no flush: what a power cut leaves). Never set in production; reading one
/// environment variable is the whole cost.
enum TestCrashPoint: String, CaseIterable {
    /// Slot files moved in, `slot.json` not written yet.
    case installFilesMoved = "install.files-moved"
    /// `active.tmp` made, not yet renamed over `active`.
    case switchLinkMade = "switch.link-made"
    /// `active` renamed, the health window and the ACTIVE report not yet recorded.
    case switchRenamed = "switch.renamed"
    /// The health window saved, the ACTIVE report not yet recorded.
    case switchWatchSaved = "switch.watch-saved"
    /// The ACTIVE report recorded, the agent not yet restarted onto the new model.
    case switchReported = "switch.reported"
    /// A tensor delta made some fetched tensors durable, more are still to come.
    case deltaCheckpoint = "delta.checkpoint"

    func reach() {
        guard let named = getenv("EDGEVLM_TEST_KILL_AT"), String(cString: named) == rawValue else { return }
        kill(getpid(), SIGKILL)
    }
}
