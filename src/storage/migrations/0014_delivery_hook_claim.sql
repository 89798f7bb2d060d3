-- 1 once a downlink arbiter claimed this downlinkHook delivery to make its call
-- (Store::ClaimHookDelivery): of several instances holding one frame, only the
-- one whose conditional update set it calls the hook.
ALTER TABLE deliveries ADD COLUMN hook_claimed INTEGER NOT NULL DEFAULT 0;
