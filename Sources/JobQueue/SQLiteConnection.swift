import CSQLite
import Foundation

/// One SQLite connection: opens the file, refuses files that are not SQLite without writing to
/// them, caches prepared statements, and runs transactions. Not thread-safe by itself: the owner
/// (`JobQueue`) serializes all use.
public final class SQLiteConnection {
    let handle: OpaquePointer
    /// The database file path (":memory:" for an in-memory database).
    public let path: String
    private var statementCache: [String: SQLiteStatement] = [:]

    /// The first 16 bytes of every SQLite 3 database file.
    static let fileHeader = Array("SQLite format 3\0".utf8)

    /// Opens (creating if absent) the database at `path`.
    /// Throws `.notADatabase` when a non-empty file there does not start with the SQLite header
    /// (the file is not modified), or the SQLite error that `open` reported.
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5_000) throws(JobQueueError) {
        self.path = path
        if path != ":memory:" { try Self.checkHeader(path: path) }
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw JobQueueError(.io, "cannot open database: \(message)", path: path, sqliteCode: code)
        }
        self.handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
    }

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Finalizes cached statements and closes the connection, checkpointing the WAL.
    public func close() {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    private static func checkHeader(path: String) throws(JobQueueError) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }  // absent: created
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 16)) ?? Data()
        if head.isEmpty { return }  // an empty file is an empty database to SQLite
        guard Array(head) == fileHeader else {
            throw JobQueueError(.notADatabase,
                                "the file is not an SQLite database; it was left unchanged — move it away or point the agent at another path",
                                path: path)
        }
    }

    /// Builds the module error for a failed SQLite call, classifying the result code.
    func error(code: Int32, sql: String?) -> JobQueueError {
        let message = String(cString: sqlite3_errmsg(handle))
        let kind: JobQueueError.Kind
        switch code & 0xff {
        case SQLITE_FULL: kind = .diskFull
        case SQLITE_NOTADB: kind = .notADatabase
        case SQLITE_CORRUPT: kind = .corrupt
        case SQLITE_BUSY, SQLITE_LOCKED: kind = .busy
        case SQLITE_IOERR: kind = .io
        default: kind = .sqlite
        }
        let hint = kind == .diskFull ? " — free disk space or raise the queue limits; new work is refused until then" : ""
        return JobQueueError(kind, message + hint, path: path, sql: sql, sqliteCode: code)
    }

    /// A cached prepared statement for `sql`, bound to `values` and ready to step.
    public func prepare(_ sql: String, _ values: [any SQLiteBindable] = []) throws(JobQueueError) -> SQLiteStatement {
        let statement: SQLiteStatement
        if let cached = statementCache[sql] {
            statement = cached
        } else {
            statement = try SQLiteStatement(connection: self, sql: sql)
            statementCache[sql] = statement
        }
        try statement.bind(values)
        return statement
    }

    /// Runs one or more statements without parameters or results (schema, pragmas).
    public func execute(_ sql: String) throws(JobQueueError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        if code != SQLITE_OK {
            var failure = error(code: code, sql: sql)
            if let message {
                failure.message = String(cString: message) + (failure.kind == .diskFull ? " — free disk space" : "")
                sqlite3_free(message)
            }
            throw failure
        }
    }

    /// Runs one statement with parameters; returns the number of rows it changed.
    @discardableResult
    public func run(_ sql: String, _ values: [any SQLiteBindable] = []) throws(JobQueueError) -> Int {
        let statement = try prepare(sql, values)
        defer { statement.finish() }
        while try statement.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// Runs a query and maps each row with `row`.
    public func query<T>(_ sql: String, _ values: [any SQLiteBindable] = [],
                         row: (SQLiteStatement) throws -> T) throws -> [T] {
        let statement = try prepare(sql, values)
        defer { statement.finish() }
        var rows: [T] = []
        while try statement.step() { rows.append(try row(statement)) }
        return rows
    }

    /// The first row of a query mapped with `row`, or nil when there is none.
    public func queryFirst<T>(_ sql: String, _ values: [any SQLiteBindable] = [],
                              row: (SQLiteStatement) throws -> T) throws -> T? {
        let statement = try prepare(sql, values)
        defer { statement.finish() }
        return try statement.step() ? row(statement) : nil
    }

    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` inside `BEGIN IMMEDIATE` (the write lock is taken up front, so a transaction
    /// never fails half-way on lock upgrade); commits on return, rolls back on any thrown error.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            // After SQLITE_FULL SQLite may already have rolled back; ROLLBACK then errors harmlessly.
            if sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// A pragma's single value as text (e.g. `journal_mode`).
    public func pragma(_ name: String) throws -> String? {
        try queryFirst("PRAGMA \(name)") { $0.text(0) } ?? nil
    }
}
