-- A device type's map (GET /api/devicetypes/{id}/devices?positioned=true):
-- the type's devices with a position, in id order, read from an index of those
-- alone rather than by walking every device of the type. A device's position
-- changes only when it is edited, never at ingest, so the index costs the hot
-- path nothing.
CREATE INDEX devices_type_positioned ON devices (type_id, id)
  WHERE lat IS NOT NULL AND lng IS NOT NULL;
