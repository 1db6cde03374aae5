/// The parsed, validated header of a GGUF file: everything before the tensor data.
struct GGUFHeader: Sendable {
    let version: UInt32
    let alignment: Int
    let metadata: GGUFMetadata
    let tensors: [GGUFTensorInfo]
    let dataOffset: Int
}

/// Parses and validates a GGUF header from the bytes of a whole file, as llama.cpp's
/// `gguf_init_from_file_impl` and `llama_model_loader` do (minicpmv-spec.md §4.1).
///
/// Reads only the header; tensor data is never touched, only its bounds are checked against
/// `bytes.count`. Every malformation is a ``GGUFError``; nothing here traps on bad input.
enum GGUFParser {
    static let magic: [UInt8] = Array("GGUF".utf8)
    static let defaultAlignment = 32
    static let maxNameLength = 64  // GGML_MAX_NAME, including the NUL
    static let maxDimensions = 4   // GGML_MAX_DIMS
    static let alignmentKey = "general.alignment"

    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> GGUFHeader {
        var reader = GGUFByteReader(bytes: bytes, file: file)

        // Magic and version.
        try reader.require(4, "magic")
        let found = Array(bytes[0 ..< 4])
        guard found == magic else { throw GGUFError.badMagic(file: file, found: found) }
        _ = try reader.read(UInt32.self, "magic")
        let version = try reader.read(UInt32.self, "version")
        if version == 0 {
            throw GGUFError.unsupportedVersion(file: file, version: version, reason: "version 0 does not exist")
        }
        if version & 0xFFFF == 0 { throw GGUFError.byteSwapped(file: file, version: version) }
        if version == 1 {
            throw GGUFError.unsupportedVersion(file: file, version: version,
                                               reason: "GGUF v1 is no longer supported; convert the model again")
        }
        if version > 3 {
            throw GGUFError.unsupportedVersion(file: file, version: version, reason: "this reader supports versions 2 and 3")
        }

        // Counts, bounded by what the rest of the file could hold before anything is allocated.
        let tensorCountOffset = reader.position
        let tensorCount = try reader.read(Int64.self, "tensor count")
        let kvCountOffset = reader.position
        let kvCount = try reader.read(Int64.self, "metadata count")
        // Smallest encodings: a KV is key length (8) + 1 key byte + type (4) + 1 value byte;
        // a tensor info is name length (8) + n_dims (4) + type (4) + offset (8).
        guard kvCount >= 0, kvCount <= Int64(reader.remaining / 14) else {
            throw GGUFError.implausibleCount(file: file, what: "metadata count", count: kvCount, offset: kvCountOffset)
        }
        guard tensorCount >= 0, tensorCount <= Int64(reader.remaining / 24) else {
            throw GGUFError.implausibleCount(file: file, what: "tensor count", count: tensorCount, offset: tensorCountOffset)
        }

        let metadata = try parseMetadata(&reader, count: Int(kvCount))
        let alignment = try alignment(of: metadata, file: file)
        let infos = try parseTensorInfos(&reader, count: Int(tensorCount))

        // The data section starts at the next multiple of the alignment (unpadded without tensors).
        var dataOffset = reader.position
        if tensorCount > 0 {
            dataOffset = pad(reader.position, alignment)
            guard dataOffset <= bytes.count else {
                throw GGUFError.truncated(file: file, what: "padding before the data section", offset: reader.position,
                                          needed: dataOffset - reader.position, available: reader.remaining)
            }
        }

        // Offsets rule: each tensor sits at the running sum of the previous sizes, each padded.
        var expected = 0
        var tensors = [GGUFTensorInfo]()
        tensors.reserveCapacity(infos.count)
        for info in infos {
            guard info.offset == UInt64(expected) else {
                throw GGUFError.misplacedTensor(file: file, tensor: info.name, offset: info.offset, expected: expected)
            }
            let start = dataOffset.addingReportingOverflow(expected)
            let end = start.partialValue.addingReportingOverflow(info.byteCount)
            guard !start.overflow, !end.overflow, end.partialValue <= bytes.count else {
                throw GGUFError.tensorDataOutOfBounds(file: file, tensor: info.name, start: start.partialValue,
                                                      byteCount: info.byteCount, fileSize: bytes.count)
            }
            tensors.append(GGUFTensorInfo(name: info.name, type: info.type, shape: info.shape,
                                          elementCount: info.elementCount, offset: expected, byteCount: info.byteCount))
            // Cannot overflow: end (≥ expected + byteCount) fits, and the padding is < alignment ≤ 2^32
            // while end ≤ bytes.count.
            expected = pad(expected + info.byteCount, alignment)
        }
        return GGUFHeader(version: version, alignment: alignment, metadata: metadata, tensors: tensors,
                          dataOffset: dataOffset)
    }

