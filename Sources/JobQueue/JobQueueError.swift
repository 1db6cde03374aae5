/// The one error type of the `JobQueue` module: what failed and where (database file, SQL, job id),
/// with SQLite's own result code and message when SQLite reported it.
public struct JobQueueError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is; callers branch on it (e.g. `.diskFull` → refuse new work).
    public enum Kind: String, Sendable, Equatable {
        /// The file exists but is not an SQLite database; it was left untouched.
        case notADatabase
        /// The database's schema is newer than this build understands.
        case schemaTooNew
        /// The disk (or SQLite's page limit) is full; the write was rolled back.
        case diskFull
        /// Another connection held a lock longer than the busy timeout.
        case busy
        /// The database file is damaged.
        case corrupt
        /// Too many jobs are waiting; new work is refused until the worker catches up.
        case queueFull
        /// The caller's lease on a job is no longer valid (expired and reclaimed, or finished).
        case leaseLost
        /// No job with that id exists.
        case jobNotFound
        /// The request itself is invalid (empty prompt, negative limit...).
        case invalidArgument
        /// Any other SQLite failure.
        case sqlite
        /// A file-system operation around the database failed.
        case io
    }

    public var kind: Kind
    /// A sentence for the user, naming what to do where possible.
    public var message: String
    /// The database file involved, when known.
    public var path: String?
    /// The SQL statement that failed, when the failure came from SQLite.
    public var sql: String?
    /// SQLite's extended result code, when the failure came from SQLite.
    public var sqliteCode: Int32?
    /// The job the operation was about, when there was one.
    public var jobID: Int64?

    public init(_ kind: Kind, _ message: String, path: String? = nil, sql: String? = nil,
                sqliteCode: Int32? = nil, jobID: Int64? = nil) {
        self.kind = kind
        self.message = message
        self.path = path
        self.sql = sql
        self.sqliteCode = sqliteCode
        self.jobID = jobID
    }

    public var description: String {
        var parts = ["job queue: \(message)"]
        if let jobID { parts.append("job \(jobID)") }
        if let path { parts.append("database \(path)") }
        if let sqliteCode { parts.append("sqlite code \(sqliteCode)") }
        if let sql { parts.append("SQL: \(sql.split(whereSeparator: \.isNewline).joined(separator: " "))") }
        return parts.joined(separator: "; ")
    }
}
