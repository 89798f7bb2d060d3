#include "api/json/message_json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include <simdjson.h>

#include "api/json/body.h"
#include "core/json_number.h"
#include "model/signal.h"
#include "observe/json_string.h"

namespace roost::api {

using nlohmann::json;

namespace {

json OptNumber(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

std::string TwoDecimals(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

}  // namespace

json StationJson(const Station& s) {
  return json{{"id", s.id},
              {"name", s.name},
              {"group", {{"id", s.group}}},
              {"lat", OptNumber(s.lat)},
              {"lng", OptNumber(s.lng)},
              {"creationTime", s.creation_time}};
}

namespace {

// `name`, `lat` and `lng` of a station body; a null position member is none.
std::optional<ApiError> ReadStationFields(const json& body, Station& s) {
  if (auto name = body.find("name"); name != body.end()) {
    if (auto e = ReadString(*name, "name", 100, s.name)) return e;
  }
  for (const char* field : {"lat", "lng"}) {
    auto it = body.find(field);
    if (it == body.end()) continue;
    std::optional<double>& value = std::string_view(field) == "lat" ? s.lat : s.lng;
    if (it->is_null()) {
      value.reset();
      continue;
    }
    if (!it->is_number()) return WrongType(field, "a number", *it);
    value = it->get<double>();
  }
  return std::nullopt;
}

}  // namespace

const std::vector<std::string_view> kStationFields = {"id", "name", "lat", "lng", "group"};

Parsed<Station> ParseStationCreate(const json& body) {
  if (auto e = RejectUnknownFields(body, kStationFields)) return *e;
  Station s;
  auto id = StringField(body, "id", /*required=*/true, 16);
  if (!id.ok()) return id.error();
  s.id = **id;
  if (!body.contains("name")) return ApiError::BadField("name", "is required");
  if (auto e = ReadStationFields(body, s)) return *e;
  return s;
}

std::optional<ApiError> ApplyStationEdit(const json& body, Station& station) {
  if (auto e = RejectUnknownFields(body, kStationFields)) return e;
  return ReadStationFields(body, station);
}

namespace {

void AppendKey(std::string& out, std::string_view key) {
  out += '"';
  out += key;  // our own member names: nothing to escape
  out += "\":";
}

void AppendString(std::string& out, std::string_view s) {
  observe::AppendJsonString(out, s);
}

// Stored JSON texts (decoded payloads) were written by Roost, but a row from
// before a check, or edited by hand, must not break the page: each is parsed
// once (simdjson, no tree kept) before it is copied.
bool IsJsonText(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element element;
  return parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(element) ==
         simdjson::SUCCESS;
}

}  // namespace

void AppendMessageJson(std::string& out, const Message& m, std::string_view callbacks_json) {
  out += '{';
  AppendKey(out, "device");
  AppendString(out, m.device.ToApi());
  out += ',';
  AppendKey(out, "deviceTypeId");
  AppendString(out, m.type);
  out += ',';
  AppendKey(out, "time");
  AppendJsonInt(out, m.time);
  out += ',';
  AppendKey(out, "seqNumber");
  AppendJsonInt(out, m.seq_number);
  out += ',';
  AppendKey(out, "data");
  AppendString(out, m.data);
  out += ',';
  AppendKey(out, "station");
  AppendString(out, m.rinfos.empty() ? std::string_view() : m.rinfos.front().station);
  out += ',';
  AppendKey(out, "snr");
  const std::string average_snr = TwoDecimals(AverageSnr(m.rinfos));
  AppendString(out, average_snr);
  out += ',';
  // The name the Sigfox Cloud's DATA callbacks give the same value.
  AppendKey(out, "avgSnr");
  AppendString(out, average_snr);
  out += ',';
  AppendKey(out, "rssi");
  AppendJsonNumber(out, BestRssi(m.rinfos));
  out += ',';
  AppendKey(out, "nbFrames");
  AppendJsonInt(out, static_cast<int64_t>(m.rinfos.size()));
  out += ',';
  AppendKey(out, "rinfos");
  out += '[';
  for (size_t i = 0; i < m.rinfos.size(); ++i) {
    const Reception& r = m.rinfos[i];
    if (i > 0) out += ',';
    out += '{';
    AppendKey(out, "tap");
    AppendString(out, r.station);
    out += ',';
    AppendKey(out, "delay");
    AppendJsonInt(out, r.delay);
    out += ',';
    AppendKey(out, "lat");
    AppendJsonNumber(out, r.lat);
    out += ',';
    AppendKey(out, "lng");
    AppendJsonNumber(out, r.lng);
    out += ',';
    AppendKey(out, "rssi");
    AppendJsonNumber(out, r.rssi);
    out += ',';
    AppendKey(out, "snr");
    AppendJsonNumber(out, r.snr);
    out += ',';
    AppendKey(out, "freq");
    AppendJsonInt(out, r.freq);
    out += '}';
  }
  out += "],";
  AppendKey(out, "linkQuality");
  AppendString(out, EnumByValue(kLinkQualities, m.link_quality).name);
  out += ',';
  AppendKey(out, "ack");
  out += m.ack ? "true" : "false";
  out += ',';
  AppendKey(out, "computedLocation");
  if (m.computed_location) {
    out += '{';
    AppendKey(out, "lat");
    AppendJsonNumber(out, m.computed_location->lat);
    out += ',';
    AppendKey(out, "lng");
    AppendJsonNumber(out, m.computed_location->lng);
    out += ',';
    // Whole metres, as the Sigfox API gives it: the estimate is not finer.
    AppendKey(out, "radius");
    AppendJsonInt(out, std::llround(m.computed_location->radius));
    out += '}';
  } else {
    out += "null";
  }
  out += ',';
  AppendKey(out, "decoded");
  if (!m.decoded.empty() && IsJsonText(m.decoded)) {
    out += m.decoded;
  } else {
    out += "null";
  }
  out += ',';
  AppendKey(out, "downlinkAnswerStatus");
  if (!m.downlink_station.empty()) {
    out += '{';
    AppendKey(out, "data");
    AppendString(out, m.downlink_data);
    out += ',';
    AppendKey(out, "station");
    AppendString(out, StationOfKey(m.downlink_station));
    out += ',';
    AppendKey(out, "acknowledged");
    out += !m.downlink_ack ? "null" : *m.downlink_ack ? "true" : "false";
    out += '}';
  } else if (!m.downlink_info.empty()) {
    // Asked for and refused: why, for the device type's owner.
    out += "{\"data\":null,\"station\":null,\"acknowledged\":null,";
    AppendKey(out, "reason");
    AppendString(out, m.downlink_info);
    out += '}';
  } else {
    out += "null";
  }
  if (!m.undecoded.empty() && IsJsonText(m.undecoded)) {
    out += ',';
    AppendKey(out, "undecoded");
    out += m.undecoded;
  }
  out += ',';
  AppendKey(out, "callbacks");
  out += callbacks_json;
  out += '}';
}

std::string MessageCursorText(const storage::MessageCursor& c) {
  return std::to_string(c.time) + "-" + SigfoxId{c.device}.ToApi() + "-" +
         std::to_string(c.seq_number);
}

Parsed<storage::MessageCursor> ParseMessageCursor(std::string_view text) {
  auto bad = ApiError::BadField("after", "must be a cursor from a previous page's paging.next");
  const size_t a = text.find('-');
  const size_t b = a == std::string_view::npos ? a : text.find('-', a + 1);
  if (b == std::string_view::npos) return bad;
  storage::MessageCursor c;
  auto num = [](std::string_view s, int base, auto& out) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  if (!num(text.substr(0, a), 10, c.time) || !num(text.substr(a + 1, b - a - 1), 16, c.device) ||
      !num(text.substr(b + 1), 10, c.seq_number) || c.seq_number < 0) {
    return bad;
  }
  return c;
}

json IngestDecisionJson(const storage::IngestDecision& d) {
  switch (d.result) {
    case IngestResult::kAccepted:
      return json{{"result", "accepted"}};
    case IngestResult::kDuplicate:
      return json{{"result", "duplicate"}};
    case IngestResult::kForeignStation:
      // To the station's owner the device of another group does not exist: the
      // reason stays in the log and roost_ingest_reports_total only.
      return json{{"result", "refused"}, {"reason", "unknown_device"}};
    default:
      return json{{"result", "refused"},
                  {"reason", std::string(EnumByValue(kIngestResults, d.result).name)}};
  }
}

}  // namespace roost::api