    static func pad(_ value: Int, _ alignment: Int) -> Int {
        (value + alignment - 1) / alignment * alignment
    }

    private static func alignment(of metadata: GGUFMetadata, file: String) throws -> Int {
        guard let value = metadata[alignmentKey] else { return defaultAlignment }
        guard case let .uint32(alignment) = value else {
            throw GGUFError.invalidAlignment(file: file, detail: "type is \(value.typeDescription), must be uint32")
        }
        guard alignment != 0, alignment & (alignment - 1) == 0 else {
            throw GGUFError.invalidAlignment(file: file, detail: "\(alignment) is not a power of two")
        }
        return Int(alignment)
    }

    // MARK: metadata

    private static func parseMetadata(_ reader: inout GGUFByteReader, count: Int) throws -> GGUFMetadata {
        let file = reader.file
        var entries = [GGUFMetadata.Entry]()
        var index = [String: Int]()
        entries.reserveCapacity(count)
        for i in 0 ..< count {
            let keyOffset = reader.position
            let key = try reader.readString("key of metadata pair \(i)")
            guard !key.isEmpty else { throw GGUFError.emptyKey(file: file, index: i, offset: keyOffset) }
            guard index[key] == nil else { throw GGUFError.duplicateKey(file: file, key: key) }
            let code = try reader.read(Int32.self, "value type of '\(key)'")
            guard let type = GGUFValueType(rawValue: UInt32(bitPattern: code)) else {
                throw GGUFError.invalidValueType(file: file, key: key, code: code)
            }
            let value: GGUFValue
            if type == .array {
                value = .array(try parseArray(&reader, key: key))
            } else {
                value = try parseScalar(&reader, type: type, what: "value of '\(key)'")
            }
            index[key] = entries.count
            entries.append(.init(key: key, value: value))
        }
        return GGUFMetadata(file: file, entries: entries, index: index)
    }

