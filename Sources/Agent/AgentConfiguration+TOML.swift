import Foundation
import TOMLKit

extension AgentConfiguration {
    /// The default configuration file.
    public static let defaultPath = "/etc/edgevlm/agent.toml"

    /// Reads and validates the file at `path`.
    /// Throws `AgentError.configuration` naming the file, and the key for unknown keys and bad values.
    public static func load(path: String) throws -> AgentConfiguration {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw AgentError(.configuration, "cannot read the configuration file", path: path)
        }
        do { return try parse(toml: text) } catch var error as AgentError {
            error.path = path
            throw error
        }
    }

    /// Parses TOML text. Unknown tables and keys, wrong types and out-of-range values are errors.
    public static func parse(toml text: String) throws -> AgentConfiguration {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw AgentError(.configuration, "not valid TOML: \(error.debugDescription)")
        }
        var c = AgentConfiguration()
        var reader = TableReader(table: root, name: "")
        if var t = try reader.table("model") {
            c.model.llm = try t.string("llm") ?? c.model.llm
            c.model.mmproj = try t.string("mmproj") ?? c.model.mmproj
            c.model.threads = try t.int("threads", min: 0) ?? c.model.threads
            c.model.backends = try t.strings("backends") ?? c.model.backends
            c.model.prompt = try t.string("prompt", nonEmpty: true) ?? c.model.prompt
            c.model.maxTokens = try t.int("max_tokens", min: 1) ?? c.model.maxTokens
            try t.finish()
        }
        if var t = try reader.table("state") {
            c.state.directory = try t.string("directory", nonEmpty: true) ?? c.state.directory
            try t.finish()
        }
        // Inbox folders default to subfolders of the state directory.
        c.inbox.directory = c.state.directory + "/inbox"
        c.inbox.processedDirectory = c.state.directory + "/processed"
        c.inbox.failedDirectory = c.state.directory + "/failed"
        if var t = try reader.table("queue") {
            c.queue.maxPendingJobs = try t.int("max_pending_jobs", min: 1) ?? c.queue.maxPendingJobs
            c.queue.maxAttempts = try t.int("max_attempts", min: 1) ?? c.queue.maxAttempts
            c.queue.retryBaseSeconds = try t.double("retry_base_seconds", min: 0) ?? c.queue.retryBaseSeconds
            c.queue.retryMaxSeconds = try t.double("retry_max_seconds", min: 0) ?? c.queue.retryMaxSeconds
            c.queue.leaseSeconds = try t.double("lease_seconds", min: 1) ?? c.queue.leaseSeconds
            c.queue.maxImageBytes = try t.int("max_image_bytes", min: 1) ?? c.queue.maxImageBytes
            c.queue.maxDatabaseMiB = try t.int("max_database_mib", min: 0) ?? c.queue.maxDatabaseMiB
            try t.finish()
        }
        if var t = try reader.table("worker") {
            c.worker.concurrency = try t.int("concurrency", min: 1, max: 64) ?? c.worker.concurrency
            c.worker.jobTimeoutSeconds = try t.double("job_timeout_seconds", min: 1) ?? c.worker.jobTimeoutSeconds
            try t.finish()
        }
        if var t = try reader.table("retention") {
            c.retention.maxAgeHours = try t.double("max_age_hours", min: 0) ?? c.retention.maxAgeHours
            c.retention.maxImageMiB = try t.int("max_image_mib", min: 0) ?? c.retention.maxImageMiB
            c.retention.requireSynced = try t.bool("require_synced") ?? c.retention.requireSynced
            c.retention.intervalSeconds = try t.double("interval_seconds", min: 1) ?? c.retention.intervalSeconds
            try t.finish()
        }
        if var t = try reader.table("inbox") {
            c.inbox.enabled = try t.bool("enabled") ?? c.inbox.enabled
            c.inbox.directory = try t.string("directory", nonEmpty: true) ?? c.inbox.directory
            c.inbox.processedDirectory = try t.string("processed_directory", nonEmpty: true) ?? c.inbox.processedDirectory
            c.inbox.failedDirectory = try t.string("failed_directory", nonEmpty: true) ?? c.inbox.failedDirectory
            c.inbox.prompt = try t.string("prompt") ?? c.inbox.prompt
            c.inbox.stableSeconds = try t.double("stable_seconds", min: 0) ?? c.inbox.stableSeconds
            c.inbox.source = try t.string("source", nonEmpty: true) ?? c.inbox.source
            try t.finish()
        }
        for (index, var t) in try reader.tableArray("camera").enumerated() {
            var camera = Camera()
            guard let name = try t.string("name", nonEmpty: true) else {
                throw AgentError(.configuration, "every [[camera]] needs a name", key: "camera[\(index)].name")
            }
            camera.name = name
            let kindKey = "camera.\(name).kind"
            if let kind = try t.string("kind") {
                guard let parsed = Camera.Kind(rawValue: kind) else {
                    throw AgentError(.configuration, "kind must be http, command or v4l2, not \"\(kind)\"", key: kindKey)
                }
                camera.kind = parsed
            }
            camera.url = try t.string("url") ?? camera.url
            camera.command = try t.strings("command") ?? camera.command
            camera.device = try t.string("device", nonEmpty: true) ?? camera.device
            camera.width = try t.int("width", min: 16, max: 16_384) ?? camera.width
            camera.height = try t.int("height", min: 16, max: 16_384) ?? camera.height
            camera.intervalSeconds = try t.double("interval_seconds", min: 0) ?? camera.intervalSeconds
            camera.timeoutSeconds = try t.double("timeout_seconds", min: 0.1) ?? camera.timeoutSeconds
            camera.prompt = try t.string("prompt") ?? camera.prompt
            try t.finish()
            switch camera.kind {
            case .http:
                guard camera.url.hasPrefix("http://") || camera.url.hasPrefix("https://") else {
                    throw AgentError(.configuration, "an http camera needs an http:// or https:// url", key: "camera.\(name).url")
                }
            case .command:
                guard !camera.command.isEmpty else {
                    throw AgentError(.configuration, "a command camera needs a non-empty command array", key: "camera.\(name).command")
                }
            case .v4l2: break
            }
            if c.cameras.contains(where: { $0.name == name }) || name == c.inbox.source {
                throw AgentError(.configuration, "source name \"\(name)\" is used twice", key: "camera.\(name).name")
            }
            c.cameras.append(camera)
        }
        if var t = try reader.table("api") {
            c.api.enabled = try t.bool("enabled") ?? c.api.enabled
            c.api.socket = try t.string("socket", nonEmpty: true) ?? c.api.socket
            if let mode = try t.string("mode") {
                guard let value = Int(mode, radix: 8), (0...0o777).contains(value) else {
                    throw AgentError(.configuration, "mode must be an octal string such as \"0660\", not \"\(mode)\"", key: "api.mode")
                }
                c.api.mode = value
            }
            c.api.group = try t.string("group") ?? c.api.group
            c.api.maxUploadBytes = try t.int("max_upload_bytes", min: 1) ?? c.api.maxUploadBytes
            try t.finish()
        }
        if var t = try reader.table("sync") {
            c.sync.enabled = try t.bool("enabled") ?? c.sync.enabled
            c.sync.coordinator = try t.string("coordinator") ?? c.sync.coordinator
            c.sync.enrollmentToken = try t.string("enrollment_token") ?? c.sync.enrollmentToken
            c.sync.enrollmentTokenFile = try t.string("enrollment_token_file") ?? c.sync.enrollmentTokenFile
            c.sync.hardwareID = try t.string("hardware_id") ?? c.sync.hardwareID
            c.sync.deviceName = try t.string("device_name") ?? c.sync.deviceName
            c.sync.caFile = try t.string("ca_file") ?? c.sync.caFile
            c.sync.insecurePlaintext = try t.bool("insecure_plaintext") ?? c.sync.insecurePlaintext
            c.sync.batchSize = try t.int("batch_size", min: 1, max: 10_000) ?? c.sync.batchSize
            c.sync.pollIntervalSeconds = try t.double("poll_interval_seconds", min: 0.1) ?? c.sync.pollIntervalSeconds
            c.sync.minUploadIntervalSeconds = try t.double("min_upload_interval_seconds", min: 0) ?? c.sync.minUploadIntervalSeconds
            c.sync.backoffBaseSeconds = try t.double("backoff_base_seconds", min: 0.01) ?? c.sync.backoffBaseSeconds
            c.sync.backoffMaxSeconds = try t.double("backoff_max_seconds", min: 0.01) ?? c.sync.backoffMaxSeconds
            c.sync.refusedRetrySeconds = try t.double("refused_retry_seconds", min: 1) ?? c.sync.refusedRetrySeconds
            c.sync.requestTimeoutSeconds = try t.double("request_timeout_seconds", min: 0.1) ?? c.sync.requestTimeoutSeconds
            c.sync.windows = try t.strings("windows") ?? c.sync.windows
            c.sync.metered = try t.bool("metered") ?? c.sync.metered
            try t.finish()
            try validateSync(c.sync)
        }
        if var t = try reader.table("models") {
            c.models.artifactURL = try t.string("artifact_url") ?? c.models.artifactURL
            c.models.trustedKeys = try t.strings("trusted_keys") ?? c.models.trustedKeys
            c.models.minFreeMiB = try t.int("min_free_mib", min: 0) ?? c.models.minFreeMiB
            c.models.bandwidthKiBPerSecond = try t.int("bandwidth_kib_per_second", min: 0) ?? c.models.bandwidthKiBPerSecond
            c.models.stallSeconds = try t.double("stall_seconds", min: 0.1) ?? c.models.stallSeconds
            c.models.maxAttempts = try t.int("max_attempts", min: 1) ?? c.models.maxAttempts
            c.models.canaryFile = try t.string("canary_file") ?? c.models.canaryFile
            c.models.healthJobs = try t.int("health_jobs", min: 1) ?? c.models.healthJobs
            c.models.healthSeconds = try t.double("health_seconds", min: 1) ?? c.models.healthSeconds
            c.models.healthMinJobs = try t.int("health_min_jobs", min: 1) ?? c.models.healthMinJobs
            c.models.healthMaxFailureRate = try t.double("health_max_failure_rate", min: 0) ?? c.models.healthMaxFailureRate
            c.models.healthMaxFallbackRate = try t.double("health_max_fallback_rate", min: 0) ?? c.models.healthMaxFallbackRate
            for (key, rate) in [("health_max_failure_rate", c.models.healthMaxFailureRate),
                                ("health_max_fallback_rate", c.models.healthMaxFallbackRate)] where rate > 1 {
                throw AgentError(.configuration, "\(rate) is a share of jobs and must be at most 1", key: "models." + key)
            }
            try t.finish()
        }
        try reader.finish()
        return c
    }
}

