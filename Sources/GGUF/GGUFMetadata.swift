/// The key-value metadata of a GGUF file, in file order, with typed accessors.
///
/// Accessors throw ``GGUFError/missingKey(file:key:)`` when the key is absent,
/// ``GGUFError/typeMismatch(file:key:expected:found:)`` when it holds another type, and
/// ``GGUFError/valueOutOfRange(file:key:value:expected:)`` when an integer does not fit.
///
/// Integer accessors accept any stored integer type whose value the requested type represents
/// exactly (e.g. a `uint32` key written as `int32` by another converter). llama.cpp's own getters
/// are strict about the stored type; this is a deliberate, lossless relaxation. Floating-point,
/// bool and string accessors are strict.
public struct GGUFMetadata: Sendable, Equatable {
    /// One key-value pair.
    public struct Entry: Sendable, Equatable {
        public let key: String
        public let value: GGUFValue
    }

    /// The file these values came from (used in error messages).
    public let file: String
    /// All pairs in file order.
    public let entries: [Entry]
    private let index: [String: Int]

    /// Builds metadata from pairs; the caller guarantees keys are unique.
    init(file: String, entries: [Entry], index: [String: Int]) {
        self.file = file
        self.entries = entries
        self.index = index
    }

    /// Number of pairs.
    public var count: Int { entries.count }
    /// Keys in file order.
    public var keys: [String] { entries.map(\.key) }
    /// Whether the key is present.
    public func contains(_ key: String) -> Bool { index[key] != nil }
    /// The value for `key`, or nil.
    public subscript(key: String) -> GGUFValue? {
        index[key].map { entries[$0].value }
    }

    /// The value for `key`; throws ``GGUFError/missingKey(file:key:)`` when absent.
    public func value(_ key: String) throws -> GGUFValue {
        guard let value = self[key] else { throw GGUFError.missingKey(file: file, key: key) }
        return value
    }

    // MARK: integers

    /// An integer key as `T` (see the type's note on widening).
    public func integer<T: FixedWidthInteger>(_ key: String, as type: T.Type = T.self) throws -> T {
        let value = try value(key)
        guard value.isInteger else {
            throw GGUFError.typeMismatch(file: file, key: key, expected: "an integer", found: value.typeDescription)
        }
        guard let result = value.exactly(T.self) else {
            throw GGUFError.valueOutOfRange(file: file, key: key, value: value.description, expected: "\(T.self)")
        }
        return result
    }

    /// An integer key as `T`, or `defaultValue` when the key is absent (wrong types still throw).
    public func integer<T: FixedWidthInteger>(_ key: String, default defaultValue: T) throws -> T {
        contains(key) ? try integer(key, as: T.self) : defaultValue
    }

    /// A `uint32` key (or any integer type holding a value that fits).
    public func uint32(_ key: String) throws -> UInt32 { try integer(key) }
    /// A `uint32` key, or `defaultValue` when absent.
    public func uint32(_ key: String, default defaultValue: UInt32) throws -> UInt32 {
        try integer(key, default: defaultValue)
    }
    /// An `int32` key (or any integer type holding a value that fits).
    public func int32(_ key: String) throws -> Int32 { try integer(key) }
    /// An `int32` key, or `defaultValue` when absent.
    public func int32(_ key: String, default defaultValue: Int32) throws -> Int32 {
        try integer(key, default: defaultValue)
    }
    /// A `uint64` key (or any integer type holding a value that fits).
    public func uint64(_ key: String) throws -> UInt64 { try integer(key) }
    /// A `uint64` key, or `defaultValue` when absent.
    public func uint64(_ key: String, default defaultValue: UInt64) throws -> UInt64 {
        try integer(key, default: defaultValue)
    }

    // MARK: other scalars

    /// A `float32` key.
    public func float32(_ key: String) throws -> Float {
        let value = try value(key)
        guard case let .float32(result) = value else { throw mismatch(key, "float32", value) }
        return result
    }
    /// A `float32` key, or `defaultValue` when absent.
    public func float32(_ key: String, default defaultValue: Float) throws -> Float {
        contains(key) ? try float32(key) : defaultValue
    }
    /// A `bool` key.
    public func bool(_ key: String) throws -> Bool {
        let value = try value(key)
        guard case let .bool(result) = value else { throw mismatch(key, "bool", value) }
        return result
    }
    /// A `bool` key, or `defaultValue` when absent.
    public func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        contains(key) ? try bool(key) : defaultValue
    }
    /// A `string` key.
    public func string(_ key: String) throws -> String {
        let value = try value(key)
        guard case let .string(result) = value else { throw mismatch(key, "string", value) }
        return result
    }
    /// A `string` key, or nil when absent.
    public func optionalString(_ key: String) throws -> String? {
        contains(key) ? try string(key) : nil
    }

    // MARK: arrays

    /// An array key, any element type.
    public func array(_ key: String) throws -> GGUFArray {
        let value = try value(key)
        guard case let .array(result) = value else { throw mismatch(key, "an array", value) }
        return result
    }
    /// An array of strings.
    public func stringArray(_ key: String) throws -> [String] {
        guard case let .string(result) = try array(key) else { throw mismatch(key, "array[string]", try value(key)) }
        return result
    }
    /// An array of `float32`.
    public func float32Array(_ key: String) throws -> [Float] {
        guard case let .float32(result) = try array(key) else { throw mismatch(key, "array[float32]", try value(key)) }
        return result
    }
    /// An array of integers as `Int32` (any integer element type whose values all fit).
    public func int32Array(_ key: String) throws -> [Int32] { try integerArray(key) }
    /// An array of integers as `UInt32` (any integer element type whose values all fit).
    public func uint32Array(_ key: String) throws -> [UInt32] { try integerArray(key) }

    /// An array of integers converted exactly to `T`.
    public func integerArray<T: FixedWidthInteger>(_ key: String, as type: T.Type = T.self) throws -> [T] {
        let array = try array(key)
        func convert<S: FixedWidthInteger>(_ values: [S]) throws -> [T] {
            var result = [T]()
            result.reserveCapacity(values.count)
            for (i, v) in values.enumerated() {
                guard let t = T(exactly: v) else {
                    throw GGUFError.valueOutOfRange(file: file, key: "\(key)[\(i)]", value: "\(v)", expected: "\(T.self)")
                }
                result.append(t)
            }
            return result
        }
        switch array {
        case let .uint8(a): return try convert(a)
        case let .int8(a): return try convert(a)
        case let .uint16(a): return try convert(a)
        case let .int16(a): return try convert(a)
        case let .uint32(a): return try convert(a)
        case let .int32(a): return try convert(a)
        case let .uint64(a): return try convert(a)
        case let .int64(a): return try convert(a)
        case .float32, .float64, .bool, .string:
            throw mismatch(key, "an array of integers", .array(array))
        }
    }

    private func mismatch(_ key: String, _ expected: String, _ value: GGUFValue) -> GGUFError {
        .typeMismatch(file: file, key: key, expected: expected, found: value.typeDescription)
    }
}