    private static func parseScalar(_ reader: inout GGUFByteReader, type: GGUFValueType,
                                    what: @autoclosure () -> String) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, what()))
        case .int8: return .int8(try reader.read(Int8.self, what()))
        case .uint16: return .uint16(try reader.read(UInt16.self, what()))
        case .int16: return .int16(try reader.read(Int16.self, what()))
        case .uint32: return .uint32(try reader.read(UInt32.self, what()))
        case .int32: return .int32(try reader.read(Int32.self, what()))
        case .float32: return .float32(Float(bitPattern: try reader.read(UInt32.self, what())))
        case .bool: return .bool(try reader.read(UInt8.self, what()) != 0)
        case .string: return .string(try reader.readString(what()))
        case .uint64: return .uint64(try reader.read(UInt64.self, what()))
        case .int64: return .int64(try reader.read(Int64.self, what()))
        case .float64: return .float64(Double(bitPattern: try reader.read(UInt64.self, what())))
        case .array:
            // Unreachable by construction (callers dispatch arrays separately); reported, not trapped.
            throw GGUFError.invalidValueType(file: reader.file, key: what(), code: Int32(GGUFValueType.array.rawValue))
        }
    }

    private static func parseArray(_ reader: inout GGUFByteReader, key: String) throws -> GGUFArray {
        let file = reader.file
        let code = try reader.read(Int32.self, "array element type of '\(key)'")
        guard let type = GGUFValueType(rawValue: UInt32(bitPattern: code)), type != .array else {
            throw GGUFError.invalidValueType(file: file, key: key, code: code)
        }
        let countOffset = reader.position
        let rawCount = try reader.read(UInt64.self, "array length of '\(key)'")
        let minimumSize = type.fixedSize ?? 8  // a string is at least its 8-byte length
        guard rawCount <= UInt64(reader.remaining / minimumSize) else {
            throw GGUFError.implausibleCount(file: file, what: "length of array '\(key)'",
                                             count: Int64(truncatingIfNeeded: rawCount), offset: countOffset)
        }
        let count = Int(rawCount)
        func many<T>(_ read: (inout GGUFByteReader) throws -> T) throws -> [T] {
            try reader.readArray(count, "elements of '\(key)'", read)
        }
        let what = "elements of '\(key)'"
        switch type {
        case .uint8: return .uint8(try many { try $0.read(UInt8.self, what) })
        case .int8: return .int8(try many { try $0.read(Int8.self, what) })
        case .uint16: return .uint16(try many { try $0.read(UInt16.self, what) })
        case .int16: return .int16(try many { try $0.read(Int16.self, what) })
        case .uint32: return .uint32(try many { try $0.read(UInt32.self, what) })
        case .int32: return .int32(try many { try $0.read(Int32.self, what) })
        case .float32: return .float32(try many { Float(bitPattern: try $0.read(UInt32.self, what)) })
        case .bool: return .bool(try many { try $0.read(UInt8.self, what) != 0 })
        case .string: return .string(try many { try $0.readString(what) })
        case .uint64: return .uint64(try many { try $0.read(UInt64.self, what) })
        case .int64: return .int64(try many { try $0.read(Int64.self, what) })
        case .float64: return .float64(try many { Double(bitPattern: try $0.read(UInt64.self, what)) })
        case .array: throw GGUFError.invalidValueType(file: file, key: key, code: code)
        }
    }

    // MARK: tensor directory

    private struct RawTensorInfo {
        let name: String
        let type: GGMLType
        let shape: [Int]
        let elementCount: Int
        let byteCount: Int
        let offset: UInt64
    }

    private static func parseTensorInfos(_ reader: inout GGUFByteReader, count: Int) throws -> [RawTensorInfo] {
        let file = reader.file
        var infos = [RawTensorInfo]()
        infos.reserveCapacity(count)
        var seen = Set<String>()
        for i in 0 ..< count {
            let nameLength = reader.peekStringLength()
            let name = try reader.readString("name of tensor \(i)")
            if let nameLength, nameLength >= UInt64(maxNameLength) {
                throw GGUFError.tensorNameTooLong(file: file, tensor: name, length: Int(nameLength))
            }
            guard seen.insert(name).inserted else { throw GGUFError.duplicateTensor(file: file, tensor: name) }

            let nDims = try reader.read(UInt32.self, "dimension count of tensor '\(name)'")
            guard nDims <= UInt32(maxDimensions) else {
                throw GGUFError.tooManyDimensions(file: file, tensor: name, nDims: nDims)
            }
            var extents = [Int64]()
            for d in 0 ..< Int(nDims) {
                let extent = try reader.read(Int64.self, "extent \(d) of tensor '\(name)'")
                guard extent >= 0 else {
                    throw GGUFError.negativeDimension(file: file, tensor: name, dimension: d, extent: extent)
                }
                extents.append(extent)
            }
            var elementCount: Int64 = 1
            for extent in extents {
                let (product, overflow) = elementCount.multipliedReportingOverflow(by: extent)
                guard !overflow else { throw GGUFError.shapeOverflow(file: file, tensor: name, shape: extents) }
                elementCount = product
            }

            let code = try reader.read(Int32.self, "type of tensor '\(name)'")
            guard code >= 0, let type = GGMLType(rawValue: UInt32(code)) else {
                throw GGUFError.unknownTensorType(file: file, tensor: name, code: code)
            }
            let rowLength = Int(extents.first ?? 1)
            guard rowLength % type.blockSize == 0 else {
                throw GGUFError.rowNotBlockAligned(file: file, tensor: name, type: type, rowLength: rowLength)
            }
            guard let byteCount = type.byteCount(elements: Int(elementCount)),
                  byteCount <= Int.max - (1 << 32) else {  // leaves room to pad by any uint32 alignment
                throw GGUFError.shapeOverflow(file: file, tensor: name, shape: extents)
            }
            let offset = try reader.read(UInt64.self, "data offset of tensor '\(name)'")
            infos.append(RawTensorInfo(name: name, type: type, shape: extents.map { Int($0) },
                                       elementCount: Int(elementCount), byteCount: byteCount, offset: offset))
        }
        return infos
    }
}
