-- SERVICE and ERROR callbacks (pipeline.md, "Callbacks") are about a service
-- report or an event rather than a stored message: their values ({temp},
-- {batt}, {downlinkAck}, {info}, {severity}) travel with the delivery, as a
-- JSON object of text values. '' for DATA deliveries, which read the message.
ALTER TABLE deliveries ADD COLUMN variables TEXT NOT NULL DEFAULT '';
