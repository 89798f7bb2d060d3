#include "api/json/bulk_json.h"

#include <simdjson.h>

#include <string>
#include <utility>

#include "api/json/body.h"
#include "api/json/device_json.h"
#include "core/text.h"

namespace roost::api {

namespace od = simdjson::ondemand;

namespace {

// device_json.cpp's limits, which the slow path enforces.
constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxPrefixLength = kMaxNameLength - 8;

// Bit flags of the members seen in one object: a repeated key defers (the slow
// path keeps the last value, which a streaming reader has already passed).
bool FirstTime(unsigned& seen, unsigned bit) {
  if (seen & bit) return false;
  seen |= bit;
  return true;
}

// A string value with no NUL byte (simdjson has checked the UTF-8).
bool ReadRaw(od::value v, std::string_view& out) {
  if (v.get_string().get(out)) return false;
  return out.find('\0') == std::string_view::npos;
}

// ReadString's rules: at most `max` characters, no control characters (NUL included).
bool ReadPlain(od::value v, size_t max, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s) || CountCharacters(s) > max || HasControl(s)) return false;
  out.assign(s);
  return true;
}

bool IsNull(od::value v) {
  bool null = false;
  return !v.is_null().get(null) && null;
}

// A number as nlohmann reads it: an integer literal exactly, then converted
// (so "-0" is 0.0), anything else as the nearest double. Out of range defers.
bool ReadNumber(od::value v, double& out) {
  od::json_type t;
  if (v.type().get(t) || t != od::json_type::number) return false;
  const std::string_view token = v.raw_json_token();  // looks, does not consume
  if (token.find_first_of(".eE") == std::string_view::npos) {
    int64_t i = 0;
    if (!v.get_int64().get(i)) {
      out = static_cast<double>(i);
      return true;
    }
    uint64_t u = 0;
    if (v.get_uint64().get(u)) return false;
    out = static_cast<double>(u);
    return true;
  }
  return !v.get_double().get(out);
}

// Nothing after the root value but whitespace.
bool AtEnd(od::document& doc) {
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

// The depth check comes first, as in ParseJsonValue: a deep body goes to the
// slow path, which refuses it before parsing.
bool Admissible(std::string_view body) {
  return !body.empty() && !FindJsonTooDeep(body, kMaxJsonDepth);
}

}  // namespace

std::optional<registry::BulkCreateRequest> FastBulkCreate(std::string_view body,
                                                          std::string_view type_id) {
  if (!Admissible(body)) return std::nullopt;
  const simdjson::padded_string text(body);
  od::parser parser;
  od::document doc;
  if (parser.iterate(text).get(doc)) return std::nullopt;
  od::object root;
  if (doc.get_object().get(root)) return std::nullopt;
  registry::BulkCreateRequest r;
  r.type = std::string(type_id);
  unsigned seen = 0;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return std::nullopt;
    od::value v;
    if (field.value().get(v)) return std::nullopt;
    if (key == "prefix") {
      if (!FirstTime(seen, 1)) return std::nullopt;
      if (!IsNull(v) && !ReadPlain(v, kMaxPrefixLength, r.prefix)) return std::nullopt;
    } else if (key == "productCertificate") {
      if (!FirstTime(seen, 2)) return std::nullopt;
      // The {"key": ...} form is rare: the slow path reads it.
      if (!IsNull(v) && !ReadPlain(v, 64, r.product_certificate)) return std::nullopt;
    } else if (key == "ids") {
      if (!FirstTime(seen, 4)) return std::nullopt;
      od::array ids;
      if (v.get_array().get(ids)) return std::nullopt;
      // One pass to count would re-walk megabytes. An item takes at least 20
      // bytes ({"id":"","pac":""},), so this bounds the count; the pages of the
      // part never used are never touched, so it costs address space, not memory.
      r.ids.reserve(body.size() / 20);
      for (auto element : ids) {
        od::object item;
        if (element.get_object().get(item)) return std::nullopt;
        std::string_view id, pac;
        unsigned members = 0;
        for (auto member : item) {
          std::string_view name;
          if (member.unescaped_key().get(name)) return std::nullopt;
          od::value mv;
          if (member.value().get(mv)) return std::nullopt;
          if (name == "id") {
            if (!FirstTime(members, 1) || !ReadRaw(mv, id)) return std::nullopt;
          } else if (name == "pac") {
            if (!FirstTime(members, 2) || !ReadRaw(mv, pac)) return std::nullopt;
          } else {
            return std::nullopt;
          }
        }
        if (members != 3) return std::nullopt;
        r.ids.emplace_back(std::string(id), std::string(pac));
      }
    } else {
      return std::nullopt;
    }
  }
  if (!(seen & 4) || !AtEnd(doc)) return std::nullopt;
  return r;
}

