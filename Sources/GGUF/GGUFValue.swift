/// A metadata value type code (`enum gguf_type` in gguf.h).
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6
    case bool = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Encoded size of one scalar value, or nil for strings and arrays (variable length).
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }

    /// gguf-py's spelling (`GGUFValueType` member names, lower-cased).
    public var description: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .uint32: "uint32"
        case .int32: "int32"
        case .float32: "float32"
        case .bool: "bool"
        case .string: "string"
        case .array: "array"
        case .uint64: "uint64"
        case .int64: "int64"
        case .float64: "float64"
        }
    }
}

/// One metadata value: a scalar, a string, or a homogeneous array of scalars or strings.
///
/// Strings are decoded as UTF-8; invalid sequences are replaced with U+FFFD (GGUF requires UTF-8).
public enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)
    case array(GGUFArray)

    /// The on-disk type code.
    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .float32: .float32
        case .bool: .bool
        case .string: .string
        case .uint64: .uint64
        case .int64: .int64
        case .float64: .float64
        case .array: .array
        }
    }

    /// A short type name for messages, e.g. `uint32` or `array[string, 151643]`.
    public var typeDescription: String {
        if case let .array(array) = self {
            return "array[\(array.elementType), \(array.count)]"
        }
        return type.description
    }

    /// The value as `T` when it is an integer that `T` represents exactly, else nil.
    public func exactly<T: FixedWidthInteger>(_: T.Type) -> T? {
        switch self {
        case let .uint8(v): T(exactly: v)
        case let .int8(v): T(exactly: v)
        case let .uint16(v): T(exactly: v)
        case let .int16(v): T(exactly: v)
        case let .uint32(v): T(exactly: v)
        case let .int32(v): T(exactly: v)
        case let .uint64(v): T(exactly: v)
        case let .int64(v): T(exactly: v)
        default: nil
        }
    }

    /// Whether this is an integer of any width or signedness.
    public var isInteger: Bool {
        switch self {
        case .uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case let .uint8(v): "\(v)"
        case let .int8(v): "\(v)"
        case let .uint16(v): "\(v)"
        case let .int16(v): "\(v)"
        case let .uint32(v): "\(v)"
        case let .int32(v): "\(v)"
        case let .float32(v): "\(v)"
        case let .bool(v): "\(v)"
        case let .string(v): "\"\(v)\""
        case let .uint64(v): "\(v)"
        case let .int64(v): "\(v)"
        case let .float64(v): "\(v)"
        case let .array(a): a.description
        }
    }
}

/// A homogeneous metadata array. GGUF forbids arrays of arrays.
public enum GGUFArray: Sendable, Equatable, CustomStringConvertible {
    case uint8([UInt8])
    case int8([Int8])
    case uint16([UInt16])
    case int16([Int16])
    case uint32([UInt32])
    case int32([Int32])
    case float32([Float])
    case bool([Bool])
    case string([String])
    case uint64([UInt64])
    case int64([Int64])
    case float64([Double])

    /// The element type code.
    public var elementType: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .float32: .float32
        case .bool: .bool
        case .string: .string
        case .uint64: .uint64
        case .int64: .int64
        case .float64: .float64
        }
    }

    /// Number of elements.
    public var count: Int {
        switch self {
        case let .uint8(a): a.count
        case let .int8(a): a.count
        case let .uint16(a): a.count
        case let .int16(a): a.count
        case let .uint32(a): a.count
        case let .int32(a): a.count
        case let .float32(a): a.count
        case let .bool(a): a.count
        case let .string(a): a.count
        case let .uint64(a): a.count
        case let .int64(a): a.count
        case let .float64(a): a.count
        }
    }

    /// The elements as scalar values (convenient, not fast).
    public var elements: [GGUFValue] {
        switch self {
        case let .uint8(a): a.map(GGUFValue.uint8)
        case let .int8(a): a.map(GGUFValue.int8)
        case let .uint16(a): a.map(GGUFValue.uint16)
        case let .int16(a): a.map(GGUFValue.int16)
        case let .uint32(a): a.map(GGUFValue.uint32)
        case let .int32(a): a.map(GGUFValue.int32)
        case let .float32(a): a.map(GGUFValue.float32)
        case let .bool(a): a.map(GGUFValue.bool)
        case let .string(a): a.map(GGUFValue.string)
        case let .uint64(a): a.map(GGUFValue.uint64)
        case let .int64(a): a.map(GGUFValue.int64)
        case let .float64(a): a.map(GGUFValue.float64)
        }
    }

    public var description: String {
        "[" + elements.map(\.description).joined(separator: ", ") + "]"
    }
}
