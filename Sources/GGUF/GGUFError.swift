/// Everything that can go wrong reading, validating, writing or dequantizing a GGUF file.
///
/// Every case names the file (as given by the caller) and, where it applies, the key, tensor and
/// byte offset involved, so the message alone tells a user what is wrong and where.
public enum GGUFError: Error, Sendable, Equatable, CustomStringConvertible {
    // MARK: opening
    /// `open`/`fstat`/`mmap` failed; `reason` is the system's message.
    case cannotOpen(file: String, reason: String)
    /// The path exists but is not a regular file (e.g. a directory).
    case notARegularFile(file: String)

    // MARK: container structure
    /// The file ended before `needed` bytes of `what` could be read at `offset`.
    case truncated(file: String, what: String, offset: Int, needed: Int, available: Int)
    /// The first four bytes are not `GGUF`.
    case badMagic(file: String, found: [UInt8])
    /// A version this reader does not read (0, 1 or above 3).
    case unsupportedVersion(file: String, version: UInt32, reason: String)
    /// The version's low 16 bits are zero: the file was most likely written with the other byte order.
    case byteSwapped(file: String, version: UInt32)
    /// A tensor or key-value count that is negative or cannot fit in the rest of the file.
    case implausibleCount(file: String, what: String, count: Int64, offset: Int)
    /// A string length larger than the rest of the file (or than 1 GiB, llama.cpp's limit).
    case stringTooLong(file: String, what: String, length: UInt64, offset: Int)
    /// A metadata key of length zero (llama.cpp rejects these).
    case emptyKey(file: String, index: Int, offset: Int)
    /// The same metadata key appears twice.
    case duplicateKey(file: String, key: String)
    /// A metadata value type code outside `enum gguf_type`, or an array of arrays.
    case invalidValueType(file: String, key: String, code: Int32)

    // MARK: tensor directory
    /// The same tensor name appears twice.
    case duplicateTensor(file: String, tensor: String)
    /// A tensor name of 64 bytes or more (`GGML_MAX_NAME`).
    case tensorNameTooLong(file: String, tensor: String, length: Int)
    /// More than 4 dimensions (`GGML_MAX_DIMS`).
    case tooManyDimensions(file: String, tensor: String, nDims: UInt32)
    /// A negative extent.
    case negativeDimension(file: String, tensor: String, dimension: Int, extent: Int64)
    /// The element count or byte count does not fit in 64 bits.
    case shapeOverflow(file: String, tensor: String, shape: [Int64])
    /// A ggml type code this reader does not know (or one ggml removed from the format).
    case unknownTensorType(file: String, tensor: String, code: Int32)
    /// `ne[0]` is not a multiple of the type's block size.
    case rowNotBlockAligned(file: String, tensor: String, type: GGMLType, rowLength: Int)
    /// `general.alignment` is not a `uint32` power of two.
    case invalidAlignment(file: String, detail: String)
    /// A tensor's offset differs from the running padded sum of the previous tensors' sizes.
    case misplacedTensor(file: String, tensor: String, offset: UInt64, expected: Int)
    /// A tensor's data does not lie within the file.
    case tensorDataOutOfBounds(file: String, tensor: String, start: Int, byteCount: Int, fileSize: Int)

    // MARK: lookups
    /// No tensor of that name.
    case tensorNotFound(file: String, tensor: String)
    /// No metadata key of that name.
    case missingKey(file: String, key: String)
    /// The key exists but holds another type.
    case typeMismatch(file: String, key: String, expected: String, found: String)
    /// The key holds an integer that does not fit the requested type.
    case valueOutOfRange(file: String, key: String, value: String, expected: String)

    // MARK: writing and dequantizing
    /// The writer was given something the format cannot hold.
    case invalidWriterInput(file: String, detail: String)
    /// Writing the file failed; `reason` is the system's message.
    case writeFailed(file: String, reason: String)
    /// No Float32 dequantization exists for this type.
    case unsupportedDequantization(tensor: String, type: GGMLType)
    /// The buffer given to the dequantizer does not hold `elements` values of the type.
    case dequantizationSizeMismatch(tensor: String, type: GGMLType, elements: Int, bytes: Int)

