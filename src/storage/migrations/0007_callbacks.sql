-- Callbacks of device types and the durable queue of their deliveries
-- (pipeline.md, "Callbacks"). A delivery is queued in the transaction that
-- stores its message, so a message is never stored without its deliveries.
--   {{SERIAL_ID}}  SQLite "INTEGER PRIMARY KEY" (a rowid alias) / PostgreSQL
--                  "BIGSERIAL PRIMARY KEY"

CREATE TABLE callbacks (
  id             TEXT PRIMARY KEY,
  type_id        TEXT NOT NULL REFERENCES device_types (id) ON DELETE CASCADE,
  channel        INTEGER NOT NULL,
  callback_type  INTEGER NOT NULL,
  subtype        INTEGER NOT NULL,
  url            TEXT NOT NULL,
  http_method    TEXT NOT NULL,
  headers        TEXT NOT NULL,  -- JSON array of [name, value pattern]
  content_type   TEXT NOT NULL,
  body_template  TEXT NOT NULL,
  line_pattern   TEXT NOT NULL,
  recipient      TEXT NOT NULL,
  subject        TEXT NOT NULL,
  message        TEXT NOT NULL,
  send_duplicate INTEGER NOT NULL,
  payload_config TEXT NOT NULL,
  enabled        INTEGER NOT NULL,
  downlink_hook  INTEGER NOT NULL,
  dead           INTEGER NOT NULL,
  creation_time  BIGINT NOT NULL
);
CREATE INDEX callbacks_type ON callbacks (type_id, id);

CREATE TABLE deliveries (
  id            {{SERIAL_ID}},
  callback_id   TEXT NOT NULL REFERENCES callbacks (id) ON DELETE CASCADE,
  device_id     {{DEVICE_ID}} NOT NULL,
  message_time  BIGINT NOT NULL,
  seq_number    INTEGER NOT NULL,
  duplicate     INTEGER NOT NULL,
  station       TEXT NOT NULL,
  state         INTEGER NOT NULL,  -- 0 pending, 1 done, 2 dead
  attempts      INTEGER NOT NULL,
  next_attempt  BIGINT NOT NULL,   -- pending: when it is due (or its claim expires)
  first_failure BIGINT NOT NULL,   -- 0 while no attempt failed
  last_status   INTEGER NOT NULL,
  last_info     TEXT NOT NULL,
  creation_time BIGINT NOT NULL
);
-- The dispatcher's queue: only pending rows, in the order they are due.
CREATE INDEX deliveries_due ON deliveries (next_attempt) WHERE state = 0;
-- A message's deliveries (its "callbacks" in the API).
CREATE INDEX deliveries_message ON deliveries (device_id, message_time, seq_number);
-- A callback's deliveries (cascade on delete, failures per callback).
CREATE INDEX deliveries_callback ON deliveries (callback_id, state);
