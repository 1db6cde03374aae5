/// The PostgreSQL statements behind every device call under load, prepared once per pooled
/// connection (`PreparedSQL`): each binds one array per column (`unnest`), so one text serves
/// every batch size.
enum PostgresBatchStatements {
    /// Heartbeats: stores each status where the device exists, has that credential hash and is
    /// not revoked; returns the stored devices' assignments.
    /// Binds: device ids, credential hashes, seen-at ms, serialized statuses.
    enum Heartbeats: PreparedSQL {
        static let sql = """
            UPDATE devices SET last_seen = v.seen_at, last_status = v.status
            FROM unnest($1::text[], $2::text[], $3::int8[], $4::bytea[]) AS v(device_id, credential_hash, seen_at, status)
            WHERE devices.device_id = v.device_id AND devices.credential_hash = v.credential_hash
              AND devices.revoked_at = 0
            RETURNING devices.device_id, devices.desired_model, devices.desired_rollout
            """
    }

    static let resultColumns =
        "device_id, seq, job_id, created_at, model_digest, source, text, attributes_json, latency_ms, received_at"

    static let resultArrays = """
        unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::text[], $6::text[], $7::text[], $8::text[],
          $9::int8[], $10::int8[]
        """

    /// Results, unchecked (the caller authenticated the devices); returns a device id per row
    /// inserted. Binds: the ten `resultColumns` as arrays.
    enum Results: PreparedSQL {
        static let sql = """
            INSERT INTO results (\(resultColumns)) SELECT * FROM \(resultArrays))
            ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id
            """
    }

    /// Results of devices that exist, have the given credential hash and are not revoked;
    /// returns a device id per row inserted. Binds: the ten `resultColumns` and credential
    /// hashes, as arrays.
    enum AuthenticatedResults: PreparedSQL {
        static let sql = """
            INSERT INTO results (\(resultColumns))
            SELECT v.device_id, v.seq, v.job_id, v.created_at, v.model_digest, v.source, v.text, v.attributes_json,
              v.latency_ms, v.received_at
            FROM \(resultArrays), $11::text[]) AS v(\(resultColumns), credential_hash)
            JOIN devices d ON d.device_id = v.device_id AND d.credential_hash = v.credential_hash AND d.revoked_at = 0
            ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id
            """
    }

    /// Whole sync cycles in one statement (one round trip, one commit): the heartbeat UPDATE as
    /// in `Heartbeats`, and the results of exactly the devices it stored (so the credential and
    /// revocation check is the UPDATE's); returns per stored device its assignment and the count
    /// of result rows inserted. Binds: the four `Heartbeats` arrays, then the ten
    /// `resultColumns` as arrays.
    enum Syncs: PreparedSQL {
        static let sql = """
            WITH beat AS (
              UPDATE devices SET last_seen = v.seen_at, last_status = v.status
              FROM unnest($1::text[], $2::text[], $3::int8[], $4::bytea[]) AS v(device_id, credential_hash, seen_at, status)
              WHERE devices.device_id = v.device_id AND devices.credential_hash = v.credential_hash
                AND devices.revoked_at = 0
              RETURNING devices.device_id, devices.desired_model, devices.desired_rollout
            ), stored AS (
              INSERT INTO results (\(resultColumns))
              SELECT r.device_id, r.seq, r.job_id, r.created_at, r.model_digest, r.source, r.text, r.attributes_json,
                r.latency_ms, r.received_at
              FROM unnest($5::text[], $6::int8[], $7::text[], $8::int8[], $9::text[], $10::text[], $11::text[],
                $12::text[], $13::int8[], $14::int8[]) AS r(\(resultColumns))
              WHERE r.device_id IN (SELECT device_id FROM beat)
              ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id
            )
            SELECT beat.device_id, beat.desired_model, beat.desired_rollout, COALESCE(counted.inserted, 0)
            FROM beat LEFT JOIN (SELECT device_id, COUNT(*) AS inserted FROM stored GROUP BY device_id) AS counted
              ON counted.device_id = beat.device_id
            """
    }
}
