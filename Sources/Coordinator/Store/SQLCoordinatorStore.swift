import FleetProtocol
import Foundation
import SwiftProtobuf

/// `CoordinatorStore` over SQL: one implementation of the rules, two engines underneath —
/// `SQLiteDatabase` (one file, one process) and `PostgresDatabase` (several coordinator
/// processes on one server). Concurrency rests on the engine: `INSERT … ON CONFLICT DO NOTHING`
/// for ingest, a conditional `UPDATE … RETURNING` for enrollment tokens, `SELECT … FOR UPDATE`
/// (PostgreSQL) or `BEGIN IMMEDIATE` (SQLite) around rollout transitions.
public final class SQLCoordinatorStore: CoordinatorStore {
    public let database: any SQLDatabase
    private var dialect: SQLDialect { database.dialect }

    public init(database: any SQLDatabase) {
        self.database = database
    }

    public func migrate() async throws {
        let dialect = self.dialect
        try await database.transaction { connection in
            if dialect == .postgres {
                // Two replicas starting at once would race on CREATE TABLE IF NOT EXISTS.
                _ = try await connection.execute("SELECT pg_advisory_xact_lock(80080001)", [])
            }
            for statement in SQLSchema.statements(dialect) {
                _ = try await connection.execute(statement, [])
            }
        }
    }

    public func close() async {
        await database.close()
    }

    // MARK: enrollment and devices

    public func createEnrollmentToken(_ token: EnrollmentTokenRecord) async throws {
        _ = try await database.execute(
            """
            INSERT INTO enrollment_tokens (token_hash, max_uses, uses, tags, expires_at, created_at, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """,
            [.text(token.tokenHash), .integer(token.maxUses), .integer(token.uses), .text(Self.joinTags(token.tags)),
             .integer(token.expiresAt), .integer(token.createdAt), .text(token.createdBy)])
    }

    public func enroll(tokenHash: String, device: NewDeviceRecord, now: Int64) async throws -> DeviceRecord {
        try await database.transaction { connection in
            let consumed = try await connection.execute(
                """
                UPDATE enrollment_tokens SET uses = uses + 1
                WHERE token_hash = $1 AND uses < max_uses AND expires_at > $2 RETURNING tags
                """, [.text(tokenHash), .integer(now)])
            guard let tags = try consumed.first?.text(0) else {
                throw CoordinatorError(.unauthenticated, "the enrollment token is unknown, used up or expired")
            }
            let existing = try await connection.execute(
                "SELECT device_id FROM devices WHERE hardware_id = $1", [.text(device.hardwareID)])
            if let id = try existing.first?.text(0) {
                throw CoordinatorError(.alreadyExists, "hardware id \(device.hardwareID) is already enrolled as \(id)",
                                       context: "device \(id)")
            }
            _ = try await connection.execute(
                """
                INSERT INTO devices (device_id, hardware_id, name, tags, credential_hash, enrolled_at, last_seen,
                  revoked_at, revoke_reason, last_status, desired_model, desired_rollout)
                VALUES ($1, $2, $3, $4, $5, $6, 0, 0, '', NULL, '', '')
                """,
                [.text(device.deviceID), .text(device.hardwareID), .text(device.name), .text(tags),
                 .text(device.credentialHash), .integer(now)])
            return DeviceRecord(deviceID: device.deviceID, hardwareID: device.hardwareID, name: device.name,
                                tags: Self.splitTags(tags), credentialHash: device.credentialHash, enrolledAt: now,
                                lastSeen: 0, revokedAt: 0, revokeReason: "", lastStatus: nil,
                                desiredModelDigest: "", desiredRolloutID: "")
        }
    }

    private static let deviceColumns = """
        device_id, hardware_id, name, tags, credential_hash, enrolled_at, last_seen, revoked_at, revoke_reason,
        last_status, desired_model, desired_rollout
        """

    public func device(id: String) async throws -> DeviceRecord? {
        let rows = try await database.execute("SELECT \(Self.deviceColumns) FROM devices WHERE device_id = $1", [.text(id)])
        return try rows.first.map(Self.device(from:))
    }

    public func listDevices(tags: [String], limit: Int, afterID: String) async throws -> [DeviceRecord] {
        var binds: [SQLValue] = [.text(afterID)]
        var conditions = ["device_id > $1"]
        for tag in tags {
            binds.append(.text(",\(tag),"))
            conditions.append(dialect.contains("tags", "$\(binds.count)"))
        }
        binds.append(.integer(Int64(max(1, min(limit, 100_000)))))
        let sql = "SELECT \(Self.deviceColumns) FROM devices WHERE \(conditions.joined(separator: " AND ")) ORDER BY device_id LIMIT $\(binds.count)"
        return try await database.execute(sql, binds).map(Self.device(from:))
    }

