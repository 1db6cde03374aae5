/// The coordinator's tables, in the common subset of SQLite and PostgreSQL. Booleans are
/// integers, times Unix milliseconds, tags a ",a,b," string (tags never contain commas).
enum SQLSchema {
    static func statements(_ dialect: SQLDialect) -> [String] {
        let blob = dialect.blobType
        return [
            """
            CREATE TABLE IF NOT EXISTS enrollment_tokens (
              token_hash TEXT PRIMARY KEY, max_uses BIGINT NOT NULL, uses BIGINT NOT NULL,
              tags TEXT NOT NULL, expires_at BIGINT NOT NULL, created_at BIGINT NOT NULL,
              created_by TEXT NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS devices (
              device_id TEXT PRIMARY KEY, hardware_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
              tags TEXT NOT NULL, credential_hash TEXT NOT NULL, enrolled_at BIGINT NOT NULL,
              last_seen BIGINT NOT NULL, revoked_at BIGINT NOT NULL, revoke_reason TEXT NOT NULL,
              last_status \(blob), desired_model TEXT NOT NULL, desired_rollout TEXT NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS audit_log (
              id \(dialect.autoIncrementPrimaryKey), at BIGINT NOT NULL, actor TEXT NOT NULL,
              action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS results (
              device_id TEXT NOT NULL, seq BIGINT NOT NULL, job_id TEXT NOT NULL,
              created_at BIGINT NOT NULL, model_digest TEXT NOT NULL, source TEXT NOT NULL,
              text TEXT NOT NULL, attributes_json TEXT NOT NULL, latency_ms BIGINT NOT NULL,
              received_at BIGINT NOT NULL, PRIMARY KEY (device_id, seq))
            """,
            "CREATE INDEX IF NOT EXISTS results_created_at ON results (created_at)",
            "CREATE INDEX IF NOT EXISTS results_model ON results (model_digest, created_at)",
            """
            CREATE TABLE IF NOT EXISTS blobs (
              sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, created_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS models (
              model_digest TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL,
              manifest \(blob) NOT NULL, signature \(blob) NOT NULL, key_id TEXT NOT NULL,
              registered_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS rollouts (
              rollout_id TEXT PRIMARY KEY, model_digest TEXT NOT NULL, target_tags TEXT NOT NULL,
              spec \(blob) NOT NULL, phase BIGINT NOT NULL, current_stage BIGINT NOT NULL,
              stage_started_at BIGINT NOT NULL, phase_reason TEXT NOT NULL, created_at BIGINT NOT NULL,
              acknowledged_failures BIGINT NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS rollout_devices (
              rollout_id TEXT NOT NULL, device_id TEXT NOT NULL, stage BIGINT NOT NULL,
              state BIGINT NOT NULL, reason TEXT NOT NULL, previous_model TEXT NOT NULL,
              updated_at BIGINT NOT NULL, PRIMARY KEY (rollout_id, device_id))
            """,
        ]
    }
}
