-- A dead callback's alert email is queued in the callback's row, in the
-- transaction that marks it dead (Store::CompleteDeliveries), so that it is
-- sent after a crash or a restart and by one instance only (Store::
-- ClaimDeadAlerts). alert_due > 0: an alert is waiting, due then (a claim's
-- lease end while it is being sent); alert_tries counts its failed tries;
-- dead_status and dead_info are the attempt that killed the callback, which
-- the email quotes.
ALTER TABLE callbacks ADD COLUMN alert_due BIGINT NOT NULL DEFAULT 0;
ALTER TABLE callbacks ADD COLUMN alert_tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE callbacks ADD COLUMN dead_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE callbacks ADD COLUMN dead_info TEXT NOT NULL DEFAULT '';
CREATE INDEX callbacks_alert_due ON callbacks (alert_due) WHERE alert_due > 0;