    public func setTags(deviceID: String, tags: [String]) async throws -> DeviceRecord {
        _ = try await database.execute("UPDATE devices SET tags = $2 WHERE device_id = $1",
                                       [.text(deviceID), .text(Self.joinTags(tags))])
        guard let device = try await device(id: deviceID) else {
            throw CoordinatorError(.notFound, "no device \(deviceID)", context: "device \(deviceID)")
        }
        return device
    }

    public func revoke(deviceID: String, reason: String, now: Int64) async throws -> DeviceRecord {
        _ = try await database.execute(
            "UPDATE devices SET revoked_at = $2, revoke_reason = $3 WHERE device_id = $1 AND revoked_at = 0",
            [.text(deviceID), .integer(now), .text(reason)])
        guard let device = try await device(id: deviceID) else {
            throw CoordinatorError(.notFound, "no device \(deviceID)", context: "device \(deviceID)")
        }
        return device
    }

    public func deviceAccess(id: String) async throws -> DeviceAccessRecord? {
        let rows = try await database.execute(
            "SELECT device_id, credential_hash, revoked_at, revoke_reason, desired_model, desired_rollout FROM devices WHERE device_id = $1",
            [.text(id)])
        return try rows.first.map { row in
            DeviceAccessRecord(deviceID: try row.text(0), credentialHash: try row.text(1), revokedAt: try row.int(2),
                               revokeReason: try row.text(3),
                               assignment: DeviceAssignment(modelDigest: try row.text(4), rolloutID: try row.text(5)))
        }
    }

    public func deviceAccess(ids: [String]) async throws -> [String: DeviceAccessRecord] {
        var found: [String: DeviceAccessRecord] = [:]
        var start = 0
        while start < ids.count {
            let chunk = ids[start..<min(start + 500, ids.count)]
            start += 500
            let placeholders = (1...chunk.count).map { "$\($0)" }.joined(separator: ", ")
            let rows = try await database.execute(
                """
                SELECT device_id, credential_hash, revoked_at, revoke_reason, desired_model, desired_rollout
                FROM devices WHERE device_id IN (\(placeholders))
                """, chunk.map { .text($0) })
            for row in rows {
                let access = DeviceAccessRecord(
                    deviceID: try row.text(0), credentialHash: try row.text(1), revokedAt: try row.int(2),
                    revokeReason: try row.text(3),
                    assignment: DeviceAssignment(modelDigest: try row.text(4), rolloutID: try row.text(5)))
                found[access.deviceID] = access
            }
        }
        return found
    }

    /// Heartbeats per UPDATE: 4 binds each.
    static let heartbeatChunk = 500

    public func recordHeartbeats(_ writes: [HeartbeatWrite]) async throws -> [DeviceAssignment?] {
        let assignments = try await updateHeartbeats(writes, on: database)
        return writes.map { assignments[$0.deviceID] }
    }

    /// The heartbeat UPDATEs (`heartbeatChunk` devices per statement) on `connection`; returns
    /// the assignment of every device whose status was stored, by id.
    private func updateHeartbeats(_ writes: [HeartbeatWrite], on connection: any SQLConnection) async throws -> [String: DeviceAssignment] {
        var assignments: [String: DeviceAssignment] = [:]
        var start = 0
        while start < writes.count {
            let chunk = writes[start..<min(start + Self.heartbeatChunk, writes.count)]
            start += Self.heartbeatChunk
            let statuses = try chunk.map { try $0.status.serializedBytes() as [UInt8] }
            if dialect == .postgres {
                // One array per column: one prepared statement for every batch size.
                let rows = try await connection.execute(prepared: PostgresBatchStatements.Heartbeats.self, [
                    .textArray(chunk.map(\.deviceID)), .textArray(chunk.map(\.credentialHash)),
                    .integerArray(chunk.map(\.now)), .blobArray(statuses),
                ])
                for row in rows {
                    assignments[try row.text(0)] = DeviceAssignment(modelDigest: try row.text(1), rolloutID: try row.text(2))
                }
            } else {
                var binds: [SQLValue] = []
                binds.reserveCapacity(chunk.count * 4)
                var tuples: [String] = []
                tuples.reserveCapacity(chunk.count)
                for (write, status) in zip(chunk, statuses) {
                    let base = binds.count
                    tuples.append("($\(base + 1), $\(base + 2), $\(base + 3), $\(base + 4))")
                    binds += [.text(write.deviceID), .text(write.credentialHash), .integer(write.now), .blob(status)]
                }
                // VALUES columns are column1...column4 in SQLite.
                let sql = """
                    UPDATE devices SET last_seen = v.column3, last_status = v.column4
                    FROM (VALUES \(tuples.joined(separator: ", "))) AS v
                    WHERE devices.device_id = v.column1 AND devices.credential_hash = v.column2 AND devices.revoked_at = 0
                    RETURNING devices.device_id, devices.desired_model, devices.desired_rollout
                    """
                for row in try await connection.execute(sql, binds) {
                    assignments[try row.text(0)] = DeviceAssignment(modelDigest: try row.text(1), rolloutID: try row.text(2))
                }
            }
        }
        return assignments
    }

