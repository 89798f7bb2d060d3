// Fuzzes what the event routes read from a client: the body of
// POST …/events/config/new (any bytes: parsed as the API parses a JSON body,
// then read as an event configuration) and the paging cursor of the event lists
// (the same bytes as text). Neither may crash; what is accepted must be
// well-formed and survive being written back and read again unchanged.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/json/body.h"
#include "api/json/event_json.h"
#include "core/text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roost;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto cursor = api::ParseEventCursor(text);
  if (cursor.ok()) {
    auto again = api::ParseEventCursor(api::EventCursorText(*cursor));
    if (!again.ok() || !(*again == *cursor)) __builtin_trap();
  }

  auto body = api::ParseJsonObject(text);
  if (!body.ok()) return 0;
  auto config = api::ParseEventConfigCreate(*body);
  if (!config.ok()) {
    if (config.error().status != 400 || config.error().message.empty()) __builtin_trap();
    return 0;
  }
  if (config->kinds.size() > 16 || config->emails.size() > 100) __builtin_trap();
  for (EventKind k : config->kinds) {
    if (EnumByCode(kEventKinds, static_cast<int64_t>(k)) == nullptr) __builtin_trap();
  }
  for (const std::string& e : config->emails) {
    if (e.size() > 254 || FindTextFault(e)) __builtin_trap();
  }
  // Written as the API writes it, then read back as a request body: the same values.
  nlohmann::json out = api::EventConfigJson(*config);
  nlohmann::json request{{"kinds", out["kinds"]}, {"emails", out["emails"]}};
  auto reread = api::ParseEventConfigCreate(request);
  if (!reread.ok() || reread->kinds != config->kinds || reread->emails != config->emails) {
    __builtin_trap();
  }
  return 0;
}
