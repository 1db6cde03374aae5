import Foundation

/// Builds the reference delegate (Tests/Fixtures/ReferenceDelegate/reference_delegate.c) with
/// the system C compiler into shared libraries, once per test process. Shared by the test
/// targets that run models on it (a library target, since test targets cannot share sources).
public enum ReferenceDelegateLibrary {
    public struct Build: Sendable {
        public let good: String
        public let badABI: String
        public let noEntry: String
    }

    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The three variants, or the compiler's error text.
    static let build: Result<Build, BuildError> = {
        let source = repositoryRoot.appendingPathComponent("Tests/Fixtures/ReferenceDelegate/reference_delegate.c").path
        let include = repositoryRoot.appendingPathComponent("Sources/CDelegate/include").path
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("edgevlm-refdelegate-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            func compile(_ name: String, _ defines: [String]) throws -> String {
                let output = directory.appendingPathComponent(name).path
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["cc", "-shared", "-fPIC", "-O2", "-Wall", "-I", include] + defines + [source, "-o", output, "-lm"]
                let errors = Pipe()
                process.standardError = errors
                try process.run()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else {
                    let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    throw BuildError(message: "cc failed for \(name): \(text)")
                }
                return output
            }
            return .success(Build(good: try compile("libreference.so", []),
                                  badABI: try compile("libreference-bad-abi.so", ["-DREF_BAD_ABI"]),
                                  noEntry: try compile("libreference-no-entry.so", ["-DREF_NO_ENTRY"])))
        } catch let error as BuildError {
            return .failure(error)
        } catch {
            return .failure(BuildError(message: "\(error)"))
        }
    }()

    public struct BuildError: Error, CustomStringConvertible {
        let message: String
        public var description: String { message }
    }

    /// The built libraries.
    /// - Throws: ``BuildError`` with the compiler's output when `cc` failed.
    public static func paths() throws -> Build { try build.get() }
}
