/// A value bound to or read from an SQL statement; the common ground of SQLite and PostgreSQL
/// (booleans are stored as integers 0/1, times as Unix milliseconds).
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    /// Arrays (PostgreSQL only, e.g. for `unnest`): one bind carries a column of many rows, so
    /// a batch statement keeps the same short text whatever its size.
    case textArray([String])
    case integerArray([Int64])
    case blobArray([[UInt8]])
}

/// One result row: values by column position, in the order of the SELECT list.
public struct SQLRow: Sendable {
    public var values: [SQLValue]
    /// The SQL that produced the row, for error messages.
    let sql: String

    public init(values: [SQLValue], sql: String) {
        self.values = values
        self.sql = sql
    }

    /// The integer in column `index`; throws when it is missing or not an integer.
    public func int(_ index: Int) throws -> Int64 {
        guard index < values.count else { throw columnError(index, "missing") }
        switch values[index] {
        case .integer(let v): return v
        case .null: return 0
        default: throw columnError(index, "is not an integer")
        }
    }

    /// The text in column `index` (NULL reads as ""); throws when it is not text.
    public func text(_ index: Int) throws -> String {
        guard index < values.count else { throw columnError(index, "missing") }
        switch values[index] {
        case .text(let v): return v
        case .null: return ""
        default: throw columnError(index, "is not text")
        }
    }

    /// The bytes in column `index` (NULL reads as empty); throws when it is not a blob.
    public func blob(_ index: Int) throws -> [UInt8] {
        guard index < values.count else { throw columnError(index, "missing") }
        switch values[index] {
        case .blob(let v): return v
        case .null: return []
        default: throw columnError(index, "is not a blob")
        }
    }

    private func columnError(_ index: Int, _ what: String) -> CoordinatorError {
        CoordinatorError(.database, "column \(index) \(what)", context: sql)
    }
}