    public func recordSyncs(_ writes: [SyncWrite]) async throws -> [SyncOutcome?] {
        // Rows are visited in device-id order, so two replicas' batches lock shared rows in one order.
        let sorted = writes.sorted { $0.deviceID < $1.deviceID }
        var stored: [String: (assignment: DeviceAssignment, inserted: Int)] = [:]
        if dialect == .postgres {
            // One statement: the UPDATE authenticates, the INSERT takes only the devices it stored.
            let statuses = try sorted.map { try $0.heartbeat.status.serializedBytes() as [UInt8] }
            let rows = sorted.flatMap { write in write.results.map { (Self.upload(of: write), $0) } }
            let binds: [SQLValue] = [
                .textArray(sorted.map(\.deviceID)), .textArray(sorted.map(\.heartbeat.credentialHash)),
                .integerArray(sorted.map(\.heartbeat.now)), .blobArray(statuses),
            ] + Self.postgresBinds(rows[...], checkCredentials: false)
            for row in try await database.execute(prepared: PostgresBatchStatements.Syncs.self, binds) {
                stored[try row.text(0)] = (DeviceAssignment(modelDigest: try row.text(1), rolloutID: try row.text(2)),
                                           Int(try row.int(3)))
            }
        } else {
            // BEGIN IMMEDIATE holds the write lock: devices that passed the UPDATE stay valid for the INSERT.
            stored = try await database.transaction { connection in
                let assignments = try await self.updateHeartbeats(sorted.map(\.heartbeat), on: connection)
                let passed = sorted.filter { assignments[$0.deviceID] != nil }.map(Self.upload(of:))
                let inserted = try await self.insertResults(passed, checkCredentials: false, on: connection)
                return assignments.reduce(into: [String: (assignment: DeviceAssignment, inserted: Int)]()) { answer, entry in
                    answer[entry.key] = (entry.value, inserted[entry.key] ?? 0)
                }
            }
        }
        return writes.map { write in
            stored[write.deviceID].map { SyncOutcome(assignment: $0.assignment, upload: Self.outcome(of: Self.upload(of: write).upload, inserted: $0.inserted)) }
        }
    }

    public func recordHeartbeat(deviceID: String, status: FleetDeviceStatus, now: Int64) async throws {
        let bytes: [UInt8] = try status.serializedBytes()
        _ = try await database.execute("UPDATE devices SET last_seen = $2, last_status = $3 WHERE device_id = $1",
                                       [.text(deviceID), .integer(now), .blob(bytes)])
    }

    public func desiredModel(deviceID: String) async throws -> (model: ModelRecord, rolloutID: String)? {
        let rows = try await database.execute(
            """
            SELECT m.model_digest, m.name, m.version, m.manifest, m.signature, m.key_id, m.registered_at, d.desired_rollout
            FROM devices d JOIN models m ON m.model_digest = d.desired_model WHERE d.device_id = $1
            """, [.text(deviceID)])
        guard let row = rows.first else { return nil }
        return (try Self.model(from: row), try row.text(7))
    }

    // MARK: audit

    public func appendAudit(_ entry: AuditRecord) async throws {
        _ = try await database.execute(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
            [.integer(entry.at), .text(entry.actor), .text(entry.action), .text(entry.subject), .text(entry.detail)])
    }

    public func auditLog(limit: Int) async throws -> [AuditRecord] {
        try await database.execute(
            "SELECT id, at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT $1",
            [.integer(Int64(max(1, min(limit, 10_000))))]
        ).map { row in
            AuditRecord(id: try row.int(0), at: try row.int(1), actor: try row.text(2), action: try row.text(3),
                        subject: try row.text(4), detail: try row.text(5))
        }
    }

