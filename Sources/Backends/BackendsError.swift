/// What went wrong in the Backends module: loading a delegate, placing, preparing or running an
/// op. Every case names the backend or library and the op involved.
public enum BackendsError: Error, Sendable, CustomStringConvertible, Equatable {
    /// `dlopen` failed (file missing, wrong architecture, unresolved dependency).
    case libraryNotLoadable(path: String, reason: String)
    /// The library does not export the delegate entry point.
    case entrySymbolMissing(path: String, symbol: String)
    /// The delegate was built against another ABI version of `edgevlm_delegate.h`.
    case abiVersionMismatch(path: String, found: UInt32, expected: UInt32)
    /// The delegate's table is unusable (NULL table or a required function missing).
    case invalidDelegateTable(path: String, reason: String)
    /// The delegate's `init` returned NULL; `message` is its `last_error`.
    case delegateInitFailed(path: String, message: String)
    /// A `--backend` string could not be understood.
    case invalidConfiguration(String)
    /// A backend could not prepare an op.
    case prepareFailed(backend: String, op: String, message: String)
    /// A backend's run call returned an error.
    case runFailed(backend: String, op: String, message: String)
    /// A backend's run call took longer than the policy's deadline.
    case deadlineExceeded(backend: String, op: String, elapsedMilliseconds: Double, deadlineMilliseconds: Double)
    /// A backend wrote NaN or infinity into an output.
    case nonFiniteOutput(backend: String, op: String, output: Int, element: Int)
    /// The backend cannot execute this op kind itself.
    case notExecutable(backend: String, op: String, reason: String)
    /// Tensors handed to an op do not match what it needs.
    case invalidTensors(op: String, message: String)

    public var description: String {
        switch self {
        case let .libraryNotLoadable(path, reason):
            "delegate \(path): cannot load the library (\(reason)); check the path in --backend delegate:PATH"
        case let .entrySymbolMissing(path, symbol):
            "delegate \(path): the library does not export '\(symbol)'; it is not an EdgeVLM delegate or was built for another ABI"
        case let .abiVersionMismatch(path, found, expected):
            "delegate \(path): ABI version \(found), but this EdgeVLM speaks version \(expected); rebuild the delegate against this edgevlm_delegate.h"
        case let .invalidDelegateTable(path, reason):
            "delegate \(path): invalid function table (\(reason))"
        case let .delegateInitFailed(path, message):
            "delegate \(path): init failed: \(message.isEmpty ? "(no error message)" : message)"
        case let .invalidConfiguration(message):
            "backend configuration: \(message)"
        case let .prepareFailed(backend, op, message):
            "\(backend): preparing \(op) failed: \(message)"
        case let .runFailed(backend, op, message):
            "\(backend): running \(op) failed: \(message)"
        case let .deadlineExceeded(backend, op, elapsed, deadline):
            "\(backend): \(op) took \(elapsed) ms, over the \(deadline) ms deadline"
        case let .nonFiniteOutput(backend, op, output, element):
            "\(backend): \(op) wrote a non-finite value (output \(output), element \(element))"
        case let .notExecutable(backend, op, reason):
            "\(backend): cannot execute \(op): \(reason)"
        case let .invalidTensors(op, message):
            "\(op): \(message)"
        }
    }
}
