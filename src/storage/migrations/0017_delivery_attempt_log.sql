-- Each attempt of a delivery is recorded (pipeline.md, "Delivery"): one line
-- "<epoch ms> <status> <info>" per attempt, oldest first (Delivery::attempt_log).
-- The common case, a delivery that succeeds at once, writes nothing here: its
-- last_status and last_info are the whole story.
ALTER TABLE deliveries ADD COLUMN attempt_log TEXT NOT NULL DEFAULT '';
