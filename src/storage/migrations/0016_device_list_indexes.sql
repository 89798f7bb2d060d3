-- The console's device list at a million devices (docs/api.md, "Devices"): each
-- filter reads an index range in the page's order instead of scanning or sorting.
-- A state filter walks (state, id) in id order: a rare state (DISABLED among a
-- million OK) no longer scans every device for one page.
CREATE INDEX devices_state ON devices (state, id);
-- A name prefix pages by (name, id), and every list is within a group subtree
-- (or a device type): (group_id, name, id) and (type_id, name, id) give each
-- group's or the type's matches in page order, so a prefix that most devices
-- share reads a page's worth of entries per group instead of sorting them all
-- (measured on SQLite, 1 000 000 devices, prefix matching all: 0.9 s → 0.01 s).
-- They replace the name index alone, which no query uses without a group.
DROP INDEX devices_name;
CREATE INDEX devices_group_name ON devices (group_id, name, id);
CREATE INDEX devices_type_name ON devices (type_id, name, id);