namespace {

// One bulk edit item; false defers. Mirrors ReadDeviceEdit with allow_pac false.
bool ReadEdit(od::object item, registry::DeviceEdit& e) {
  unsigned seen = 0;
  for (auto field : item) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    od::value v;
    if (field.value().get(v)) return false;
    if (key == "id") {
      if (!FirstTime(seen, 1) || !ReadPlain(v, 32, e.id)) return false;
    } else if (key == "name") {
      std::string name;
      if (!FirstTime(seen, 2) || !ReadPlain(v, kMaxNameLength, name)) return false;
      e.name = std::move(name);
    } else if (key == "lat" || key == "lng") {
      if (!FirstTime(seen, key == "lat" ? 4 : 8)) return false;
      std::optional<double> coordinate;
      if (!IsNull(v)) {
        double d = 0;
        if (!ReadNumber(v, d)) return false;
        coordinate = d;
      }
      (key == "lat" ? e.lat : e.lng) = coordinate;
    } else if (key == "deviceTypeId") {
      std::string type;
      if (!FirstTime(seen, 16) || !ReadPlain(v, 64, type)) return false;
      e.type = std::move(type);
    } else if (key == "tokenRenewForbidden") {
      if (!FirstTime(seen, 32)) return false;
      if (IsNull(v)) {
        e.token_renew_forbidden = false;
      } else {
        bool b = false;
        if (v.get_bool().get(b)) return false;
        e.token_renew_forbidden = b;
      }
    } else if (key == "productCertificate") {
      std::string certificate;
      if (!FirstTime(seen, 64)) return false;
      if (!IsNull(v) && !ReadPlain(v, 64, certificate)) return false;
      e.product_certificate = std::move(certificate);
    } else {
      return false;  // unknown, or "pac" (refused in a bulk edit)
    }
  }
  return (seen & 1) != 0;
}

bool ReadEdits(od::array items, std::vector<registry::DeviceEdit>& out) {
  for (auto element : items) {
    od::object item;
    if (element.get_object().get(item)) return false;
    registry::DeviceEdit e;
    if (!ReadEdit(item, e)) return false;
    out.push_back(std::move(e));
  }
  return !out.empty();
}

}  // namespace

std::optional<std::vector<registry::DeviceEdit>> FastBulkEdit(std::string_view body) {
  if (!Admissible(body)) return std::nullopt;
  const simdjson::padded_string text(body);
  od::parser parser;
  od::document doc;
  if (parser.iterate(text).get(doc)) return std::nullopt;
  od::json_type t;
  if (doc.type().get(t)) return std::nullopt;
  std::vector<registry::DeviceEdit> out;
  if (t == od::json_type::array) {
    od::array items;
    if (doc.get_array().get(items) || !ReadEdits(items, out)) return std::nullopt;
  } else if (t == od::json_type::object) {
    od::object root;
    if (doc.get_object().get(root)) return std::nullopt;
    bool data = false;
    for (auto field : root) {
      std::string_view key;
      if (field.unescaped_key().get(key) || key != "data" || data) return std::nullopt;
      data = true;
      od::array items;
      if (field.value().get_array().get(items) || !ReadEdits(items, out)) return std::nullopt;
    }
    if (!data) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (!AtEnd(doc)) return std::nullopt;
  return out;
}

Parsed<registry::BulkCreateRequest> ParseBulkCreateBody(std::string_view body,
                                                        std::string_view type_id) {
  if (auto fast = FastBulkCreate(body, type_id)) return std::move(*fast);
  auto json = ParseJsonObject(body);
  if (!json.ok()) return json.error();
  return ParseBulkCreate(*json, type_id);
}

Parsed<std::vector<registry::DeviceEdit>> ParseBulkEditBody(std::string_view body) {
  if (auto fast = FastBulkEdit(body)) return std::move(*fast);
  auto json = ParseJsonValue(body);
  if (!json.ok()) return json.error();
  return ParseBulkEdit(*json);
}

}  // namespace roost::api
