// Fuzzes the configuration file parser (TOML via toml++) and the master key
// file parser: both read files an operator edits by hand. Any input must load
// or fail with a message naming the file; what loads must survive a round
// trip through ToToml.
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "crypto/seal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roost;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  (void)crypto::ParseMasterKey(text);

  config::ConfigFile file{"fuzz.toml", std::string(text)};
  auto loaded = config::LoadConfig(file, {}, {});
  if (!loaded.ok()) {
    if (loaded.status().message().find("fuzz.toml") == std::string::npos) __builtin_trap();
    return 0;
  }
  config::ConfigFile again{"again.toml", config::ToToml(*loaded)};
  auto reloaded = config::LoadConfig(again, {}, {});
  if (!reloaded.ok() || !(*reloaded == *loaded)) __builtin_trap();
  return 0;
}
