// Who owns and who acts: the group tree, people (users), API credentials, and
// the tokens handed to people. Plain data; secrets only in protected form
// (Argon2id hashes, SHA-256 of tokens), opaque here and never logged.
#pragma once

#include <string>
#include <vector>

#include "model/roles.h"
#include "model/time.h"

namespace roost {

struct Group {
  std::string id;
  std::string name;
  std::string description;
  std::string parent;             // empty for the root group
  std::vector<std::string> path;  // ids of the ancestors, root first; empty for the root
  EpochMillis creation_time = 0;
  bool operator==(const Group&) const = default;
};

// A person's account in one group. The email is unique within the group
// (case-insensitive: store it lowercased); a person may have one in each of several groups.
struct User {
  std::string id;
  std::string group;
  std::string email;
  std::string name;
  std::string timezone;       // IANA name, e.g. "Europe/Paris"
  std::string password_hash;  // opaque (Argon2id encoded string); empty = no password set yet
  Roles roles;
  EpochMillis creation_time = 0;
  EpochMillis update_time = 0;
  bool operator==(const User&) const = default;
};

// API credentials: HTTP Basic with login (24 hex, the id) and a random password.
struct ApiUser {
  std::string login;
  std::string name;
  std::string group;
  std::string password_hash;  // opaque
  Roles roles;
  EpochMillis creation_time = 0;
  bool operator==(const ApiUser&) const = default;
};

// A secret handed to a person — a console session (the cookie) or a one-time
// password link — as stored: only the SHA-256 (lowercase hex) of the token.
struct UserToken {
  std::string token_hash;
  std::string user;  // user id
  EpochMillis expires = 0;
  EpochMillis creation_time = 0;
  bool operator==(const UserToken&) const = default;
};

}  // namespace roost
