-- A claim's lease of a delivery (Store::ClaimDeliveries) is its own column:
-- a pending delivery is due when next_attempt and lease_until have both
-- passed. The lease used to move next_attempt, which deliveries_due holds, so
-- on PostgreSQL every lease wrote a new entry into each of the table's indexes;
-- a column no index holds lets PostgreSQL make the lease a heap-only update,
-- which writes no index entry, when the row's page has room for the new
-- version. A lower fill factor leaves that room: a claim leases runs of rows
-- that were queued together and sit on the same pages. SQLite rewrites only
-- the indexes whose columns an update changes, so the lease touches none there.
ALTER TABLE deliveries ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
{{POSTGRES_ONLY}}ALTER TABLE deliveries SET (fillfactor = 50);
-- Leased rows now stay at the head of the due index until their attempts are
-- recorded; a claim goes on from where the last one stopped, by (due time,
-- id), rather than stepping over them (SQLite's index ended with the row id
-- already; PostgreSQL's broke ties by the rows' places in the table).
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt, id) WHERE state = 0;
