-- Retention (pipeline.md, "Messages"): old messages are purged in the
-- background, and the deliveries of a purged message go with it. Deliveries are
-- found by their message's time.
CREATE INDEX deliveries_message_time ON deliveries (message_time);
