#include "server/setup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include "crypto/aes.h"
#include "integration/email.h"

namespace roost::server {
namespace {

// A secret kept in a file, without the line ending an editor adds.
Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError(path + ": read error");
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// Makes `path` mode `mode` when group or others may access it: with a warning
// when this process owns it, refused otherwise (chmod would fail, and serving
// secrets from a file others can read is not something to do quietly).
Status KeepPrivate(const std::string& path, mode_t mode, std::string_view what,
                   observe::Logger& logger) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::IoError(path + ": cannot stat " + std::string(what) + ": " +
                           std::strerror(errno));
  }
  const mode_t current = st.st_mode & 0777;
  if ((current & 077) == 0) return Status::Ok();
  if (st.st_uid != ::geteuid() || ::chmod(path.c_str(), mode) != 0) {
    char want[8];
    std::snprintf(want, sizeof want, "%o", static_cast<unsigned>(mode));
    return Status::IoError(path + ": " + std::string(what) +
                           " is readable by other users and cannot be made private by this "
                           "user; run `chmod " +
                           want + " " + path + "` as its owner");
  }
  char was[8];
  std::snprintf(was, sizeof was, "%o", static_cast<unsigned>(current));
  logger.Warn(std::string(what) + " was accessible to other users; made private",
              {{"path", path}, {"mode_was", was}});
  return Status::Ok();
}

}  // namespace

Status PrepareDataDir(const std::string& dir, observe::Logger& logger) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    return Status::IoError(dir + ": data directory is not a directory");
  }
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return Status::IoError(dir + ": cannot create data directory: " + ec.message());
    if (::chmod(dir.c_str(), 0700) != 0) {
      return Status::IoError(dir +
                             ": cannot make the data directory private: " + std::strerror(errno));
    }
  }
  ROOST_RETURN_IF_ERROR(KeepPrivate(dir, 0700, "data directory", logger));
  for (const char* name : {"roost.db", "roost.db-wal", "roost.db-shm"}) {
    const std::string file = (fs::path(dir) / name).string();
    if (fs::exists(file, ec))
      ROOST_RETURN_IF_ERROR(KeepPrivate(file, 0600, "database file", logger));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Status::IoError(dir + ": data directory is not writable");
  }
  return Status::Ok();
}

Result<crypto::MasterKey> LoadOrCreateMasterKey(const std::string& path, observe::Logger& logger) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    crypto::MasterKey key = crypto::GenerateMasterKey();
    Status written = crypto::WriteMasterKeyFile(path, key);
    if (!written.ok()) {
      crypto::Cleanse(key.data(), key.size());
      return written;
    }
    logger.Warn(
        "generated a new master key; back it up: without it, stored secrets cannot be "
        "decrypted",
        {{"path", path}, {"key_id", crypto::KeyId(key)}});
    return key;
  }
  return crypto::ReadMasterKeyFile(path);
}

Result<std::optional<std::string>> AdminPassword(const config::ServeConfig& config) {
  if (config.admin_password) return config.admin_password;
  if (config.admin_password_file.empty()) return std::optional<std::string>();
  auto text = ReadSecretFile(config.admin_password_file);
  if (!text.ok()) return text.status();
  return std::optional<std::string>(std::move(text).value());
}

Result<registry::SendEmail> MakeEmailSender(const config::ServeConfig& config,
                                            observe::Logger& logger) {
  if (config.smtp.host.empty()) return registry::SendEmail();  // the user creation responses say so
  integration::SmtpSettings settings;
  settings.host = config.smtp.host;
  settings.port = config.smtp.port;
  settings.user = config.smtp.user;
  settings.timeout_ms = config::kEmailSendTimeoutMs;
  if (!config.smtp.password_file.empty()) {
    auto password = ReadSecretFile(config.smtp.password_file);
    if (!password.ok()) return password.status().WithPrefix("smtp.password_file");
    settings.password = std::move(password).value();
  }
  using Tls = integration::SmtpSettings::Tls;
  settings.tls = config.smtp.port == 465  ? Tls::kImplicit
                 : !settings.user.empty() ? Tls::kStartTlsRequired
                                          : Tls::kStartTlsIfOffered;
  std::string from = config.smtp.from;
  if (from.empty()) {
    from = "roost@localhost";
    logger.Warn("smtp.from is not set; emails are sent from roost@localhost");
  }
  auto sender = std::make_shared<integration::SmtpSender>(std::move(settings));
  return registry::SendEmail([sender, from, &logger](const std::string& to,
                                                     const std::string& subject,
                                                     const std::string& body) {
    integration::Email email{"Roost <" + from + ">", {to}, subject, body};
    std::string detail;
    Status sent = sender->Send(email, &detail);
    if (sent.ok()) {
      logger.Info("email sent", {{"to", to}, {"subject", subject}});
    } else {
      logger.Warn("email not sent", {{"to", to}, {"subject", subject}, {"error", detail}});
    }
    return sent;
  });
}

}  // namespace roost::server
