import CSQLite
import Foundation

/// SQLite's `SQLITE_TRANSIENT`: tells `sqlite3_bind_*` to copy the bytes before returning.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A prepared statement owned by one `SQLiteConnection`; reset and reused through its cache.
/// Not thread-safe: used only under the connection owner's serialization.
public final class SQLiteStatement {
    let handle: OpaquePointer
    /// The statement's SQL text, carried into errors.
    public let sql: String
    unowned let connection: SQLiteConnection

    init(connection: SQLiteConnection, sql: String) throws(JobQueueError) {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v2(connection.handle, sql, -1, &statement, nil)
        guard code == SQLITE_OK, let statement else {
            throw connection.error(code: code, sql: sql)
        }
        self.handle = statement
        self.sql = sql
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds `values` to parameters 1...n (after clearing earlier bindings).
    /// Throws `JobQueueError` (`.invalidArgument` when the count is wrong).
    public func bind(_ values: [any SQLiteBindable]) throws(JobQueueError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard expected == values.count else {
            throw JobQueueError(.invalidArgument, "statement expects \(expected) parameters, got \(values.count)",
                                path: connection.path, sql: sql)
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value.sqliteValue {
            case .integer(let v): code = sqlite3_bind_int64(handle, index, v)
            case .real(let v): code = sqlite3_bind_double(handle, index, v)
            case .text(let v): code = sqlite3_bind_text(handle, index, v, -1, sqliteTransient)
            case .blob(let v):
                code = v.withUnsafeBytes { raw in
                    sqlite3_bind_blob64(handle, index, raw.baseAddress, sqlite3_uint64(raw.count), sqliteTransient)
                }
            case .null: code = sqlite3_bind_null(handle, index)
            }
            guard code == SQLITE_OK else { throw connection.error(code: code, sql: sql) }
        }
    }

    /// Advances one row: true when a row is available, false when done. Throws on any error.
    public func step() throws(JobQueueError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            sqlite3_reset(handle)
            throw connection.error(code: code, sql: sql)
        }
    }

    /// Releases read locks and clears bindings so the statement can sit in the cache.
    func finish() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// The current row's column `index` as a typed value.
    public func value(_ index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, index))
        case SQLITE_TEXT: return .text(text(index) ?? "")
        case SQLITE_BLOB: return .blob(blob(index) ?? Data())
        default: return .null
        }
    }

    public func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }
    public func double(_ index: Int32) -> Double { sqlite3_column_double(handle, index) }
    public func isNull(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }
    public func text(_ index: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, index) else { return nil }
        return String(cString: pointer)
    }
    public func blob(_ index: Int32) -> Data? {
        guard let pointer = sqlite3_column_blob(handle, index) else { return nil }
        return Data(bytes: pointer, count: Int(sqlite3_column_bytes(handle, index)))
    }
}

/// Number of result columns of `statement`.
func sqlite3ColumnCount(_ statement: SQLiteStatement) -> Int32 { sqlite3_column_count(statement.handle) }
