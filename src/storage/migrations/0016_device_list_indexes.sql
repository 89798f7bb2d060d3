-- The console's device list at a million devices (docs/api.md, "Devices"): each
-- filter reads an index range in the page's order instead of scanning or sorting.
-- A state filter walks (state, id) in id order: a rare state (DISABLED among a
-- million OK) no longer scans every device for one page.
CREATE INDEX devices_state ON devices (state, id);
-- A name prefix pages by (name, id), and every list is within a group subtree
-- (or a device type). Measured at 1 000 000 devices with a prefix all of them
-- share, one page:
--  - PostgreSQL walks (name, id) and keeps the subtree's rows: 0.1 ms (314 ms
--    sorting the matches without it);
--  - SQLite, without statistics, starts from the group instead:
--    (group_id, name, id) gives each group's matches in page order, 0.01 s
--    (0.9 s sorting them through (group_id, id));
--  - (type_id, name, id) does the same for a device type's devices.
DROP INDEX devices_name;
CREATE INDEX devices_name ON devices (name, id);
CREATE INDEX devices_group_name ON devices (group_id, name, id);
CREATE INDEX devices_type_name ON devices (type_id, name, id);
