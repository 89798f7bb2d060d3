#include "codec/downlink_template.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "core/hex.h"

namespace roost::codec {
namespace {

constexpr size_t kDigits = 16;

size_t VariableDigits(DownlinkTemplate::Variable v) {
  return v == DownlinkTemplate::Variable::kTime ? 8 : 4;
}

std::string Position(size_t at) {
  return "position " + std::to_string(at + 1) + ": ";
}

}  // namespace

Result<DownlinkTemplate> CompileDownlinkTemplate(std::string_view text) {
  DownlinkTemplate t;
  size_t digits = 0;  // hex digits of the expansion so far
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{') {
      const size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos) {
        return Status::InvalidInput(Position(i) + "'{' without a closing '}'");
      }
      const std::string_view name = text.substr(i + 1, close - i - 1);
      DownlinkTemplate::Variable v;
      if (name == "time") {
        v = DownlinkTemplate::Variable::kTime;
      } else if (name == "rssi") {
        v = DownlinkTemplate::Variable::kRssi;
      } else if (name == "tapId") {
        v = DownlinkTemplate::Variable::kTapId;
      } else {
        return Status::InvalidInput(Position(i) + "unknown variable '{" + std::string(name) +
                                    "}' (expected {time}, {rssi} or {tapId})");
      }
      if (digits + VariableDigits(v) <= kDigits) {
        t.slots_.push_back({v, static_cast<uint8_t>(digits)});
      }
      digits += VariableDigits(v);
      i = close + 1;
    } else if (IsHexDigit(c)) {
      if (digits < kDigits) t.nibbles_[digits] = static_cast<uint8_t>(HexValue(c));
      ++digits;
      ++i;
    } else {
      std::string found = c > 0x20 && c < 0x7f ? "'" + std::string(1, c) + "'"
                                               : "byte " + std::to_string(static_cast<uint8_t>(c));
      return Status::InvalidInput(Position(i) + "expected a hex digit or a variable ({time}, " +
                                  "{rssi}, {tapId}), found " + found);
    }
  }
  if (digits != kDigits) {
    return Status::InvalidInput("the template expands to " + std::to_string(digits) +
                                " hex digits, expected 16 (8 bytes; {time} is 8 digits, {rssi} "
                                "and {tapId} 4)");
  }
  return t;
}

DownlinkData Expand(const DownlinkTemplate& tmpl, int64_t epoch_seconds, double rssi_dbm,
                    uint16_t tap_id) {
  std::array<uint8_t, kDigits> n = tmpl.constant_nibbles();
  double rounded = std::isnan(rssi_dbm) ? 0.0 : std::round(rssi_dbm);
  rounded = std::clamp(rounded, -32768.0, 32767.0);
  const auto rssi = static_cast<uint16_t>(static_cast<int16_t>(rounded));
  const auto time = static_cast<uint32_t>(static_cast<uint64_t>(epoch_seconds));
  for (const DownlinkTemplate::Slot& s : tmpl.slots()) {
    uint32_t value = 0;
    size_t count = 4;
    switch (s.variable) {
      case DownlinkTemplate::Variable::kTime:
        value = time;
        count = 8;
        break;
      case DownlinkTemplate::Variable::kRssi:
        value = rssi;
        break;
      case DownlinkTemplate::Variable::kTapId:
        value = tap_id;
        break;
    }
    for (size_t k = 0; k < count; ++k) {
      n[s.nibble + k] = static_cast<uint8_t>((value >> (4 * (count - 1 - k))) & 0xf);
    }
  }
  DownlinkData out{};
  for (size_t b = 0; b < out.size(); ++b) {
    out[b] = static_cast<uint8_t>(n[2 * b] << 4 | n[2 * b + 1]);
  }
  return out;
}

Result<std::vector<CallbackAnswerEntry>> ParseCallbackAnswer(std::string_view body) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidInput("the answer is not valid JSON");
  if (!doc.is_object()) return Status::InvalidInput("the answer is not a JSON object");
  std::vector<CallbackAnswerEntry> entries;
  for (const auto& [key, value] : doc.items()) {
    auto id = ParseSigfoxId(key);
    if (!id.ok()) {
      return Status::InvalidInput("key '" + key + "': not a device ID: " + id.status().message());
    }
    for (const CallbackAnswerEntry& e : entries) {
      if (e.device == *id) {
        return Status::InvalidInput("device " + id->ToApi() + " appears twice in the answer");
      }
    }
    const std::string where = "device " + id->ToApi() + ": ";
    if (!value.is_object()) return Status::InvalidInput(where + "expected an object");
    const auto data = value.find("downlinkData");
    const auto no_data = value.find("noData");
    CallbackAnswerEntry entry{*id, std::nullopt};
    if (data != value.end() && no_data != value.end()) {
      return Status::InvalidInput(where + "both \"downlinkData\" and \"noData\"");
    }
    if (data != value.end()) {
      if (!data->is_string()) {
        return Status::InvalidInput(where + "\"downlinkData\" must be a string of 16 hex digits");
      }
      DownlinkData bytes{};
      const Status s = FromHexInto(data->get_ref<const std::string&>(), bytes);
      if (!s.ok()) return Status::InvalidInput(where + "\"downlinkData\": " + s.message());
      entry.downlink = bytes;
    } else if (no_data != value.end()) {
      if (!no_data->is_boolean() || !no_data->get<bool>()) {
        return Status::InvalidInput(where + "\"noData\" must be true");
      }
    } else {
      return Status::InvalidInput(where + "expected \"downlinkData\" or \"noData\"");
    }
    entries.push_back(entry);
  }
  return entries;
}

const CallbackAnswerEntry* FindCallbackAnswer(const std::vector<CallbackAnswerEntry>& entries,
                                              SigfoxId device) {
  for (const CallbackAnswerEntry& e : entries) {
    if (e.device == device) return &e;
  }
  return nullptr;
}

}  // namespace roost::codec
