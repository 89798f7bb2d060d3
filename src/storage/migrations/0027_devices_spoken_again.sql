-- The silence watcher's second question, "who of a type's lost devices spoke
-- since the loss was recorded", read from the devices that did alone. With
-- devices_comm_lost it read every lost device of the type at every pass (a
-- million lost devices: 0.3 s a pass, twice) to keep the few that spoke.
-- An index of the lost devices only, so small; building it reads the devices
-- table once at the upgrade.
CREATE INDEX devices_spoken_again ON devices (type_id, last_time)
  WHERE comm_lost = 1 AND last_time > comm_lost_since;
-- From this version comm_lost_since is the time the loss was recorded (the
-- watcher's clock), no longer the last message's time: a frame a station
-- reports late, sent before the loss was recorded, does not restore the
-- device (it made a restoration and at once a second loss). Losses recorded
-- before keep the old value until they end.
