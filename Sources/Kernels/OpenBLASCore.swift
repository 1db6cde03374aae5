import CBLAS
import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS picks its kernel family (its "core") once, when the library loads, from the CPU
/// model. An OpenBLAS older than the CPU does not know the model and falls back to a generic
/// SSE-era core: Debian 12's 0.3.21 runs this machine's AVX-512 Xeon on "Prescott" kernels,
/// 6-8x slower SGEMM on the SigLIP layer shapes than "SkylakeX" (BENCHMARKS.md, Kernels). The
/// choice can only be changed before the library loads, through `OPENBLAS_CORETYPE`; the
/// `edgevlm` command restarts itself with it (`restartWithRecommendedCoreIfNeeded`).
public enum OpenBLASCore {
    /// The core OpenBLAS chose (e.g. "SkylakeX").
    public static var current: String { OpenBLASThreads.coreName }

    /// Cores OpenBLAS falls back to, or that predate AVX2: on a CPU with AVX2 they waste it.
    static let genericCores: Set<String> = [
        "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2", "Penryn", "Dunnington",
        "Nehalem", "Sandybridge", "Athlon", "Opteron", "Opteron_SSE3", "Barcelona", "Nano", "Bobcat", "unknown",
    ]

    /// The core to ask for when OpenBLAS chose `current` on a CPU with `vectorLevel`
    /// (`ck_x86_vector_level`), or nil when its own choice stands.
    static func recommendation(current: String, vectorLevel: Int32) -> String? {
        guard genericCores.contains(current) else { return nil }
        switch vectorLevel {
        case 2: return "SkylakeX"
        case 1: return "Haswell"
        default: return nil
        }
    }

    /// The core to ask for on this machine, or nil when OpenBLAS's own choice stands or the
    /// user chose one (`OPENBLAS_CORETYPE` is set).
    public static var recommended: String? {
        guard getenv("OPENBLAS_CORETYPE") == nil else { return nil }
        return recommendation(current: current, vectorLevel: ck_x86_vector_level())
    }

    /// Environment variable set in the restarted process, so it never restarts twice.
    static let restartMarker = "EDGEVLM_OPENBLAS_RESTARTED"

    /// When OpenBLAS fell back to a generic core on a CPU that has AVX2 or AVX-512, re-executes
    /// this program (same arguments and environment) with `OPENBLAS_CORETYPE` set, before any
    /// work starts. Returns (and the process continues) when nothing is to be done, when
    /// `EDGEVLM_OPENBLAS_RESTART=0`, or when the restart fails; `warn` gets one line then.
    public static func restartWithRecommendedCoreIfNeeded(warn: (String) -> Void) {
        guard let core = recommended, getenv(restartMarker) == nil else { return }
        if let setting = getenv("EDGEVLM_OPENBLAS_RESTART"), String(cString: setting) == "0" {
            warn("OpenBLAS runs its generic \(current) kernels on this CPU; set OPENBLAS_CORETYPE=\(core) for \(core)'s")
            return
        }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(restartMarker, current, 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // Still here: the restart failed; carry on with the generic kernels.
        let reason = String(cString: strerror(errno))
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(restartMarker)
        warn("OpenBLAS runs its generic \(current) kernels on this CPU; restarting with OPENBLAS_CORETYPE=\(core) failed (\(reason))")
    }
}
