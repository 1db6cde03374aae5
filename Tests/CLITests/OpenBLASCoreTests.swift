import CKernels
import Foundation
@testable import Kernels
import Testing

/// `edgevlm` restarts itself once with `OPENBLAS_CORETYPE` when OpenBLAS fell back to generic
/// kernels on a CPU with AVX2/AVX-512 (Debian 12's OpenBLAS picks "Prescott" on this machine's
/// Xeon: 6-8x slower SGEMM).
@Suite struct OpenBLASCoreTests {
    @Test func recommendsACoreOnlyForGenericFallbacks() {
        #expect(OpenBLASCore.recommendation(current: "Prescott", vectorLevel: 2) == "SkylakeX")
        #expect(OpenBLASCore.recommendation(current: "Prescott", vectorLevel: 1) == "Haswell")
        #expect(OpenBLASCore.recommendation(current: "Nehalem", vectorLevel: 0) == nil)
        #expect(OpenBLASCore.recommendation(current: "SkylakeX", vectorLevel: 2) == nil)
        #expect(OpenBLASCore.recommendation(current: "Zen", vectorLevel: 1) == nil)
        #expect(OpenBLASCore.recommendation(current: "Haswell", vectorLevel: 2) == nil)
    }

    static func benchCore(environment: [String: String]) throws -> (core: String, stderr: String) {
        let result = try InspectCommandTests.run(
            ["bench", "kernels", "--json", "--types", "q8_0", "--skip-batched", "--seconds", "0.01",
             "--threads", "1", "--stream-mib", "0"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        struct Report: Decodable { var blasCore: String }
        return (try JSONDecoder().decode(Report.self, from: result.stdout).blasCore, result.stderr)
    }

    /// The command runs on the recommended core where there is one, else on OpenBLAS's own choice.
    @Test func commandRunsOnTheRecommendedCore() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_CORETYPE"] = nil
        environment["EDGEVLM_OPENBLAS_RESTARTED"] = nil
        // This test process never restarts: its core is OpenBLAS's own choice.
        let own = OpenBLASCore.recommendation(current: OpenBLASCore.current, vectorLevel: ck_x86_vector_level())
        let result = try Self.benchCore(environment: environment)
        #expect(result.core == (own ?? OpenBLASCore.current), "\(result.stderr)")
        #expect(!OpenBLASCore.genericCores.contains(result.core) || ck_x86_vector_level() == 0)

        // Opted out: OpenBLAS's own choice, and a warning naming the better core.
        environment["EDGEVLM_OPENBLAS_RESTART"] = "0"
        let optedOut = try Self.benchCore(environment: environment)
        #expect(optedOut.core == OpenBLASCore.current)
        if let own { #expect(optedOut.stderr.contains("OPENBLAS_CORETYPE=\(own)")) }

        // A core the user chose is kept.
        environment["EDGEVLM_OPENBLAS_RESTART"] = nil
        environment["OPENBLAS_CORETYPE"] = "Haswell"
        if ck_x86_vector_level() >= 1 {
            #expect(try Self.benchCore(environment: environment).core == "Haswell")
        }
    }
}