/// Checks the `[sync]` keys that depend on each other (only when sync is enabled).
private func validateSync(_ sync: AgentConfiguration.Sync) throws {
    if sync.backoffMaxSeconds < sync.backoffBaseSeconds {
        throw AgentError(.configuration, "must be at least backoff_base_seconds (\(sync.backoffBaseSeconds))", key: "sync.backoff_max_seconds")
    }
    _ = try SyncWindows(parsing: sync.windows)
    guard sync.enabled else { return }
    guard SyncEndpoint(parsing: sync.coordinator) != nil else {
        throw AgentError(.configuration, "coordinator must be host:port (e.g. \"fleet.example.com:8443\"), not \"\(sync.coordinator)\"",
                         key: "sync.coordinator")
    }
    if sync.insecurePlaintext && !sync.caFile.isEmpty {
        throw AgentError(.configuration, "ca_file and insecure_plaintext = true exclude each other", key: "sync.insecure_plaintext")
    }
    if !sync.insecurePlaintext && sync.caFile.isEmpty {
        throw AgentError(.configuration, "set ca_file to the coordinator's CA certificate (PEM), or insecure_plaintext = true for loopback development",
                         key: "sync.ca_file")
    }
    if !sync.enrollmentToken.isEmpty && !sync.enrollmentTokenFile.isEmpty {
        throw AgentError(.configuration, "give enrollment_token or enrollment_token_file, not both", key: "sync.enrollment_token_file")
    }
}

