#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CDelegate
import GGUF
import Synchronization

/// A backend implemented by an accelerator delegate: a shared library exporting the C ABI of
/// `edgevlm_delegate.h` (`edgevlm_delegate_v1`), loaded with `dlopen`.
///
/// Calls into the delegate's context are serialised (the ABI promises delegates one caller at
/// a time). The library stays loaded for the backend's lifetime; `deinit` shuts the context down.
public final class DelegateBackend: Backend, @unchecked Sendable {
    // @unchecked: the C pointers are set once in init; every use of the context goes through
    // `lock`, as the ABI requires.
    /// The delegate's own name from its table (e.g. "reference").
    public let name: String
    /// Path the library was loaded from.
    public let path: String
    private let library: UnsafeMutableRawPointer
    private let table: UnsafePointer<edgevlm_delegate_v1_table>
    private let context: UnsafeMutableRawPointer
    private let lock = Mutex(())

    /// Loads the delegate at `path`, checks its ABI version and creates a context with
    /// `options` (comma-separated key=value pairs, passed to the delegate's `init` unchanged).
    /// - Throws: `.libraryNotLoadable` (missing file, bad ELF, unresolved symbols),
    ///   `.entrySymbolMissing`, `.abiVersionMismatch`, `.invalidDelegateTable`,
    ///   `.delegateInitFailed` (with the delegate's `last_error`).
    public init(path: String, options: String = "") throws(BackendsError) {
        self.path = path
        guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw .libraryNotLoadable(path: path, reason: reason)
        }
        guard let symbol = dlsym(library, EDGEVLM_DELEGATE_ENTRY_SYMBOL) else {
            dlclose(library)
            throw .entrySymbolMissing(path: path, symbol: EDGEVLM_DELEGATE_ENTRY_SYMBOL)
        }
        let entry = unsafeBitCast(symbol, to: edgevlm_delegate_v1_fn.self)
        guard let table = entry() else {
            dlclose(library)
            throw .invalidDelegateTable(path: path, reason: "the entry point returned NULL")
        }
        // Check the version before reading anything else: other versions may lay out differently.
        guard table.pointee.abi_version == UInt32(EDGEVLM_DELEGATE_ABI_VERSION) else {
            let found = table.pointee.abi_version
            dlclose(library)
            throw .abiVersionMismatch(path: path, found: found, expected: UInt32(EDGEVLM_DELEGATE_ABI_VERSION))
        }
        let t = table.pointee
        guard t.`init` != nil, t.supports != nil, t.prepare != nil, t.run != nil, t.release != nil,
              t.last_error != nil, t.shutdown != nil else {
            dlclose(library)
            throw .invalidDelegateTable(path: path, reason: "a required function pointer is NULL")
        }
        guard let initFunction = t.`init`, let context = options.withCString({ initFunction($0) }) else {
            let message = t.last_error.flatMap { $0(nil) }.map { String(cString: $0) } ?? ""
            dlclose(library)
            throw .delegateInitFailed(path: path, message: message)
        }
        self.library = library
        self.table = table
        self.context = context
        self.name = t.name.map { String(cString: $0) } ?? "delegate"
    }

    deinit {
        table.pointee.shutdown?(context)
        dlclose(library)
    }

    /// The delegate's last error message for this context.
    private func lastError() -> String {
        table.pointee.last_error.flatMap { $0(context) }.map { String(cString: $0) } ?? ""
    }

    public func supports(_ op: OpDescriptor) -> Bool {
        guard let supports = table.pointee.supports else { return false }
        return lock.withLock { _ in op.withCDescriptor { supports(context, $0) != 0 } }
    }

    public func shapeBuckets(for kind: OpKind) -> [ShapeBucket] {
        guard let query = table.pointee.shape_buckets else { return [] }
        return lock.withLock { _ in
            let total = query(context, kind.rawValue, nil, 0)
            guard total > 0 else { return [] }
            var buffer = [edgevlm_shape_bucket](repeating: edgevlm_shape_bucket(), count: total)
            let written = min(total, buffer.withUnsafeMutableBufferPointer { query(context, kind.rawValue, $0.baseAddress, total) })
            return buffer.prefix(written).map { bucket in
                let dims = [bucket.shape.0, bucket.shape.1, bucket.shape.2, bucket.shape.3]
                return ShapeBucket(kind: kind, shape: dims.prefix(Int(min(bucket.n_dims, 4))).map { Int($0) })
            }
        }
    }

    /// Asks the delegate to prepare `op`.
    /// - Throws: `.prepareFailed` with the delegate's `last_error` when it returns NULL.
    public func prepare(_ op: OpDescriptor) throws(BackendsError) -> PreparedOp {
        guard let prepare = table.pointee.prepare else {
            throw .prepareFailed(backend: name, op: op.label, message: "no prepare function")
        }
        // The handle travels out of the lock as a bit pattern: raw pointers are not Sendable.
        let handleBits: UInt = lock.withLock { _ in
            op.withCDescriptor { prepare(context, $0) }.map { UInt(bitPattern: $0) } ?? 0
        }
        guard let handle = UnsafeMutableRawPointer(bitPattern: handleBits) else {
            throw .prepareFailed(backend: name, op: op.label, message: lock.withLock { _ in lastError() })
        }
        return PreparedOp(op: op, backendName: name, handle: handle)
    }

    /// Runs a prepared op in the delegate.
    /// - Throws: `.runFailed` with the delegate's status and `last_error`.
    public func run(_ prepared: PreparedOp, inputs: [HostTensor], outputs: [HostTensor]) throws(BackendsError) {
        guard let run = table.pointee.run, let handle = prepared.handle, prepared.backendName == name else {
            throw .runFailed(backend: name, op: prepared.op.label, message: "op was not prepared by this delegate")
        }
        let cInputs = CTensorArray(inputs, roleName: "input")
        let cOutputs = CTensorArray(outputs, roleName: "output")
        defer {
            cInputs.deallocate()
            cOutputs.deallocate()
        }
        let failure: BackendsError? = lock.withLock { _ in
            let status = run(context, handle, cInputs.tensors, cInputs.count, cOutputs.tensors, cOutputs.count)
            guard status == Int32(EDGEVLM_STATUS_OK.rawValue) else {
                return .runFailed(backend: name, op: prepared.op.label, message: "status \(status): \(lastError())")
            }
            return nil
        }
        if let failure { throw failure }
    }

    public func release(_ prepared: PreparedOp) {
        guard let handle = prepared.handle, prepared.backendName == name else { return }
        lock.withLock { _ in table.pointee.release?(context, handle) }
    }
}