    public var description: String {
        switch self {
        case let .cannotOpen(file, reason):
            "\(file): cannot open: \(reason)"
        case let .notARegularFile(file):
            "\(file): not a regular file"
        case let .truncated(file, what, offset, needed, available):
            "\(file): truncated: \(what) needs \(needed) bytes at offset \(offset) but only \(available) remain"
        case let .badMagic(file, found):
            "\(file): not a GGUF file (magic bytes \(found.map { String($0, radix: 16) }) instead of 'GGUF')"
        case let .unsupportedVersion(file, version, reason):
            "\(file): GGUF version \(version) is not supported: \(reason)"
        case let .byteSwapped(file, version):
            "\(file): GGUF version \(version) is implausible; the file was probably written with the opposite byte order"
        case let .implausibleCount(file, what, count, offset):
            "\(file): \(what) is \(count) (at offset \(offset)), which cannot fit in the file"
        case let .stringTooLong(file, what, length, offset):
            "\(file): \(what) claims \(length) bytes at offset \(offset), more than the file holds"
        case let .emptyKey(file, index, offset):
            "\(file): metadata key \(index) at offset \(offset) is empty"
        case let .duplicateKey(file, key):
            "\(file): duplicate metadata key '\(key)'"
        case let .invalidValueType(file, key, code):
            "\(file): metadata key '\(key)' has invalid value type \(code)\(code == 9 ? " (arrays of arrays are not allowed)" : "")"
        case let .duplicateTensor(file, tensor):
            "\(file): duplicate tensor name '\(tensor)'"
        case let .tensorNameTooLong(file, tensor, length):
            "\(file): tensor name '\(tensor.prefix(80))' is \(length) bytes; the limit is 63"
        case let .tooManyDimensions(file, tensor, nDims):
            "\(file): tensor '\(tensor)' has \(nDims) dimensions; at most 4 are allowed"
        case let .negativeDimension(file, tensor, dimension, extent):
            "\(file): tensor '\(tensor)' dimension \(dimension) has negative extent \(extent)"
        case let .shapeOverflow(file, tensor, shape):
            "\(file): tensor '\(tensor)' shape \(shape) overflows 64-bit element or byte counts"
        case let .unknownTensorType(file, tensor, code):
            "\(file): tensor '\(tensor)' has unknown ggml type code \(code)"
        case let .rowNotBlockAligned(file, tensor, type, rowLength):
            "\(file): tensor '\(tensor)' of type \(type) has \(rowLength) elements per row, not a multiple of the block size \(type.blockSize)"
        case let .invalidAlignment(file, detail):
            "\(file): invalid general.alignment: \(detail)"
        case let .misplacedTensor(file, tensor, offset, expected):
            "\(file): tensor '\(tensor)' has data offset \(offset), expected \(expected) (tensors must be stored in order, each aligned)"
        case let .tensorDataOutOfBounds(file, tensor, start, byteCount, fileSize):
            "\(file): tensor '\(tensor)' data (\(byteCount) bytes at offset \(start)) extends past the end of the file (\(fileSize) bytes); the file is corrupt or incomplete"
        case let .tensorNotFound(file, tensor):
            "\(file): no tensor named '\(tensor)'"
        case let .missingKey(file, key):
            "\(file): metadata key '\(key)' is missing"
        case let .typeMismatch(file, key, expected, found):
            "\(file): metadata key '\(key)' is \(found), expected \(expected)"
        case let .valueOutOfRange(file, key, value, expected):
            "\(file): metadata key '\(key)' has value \(value), which does not fit \(expected)"
        case let .invalidWriterInput(file, detail):
            "\(file): cannot write GGUF: \(detail)"
        case let .writeFailed(file, reason):
            "\(file): write failed: \(reason)"
        case let .unsupportedDequantization(tensor, type):
            "tensor '\(tensor)': dequantization of type \(type) is not implemented"
        case let .dequantizationSizeMismatch(tensor, type, elements, bytes):
            "tensor '\(tensor)': \(bytes) bytes do not hold \(elements) elements of type \(type)"
        }
    }
}
