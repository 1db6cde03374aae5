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
    /// `active` renamed, the ACTIVE report and health window not yet recorded.
    case switchRenamed = "switch.renamed"

    func reach() {
        guard let named = getenv("EDGEVLM_TEST_KILL_AT"), String(cString: named) == rawValue else { return }
        kill(getpid(), SIGKILL)
    }
}
