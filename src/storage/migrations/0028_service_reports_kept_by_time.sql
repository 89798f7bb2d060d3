-- The SERVICE reports a device's copies are matched against: the last few of
-- each kind (Store::IngestService keeps 8), not the last one only. With one,
-- a report a station sent late (older than the latest) was taken, but its copy
-- from a second station, matched against the latest alone, was taken again:
-- counted twice in the statistics and delivered twice.
CREATE TABLE service_reports_kept (
  device_id  {{DEVICE_ID}} NOT NULL,
  kind       INTEGER NOT NULL,        -- 0 STATUS, 4 ACKNOWLEDGE
  time       BIGINT NOT NULL,
  seq_number INTEGER NOT NULL,        -- -1 when the report had none
  PRIMARY KEY (device_id, kind, time, seq_number)
);
INSERT INTO service_reports_kept (device_id, kind, time, seq_number)
  SELECT device_id, kind, time, seq_number FROM service_reports;
DROP TABLE service_reports;
ALTER TABLE service_reports_kept RENAME TO service_reports;
CREATE INDEX service_reports_time ON service_reports (time);
