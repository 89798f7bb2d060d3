-- When a callback last delivered (Store::CompleteDeliveries). A delivery given
-- up after failing for pipeline.callback_dead_after_s kills its callback only
-- if the callback delivered nothing since that delivery first failed: an
-- endpoint that refuses one message but takes the others is not dead, and the
-- one message is given up alone. 0: never (callbacks from before this column
-- die as they did).
ALTER TABLE callbacks ADD COLUMN last_delivered BIGINT NOT NULL DEFAULT 0;