/// Reads one TOML table, remembering which keys were used so the rest can be reported unknown.
private struct TableReader {
    let table: TOMLTable
    let name: String
    var used: Set<String> = []

    init(table: TOMLTable, name: String) {
        self.table = table
        self.name = name
    }

    func path(_ key: String) -> String { name.isEmpty ? key : "\(name).\(key)" }

    private mutating func value(_ key: String) -> (any TOMLValueConvertible)? {
        used.insert(key)
        return table[key]
    }

    private func wrongType(_ key: String, _ expected: String) -> AgentError {
        AgentError(.configuration, "expected \(expected)", key: path(key))
    }

    mutating func string(_ key: String, nonEmpty: Bool = false) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.string else { throw wrongType(key, "a string") }
        if nonEmpty && string.isEmpty { throw AgentError(.configuration, "must not be empty", key: path(key)) }
        return string
    }

    mutating func int(_ key: String, min: Int, max: Int = .max) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let int = value.int else { throw wrongType(key, "an integer") }
        guard int >= min && int <= max else {
            throw AgentError(.configuration, "\(int) is out of range (\(min)...\(max == .max ? "" : String(max)))", key: path(key))
        }
        return int
    }

    mutating func double(_ key: String, min: Double) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard let double = value.double ?? value.int.map(Double.init) else { throw wrongType(key, "a number") }
        guard double >= min, double.isFinite else {
            throw AgentError(.configuration, "\(double) is out of range (at least \(min))", key: path(key))
        }
        return double
    }

    mutating func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let bool = value.bool else { throw wrongType(key, "true or false") }
        return bool
    }

    mutating func strings(_ key: String) throws -> [String]? {
        guard let value = value(key) else { return nil }
        guard let array = value.array else { throw wrongType(key, "an array of strings") }
        return try array.map { element in
            guard let string = element.string else { throw wrongType(key, "an array of strings") }
            return string
        }
    }

    mutating func table(_ key: String) throws -> TableReader? {
        guard let value = value(key) else { return nil }
        guard let table = value.table else { throw wrongType(key, "a table [\(key)]") }
        return TableReader(table: table, name: path(key))
    }

    mutating func tableArray(_ key: String) throws -> [TableReader] {
        guard let value = value(key) else { return [] }
        guard let array = value.array else { throw wrongType(key, "an array of tables [[\(key)]]") }
        return try array.enumerated().map { index, element in
            guard let table = element.table else { throw wrongType(key, "an array of tables [[\(key)]]") }
            return TableReader(table: table, name: "\(path(key))[\(index)]")
        }
    }

    /// Throws for the first key that was never asked for.
    func finish() throws {
        for key in table.keys.sorted() where !used.contains(key) {
            throw AgentError(.configuration, "unknown key; see systemd/agent.example.toml for the valid keys", key: path(key))
        }
    }
}
