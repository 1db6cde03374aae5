import Coordinator
import Foundation
import Testing

/// The engines the store suite runs on.
enum StoreBackend: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite, postgres
    var description: String { rawValue }
}

/// Builds fresh, migrated stores for tests: SQLite in a temp file, PostgreSQL in a new database
/// on the server named by EDGEVLM_TEST_POSTGRES_URL (see scripts/with-postgres.sh).
enum TestStores {
    static let postgresURLVariable = "EDGEVLM_TEST_POSTGRES_URL"

    /// The admin URL of the test server; nil (after recording why) when PostgreSQL tests cannot
    /// run. Under CI=true a missing server is a test failure, not a skip.
    /// Holds every device row (PostgreSQL) or the connection (SQLite) of `store` for 300 ms and
    /// returns once the lock is held, so the calls a test starts next pile up behind it; await
    /// the returned task at the end.
    static func holdDeviceRows(_ store: SQLCoordinatorStore) async -> Task<Void, any Error> {
        let (locked, lockedSignal) = AsyncStream.makeStream(of: Void.self)
        let blocker = Task {
            try await store.database.transaction { connection in
                _ = try await connection.execute("UPDATE devices SET name = name", [])
                lockedSignal.yield()
                try await Task.sleep(for: .milliseconds(300))
            }
        }
        for await _ in locked { break }
        return blocker
    }

    static func postgresURL() -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment[postgresURLVariable], !url.isEmpty { return url }
        let reason = "\(postgresURLVariable) is not set; run the tests under scripts/with-postgres.sh"
        if environment["CI"] == "true" {
            Issue.record("PostgreSQL store tests cannot run: \(reason)")
        } else {
            print("SKIPPED PostgreSQL store tests: \(reason)")
        }
        return nil
    }

    /// A fresh store on `backend`, or nil when that backend is unavailable (see `postgresURL`).
    static func make(_ backend: StoreBackend) async throws -> SQLCoordinatorStore? {
        guard let location = try await freshLocation(backend) else { return nil }
        let store = try open(backend, location)
        try await store.migrate()
        return store
    }

    /// A new empty database: a SQLite file path or a PostgreSQL URL.
    static func freshLocation(_ backend: StoreBackend) async throws -> String? {
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("edgevlm-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return directory.appendingPathComponent("c.db").path
        case .postgres:
            return try await freshPostgresDatabaseURL()
        }
    }

    /// Another store instance (its own connections) on the database at `location`.
    static func open(_ backend: StoreBackend, _ location: String) throws -> SQLCoordinatorStore {
        switch backend {
        case .sqlite: SQLCoordinatorStore(database: try SQLiteDatabase(path: location))
        case .postgres: SQLCoordinatorStore(database: try PostgresDatabase(url: location))
        }
    }

    /// Creates a new empty database on the test server and returns its URL.
    static func freshPostgresDatabaseURL() async throws -> String? {
        guard let adminURL = postgresURL() else { return nil }
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let admin = try PostgresDatabase(url: adminURL, maximumConnections: 1)
        _ = try await admin.execute("CREATE DATABASE \(name)", [])
        await admin.close()
        guard var components = URLComponents(string: adminURL) else { return nil }
        components.path = "/\(name)"
        return components.string
    }
}
