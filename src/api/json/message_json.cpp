#include "api/json/message_json.h"

#include <charconv>
#include <cstdio>

#include "api/json/body.h"
#include "model/signal.h"

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

Parsed<Station> ParseStationCreate(const json& body) {
  if (auto e = RejectUnknownFields(body, {"id", "name", "lat", "lng", "group"})) return *e;
  Station s;
  auto id = StringField(body, "id", /*required=*/true, 16);
  if (!id.ok()) return id.error();
  s.id = **id;
  auto name = body.find("name");
  if (name == body.end()) return ApiError::BadField("name", "is required");
  if (auto e = ReadString(*name, "name", 100, s.name)) return *e;
  for (const char* field : {"lat", "lng"}) {
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_number()) return WrongType(field, "a number", *it);
    (std::string_view(field) == "lat" ? s.lat : s.lng) = it->get<double>();
  }
  return s;
}

json MessageJson(const Message& m) {
  json rinfos = json::array();
  for (const Reception& r : m.rinfos) {
    rinfos.push_back(json{{"tap", r.station},
                          {"delay", r.delay},
                          {"lat", OptNumber(r.lat)},
                          {"lng", OptNumber(r.lng)},
                          {"rssi", r.rssi},
                          {"snr", r.snr},
                          {"freq", r.freq}});
  }
  json out{{"device", m.device.ToApi()},
           {"deviceTypeId", m.type},
           {"time", m.time},
           {"seqNumber", m.seq_number},
           {"data", m.data},
           {"station", m.rinfos.empty() ? std::string() : m.rinfos.front().station},
           {"snr", TwoDecimals(AverageSnr(m.rinfos))},
           {"rssi", BestRssi(m.rinfos)},
           {"nbFrames", m.rinfos.size()},
           {"rinfos", std::move(rinfos)},
           {"linkQuality", std::string(EnumByValue(kLinkQualities, m.link_quality).name)},
           {"ack", m.ack},
           {"computedLocation", nullptr},
           {"decoded", nullptr}};
  if (m.computed_location) {
    out["computedLocation"] = json{{"lat", m.computed_location->lat},
                                   {"lng", m.computed_location->lng},
                                   {"radius", m.computed_location->radius}};
  }
  if (!m.decoded.empty()) {
    out["decoded"] = json::parse(m.decoded, nullptr, /*allow_exceptions=*/false);
    if (out["decoded"].is_discarded()) out["decoded"] = nullptr;
  }
  if (!m.downlink_station.empty()) {
    out["downlinkAnswerStatus"] =
        json{{"data", m.downlink_data},
             {"station", m.downlink_station},
             {"acknowledged", m.downlink_ack ? json(*m.downlink_ack) : json(nullptr)}};
  } else if (!m.downlink_info.empty()) {
    // Asked for and refused: why, for the device type's owner.
    out["downlinkAnswerStatus"] = json{{"data", nullptr},
                                       {"station", nullptr},
                                       {"acknowledged", nullptr},
                                       {"reason", m.downlink_info}};
  } else {
    out["downlinkAnswerStatus"] = nullptr;
  }
  if (!m.undecoded.empty()) {
    json undecoded = json::parse(m.undecoded, nullptr, /*allow_exceptions=*/false);
    if (!undecoded.is_discarded()) out["undecoded"] = std::move(undecoded);
  }
  return out;
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
      !num(text.substr(b + 1), 10, c.seq_number)) {
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
    default:
      return json{{"result", "refused"},
                  {"reason", std::string(EnumByValue(kIngestResults, d.result).name)}};
  }
}

}  // namespace roost::api
