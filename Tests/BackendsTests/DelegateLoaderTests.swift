import ReferenceDelegateBuilder
import Backends
import Testing

@Suite struct DelegateLoaderTests {
    @Test func missingFile() {
        #expect {
            _ = try DelegateBackend(path: "/nonexistent/libnpu.so")
        } throws: { error in
            guard case let .libraryNotLoadable(path, reason)? = error as? BackendsError else { return false }
            return path == "/nonexistent/libnpu.so" && !reason.isEmpty
        }
    }

    @Test func missingEntrySymbol() throws {
        let paths = try ReferenceDelegateLibrary.paths()
        #expect(throws: BackendsError.entrySymbolMissing(path: paths.noEntry, symbol: "edgevlm_delegate_v1")) {
            _ = try DelegateBackend(path: paths.noEntry)
        }
    }

    @Test func abiVersionMismatch() throws {
        let paths = try ReferenceDelegateLibrary.paths()
        #expect(throws: BackendsError.abiVersionMismatch(path: paths.badABI, found: 99, expected: 1)) {
            _ = try DelegateBackend(path: paths.badABI)
        }
    }

    @Test(arguments: ["init_fail=1", "colour=blue"])
    func initFailureCarriesDelegateMessage(options: String) throws {
        let paths = try ReferenceDelegateLibrary.paths()
        #expect {
            _ = try DelegateBackend(path: paths.good, options: options)
        } throws: { error in
            guard case let .delegateInitFailed(_, message)? = error as? BackendsError else { return false }
            return options == "init_fail=1" ? message.contains("device is not available") : message.contains("unknown option 'colour'")
        }
    }

    @Test func placementReportsLoaderErrors() throws {
        let paths = try ReferenceDelegateLibrary.paths()
        #expect(throws: BackendsError.abiVersionMismatch(path: paths.badABI, found: 99, expected: 1)) {
            _ = try BackendPlacement.fromConfiguration(["delegate:\(paths.badABI)"])
        }
    }

    @Test func loadsNameFromTable() throws {
        let paths = try ReferenceDelegateLibrary.paths()
        let backend = try DelegateBackend(path: paths.good)
        #expect(backend.name == "reference")
        #expect(backend.shapeBuckets(for: .matMul).isEmpty)
    }
}
