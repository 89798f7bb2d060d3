-- Accounts: group descriptions, one-time password links and console sessions.
-- Tokens handed to people are never stored: only the SHA-256 (hex) of each one.

ALTER TABLE groups ADD COLUMN description TEXT NOT NULL DEFAULT '';

-- One-time links to set a password (invitation or reset). A user has at most
-- one: issuing a new link deletes the old one.
CREATE TABLE password_tokens (
  token_hash    TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  expires       BIGINT NOT NULL,
  creation_time BIGINT NOT NULL
);
CREATE INDEX password_tokens_user ON password_tokens (user_id);

-- Console sessions (the roost_session cookie).
CREATE TABLE sessions (
  token_hash    TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  expires       BIGINT NOT NULL,
  creation_time BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires);
