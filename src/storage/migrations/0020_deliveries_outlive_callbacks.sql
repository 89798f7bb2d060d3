-- A callback's deliveries outlive it: each attempt stays recorded on its
-- message (pipeline.md, "Callbacks") when the callback is deleted, shown
-- without the callback's url. The foreign key that deleted them with it goes.
-- PostgreSQL drops the constraint; SQLite, which cannot, rebuilds the table
-- (its documented procedure: new table, copy, drop, rename, indexes).
{{POSTGRES_ONLY}}ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_callback_id_fkey;
{{SQLITE_ONLY}}CREATE TABLE deliveries_new (id INTEGER PRIMARY KEY, callback_id TEXT NOT NULL, device_id INTEGER NOT NULL, message_time BIGINT NOT NULL, seq_number INTEGER NOT NULL, duplicate INTEGER NOT NULL, station TEXT NOT NULL, state INTEGER NOT NULL, attempts INTEGER NOT NULL, next_attempt BIGINT NOT NULL, first_failure BIGINT NOT NULL, last_status INTEGER NOT NULL, last_info TEXT NOT NULL, creation_time BIGINT NOT NULL, variables TEXT NOT NULL DEFAULT '', hook_claimed INTEGER NOT NULL DEFAULT 0, attempt_log TEXT NOT NULL DEFAULT '', lease_until BIGINT NOT NULL DEFAULT 0);
{{SQLITE_ONLY}}INSERT INTO deliveries_new (id, callback_id, device_id, message_time, seq_number, duplicate, station, state, attempts, next_attempt, first_failure, last_status, last_info, creation_time, variables, hook_claimed, attempt_log, lease_until) SELECT id, callback_id, device_id, message_time, seq_number, duplicate, station, state, attempts, next_attempt, first_failure, last_status, last_info, creation_time, variables, hook_claimed, attempt_log, lease_until FROM deliveries;
{{SQLITE_ONLY}}DROP TABLE deliveries;
{{SQLITE_ONLY}}ALTER TABLE deliveries_new RENAME TO deliveries;
{{SQLITE_ONLY}}CREATE INDEX deliveries_callback ON deliveries (callback_id, state);
{{SQLITE_ONLY}}CREATE INDEX deliveries_failed ON deliveries (first_failure, id) WHERE state = 2 OR (state = 0 AND first_failure > 0);
{{SQLITE_ONLY}}CREATE INDEX deliveries_message ON deliveries (message_time, device_id, seq_number);
{{SQLITE_ONLY}}CREATE INDEX deliveries_due ON deliveries (next_attempt, id) WHERE state = 0;
