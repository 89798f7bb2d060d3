-- Device events (pipeline.md, "Events and alerts"): the silence watcher's
-- flag on devices, the events it records, who is mailed about them, and the
-- durable outbox of those emails.

-- 1 while the device is reported silent (a COMMUNICATION_LOSS event was
-- recorded and no COMMUNICATION_RESTORED since). The watcher flips it with a
-- conditional UPDATE, so of several instances exactly one records each event.
ALTER TABLE devices ADD COLUMN comm_lost INTEGER NOT NULL DEFAULT 0;
-- While comm_lost: the last message's time (or the registration) when the loss
-- was recorded. Any message after it restores the device, however short the
-- time it spoke before falling silent again.
ALTER TABLE devices ADD COLUMN comm_lost_since BIGINT;
-- The watcher's two questions, each an index range per device type, never a
-- scan of the devices: who has been silent since before T (a device that never
-- spoke counts from its registration), and who of the silent ones spoke since
-- (a range of the few silent devices only).
CREATE INDEX devices_silence ON devices (type_id, COALESCE(last_time, creation_time))
  WHERE comm_lost = 0;
CREATE INDEX devices_comm_lost ON devices (type_id, last_time) WHERE comm_lost = 1;

-- No foreign keys to devices or device types: events outlive them, as messages do.
CREATE TABLE events (
  id        {{SERIAL_ID}},
  device_id {{DEVICE_ID}} NOT NULL,
  type_id   TEXT NOT NULL,
  group_id  TEXT NOT NULL,
  kind      INTEGER NOT NULL,
  severity  INTEGER NOT NULL,
  text      TEXT NOT NULL,
  time      BIGINT NOT NULL
);
-- The lists per device and per device type and severity, newest first.
CREATE INDEX events_device ON events (device_id, severity, time, id);
CREATE INDEX events_type ON events (type_id, severity, time, id);

-- scope: 0 device (target = 8 hex digits), 1 device type, 2 group (and below).
CREATE TABLE event_configs (
  id            TEXT PRIMARY KEY,
  scope         INTEGER NOT NULL,
  target        TEXT NOT NULL,
  group_id      TEXT NOT NULL,
  kinds         TEXT NOT NULL,  -- JSON array of kind codes
  emails        TEXT NOT NULL,  -- JSON array of addresses
  creation_time BIGINT NOT NULL
);
CREATE INDEX event_configs_target ON event_configs (scope, target, id);

-- One row per event and recipient, written in the event's transaction.
CREATE TABLE event_emails (
  id            {{SERIAL_ID}},
  event_id      BIGINT NOT NULL,
  recipient     TEXT NOT NULL,
  state         INTEGER NOT NULL,  -- 0 pending, 1 sent, 2 given up
  attempts      INTEGER NOT NULL,
  next_attempt  BIGINT NOT NULL,   -- pending: when it is due (or its claim expires)
  last_info     TEXT NOT NULL,
  creation_time BIGINT NOT NULL
);
CREATE INDEX event_emails_due ON event_emails (next_attempt) WHERE state = 0;
