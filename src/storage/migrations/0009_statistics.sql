-- Statistics of devices and device types (pipeline.md, "Statistics and
-- location"), kept at ingest rather than computed from messages: one row per
-- hour (UTC) per device and per device type, summed into days when read.
--   scope 0: a device (scope_id = its id, uppercase hex as the API writes it)
--   scope 1: a device type (scope_id = its id)
-- Sums, not averages, so that concurrent increments and buckets add up.
CREATE TABLE hourly_stats (
  scope          INTEGER NOT NULL,
  scope_id       TEXT NOT NULL,
  hour           BIGINT NOT NULL,   -- epoch ms of the hour's start
  messages       BIGINT NOT NULL,
  bytes          BIGINT NOT NULL,
  receptions     BIGINT NOT NULL,
  snr_sum        DOUBLE PRECISION NOT NULL,
  rssi_sum       DOUBLE PRECISION NOT NULL,
  downlinks      BIGINT NOT NULL,
  status_reports BIGINT NOT NULL,
  temp_sum       DOUBLE PRECISION NOT NULL,
  batt_sum       DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (scope, scope_id, hour)
);

-- Receptions per frequency (kHz) per hour, for the "frequencies used".
CREATE TABLE hourly_frequencies (
  scope      INTEGER NOT NULL,
  scope_id   TEXT NOT NULL,
  hour       BIGINT NOT NULL,
  freq_khz   BIGINT NOT NULL,
  receptions BIGINT NOT NULL,
  PRIMARY KEY (scope, scope_id, hour, freq_khz)
);

-- The last SERVICE report of each kind per device, so that the same report
-- heard by several stations counts once (de-duplicated like uplinks).
CREATE TABLE service_reports (
  device_id  {{DEVICE_ID}} NOT NULL,
  kind       INTEGER NOT NULL,        -- 0 STATUS, 4 ACKNOWLEDGE
  seq_number INTEGER NOT NULL,        -- -1 when the report had none
  time       BIGINT NOT NULL,
  PRIMARY KEY (device_id, kind)
);
