-- LoRaWAN zero-touch provisioning (provisioning.md): the imported Provision
-- IDs, one key set per accepted exchange, and the devEUI pools' counters.

-- EUIs are 16 lowercase hex digits: a text key keeps every 64-bit value
-- (BIGINT is signed) and reads the same in a database shell as in the API.
-- An absent EUI is '' rather than NULL, so that imports go through the bulk
-- insert (whose rows carry no NULL text); the unique indexes skip ''.
CREATE TABLE provision_ids (
  provision_id      {{BYTES_TEXT}} PRIMARY KEY,  -- canonical uppercase
  group_id          TEXT NOT NULL REFERENCES groups (id),
  provision_id_hash TEXT NOT NULL UNIQUE,        -- the Auth names the ID by this
  model             TEXT NOT NULL,
  serial_number     TEXT NOT NULL,
  fixed_dev_eui     TEXT NOT NULL,  -- from the report row; '' = take one from the pool
  dev_eui           TEXT NOT NULL,  -- assigned at the first accepted exchange; '' = not yet
  join_eui          TEXT NOT NULL,  -- the report row's appEUI; '' = none
  state             TEXT NOT NULL CHECK (state IN ('pending', 'provisioned', 'disabled')),
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL
);
CREATE INDEX provision_ids_group ON provision_ids (group_id, provision_id);
-- One devEUI is never two Provision IDs'.
CREATE UNIQUE INDEX provision_ids_fixed_dev_eui ON provision_ids (fixed_dev_eui)
  WHERE fixed_dev_eui <> '';
CREATE UNIQUE INDEX provision_ids_dev_eui ON provision_ids (dev_eui) WHERE dev_eui <> '';

-- One row per accepted exchange; the latest of an ID has current = 1, the
-- earlier ones are its history. The keys are sealed (crypto/seal.h) under the
-- Provision ID, so a blob copied onto another ID's row does not open.
CREATE TABLE provisioned_keys (
  id             {{SERIAL_ID}},
  provision_id   {{BYTES_TEXT}} NOT NULL REFERENCES provision_ids (provision_id),
  dev_eui        TEXT NOT NULL,
  join_eui       TEXT NOT NULL,
  sealed_app_key {{BLOB}} NOT NULL,
  sealed_nwk_key {{BLOB}} NOT NULL,
  rdev_eui       TEXT NOT NULL,
  network_flag   INTEGER,
  gateway_eui    TEXT NOT NULL,
  rssi           BIGINT NOT NULL,
  snr            DOUBLE PRECISION NOT NULL,
  frequency      DOUBLE PRECISION NOT NULL,
  provisioned_at BIGINT NOT NULL,
  current        INTEGER NOT NULL
);
CREATE INDEX provisioned_keys_id ON provisioned_keys (provision_id, id);
CREATE INDEX provisioned_keys_current ON provisioned_keys (dev_eui) WHERE current = 1;
CREATE INDEX provisioned_keys_gateway ON provisioned_keys (gateway_eui, provisioned_at);

-- The last offset handed out of each pool ("PREFIX/BITS"): advanced by one
-- UPDATE ... RETURNING inside the recording transaction, so instances sharing
-- a database take turns on the row and never hand out one EUI twice.
CREATE TABLE dev_eui_pools (
  pool        TEXT PRIMARY KEY,
  last_offset BIGINT NOT NULL
);
