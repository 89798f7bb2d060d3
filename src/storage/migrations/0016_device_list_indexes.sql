-- The console's device list at a million devices (docs/api.md, "Devices"): each
-- filter reads an index range in the page's order instead of scanning or sorting.
-- A state filter walks (state, id) in id order: a rare state (DISABLED among a
-- million OK) no longer scans every device for one page.
CREATE INDEX devices_state ON devices (state, id);
-- A name prefix pages by (name, id): the index must hold both, in that order
-- (SQLite's (name) index ends with the rowid already; PostgreSQL's does not).
DROP INDEX devices_name;
CREATE INDEX devices_name ON devices (name, id);
