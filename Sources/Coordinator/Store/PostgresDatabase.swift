import Foundation
import Logging
import NIOCore
import PostgresNIO

/// PostgreSQL behind the `SQLDatabase` protocol: a postgres-nio connection pool, run by a
/// task this object owns (started in `init`, stopped by `close`). Several coordinator
/// processes may share one server.
public final class PostgresDatabase: SQLDatabase, @unchecked Sendable {
    public let dialect = SQLDialect.postgres
    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger

    /// Connects lazily to `url` (`postgres://user[:password]@host[:port]/database`, TLS off —
    /// for a server on loopback or a private network). Throws `.configuration` for a bad URL.
    public init(url: String, maximumConnections: Int = 20, logger: Logger = Logger(label: "edgevlm.coordinator.postgres")) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              scheme == "postgres" || scheme == "postgresql", let host = components.host, !host.isEmpty else {
            throw CoordinatorError(.configuration, "expected postgres://user@host:port/database", context: url)
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: database.isEmpty ? nil : database, tls: .disable)
        configuration.options.maximumConnections = maximumConnections
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        self.runTask = Task { await client.run() }
    }

    public func execute(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        do {
            let rows = try await client.query(Self.query(sql, binds), logger: logger)
            return try await Self.collect(rows, sql: sql)
        } catch {
            throw Self.map(error, sql: sql)
        }
    }

    /// Runs `statement` as a named prepared statement: postgres-nio prepares it on each pooled
    /// connection the first time and then only binds and executes (no parse, cached plan).
    public func execute<Statement: PreparedSQL>(prepared statement: Statement.Type, _ binds: [SQLValue]) async throws -> [SQLRow] {
        do {
            let rows = try await client.execute(NamedStatement<Statement>(bindings: Self.bindings(binds)), logger: logger)
            var result: [SQLRow] = []
            for try await row in rows { result.append(try Self.row(row, sql: Statement.sql)) }
            return result
        } catch {
            throw Self.map(error, sql: Statement.sql)
        }
    }

    /// A `PreparedSQL` type as postgres-nio's prepared statement (rows decoded by `row(_:sql:)`).
    private struct NamedStatement<Statement: PreparedSQL>: PostgresPreparedStatement, @unchecked Sendable {
        // @unchecked: PostgresBindings is a value type of encoded bytes, built before the call.
        typealias Row = PostgresRow
        static var name: String { "edgevlm_\(String(describing: Statement.self))" }
        static var sql: String { Statement.sql }
        let bindings: PostgresBindings
        func makeBindings() -> PostgresBindings { bindings }
        func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await body(Connection(connection: connection, logger: logger))
            }
        } catch let error as CoordinatorError {
            throw error
        } catch let error as PostgresTransactionError {
            if let closure = error.closureError as? CoordinatorError { throw closure }
            throw Self.map(error.closureError ?? error.commitError ?? error.beginError ?? error, sql: "transaction")
        } catch {
            throw Self.map(error, sql: "transaction")
        }
    }

    public func close() async {
        runTask.cancel()
        await runTask.value
    }

    private struct Connection: SQLConnection, @unchecked Sendable {
        let connection: PostgresConnection
        let logger: Logger
        func execute(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
            do {
                let rows = try await connection.query(PostgresDatabase.query(sql, binds), logger: logger)
                return try await PostgresDatabase.collect(rows, sql: sql)
            } catch let error as CoordinatorError {
                throw error
            } catch {
                throw PostgresDatabase.map(error, sql: sql)
            }
        }
    }

    static func query(_ sql: String, _ binds: [SQLValue]) -> PostgresQuery {
        PostgresQuery(unsafeSQL: sql, binds: bindings(binds))
    }

    static func bindings(_ binds: [SQLValue]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: binds.count)
        for value in binds {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let v): bindings.append(v)
            case .text(let v): bindings.append(v)
            case .blob(let v): bindings.append(ByteBuffer(bytes: v))
            case .textArray(let v): bindings.append(v)
            case .integerArray(let v): bindings.append(v)
            case .blobArray(let v): bindings.append(v.map { ByteBuffer(bytes: $0) })
            }
        }
        return bindings
    }

    static func collect(_ rows: PostgresRowSequence, sql: String) async throws -> [SQLRow] {
        var result: [SQLRow] = []
        for try await row in rows { result.append(try self.row(row, sql: sql)) }
        return result
    }

    static func row(_ row: PostgresRow, sql: String) throws -> SQLRow {
        var values: [SQLValue] = []
        for cell in row {
            guard var bytes = cell.bytes else {
                values.append(.null)
                continue
            }
            switch cell.dataType {
            case .int8: values.append(.integer(try cell.decode(Int64.self)))
            case .int4: values.append(.integer(Int64(try cell.decode(Int32.self))))
            case .int2: values.append(.integer(Int64(try cell.decode(Int16.self))))
            case .bool: values.append(.integer(try cell.decode(Bool.self) ? 1 : 0))
            case .bytea: values.append(.blob(bytes.readBytes(length: bytes.readableBytes) ?? []))
            case .void: values.append(.null)
            default: values.append(.text(try cell.decode(String.self)))
            }
        }
        return SQLRow(values: values, sql: sql)
    }

    static func map(_ error: any Error, sql: String) -> CoordinatorError {
        if let error = error as? CoordinatorError { return error }
        if let error = error as? PSQLError {
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "\(error.code)"
            // 23505 unique_violation: a duplicate id is the caller's input, not a broken database.
            let kind: CoordinatorError.Kind = state == "23505" ? .alreadyExists : .database
            return CoordinatorError(kind, "PostgreSQL \(state): \(message)", context: sql)
        }
        return CoordinatorError(.database, "PostgreSQL: \(String(reflecting: error))", context: sql)
    }
}
