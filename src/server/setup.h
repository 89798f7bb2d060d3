// The steps of starting a server that read files or the environment: the data
// directory, the master key, the bootstrap admin password and the email sender.
// Errors are the lines `roost serve` prints before exiting.
#pragma once

#include <optional>
#include <string>

#include "config/config.h"
#include "core/status.h"
#include "crypto/seal.h"
#include "observe/log.h"
#include "registry/users.h"

namespace roost::server {

// Creates the data directory when missing (mode 0700) and checks that it is usable.
// It holds PACs, password hashes and the master key, so nobody but its owner may
// read it: an existing directory, or a database file in it (roost.db and its -wal
// and -shm), that group or others can read is made private (0700 / 0600) with a
// warning when this process owns it, and refused with a message saying what to fix
// when it does not.
Status PrepareDataDir(const std::string& dir, observe::Logger& logger);

// Reads the master key, or creates one (0600, with a warning to back it up)
// when the file does not exist yet.
Result<crypto::MasterKey> LoadOrCreateMasterKey(const std::string& path, observe::Logger& logger);

// The bootstrap admin password: admin.password, else the first line of
// admin.password_file, else none (one is generated).
Result<std::optional<std::string>> AdminPassword(const config::ServeConfig& config);

// The email sender of smtp.* (empty when smtp.host is not set). TLS: implicit on
// port 465; otherwise STARTTLS, required when a login is configured (AUTH never
// goes over a clear connection), used when offered otherwise. It logs every
// email sent or not sent on `logger`, which must outlive it.
Result<registry::SendEmail> MakeEmailSender(const config::ServeConfig& config,
                                            observe::Logger& logger);

}  // namespace roost::server