    // MARK: results

    /// Rows per INSERT: on SQLite 10–11 binds each, well under its 32,766 (PostgreSQL binds
    /// one array per column).
    static let ingestChunk = 500

    public func ingest(deviceID: String, results: [FleetResult], receivedAt: Int64) async throws -> IngestOutcome {
        let outcomes = try await ingest([ResultUpload(deviceID: deviceID, results: results, receivedAt: receivedAt)])
        return outcomes.first ?? IngestOutcome(ackedSeqs: [], inserted: 0)
    }

    public func ingest(_ uploads: [ResultUpload]) async throws -> [IngestOutcome] {
        let inserted = try await insertResults(uploads.map { AuthenticatedUpload(upload: $0, credentialHash: "") },
                                               checkCredentials: false)
        return uploads.map { Self.outcome(of: $0, inserted: inserted[$0.deviceID] ?? 0) }
    }

    public func ingest(authenticated uploads: [AuthenticatedUpload]) async throws -> [IngestOutcome?] {
        let inserted = try await insertResults(uploads, checkCredentials: true)
        // Every row of an upload inserted: its device passed the check inside the INSERT. Fewer
        // (duplicates, or a refused device) or none sent: read the device after the INSERT. A
        // device's credential hash never changes and a revocation is never undone, so a device
        // that passes now also passed during the INSERT, and every seq it sent is stored.
        func unsure(_ item: AuthenticatedUpload) -> Bool {
            let count = inserted[item.upload.deviceID] ?? 0
            return count == 0 || count != Set(item.upload.results.map(\.seq)).count
        }
        let toRead = uploads.filter(unsure).map(\.upload.deviceID)
        let access = toRead.isEmpty ? [:] : try await deviceAccess(ids: toRead)
        return uploads.map { item in
            if unsure(item) {
                guard let device = access[item.upload.deviceID], !device.isRevoked,
                      Secrets.constantTimeEqual(device.credentialHash, item.credentialHash) else { return nil }
            }
            return Self.outcome(of: item.upload, inserted: inserted[item.upload.deviceID] ?? 0)
        }
    }

    /// The results half of a sync cycle, received at its heartbeat's time.
    private static func upload(of write: SyncWrite) -> AuthenticatedUpload {
        AuthenticatedUpload(upload: ResultUpload(deviceID: write.deviceID, results: write.results, receivedAt: write.heartbeat.now),
                            credentialHash: write.heartbeat.credentialHash)
    }

    /// Every seq is stored once the INSERT ran: inserted by it or by an earlier (retried) upload.
    private static func outcome(of upload: ResultUpload, inserted: Int) -> IngestOutcome {
        var seen = Set<UInt64>()
        return IngestOutcome(ackedSeqs: upload.results.map(\.seq).filter { seen.insert($0).inserted }, inserted: inserted)
    }

