-- Each attempt of a delivery is recorded (pipeline.md, "Delivery"): one line
-- "<epoch ms> <status> <info>" per attempt, oldest first (Delivery::attempt_log).
-- The common case, a delivery that succeeds at once, writes nothing here: its
-- last_status and last_info are the whole story.
ALTER TABLE deliveries ADD COLUMN attempt_log TEXT NOT NULL DEFAULT '';

-- GET /api/callbacks/messages/error walks the failing and dead deliveries
-- newest first failure first, a page at a time: this index holds those rows
-- only (none of the healthy pipeline's), in that order.
CREATE INDEX deliveries_failed ON deliveries (first_failure, id)
  WHERE state = 2 OR (state = 0 AND first_failure > 0);
