import Foundation

/// Everything the coordinator needs to run, read from a JSON config file by the executable
/// (flags override fields). Libraries never read the environment.
public struct CoordinatorConfiguration: Codable, Sendable, Equatable {
    /// Folder for the SQLite database, TLS material, operator credentials and artifact blobs.
    public var stateDirectory: String = "/var/lib/edgevlm-coordinator"
    /// "sqlite" (a file in the state folder, the default) or a postgres:// URL.
    public var database: String = "sqlite"
    public var grpcHost: String = "0.0.0.0"
    public var grpcPort: Int = 7443
    public var httpHost: String = "0.0.0.0"
    public var httpPort: Int = 7080
    /// Serve gRPC without TLS. Local development only.
    public var insecurePlaintext: Bool = false
    /// Names and IPv4 addresses the server certificate is issued for.
    public var tlsHostnames: [String] = ["localhost", "127.0.0.1"]
    /// Base64 raw 32-byte Ed25519 public keys whose model signatures are accepted.
    public var trustedModelKeys: [String] = []
    /// Heartbeat interval the server asks devices for; each device gets ±10% spread.
    public var pollIntervalSeconds: Int = 60
    /// Results per UploadResults call above which the call is refused.
    public var maxResultsPerBatch: Int = 1000
    /// Largest caption/attributes text accepted per result, in bytes.
    public var maxResultTextBytes: Int = 65_536
    /// Largest gRPC message accepted, in bytes.
    public var maxMessageBytes: Int = 8 * 1024 * 1024
    /// Largest artifact blob accepted, in bytes.
    public var maxBlobBytes: Int64 = 32 * 1024 * 1024 * 1024
    /// How often running rollouts are re-evaluated (soak times, promotions).
    public var rolloutTickSeconds: Int = 5
    /// PostgreSQL pool size per coordinator process.
    public var postgresConnections: Int = 20
    /// Heartbeat statements run at once; heartbeats arriving meanwhile share the next one.
    public var heartbeatWriters: Int = 2
    /// Heartbeats stored per statement at most.
    public var heartbeatBatchSize: Int = 256
    /// Accept gzip/deflate-compressed gRPC requests (agents compress result uploads). When
    /// false a compressed call is answered UNIMPLEMENTED with the accepted encodings (none), as
    /// gRPC specifies, and agents fall back to uncompressed uploads.
    public var acceptCompression: Bool = true
    /// Serve the one-call `Sync` RPC. When false it is answered UNIMPLEMENTED, as by a
    /// coordinator that predates it, and agents fall back to Heartbeat + UploadResults (for
    /// checking that fallback; there is no other reason to turn it off).
    public var serveSyncCall: Bool = true

    public init() {}

    /// Decodes a JSON config; missing fields keep their defaults. Throws `.configuration`.
    public static func load(from url: URL) throws -> CoordinatorConfiguration {
        do {
            let data = try Data(contentsOf: url)
            return try JSONDecoder().decode(CoordinatorConfiguration.self, from: data)
        } catch {
            throw CoordinatorError(.configuration, "cannot read config: \(error)", context: url.path)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = CoordinatorConfiguration()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        stateDirectory = try value(.stateDirectory, defaults.stateDirectory)
        database = try value(.database, defaults.database)
        grpcHost = try value(.grpcHost, defaults.grpcHost)
        grpcPort = try value(.grpcPort, defaults.grpcPort)
        httpHost = try value(.httpHost, defaults.httpHost)
        httpPort = try value(.httpPort, defaults.httpPort)
        insecurePlaintext = try value(.insecurePlaintext, defaults.insecurePlaintext)
        tlsHostnames = try value(.tlsHostnames, defaults.tlsHostnames)
        trustedModelKeys = try value(.trustedModelKeys, defaults.trustedModelKeys)
        pollIntervalSeconds = try value(.pollIntervalSeconds, defaults.pollIntervalSeconds)
        maxResultsPerBatch = try value(.maxResultsPerBatch, defaults.maxResultsPerBatch)
        maxResultTextBytes = try value(.maxResultTextBytes, defaults.maxResultTextBytes)
        maxMessageBytes = try value(.maxMessageBytes, defaults.maxMessageBytes)
        maxBlobBytes = try value(.maxBlobBytes, defaults.maxBlobBytes)
        rolloutTickSeconds = try value(.rolloutTickSeconds, defaults.rolloutTickSeconds)
        postgresConnections = try value(.postgresConnections, defaults.postgresConnections)
        heartbeatWriters = try value(.heartbeatWriters, defaults.heartbeatWriters)
        heartbeatBatchSize = try value(.heartbeatBatchSize, defaults.heartbeatBatchSize)
        acceptCompression = try value(.acceptCompression, defaults.acceptCompression)
        serveSyncCall = try value(.serveSyncCall, defaults.serveSyncCall)
    }
}
