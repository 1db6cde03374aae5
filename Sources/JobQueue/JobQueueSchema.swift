/// The queue's versioned schema. `PRAGMA user_version` holds the version; each migration runs in
/// its own `BEGIN IMMEDIATE` transaction together with the version bump, so a crash mid-migration
/// leaves the previous version intact.
enum JobQueueSchema {
    /// Version 1: jobs and results (the first released layout).
    static let version1 = """
    CREATE TABLE jobs(
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL CHECK (kind IN ('file', 'camera')),
      source TEXT NOT NULL,
      prompt TEXT NOT NULL,
      image_path TEXT,
      priority INTEGER NOT NULL DEFAULT 0,
      state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'dead')),
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at REAL NOT NULL,
      lease_owner TEXT,
      lease_expires_mono INTEGER,
      lease_boot_id TEXT,
      idempotency_key TEXT NOT NULL UNIQUE,
      last_error TEXT,
      created_at REAL NOT NULL,
      started_at REAL,
      finished_at REAL
    );
    CREATE INDEX jobs_by_state ON jobs(state, priority DESC, id);
    CREATE TABLE results(
      job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
      text TEXT NOT NULL,
      tokens INTEGER NOT NULL,
      timings_json TEXT NOT NULL,
      model_digest TEXT NOT NULL,
      image_digest TEXT NOT NULL,
      placement TEXT NOT NULL,
      created_at REAL NOT NULL
    );
    """

    /// Version 2: a unique token per claim, retry delays on the monotonic clock, image ownership and size for retention,
    /// and the results outbox for sync (backfilled from existing results, oldest first).
    static let version2 = """
    ALTER TABLE jobs ADD COLUMN not_before_mono INTEGER;
    ALTER TABLE jobs ADD COLUMN not_before_boot_id TEXT;
    ALTER TABLE jobs ADD COLUMN image_bytes INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN image_owned INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN lease_token TEXT;
    CREATE INDEX jobs_by_source ON jobs(source, state, id);
    CREATE INDEX jobs_by_finish ON jobs(state, finished_at);
    CREATE TABLE outbox(
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      job_id INTEGER NOT NULL UNIQUE,
      event TEXT NOT NULL CHECK (event IN ('done', 'failed', 'dead')),
      created_at REAL NOT NULL,
      acked_at REAL
    );
    CREATE INDEX outbox_unacked ON outbox(acked_at, seq);
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO outbox(job_id, event, created_at)
      SELECT job_id, 'done', created_at FROM results ORDER BY created_at, job_id;
    """

    /// Migrations in order; index i upgrades from version i to i + 1.
    static let migrations: [String] = [version1, version2]

    /// The version this build writes.
    static var currentVersion: Int { migrations.count }
}
