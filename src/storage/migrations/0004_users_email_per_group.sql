-- An email is unique within a group, no longer across the whole store: a person
-- may hold one account in each of several groups, and creating a user whose
-- email exists only in another group must look exactly like creating a fresh
-- one (docs/architecture.md, "Users of several groups").
--
-- Neither engine can drop the column's UNIQUE in place in the same words
-- (SQLite cannot at all), so the table is rebuilt. Sessions and password links
-- reference users: they are rebuilt with it and keep their rows, so nobody is
-- logged out and no pending link stops working.

CREATE TABLE users_v4 (
  id            TEXT PRIMARY KEY,
  group_id      TEXT NOT NULL REFERENCES groups (id),
  email         TEXT NOT NULL,
  name          TEXT NOT NULL,
  timezone      TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  roles         TEXT NOT NULL,
  creation_time BIGINT NOT NULL,
  update_time   BIGINT NOT NULL,
  UNIQUE (group_id, email)
);
INSERT INTO users_v4 (id, group_id, email, name, timezone, password_hash, roles, creation_time,
                      update_time)
  SELECT id, group_id, email, name, timezone, password_hash, roles, creation_time, update_time
  FROM users;

CREATE TABLE password_tokens_v4 (
  token_hash    TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users_v4 (id) ON DELETE CASCADE,
  expires       BIGINT NOT NULL,
  creation_time BIGINT NOT NULL
);
INSERT INTO password_tokens_v4 (token_hash, user_id, expires, creation_time)
  SELECT token_hash, user_id, expires, creation_time FROM password_tokens;

CREATE TABLE sessions_v4 (
  token_hash    TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users_v4 (id) ON DELETE CASCADE,
  expires       BIGINT NOT NULL,
  creation_time BIGINT NOT NULL
);
INSERT INTO sessions_v4 (token_hash, user_id, expires, creation_time)
  SELECT token_hash, user_id, expires, creation_time FROM sessions;

-- The referencing tables first: dropping users then deletes nothing elsewhere.
DROP TABLE sessions;
DROP TABLE password_tokens;
DROP TABLE users;

-- Both engines carry the references along with the renamed tables.
ALTER TABLE users_v4 RENAME TO users;
ALTER TABLE password_tokens_v4 RENAME TO password_tokens;
ALTER TABLE sessions_v4 RENAME TO sessions;

CREATE INDEX users_group ON users (group_id, id);
CREATE INDEX users_email ON users (email);
CREATE INDEX password_tokens_user ON password_tokens (user_id);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires);
