-- The registry's first schema. Shared by SQLite and PostgreSQL; the few dialect
-- differences are tokens replaced at open (storage/migrations.h):
--   {{DEVICE_ID}}  SQLite "INTEGER" (a rowid alias as primary key) / PostgreSQL "BIGINT"
--   {{BLOB}}       SQLite "BLOB" / PostgreSQL "BYTEA"
--   {{BYTES_TEXT}} text compared byte by byte: SQLite "TEXT" (BINARY collation) /
--                  PostgreSQL 'TEXT COLLATE "C"' (so that range scans use the index)
-- Booleans are INTEGER 0/1 in both.

CREATE TABLE groups (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  parent        TEXT REFERENCES groups (id),
  -- '/' + ancestor ids + own id + '/': a subtree is a range of this column.
  tree          {{BYTES_TEXT}} NOT NULL,
  creation_time BIGINT NOT NULL
);
CREATE INDEX groups_parent ON groups (parent, id);
CREATE INDEX groups_tree ON groups (tree);

CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  group_id      TEXT NOT NULL REFERENCES groups (id),
  email         TEXT NOT NULL UNIQUE,
  name          TEXT NOT NULL,
  timezone      TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  roles         TEXT NOT NULL,
  creation_time BIGINT NOT NULL,
  update_time   BIGINT NOT NULL
);
CREATE INDEX users_group ON users (group_id, id);

CREATE TABLE api_users (
  login         TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  group_id      TEXT NOT NULL REFERENCES groups (id),
  password_hash TEXT NOT NULL,
  roles         TEXT NOT NULL,
  creation_time BIGINT NOT NULL
);
CREATE INDEX api_users_group ON api_users (group_id, login);

CREATE TABLE device_types (
  id                   TEXT PRIMARY KEY,
  name                 TEXT NOT NULL,
  description          TEXT NOT NULL,
  group_id             TEXT NOT NULL REFERENCES groups (id),
  keep_alive           BIGINT NOT NULL,
  alert_email          TEXT NOT NULL,
  payload_type         INTEGER NOT NULL,
  payload_config       TEXT NOT NULL,
  downlink_mode        INTEGER NOT NULL,
  downlink_data_string TEXT NOT NULL,
  automatic_renewal    INTEGER NOT NULL,
  creation_time        BIGINT NOT NULL,
  update_time          BIGINT NOT NULL
);
CREATE INDEX device_types_group ON device_types (group_id, id);

CREATE TABLE devices (
  id                    {{DEVICE_ID}} PRIMARY KEY,
  name                  {{BYTES_TEXT}} NOT NULL,
  type_id               TEXT NOT NULL REFERENCES device_types (id),
  group_id              TEXT NOT NULL REFERENCES groups (id),
  pac                   TEXT NOT NULL,
  product_certificate   TEXT NOT NULL,
  lat                   DOUBLE PRECISION,
  lng                   DOUBLE PRECISION,
  activation_time       BIGINT,
  state                 INTEGER NOT NULL,
  token_renew_forbidden INTEGER NOT NULL,
  last_time             BIGINT,
  average_snr           DOUBLE PRECISION,
  average_rssi          DOUBLE PRECISION,
  sequence_number       BIGINT,
  creation_time         BIGINT NOT NULL,
  dev_eui               TEXT NOT NULL,
  join_eui              TEXT NOT NULL,
  provision_id          TEXT NOT NULL,
  serial_number         TEXT NOT NULL,
  model                 TEXT NOT NULL
);
-- Keyset pages by type or group walk these in id order.
CREATE INDEX devices_type ON devices (type_id, id);
CREATE INDEX devices_group ON devices (group_id, id);
CREATE INDEX devices_name ON devices (name);

CREATE TABLE credentials (
  device_id     {{DEVICE_ID}} PRIMARY KEY,
  sealed_key    {{BLOB}} NOT NULL,
  initial_pac   TEXT NOT NULL,
  creation_time BIGINT NOT NULL
);

CREATE TABLE jobs (
  id            TEXT PRIMARY KEY,
  kind          TEXT NOT NULL,
  group_id      TEXT NOT NULL REFERENCES groups (id),
  params        TEXT NOT NULL,
  total         BIGINT NOT NULL,
  processed     BIGINT NOT NULL,
  success       BIGINT NOT NULL,
  chunks_left   BIGINT NOT NULL,
  creation_time BIGINT NOT NULL
);

-- state: 0 pending, 1 leased (worker, token, lease_until), 2 done.
CREATE TABLE job_chunks (
  job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  chunk       BIGINT NOT NULL,
  first_item  BIGINT NOT NULL,
  items       {{BLOB}} NOT NULL,
  state       INTEGER NOT NULL,
  worker      TEXT,
  token       TEXT,
  lease_until BIGINT,
  job_created BIGINT NOT NULL,
  PRIMARY KEY (job_id, chunk)
);
CREATE INDEX job_chunks_open ON job_chunks (job_created, job_id, chunk) WHERE state < 2;

CREATE TABLE job_failures (
  job_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  chunk   BIGINT NOT NULL,
  seq     BIGINT NOT NULL,
  item_id TEXT NOT NULL,
  message TEXT NOT NULL,
  PRIMARY KEY (job_id, chunk, seq)
);
