import CSQLite
import Dispatch
import Foundation

/// SQLite behind the `SQLDatabase` protocol: one connection (WAL, foreign keys on), statements
/// prepared once and cached, blocking calls on a private serial queue (off the cooperative
/// pool), an async mutex so a transaction's statements never interleave with others.
/// One coordinator process per database file.
public final class SQLiteDatabase: SQLDatabase, @unchecked Sendable {
    public let dialect = SQLDialect.sqlite
    public let path: String
    // Touched only on `queue`.
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    private let queue = DispatchQueue(label: "edgevlm.coordinator.sqlite")
    private let mutex = AsyncMutex()

    /// Opens (creating if needed) the database at `path` (":memory:" for a private in-memory one).
    /// Throws `CoordinatorError(.database)` when the file cannot be opened.
    public init(path: String) throws {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw CoordinatorError(.database, "cannot open SQLite database: \(message)", context: path)
        }
        handle = db
        // Another process (a second replica, an operator tool) may hold the write lock; on a
        // loaded 2-core box a rollout transaction took over 5 s, so wait up to 30 s.
        sqlite3_busy_timeout(db, 30_000)
        // synchronous=FULL: a device deletes its results once they are acknowledged, and the
        // acknowledgement follows the commit; with NORMAL a power loss may roll back the last
        // committed (already acknowledged) transactions of the WAL.
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"] {
            _ = try runLocked(pragma, [])
        }
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close(handle)
    }

    public func execute(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await mutex.withLock { try await self.onQueue(sql, binds) }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLConnection) async throws -> T) async throws -> T {
        try await mutex.withLock {
            // IMMEDIATE takes the write lock up front, so reads in the body see no concurrent writer.
            _ = try await self.onQueue("BEGIN IMMEDIATE", [])
            do {
                let value = try await body(Transaction(database: self))
                _ = try await self.onQueue("COMMIT", [])
                return value
            } catch {
                _ = try? await self.onQueue("ROLLBACK", [])
                throw error
            }
        }
    }

    public func close() async {
        _ = try? await mutex.withLock {
            self.queue.sync {
                for statement in self.statements.values { sqlite3_finalize(statement) }
                self.statements = [:]
                sqlite3_close(self.handle)
                self.handle = nil
            }
        }
    }

    /// A connection view used inside `transaction` (the mutex is already held).
    private struct Transaction: SQLConnection {
        let database: SQLiteDatabase
        func execute(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
            try await database.onQueue(sql, binds)
        }
    }

    private func onQueue(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.runLocked(sql, binds) })
            }
        }
    }

    /// Runs one statement; call only on `queue` (or from `init`).
    private func runLocked(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        guard let db = handle else { throw CoordinatorError(.database, "database is closed", context: path) }
        let statement = try prepared(sql, db)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (offset, value) in binds.enumerated() {
            let index = sqlite3_bind_parameter_index(statement, "$\(offset + 1)")
            guard index > 0 else { continue }
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, index)
            case .integer(let v): rc = sqlite3_bind_int64(statement, index, v)
            case .text(let v): rc = sqlite3_bind_text(statement, index, v, -1, sqliteTransient)
            case .blob(let v):
                rc = v.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), sqliteTransient) }
            case .textArray, .integerArray, .blobArray:
                throw CoordinatorError(.database, "array values are bound on PostgreSQL only", context: sql)
            }
            guard rc == SQLITE_OK else { throw error(db, sql) }
        }
        var rows: [SQLRow] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(db, sql) }
            let count = sqlite3_column_count(statement)
            var values: [SQLValue] = []
            values.reserveCapacity(Int(count))
            for column in 0..<count {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_NULL: values.append(.null)
                case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_BLOB:
                    let size = Int(sqlite3_column_bytes(statement, column))
                    if size > 0, let base = sqlite3_column_blob(statement, column) {
                        values.append(.blob(Array(UnsafeRawBufferPointer(start: base, count: size))))
                    } else {
                        values.append(.blob([]))
                    }
                default:
                    if let text = sqlite3_column_text(statement, column) {
                        values.append(.text(String(cString: text)))
                    } else {
                        values.append(.null)
                    }
                }
            }
            rows.append(SQLRow(values: values, sql: sql))
        }
        return rows
    }

    private func prepared(_ sql: String, _ db: OpaquePointer) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw error(db, sql)
        }
        statements[sql] = statement
        return statement
    }

    private func error(_ db: OpaquePointer, _ sql: String) -> CoordinatorError {
        let code = sqlite3_extended_errcode(db)
        let message = String(cString: sqlite3_errmsg(db))
        // Constraint violations are the caller's input (duplicate ids), not a broken database.
        let kind: CoordinatorError.Kind = (code & 0xff) == SQLITE_CONSTRAINT ? .alreadyExists : .database
        return CoordinatorError(kind, "SQLite \(code): \(message)", context: sql)
    }
}

/// SQLite's SQLITE_TRANSIENT (copy the bound bytes), which C defines as a cast macro.
private var sqliteTransient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }
