-- The product-certificate registry (global reference data, not per group) and the
-- per-device "disengaged" flag of GET /api/devicetypes/{id}/disengage.

CREATE TABLE product_certificates (
  cert_key      {{BYTES_TEXT}} PRIMARY KEY,  -- canonical, e.g. P_0004_D356_03
  manufacturer  TEXT NOT NULL,
  product_name  TEXT NOT NULL,
  revision      TEXT NOT NULL,
  link          TEXT NOT NULL,
  notes         TEXT NOT NULL,
  -- lower-case key variants, manufacturer and product name, one per line:
  -- searches are substring matches in this column (storage/internal.h).
  search_text   TEXT NOT NULL,
  creation_time BIGINT NOT NULL,
  update_time   BIGINT NOT NULL
);

-- A row means: skip the sequence-number check for this device's next message.
CREATE TABLE sequence_check_disengaged (
  device_id {{DEVICE_ID}} PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  since     BIGINT NOT NULL
);
