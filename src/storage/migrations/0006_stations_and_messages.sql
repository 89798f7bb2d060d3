-- The uplink pipeline (pipeline.md): radio base stations, and the messages their
-- reports become.

-- A station's reports count only for devices of its group's subtree.
CREATE TABLE stations (
  id            TEXT PRIMARY KEY,  -- 4 uppercase hex digits
  name          TEXT NOT NULL,
  group_id      TEXT NOT NULL REFERENCES groups (id),
  lat           DOUBLE PRECISION,
  lng           DOUBLE PRECISION,
  creation_time BIGINT NOT NULL
);
CREATE INDEX stations_group ON stations (group_id, id);

-- One row per frame of a device, however many stations heard it. No foreign key
-- to devices: messages outlive a deleted device until retention purges them, and
-- ingest must not pay for a check the device row lock already made.
-- On PostgreSQL the table is partitioned by time so that retention drops whole
-- partitions instead of deleting rows; rows outside every dated partition land in
-- the default one.
CREATE TABLE messages (
  device_id       {{DEVICE_ID}} NOT NULL,
  time            BIGINT NOT NULL,            -- the first report's time (epoch ms)
  seq_number      INTEGER NOT NULL,
  type_id         TEXT NOT NULL,              -- the device's type when it was received
  group_id        TEXT NOT NULL,              -- the device's group then
  data            TEXT NOT NULL,              -- lowercase hex
  decoded         TEXT NOT NULL,              -- JSON text of the decoding, '' when none
  undecoded       TEXT NOT NULL,              -- JSON array of the fields that did not fit, or ''
  rinfos          TEXT NOT NULL,              -- JSON array, first report first
  nb_frames       INTEGER NOT NULL,
  ack             INTEGER NOT NULL,
  location_lat    DOUBLE PRECISION,
  location_lng    DOUBLE PRECISION,
  location_radius DOUBLE PRECISION,
  link_quality    INTEGER NOT NULL,
  -- The downlink answered to the device (downlinkAnswerStatus): '' while none.
  downlink_data    TEXT NOT NULL DEFAULT '',
  downlink_station TEXT NOT NULL DEFAULT '',
  downlink_ack     INTEGER,                   -- NULL until the device confirmed or denied
  PRIMARY KEY (device_id, time, seq_number)
)
{{POSTGRES_ONLY}}PARTITION BY RANGE (time)
;
{{POSTGRES_ONLY}}CREATE TABLE messages_default PARTITION OF messages DEFAULT;
-- A device type's messages, newest first.
CREATE INDEX messages_type_time ON messages (type_id, time);
