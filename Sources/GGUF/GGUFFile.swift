#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A GGUF file (version 2 or 3), memory-mapped read-only.
///
/// Opening parses and validates the header (minicpmv-spec.md §4.1) and never reads tensor data:
/// `bytes(of:)` returns a pointer into the mapping, so weights are paged in only when used and
/// never copied. The mapping lives as long as this object; it is immutable and safe to share
/// across tasks.
public final class GGUFFile: @unchecked Sendable {
    /// The path as given to `init(path:)`.
    public let path: String
    /// Format version (2 or 3).
    public let version: UInt32
    /// Data alignment in bytes (`general.alignment`, default 32).
    public let alignment: Int
    /// Absolute file offset of the data section; tensor offsets are relative to it.
    public let dataOffset: Int
    /// The key-value metadata, in file order.
    public let metadata: GGUFMetadata
    /// The tensor directory, in file order.
    public let tensors: [GGUFTensorInfo]
    /// Size of the file in bytes.
    public var fileSize: Int { mapping.count }

    private let mapping: UnsafeRawBufferPointer
    private let tensorIndex: [String: Int]

    /// Maps the file at `path` and validates its header.
    ///
    /// Throws ``GGUFError``: `cannotOpen` (missing, unreadable, mmap failure), `notARegularFile`,
    /// `truncated` (including an empty file), and every structural error the header can have.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw GGUFError.cannotOpen(file: path, reason: Self.systemError()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw GGUFError.cannotOpen(file: path, reason: Self.systemError()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw GGUFError.notARegularFile(file: path) }
        let size = Int(info.st_size)
        guard size > 0 else {
            throw GGUFError.truncated(file: path, what: "magic", offset: 0, needed: 4, available: 0)
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw GGUFError.cannotOpen(file: path, reason: "mmap: " + Self.systemError())
        }
        let mapping = UnsafeRawBufferPointer(start: base, count: size)
        let header: GGUFHeader
        do {
            header = try GGUFParser.parse(mapping, file: path)
        } catch {
            munmap(base, size)
            throw error
        }
        self.mapping = mapping
        version = header.version
        alignment = header.alignment
        dataOffset = header.dataOffset
        metadata = header.metadata
        tensors = header.tensors
        var index = [String: Int](minimumCapacity: header.tensors.count)
        for (i, tensor) in header.tensors.enumerated() { index[tensor.name] = i }
        tensorIndex = index
    }

    deinit {
        if let base = mapping.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), mapping.count)
        }
    }

    /// The directory entry named `name`; throws ``GGUFError/tensorNotFound(file:tensor:)``.
    public func tensor(named name: String) throws -> GGUFTensorInfo {
        guard let i = tensorIndex[name] else { throw GGUFError.tensorNotFound(file: path, tensor: name) }
        return tensors[i]
    }

    /// Whether a tensor of that name exists.
    public func hasTensor(named name: String) -> Bool { tensorIndex[name] != nil }

    /// The tensor's data inside the mapping (no copy). Valid while this `GGUFFile` is alive.
    /// `tensor` must come from this file's directory (bounds were validated at open).
    public func bytes(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + tensor.offset
        let end = start + tensor.byteCount
        precondition(start >= 0 && end <= mapping.count, "tensor '\(tensor.name)' is not from \(path)")
        return UnsafeRawBufferPointer(rebasing: mapping[start ..< end])
    }

    /// The whole mapped file (e.g. for checksums).
    public var fileBytes: UnsafeRawBufferPointer { mapping }

    private static func systemError() -> String { String(cString: strerror(errno)) }
}