    /// INSERTs the uploads' rows (`ingestChunk` per statement), skipping stored `(device_id, seq)`
    /// and, with `checkCredentials`, rows whose device is unknown, revoked or has another
    /// credential hash. Returns rows inserted by device id.
    private func insertResults(_ uploads: [AuthenticatedUpload], checkCredentials: Bool,
                               on connection: (any SQLConnection)? = nil) async throws -> [String: Int] {
        let connection = connection ?? database
        let rows = uploads.flatMap { item in item.upload.results.map { (item, $0) } }
        var inserted: [String: Int] = [:]
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + Self.ingestChunk, rows.count)]
            start += Self.ingestChunk
            let rows: [SQLRow]
            if dialect == .postgres {
                let binds = Self.postgresBinds(chunk, checkCredentials: checkCredentials)
                rows = checkCredentials
                    ? try await connection.execute(prepared: PostgresBatchStatements.AuthenticatedResults.self, binds)
                    : try await connection.execute(prepared: PostgresBatchStatements.Results.self, binds)
            } else {
                let (sql, binds) = Self.valuesInsert(chunk, checkCredentials: checkCredentials)
                rows = try await connection.execute(sql, binds)
            }
            for row in rows { inserted[try row.text(0), default: 0] += 1 }
        }
        return inserted
    }

    private static let resultColumns =
        "device_id, seq, job_id, created_at, model_digest, source, text, attributes_json, latency_ms, received_at"

    /// PostgreSQL: one array per column for `PostgresBatchStatements.Results` (and the
    /// credential hashes for `AuthenticatedResults`).
    private static func postgresBinds(_ chunk: ArraySlice<(AuthenticatedUpload, FleetResult)>,
                                      checkCredentials: Bool) -> [SQLValue] {
        var binds: [SQLValue] = [
            .textArray(chunk.map { $0.0.upload.deviceID }), .integerArray(chunk.map { Int64(bitPattern: $0.1.seq) }),
            .textArray(chunk.map { $0.1.jobID }), .integerArray(chunk.map { $0.1.createdAtUnixMs }),
            .textArray(chunk.map { $0.1.modelDigest }), .textArray(chunk.map { $0.1.source }), .textArray(chunk.map { $0.1.text }),
            .textArray(chunk.map { $0.1.attributesJson }), .integerArray(chunk.map { Int64($0.1.latencyMs) }),
            .integerArray(chunk.map { $0.0.upload.receivedAt }),
        ]
        if checkCredentials { binds.append(.textArray(chunk.map { $0.0.credentialHash })) }
        return binds
    }

    /// SQLite: a VALUES list, 10 binds per row (11 with the credential hash).
    private static func valuesInsert(_ chunk: ArraySlice<(AuthenticatedUpload, FleetResult)>,
                                     checkCredentials: Bool) -> (String, [SQLValue]) {
        let width = checkCredentials ? 11 : 10
        var binds: [SQLValue] = []
        var tuples: [String] = []
        binds.reserveCapacity(chunk.count * width)
        for (item, result) in chunk {
            let base = binds.count
            tuples.append("(" + (1...width).map { "$\(base + $0)" }.joined(separator: ", ") + ")")
            binds += [.text(item.upload.deviceID), .integer(Int64(bitPattern: result.seq)), .text(result.jobID),
                      .integer(result.createdAtUnixMs), .text(result.modelDigest), .text(result.source),
                      .text(result.text), .text(result.attributesJson), .integer(Int64(result.latencyMs)),
                      .integer(item.upload.receivedAt)]
            if checkCredentials { binds.append(.text(item.credentialHash)) }
        }
        let values = tuples.joined(separator: ", ")
        guard checkCredentials else {
            return ("""
                INSERT INTO results (\(resultColumns)) VALUES \(values)
                ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id
                """, binds)
        }
        // The WHERE clause (not JOIN … ON) keeps SQLite from reading ON CONFLICT as a join constraint.
        return ("""
            INSERT INTO results (\(resultColumns))
            SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8,
              v.column9, v.column10
            FROM (VALUES \(values)) AS v, devices d
            WHERE d.device_id = v.column1 AND d.credential_hash = v.column11 AND d.revoked_at = 0
            ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id
            """, binds)
    }

    public func queryResults(_ query: ResultQuery) async throws -> [StoredResultRecord] {
        var binds: [SQLValue] = []
        var conditions: [String] = []
        func bind(_ value: SQLValue) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        if !query.deviceID.isEmpty { conditions.append("device_id = \(bind(.text(query.deviceID)))") }
        if !query.modelDigest.isEmpty { conditions.append("model_digest = \(bind(.text(query.modelDigest)))") }
        if query.from != 0 { conditions.append("created_at >= \(bind(.integer(query.from)))") }
        if query.until != 0 { conditions.append("created_at < \(bind(.integer(query.until)))") }
        if !query.tag.isEmpty {
            let needle = bind(.text(",\(query.tag),"))
            conditions.append("device_id IN (SELECT device_id FROM devices WHERE \(dialect.contains("tags", needle)))")
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let limit = bind(.integer(Int64(max(1, min(query.limit, 1_000_000)))))
        let rows = try await database.execute(
            """
            SELECT device_id, seq, job_id, created_at, model_digest, source, text, attributes_json, latency_ms, received_at
            FROM results \(whereClause) ORDER BY \(query.newestFirst ? "created_at DESC, device_id DESC, seq DESC" : "created_at, device_id, seq") LIMIT \(limit)
            """, binds)
        return try rows.map { row in
            var result = FleetResult()
            result.seq = UInt64(bitPattern: try row.int(1))
            result.jobID = try row.text(2)
            result.createdAtUnixMs = try row.int(3)
            result.modelDigest = try row.text(4)
            result.source = try row.text(5)
            result.text = try row.text(6)
            result.attributesJson = try row.text(7)
            result.latencyMs = UInt32(clamping: try row.int(8))
            return StoredResultRecord(deviceID: try row.text(0), result: result, receivedAt: try row.int(9))
        }
    }

    // MARK: artifacts and models

    public func recordBlob(sha256: String, size: Int64, now: Int64) async throws {
        _ = try await database.execute(
            "INSERT INTO blobs (sha256, size, created_at) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING",
            [.text(sha256), .integer(size), .integer(now)])
    }

    public func blobSize(sha256: String) async throws -> Int64? {
        try await database.execute("SELECT size FROM blobs WHERE sha256 = $1", [.text(sha256)]).first?.int(0)
    }

    public func putModel(_ model: ModelRecord) async throws {
        _ = try await database.execute(
            """
            INSERT INTO models (model_digest, name, version, manifest, signature, key_id, registered_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (model_digest) DO NOTHING
            """,
            [.text(model.digest), .text(model.name), .text(model.version), .blob(Array(model.signedManifest.manifest)),
             .blob(Array(model.signedManifest.signature)), .text(model.signedManifest.keyID), .integer(model.registeredAt)])
    }

    private static let modelColumns = "model_digest, name, version, manifest, signature, key_id, registered_at"

    public func model(digest: String) async throws -> ModelRecord? {
        try await database.execute("SELECT \(Self.modelColumns) FROM models WHERE model_digest = $1", [.text(digest)])
            .first.map(Self.model(from:))
    }

    public func listModels() async throws -> [ModelRecord] {
        try await database.execute("SELECT \(Self.modelColumns) FROM models ORDER BY registered_at, model_digest", [])
            .map(Self.model(from:))
    }

    // MARK: rollouts

    public func createRollout(_ rollout: RolloutRecord) async throws {
        var spec = Edgevlm_Fleet_V1_CreateRolloutRequest()
        spec.stages = rollout.stages
        spec.policy = rollout.policy
        let specBytes: [UInt8] = try spec.serializedBytes()
        _ = try await database.execute(
            """
            INSERT INTO rollouts (rollout_id, model_digest, target_tags, spec, phase, current_stage, stage_started_at,
              phase_reason, created_at, acknowledged_failures) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """,
            [.text(rollout.rolloutID), .text(rollout.modelDigest), .text(Self.joinTags(rollout.targetTags)),
             .blob(specBytes), .integer(Int64(rollout.phase.rawValue)), .integer(Int64(rollout.currentStage)),
             .integer(rollout.stageStartedAt), .text(rollout.phaseReason), .integer(rollout.createdAt),
             .integer(rollout.acknowledgedFailures)])
    }

    private static let rolloutColumns = """
        rollout_id, model_digest, target_tags, spec, phase, current_stage, stage_started_at, phase_reason,
        created_at, acknowledged_failures
        """

    public func rollout(id: String) async throws -> RolloutRecord? {
        let rows = try await database.execute("SELECT \(Self.rolloutColumns) FROM rollouts WHERE rollout_id = $1", [.text(id)])
        guard let row = rows.first else { return nil }
        var rollout = try Self.rollout(from: row)
        rollout.counts = try await counts(of: rollout, on: database)
        return rollout
    }

    public func listRollouts() async throws -> [RolloutRecord] {
        var rollouts = try await database.execute("SELECT \(Self.rolloutColumns) FROM rollouts ORDER BY created_at DESC", [])
            .map(Self.rollout(from:))
        for index in rollouts.indices {
            rollouts[index].counts = try await counts(of: rollouts[index], on: database)
        }
        return rollouts
    }

    public func rolloutDevices(rolloutID: String) async throws -> [RolloutDeviceRecord] {
        try await database.execute(
            """
            SELECT rollout_id, device_id, stage, state, reason, previous_model, updated_at FROM rollout_devices
            WHERE rollout_id = $1 ORDER BY device_id
            """, [.text(rolloutID)]
        ).map { row in
            RolloutDeviceRecord(rolloutID: try row.text(0), deviceID: try row.text(1), stage: Int(try row.int(2)),
                                state: FleetRolloutDeviceState(rawValue: Int(try row.int(3))) ?? .unspecified,
                                reason: try row.text(4), previousModelDigest: try row.text(5), updatedAt: try row.int(6))
        }
    }

    public func recordRolloutReport(deviceID: String, rolloutID: String, state: FleetRolloutDeviceState,
                                    reason: String, now: Int64) async throws -> FleetRolloutDeviceState {
        let forUpdate = dialect.forUpdate
        return try await database.transaction { connection in
            let rows = try await connection.execute(
                "SELECT state FROM rollout_devices WHERE rollout_id = $1 AND device_id = $2\(forUpdate)",
                [.text(rolloutID), .text(deviceID)])
            guard let row = rows.first else {
                throw CoordinatorError(.permissionDenied, "device \(deviceID) is not part of rollout \(rolloutID)",
                                       context: "rollout \(rolloutID)")
            }
            let current = FleetRolloutDeviceState(rawValue: Int(try row.int(0))) ?? .unspecified
            // A failure is final for the rollout's accounting: later reports do not erase it.
            if current == .failed || current == .rolledBack { return current }
            _ = try await connection.execute(
                "UPDATE rollout_devices SET state = $3, reason = $4, updated_at = $5 WHERE rollout_id = $1 AND device_id = $2",
                [.text(rolloutID), .text(deviceID), .integer(Int64(state.rawValue)), .text(reason), .integer(now)])
            return state
        }
    }

    public func advanceRollout(id: String, command: RolloutCommand?, now: Int64) async throws -> RolloutRecord {
        let forUpdate = dialect.forUpdate
        return try await database.transaction { connection in
            let rows = try await connection.execute(
                "SELECT \(Self.rolloutColumns) FROM rollouts WHERE rollout_id = $1\(forUpdate)", [.text(id)])
            guard let row = rows.first else {
                throw CoordinatorError(.notFound, "no rollout \(id)", context: "rollout \(id)")
            }
            var rollout = try Self.rollout(from: row)
            rollout.counts = try await self.counts(of: rollout, on: connection)
            let transition = try RolloutStateMachine.step(rollout, command: command, now: now)
            var next = transition.rollout
            switch transition.effect {
            case .none:
                break
            case .assignStage(let stage, let cohortSize):
                try await self.assign(rollout: next, stage: stage, upTo: cohortSize, now: now, on: connection)
            case .rollBackDevices:
                _ = try await connection.execute(
                    """
                    UPDATE devices SET desired_model = (SELECT rd.previous_model FROM rollout_devices rd
                      WHERE rd.rollout_id = $1 AND rd.device_id = devices.device_id), desired_rollout = ''
                    WHERE desired_rollout = $1
                    """, [.text(id)])
            }
            if next != rollout || transition.effect != .none {
                _ = try await connection.execute(
                    """
                    UPDATE rollouts SET phase = $2, current_stage = $3, stage_started_at = $4, phase_reason = $5,
                      acknowledged_failures = $6 WHERE rollout_id = $1
                    """,
                    [.text(id), .integer(Int64(next.phase.rawValue)), .integer(Int64(next.currentStage)),
                     .integer(next.stageStartedAt), .text(next.phaseReason), .integer(next.acknowledgedFailures)])
            }
            next.counts = try await self.counts(of: next, on: connection)
            return next
        }
    }

    /// Assigns devices of the rollout's target (in a fixed pseudo-random order per rollout)
    /// until `cohortSize` take part, and points them at the rollout's model.
    private func assign(rollout: RolloutRecord, stage: Int, upTo cohortSize: Int64, now: Int64,
                        on connection: any SQLConnection) async throws {
        let missing = cohortSize - rollout.counts.assigned
        guard missing > 0 else { return }
        var binds: [SQLValue] = [.text(rollout.rolloutID)]
        var conditions = ["revoked_at = 0",
                          "device_id NOT IN (SELECT device_id FROM rollout_devices WHERE rollout_id = $1)"]
        for tag in rollout.targetTags {
            binds.append(.text(",\(tag),"))
            conditions.append(dialect.contains("tags", "$\(binds.count)"))
        }
        let candidates = try await connection.execute(
            "SELECT device_id, desired_model, last_status FROM devices WHERE \(conditions.joined(separator: " AND "))",
            binds)
        let ordered = try candidates.map { row -> (key: String, id: String, previous: String) in
            let id = try row.text(0)
            var previous = try row.text(1)
            if previous.isEmpty, case .blob(let bytes) = row.values[2], !bytes.isEmpty {
                let status = try FleetDeviceStatus(serializedBytes: bytes)
                previous = status.slots.first(where: \.active)?.modelDigest ?? ""
            }
            return (Digests.sha256Hex("\(rollout.rolloutID):\(id)"), id, previous)
        }.sorted { $0.key < $1.key }.prefix(Int(missing))
        let chosen = Array(ordered)
        var start = 0
        while start < chosen.count {
            let chunk = chosen[start..<min(start + 500, chosen.count)]
            start += 500
            var insertBinds: [SQLValue] = [.text(rollout.rolloutID), .integer(Int64(stage)),
                                           .integer(Int64(FleetRolloutDeviceState.pending.rawValue)), .integer(now)]
            var tuples: [String] = []
            var idPlaceholders: [String] = []
            for device in chunk {
                insertBinds.append(.text(device.id))
                let idBind = "$\(insertBinds.count)"
                insertBinds.append(.text(device.previous))
                tuples.append("($1, \(idBind), $2, $3, '', $\(insertBinds.count), $4)")
                idPlaceholders.append(idBind)
            }
            _ = try await connection.execute(
                """
                INSERT INTO rollout_devices (rollout_id, device_id, stage, state, reason, previous_model, updated_at)
                VALUES \(tuples.joined(separator: ", "))
                """, insertBinds)
            var updateBinds: [SQLValue] = [.text(rollout.modelDigest), .text(rollout.rolloutID)]
            var updateIDs: [String] = []
            for device in chunk {
                updateBinds.append(.text(device.id))
                updateIDs.append("$\(updateBinds.count)")
            }
            _ = try await connection.execute(
                "UPDATE devices SET desired_model = $1, desired_rollout = $2 WHERE device_id IN (\(updateIDs.joined(separator: ", ")))",
                updateBinds)
        }
    }

    private func counts(of rollout: RolloutRecord, on connection: any SQLConnection) async throws -> RolloutCounts {
        var counts = RolloutCounts()
        let rows = try await connection.execute(
            "SELECT state, COUNT(*) FROM rollout_devices WHERE rollout_id = $1 GROUP BY state", [.text(rollout.rolloutID)])
        for row in rows {
            let state = FleetRolloutDeviceState(rawValue: Int(try row.int(0))) ?? .unspecified
            let count = try row.int(1)
            counts.assigned += count
            switch state {
            case .active: counts.succeeded += count
            case .failed, .rolledBack: counts.failed += count
            default: break
            }
        }
        var binds: [SQLValue] = []
        var conditions = ["revoked_at = 0"]
        for tag in rollout.targetTags {
            binds.append(.text(",\(tag),"))
            conditions.append(dialect.contains("tags", "$\(binds.count)"))
        }
        counts.target = try await connection.execute(
            "SELECT COUNT(*) FROM devices WHERE \(conditions.joined(separator: " AND "))", binds).first?.int(0) ?? 0
        return counts
    }

    // MARK: row mapping

    static func joinTags(_ tags: [String]) -> String {
        tags.isEmpty ? "," : "," + tags.joined(separator: ",") + ","
    }

    static func splitTags(_ text: String) -> [String] {
        text.split(separator: ",").map(String.init)
    }

    static func device(from row: SQLRow) throws -> DeviceRecord {
        var status: FleetDeviceStatus?
        if case .blob(let bytes) = row.values[9], !bytes.isEmpty {
            status = try FleetDeviceStatus(serializedBytes: bytes)
        }
        return DeviceRecord(deviceID: try row.text(0), hardwareID: try row.text(1), name: try row.text(2),
                            tags: splitTags(try row.text(3)), credentialHash: try row.text(4), enrolledAt: try row.int(5),
                            lastSeen: try row.int(6), revokedAt: try row.int(7), revokeReason: try row.text(8),
                            lastStatus: status, desiredModelDigest: try row.text(10), desiredRolloutID: try row.text(11))
    }

    static func model(from row: SQLRow) throws -> ModelRecord {
        var signed = FleetSignedManifest()
        signed.manifest = Data(try row.blob(3))
        signed.signature = Data(try row.blob(4))
        signed.keyID = try row.text(5)
        return ModelRecord(digest: try row.text(0), name: try row.text(1), version: try row.text(2),
                           signedManifest: signed, registeredAt: try row.int(6))
    }

    static func rollout(from row: SQLRow) throws -> RolloutRecord {
        let spec = try Edgevlm_Fleet_V1_CreateRolloutRequest(serializedBytes: try row.blob(3))
        return RolloutRecord(rolloutID: try row.text(0), modelDigest: try row.text(1), targetTags: splitTags(try row.text(2)),
                             stages: spec.stages, policy: spec.policy,
                             phase: FleetRolloutPhase(rawValue: Int(try row.int(4))) ?? .unspecified,
                             currentStage: Int(try row.int(5)), stageStartedAt: try row.int(6),
                             phaseReason: try row.text(7), createdAt: try row.int(8),
                             acknowledgedFailures: try row.int(9))
    }
}
