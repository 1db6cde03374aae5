#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a GGUF version 3 file: metadata in insertion order, then tensors in insertion order,
/// laid out exactly as llama.cpp's `gguf_write_to_file` and gguf-py's `GGUFWriter` do (header
/// padded to the alignment, each tensor's data padded to the alignment, zero padding bytes).
///
/// The alignment is `general.alignment` when that key is set (it must be a `uint32` power of two),
/// else 32. Reading a file and writing its metadata and tensors back yields the same bytes.
public struct GGUFWriter: Sendable {
    /// Where a tensor's bytes come from when the file is written.
    public enum TensorData: Sendable {
        /// Bytes held in memory.
        case bytes([UInt8])
        /// Called once at write time to fill a buffer of exactly the tensor's byte count
        /// (lets tools write files larger than they want to hold in memory).
        case generated(@Sendable (UnsafeMutableRawBufferPointer) -> Void)
    }

    private struct PendingTensor: Sendable {
        let name: String
        let type: GGMLType
        let shape: [Int]
        let byteCount: Int
        let data: TensorData
    }

    private var entries: [GGUFMetadata.Entry] = []
    private var keyIndex: [String: Int] = [:]
    private var tensors: [PendingTensor] = []
    private var tensorNames: Set<String> = []

    /// An empty file: no metadata, no tensors.
    public init() {}

    /// Sets `key` to `value`. A new key goes last; an existing key keeps its position.
    /// Throws ``GGUFError/invalidWriterInput(file:detail:)`` for an empty key or a
    /// `general.alignment` that is not a `uint32` power of two.
    public mutating func setValue(_ value: GGUFValue, forKey key: String) throws {
        guard !key.isEmpty else { throw GGUFError.invalidWriterInput(file: "GGUFWriter", detail: "empty metadata key") }
        if key == GGUFParser.alignmentKey {
            guard case let .uint32(a) = value, a != 0, a & (a - 1) == 0 else {
                throw GGUFError.invalidWriterInput(file: "GGUFWriter", detail: "general.alignment must be a uint32 power of two, got \(value.typeDescription) \(value)")
            }
        }
        if let i = keyIndex[key] {
            entries[i] = .init(key: key, value: value)
        } else {
            keyIndex[key] = entries.count
            entries.append(.init(key: key, value: value))
        }
    }

