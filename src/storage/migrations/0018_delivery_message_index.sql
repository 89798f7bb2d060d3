-- A delivery is found by its message in two ways: a message page looks up its
-- messages' deliveries by their keys, and retention deletes the deliveries of
-- messages older than a time. One index ordered by the message's time first
-- serves both (a key is an equality on all three columns), where two indexes
-- did: every queued delivery writes one index entry less, and the one it writes
-- goes at the time-ordered end of the index rather than into a device's range
-- anywhere in it, so a commit of many devices' messages touches a few pages of
-- it instead of one per device.
DROP INDEX deliveries_message;
DROP INDEX deliveries_message_time;
CREATE INDEX deliveries_message ON deliveries (message_time, device_id, seq_number);
