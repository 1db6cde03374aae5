/// Which SQL engine a statement runs on; only schema types and locking clauses differ, every
/// statement uses `$1…$n` placeholders (SQLite reads them as named parameters).
public enum SQLDialect: Sendable {
    case sqlite, postgres

    /// Type of a binary column.
    var blobType: String { self == .sqlite ? "BLOB" : "BYTEA" }
    /// Primary key column that numbers itself.
    var autoIncrementPrimaryKey: String {
        self == .sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY"
    }
    /// Row-lock clause appended to a SELECT inside a transaction. SQLite needs none: its
    /// transactions start with `BEGIN IMMEDIATE`, which takes the database's write lock.
    var forUpdate: String { self == .sqlite ? "" : " FOR UPDATE" }
    /// True when `haystack` contains `needle` (both SQL expressions).
    func contains(_ haystack: String, _ needle: String) -> String {
        self == .sqlite ? "instr(\(haystack), \(needle)) > 0" : "strpos(\(haystack), \(needle)) > 0"
    }
}

/// A statement run so often that the database should keep it parsed and planned: one type per
/// statement, its text fixed (PostgreSQL prepares it once per pooled connection under the
/// type's name; SQLite runs the text as usual).
public protocol PreparedSQL {
    /// The statement, with `$1…$n` placeholders; the same on every call.
    static var sql: String { get }
}

/// A statement runner inside one connection (and, in `transaction`, inside one transaction).
public protocol SQLConnection: Sendable {
    /// Runs one statement and returns its rows; throws `CoordinatorError(.database)` with the SQL.
    func execute(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow]
    /// Runs `statement`, prepared where the database keeps prepared statements; same contract
    /// as `execute` (default: `execute(statement.sql, binds)`).
    func execute<Statement: PreparedSQL>(prepared statement: Statement.Type, _ binds: [SQLValue]) async throws -> [SQLRow]
}

extension SQLConnection {
    public func execute<Statement: PreparedSQL>(prepared statement: Statement.Type, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await execute(Statement.sql, binds)
    }
}

/// A database the SQL store runs on: SQLite (one file) or PostgreSQL (a pool).
public protocol SQLDatabase: SQLConnection {
    var dialect: SQLDialect { get }
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLConnection) async throws -> T) async throws -> T
    /// Releases connections; the database is unusable afterwards.
    func close() async
}