    /// Appends a tensor. `shape` is in ggml order (ne0 first), at most 4 extents.
    /// Throws ``GGUFError/invalidWriterInput(file:detail:)`` for a duplicate or overlong name,
    /// a bad shape, a row length that is not a whole number of blocks, or a byte count that does
    /// not match the shape.
    public mutating func addTensor(name: String, type: GGMLType, shape: [Int], data: TensorData) throws {
        func invalid(_ detail: String) -> GGUFError {
            .invalidWriterInput(file: "GGUFWriter", detail: "tensor '\(name)': \(detail)")
        }
        guard name.utf8.count < GGUFParser.maxNameLength else { throw invalid("name is 64 bytes or longer") }
        guard !tensorNames.contains(name) else { throw invalid("duplicate name") }
        guard shape.count <= GGUFParser.maxDimensions else { throw invalid("more than 4 dimensions") }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw invalid("negative extent in \(shape)") }
        var elements = 1
        for extent in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw invalid("shape \(shape) overflows") }
            elements = product
        }
        guard (shape.first ?? 1) % type.blockSize == 0, let byteCount = type.byteCount(elements: elements) else {
            throw invalid("row length \(shape.first ?? 1) is not a multiple of \(type)'s block size \(type.blockSize)")
        }
        if case let .bytes(bytes) = data, bytes.count != byteCount {
            throw invalid("\(bytes.count) bytes given, shape \(shape) of \(type) needs \(byteCount)")
        }
        tensorNames.insert(name)
        tensors.append(PendingTensor(name: name, type: type, shape: shape, byteCount: byteCount, data: data))
    }

    /// Convenience for in-memory data.
    public mutating func addTensor(name: String, type: GGMLType, shape: [Int], bytes: [UInt8]) throws {
        try addTensor(name: name, type: type, shape: shape, data: .bytes(bytes))
    }

    /// The alignment the file will use.
    public var alignment: Int {
        if let i = keyIndex[GGUFParser.alignmentKey], case let .uint32(a) = entries[i].value { return Int(a) }
        return GGUFParser.defaultAlignment
    }

    /// Writes the file to `path` (through a temporary file renamed into place, so readers never
    /// see a partial file). Throws ``GGUFError/writeFailed(file:reason:)``.
    public func write(to path: String) throws {
        let temporary = path + ".partial-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw GGUFError.writeFailed(file: path, reason: Self.systemError()) }
        var sink = FileSink(fd: fd, path: path)
        do {
            try serialize(into: &sink)
            try sink.flush()
            guard fsync(fd) == 0 else { throw GGUFError.writeFailed(file: path, reason: Self.systemError()) }
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = Self.systemError()
            unlink(temporary)
            throw GGUFError.writeFailed(file: path, reason: reason)
        }
    }

    /// The whole file as bytes (for tests and small files).
    public func serialized() throws -> [UInt8] {
        var sink = MemorySink()
        try serialize(into: &sink)
        return sink.bytes
    }

    // MARK: encoding

    private func serialize<Sink: ByteSink>(into sink: inout Sink) throws {
        let alignment = alignment
        var header = [UInt8]()
        header.append(contentsOf: GGUFParser.magic)
        append(UInt32(3), to: &header)
        append(Int64(tensors.count), to: &header)
        append(Int64(entries.count), to: &header)
        for entry in entries {
            appendString(entry.key, to: &header)
            append(entry.value.type.rawValue, to: &header)
            appendValue(entry.value, to: &header)
        }
        var offset = 0
        for tensor in tensors {
            appendString(tensor.name, to: &header)
            append(UInt32(tensor.shape.count), to: &header)
            for extent in tensor.shape { append(Int64(extent), to: &header) }
            append(tensor.type.rawValue, to: &header)
            append(UInt64(offset), to: &header)
            offset = GGUFParser.pad(offset + tensor.byteCount, alignment)
        }
        header.append(contentsOf: repeatElement(0, count: GGUFParser.pad(header.count, alignment) - header.count))
        try sink.write(header)
        for tensor in tensors {
            switch tensor.data {
            case let .bytes(bytes):
                try sink.write(bytes)
            case let .generated(fill):
                var buffer = [UInt8](repeating: 0, count: tensor.byteCount)
                buffer.withUnsafeMutableBytes { fill($0) }
                try sink.write(buffer)
            }
            let padding = GGUFParser.pad(tensor.byteCount, alignment) - tensor.byteCount
            if padding > 0 { try sink.write([UInt8](repeating: 0, count: padding)) }
        }
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private func appendString(_ string: String, to bytes: inout [UInt8]) {
        append(UInt64(string.utf8.count), to: &bytes)
        bytes.append(contentsOf: string.utf8)
    }

    private func appendValue(_ value: GGUFValue, to bytes: inout [UInt8]) {
        switch value {
        case let .uint8(v): append(v, to: &bytes)
        case let .int8(v): append(v, to: &bytes)
        case let .uint16(v): append(v, to: &bytes)
        case let .int16(v): append(v, to: &bytes)
        case let .uint32(v): append(v, to: &bytes)
        case let .int32(v): append(v, to: &bytes)
        case let .float32(v): append(v.bitPattern, to: &bytes)
        case let .bool(v): append(UInt8(v ? 1 : 0), to: &bytes)
        case let .string(v): appendString(v, to: &bytes)
        case let .uint64(v): append(v, to: &bytes)
        case let .int64(v): append(v, to: &bytes)
        case let .float64(v): append(v.bitPattern, to: &bytes)
        case let .array(array):
            append(array.elementType.rawValue, to: &bytes)
            append(UInt64(array.count), to: &bytes)
            for element in array.elements { appendValue(element, to: &bytes) }
        }
    }

    private static func systemError() -> String { String(cString: strerror(errno)) }
}

/// Destination of serialized bytes.
private protocol ByteSink {
    mutating func write(_ bytes: [UInt8]) throws
}

private struct MemorySink: ByteSink {
    var bytes: [UInt8] = []
    mutating func write(_ more: [UInt8]) { bytes.append(contentsOf: more) }
}

/// Buffers small writes; writes large ones straight through.
private struct FileSink: ByteSink {
    let fd: Int32
    let path: String
    var buffer: [UInt8] = []
    static let capacity = 1 << 20

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        buffer.reserveCapacity(Self.capacity)
    }

    mutating func write(_ bytes: [UInt8]) throws {
        if buffer.count + bytes.count > Self.capacity { try flush() }
        if bytes.count >= Self.capacity {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    mutating func flush() throws {
        try writeAll(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                guard let base = raw.baseAddress else { return }
                let n = posixWrite(fd, base + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw GGUFError.writeFailed(file: path, reason: String(cString: strerror(errno)))
                }
                done += n
            }
        }
    }
}

/// `write(2)`, named apart from the sinks' `write` methods.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
