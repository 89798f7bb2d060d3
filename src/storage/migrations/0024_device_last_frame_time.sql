-- The time of the device's frame numbered devices.sequence_number, which ingest
-- reads to find that frame's message when another station reports it. Until
-- now last_time was both that and the time the device was last heard; but a
-- frame can be stamped earlier than the one before it (two stations' clocks),
-- and last_time moving back would make a device heard a moment ago look silent
-- (a false communication loss). last_time is now the latest time the device was
-- heard, never moved back; NULL here: the same as last_time (devices from
-- before this column, and those written whole by Store::UpdateDevice).
ALTER TABLE devices ADD COLUMN last_frame_time BIGINT;
