#include "integration/downlink_answer.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/hex.h"
#include "core/text.h"

namespace roost::integration {
namespace {

using nlohmann::json;

constexpr size_t kDownlinkHexDigits = 16;

Status Refused(std::string reason) {
  return Status::InvalidInput(std::move(reason));
}

// Whether `key` is hex digits naming `device` (leading zeros allowed).
Status CheckDeviceKey(std::string_view key, SigfoxId device) {
  if (key.empty() || !std::all_of(key.begin(), key.end(), IsHexDigit)) {
    return Refused("the answer's key is not a device ID (expected hex digits, the device " +
                   device.ToApi() + ")");
  }
  const size_t first = key.find_first_not_of('0');
  const std::string_view digits = first == std::string_view::npos ? "0" : key.substr(first);
  uint64_t value = 0;
  if (digits.size() <= 8) {
    for (const char c : digits) value = value << 4 | static_cast<uint64_t>(HexValue(c));
  }
  if (digits.size() > 8 || value != device.value) {
    return Refused("the answer is for another device, not " + device.ToApi());
  }
  return Status::Ok();
}

std::string MemberCount(size_t n) {
  return n == 1 ? "1 member" : std::to_string(n) + " members";
}

}  // namespace

Result<DownlinkAnswer> ParseDownlinkAnswer(std::string_view body, SigfoxId device) {
  if (body.size() > kMaxDownlinkAnswerBytes) {
    return Refused("the answer is " + std::to_string(body.size()) + " bytes, at most " +
                   std::to_string(kMaxDownlinkAnswerBytes));
  }
  if (TrimSpace(body).empty()) return Refused("the answer is empty");

  // A JSON object keeps the last of two equal keys; count the keys as parsed so
  // an answer that names the device twice (perhaps with two different
  // downlinks) is refused instead of silently taking one.
  size_t top_keys = 0;
  size_t entry_keys = 0;
  const json::parser_callback_t count_keys = [&](int depth, json::parse_event_t event, json&) {
    if (event == json::parse_event_t::key) {
      if (depth == 1) ++top_keys;
      if (depth == 2) ++entry_keys;
    }
    return true;
  };
  const json doc = json::parse(body, count_keys, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Refused("the answer is not valid JSON");
  if (!doc.is_object()) return Refused("the answer is not a JSON object");
  if (top_keys != 1) {
    return Refused("the answer has " + MemberCount(top_keys) + ", expected one keyed by device " +
                   device.ToApi());
  }
  const auto member = doc.begin();
  const json& entry = member.value();
  ROOST_RETURN_IF_ERROR(CheckDeviceKey(member.key(), device));

  const std::string where = "the entry for device " + device.ToApi();
  if (!entry.is_object()) {
    return Refused(where + " is a JSON " + entry.type_name() + ", expected an object");
  }
  if (entry_keys != 1) {
    return Refused(where + " has " + MemberCount(entry_keys) +
                   ", expected one: \"downlinkData\" or \"noData\"");
  }
  if (const auto no_data = entry.find("noData"); no_data != entry.end()) {
    if (!no_data->is_boolean() || !no_data->get<bool>()) {
      return Refused(where + ": \"noData\" must be true");
    }
    return DownlinkAnswer{std::nullopt};
  }
  const auto data = entry.find("downlinkData");
  if (data == entry.end()) {
    return Refused(where + " has neither \"downlinkData\" nor \"noData\"");
  }
  if (!data->is_string()) {
    return Refused(where + ": \"downlinkData\" is a JSON " + data->type_name() +
                   ", expected a string of 16 hex digits");
  }
  const std::string& hex = data->get_ref<const std::string&>();
  if (hex.size() != kDownlinkHexDigits) {
    return Refused(where + ": \"downlinkData\" is " + std::to_string(hex.size()) +
                   " bytes long, expected 16 hex digits");
  }
  for (size_t i = 0; i < hex.size(); ++i) {
    if (!IsHexDigit(hex[i])) {
      return Refused(where + ": \"downlinkData\" has a character that is not a hex digit at " +
                     "position " + std::to_string(i + 1));
    }
  }
  return DownlinkAnswer{AsciiLower(hex)};
}

}  // namespace roost::integration
