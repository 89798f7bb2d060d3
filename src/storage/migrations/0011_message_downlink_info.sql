-- Why a frame that asked for a downlink got none (pipeline.md, "Downlinks"):
-- a CALLBACK-mode device type's downlinkHook did not answer, answered late,
-- malformed or with noData. '' while no such decision was made; a message has
-- either a downlink (downlink_station) or a reason, never both.
ALTER TABLE messages ADD COLUMN downlink_info TEXT NOT NULL DEFAULT '';
