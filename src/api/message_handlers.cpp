// /api/stations…, /api/ingest/uplink and the message lists of devices and
// device types.
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/handlers.h"
#include "api/json/body.h"
#include "api/json/callback_json.h"
#include "api/json/message_json.h"
#include "api/live_feed.h"
#include "pipeline/ingest_body.h"

namespace roost::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

Response Unavailable() {
  Response r = Response::Error(503, "the message pipeline is not running");
  return r;
}

Response Busy(std::string_view message) {
  Response r = Response::Error(503, message);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

// One entry of GET /api/devices/{id}/locations: a message's computed location.
json LocationJson(const Message& m) {
  return json{{"time", m.time},
              {"seqNumber", m.seq_number},
              {"valid", true},  // the Sigfox API v1's flag: listed entries all have a location
              {"lat", m.computed_location->lat},
              {"lng", m.computed_location->lng},
              {"radius", std::llround(m.computed_location->radius)},  // whole metres
              {"source", "computed"}};
}

// GET …/messages (and …/locations when `query.with_location`): since, before
// (epoch ms), limit, after (the paging cursor); as `p` may see them.
Response ListMessages(ApiContext& ctx, const Principal& p, const Request& req,
                      storage::MessageQuery query) {
  if (auto e = ParseTimeWindow(req, query.limit, query.offset, query.since, query.before)) {
    return e->ToResponse();
  }
  if (auto after = req.QueryParam("after")) {
    auto cursor = ParseMessageCursor(*after);
    if (!cursor.ok()) return cursor.error().ToResponse();
    query.after = *cursor;
  }
  auto page = ctx.messages->ListMessages(query);
  if (!page.ok()) return FromStatus(page.status()).ToResponse();
  json body{{"data", json::array()}, {"paging", json::object()}};
  if (page->next) {
    body["paging"]["next"] =
        NextUrl(req, {"since", "before"}, query.limit, MessageCursorText(*page->next));
  }
  if (query.with_location) {
    for (const Message& m : page->messages) {
      if (m.computed_location) body["data"].push_back(LocationJson(m));
    }
    return JsonResponse(200, body);
  }
  auto entries = MessageEntries(ctx, page->messages, p);
  if (!entries.ok()) return FromStatus(entries.status()).ToResponse();
  size_t size = 64;
  for (const std::string& item : *entries) size += item.size() + 1;
  std::string text;
  text.reserve(size);
  text += "{\"data\":[";
  for (size_t i = 0; i < entries->size(); ++i) {
    if (i > 0) text += ',';
    text += (*entries)[i];
  }
  text += "],\"paging\":";
  text += body["paging"].dump(-1, ' ', false, json::error_handler_t::replace);
  text += '}';
  return Response::Json(200, std::move(text));
}

}  // namespace

Result<std::vector<std::string>> MessageEntries(ApiContext& ctx,
                                                const std::vector<Message>& messages,
                                                const Principal& reader) {
  // Each message's callback deliveries, read for all of them at once.
  const bool secrets = SeesCallbackSecrets(reader);
  auto deliveries =
      ctx.messages->ListMessageDeliveries(messages, DestinationsVisibleTo(ctx, reader));
  if (!deliveries.ok()) return deliveries.status();
  // Each message's deliveries as the text of a JSON list, written directly:
  // a page of 100 messages and their deliveries is mostly this text.
  std::map<std::tuple<uint32_t, int64_t, int64_t>, std::string> callbacks;
  for (const Delivery& d : *deliveries) {
    std::string& list = callbacks[{d.device, d.message_time, d.seq_number}];
    list += list.empty() ? '[' : ',';
    AppendDeliveryJson(list, d, secrets);
  }
  for (auto& [key, list] : callbacks) list += ']';
  std::vector<std::string> entries;
  entries.reserve(messages.size());
  for (const Message& m : messages) {
    auto it = callbacks.find({m.device.value, m.time, m.seq_number});
    std::string item;
    item.reserve(512);
    AppendMessageJson(item, m, it == callbacks.end() ? std::string_view("[]") : it->second);
    entries.push_back(std::move(item));
  }
  return entries;
}

Response CreateStation(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  auto station = ParseStationCreate(*body);
  if (!station.ok()) return station.error().ToResponse();
  auto group = TargetGroup(ctx, p, *body, "group");
  if (!group.ok()) return group.error().ToResponse();
  station->group = *group;
  auto created = ctx.messages->CreateStation(*station);
  if (!created.ok()) return FromStatus(created.status()).ToResponse();
  return JsonResponse(201, StationJson(*created));
}

Response GetStation(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto station = ctx.messages->GetVisibleStation(p.group, req.Param("id"));
  if (!station.ok()) return FromStatus(station.status()).ToResponse();
  return JsonResponse(200, StationJson(*station));
}

Response EditStation(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto body = ParseJsonObject(req.body);
  if (!body.ok()) return body.error().ToResponse();
  auto id = StringField(*body, "id", /*required=*/true, 16);
  if (!id.ok()) return id.error().ToResponse();
  // The fields the edit gives go onto the station as stored when it lands: one
  // that another edit changed meanwhile is read again.
  for (int attempt = 0; attempt < kEditAttempts; ++attempt) {
    auto station = ctx.messages->GetVisibleStation(p.group, **id);
    if (!station.ok()) return FromStatus(station.status()).ToResponse();
    Station edited = *station;
    if (auto e = ApplyStationEdit(*body, edited)) return e->ToResponse();
    if (auto g = body->find("group"); g != body->end() && *g != json(station->group)) {
      return ApiError::BadField("group", "cannot be changed by an edit").ToResponse();
    }
    auto updated = ctx.messages->UpdateStation(std::move(edited), *station);
    if (!updated.ok()) return FromStatus(updated.status()).ToResponse();
    if (*updated) return JsonResponse(200, StationJson(**updated));
  }
  return KeepsChanging("station " + **id);
}

Response DeleteStation(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto station = ctx.messages->GetVisibleStation(p.group, req.Param("id"));
  if (!station.ok()) return FromStatus(station.status()).ToResponse();
  Status deleted = ctx.messages->DeleteStation(*station);
  if (!deleted.ok()) return FromStatus(deleted).ToResponse();
  return NoContent();
}

Response ListStations(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto stations = ctx.messages->ListStations(p.group);
  if (!stations.ok()) return FromStatus(stations.status()).ToResponse();
  return Page(
      req, *stations, [](const Station& s) -> const std::string& { return s.id; }, StationJson, {},
      PageKey::kStationId);
}

namespace {

// The answer to an ingest request whose reports wait for their downlink
// decisions: complete once the last of them is decided.
struct HeldAnswers {
  std::mutex mu;
  size_t waiting = 0;  // guarded by mu
  std::vector<json> results;
  json counts;  // arrays only
  bool single = false;
  // A Sigfox Cloud BIDIR callback's device (single only): answered as the
  // Sigfox Cloud expects, {"<device>": {"downlinkData": "<hex>"}}, or 204
  // without a downlink.
  std::string sigfox_device;
  std::shared_ptr<http::PendingResponse> pending;

  // Sets results[i]'s downlink (i == results.size(): none, the placing loop's
  // own share) and completes the response when nothing else is waited for.
  void Answer(size_t i, std::optional<std::string> downlink) {
    std::lock_guard<std::mutex> lock(mu);
    if (i < results.size() && downlink) results[i]["downlink"] = json{{"data", *downlink}};
    if (--waiting > 0) return;
    if (single && !sigfox_device.empty()) {
      const json* given = results[0].contains("downlink") ? &results[0]["downlink"] : nullptr;
      pending->Complete(
          given != nullptr
              ? JsonResponse(200, json{{sigfox_device, {{"downlinkData", (*given)["data"]}}}})
              : NoContent());
      return;
    }
    if (single) {
      pending->Complete(JsonResponse(200, std::move(results[0])));
      return;
    }
    json body = std::move(counts);
    body["results"] = json(std::move(results));
    pending->Complete(JsonResponse(200, std::move(body)));
  }
};

// Checks the stations, queues the reports and answers once they are durable:
// one report (`single`) → {"result", "reason"}; several → {"results", counts};
// with `sigfox_device`, one report as HeldAnswers::sigfox_device says.
// Unless `may_block`, nullopt (nothing queued) when a station's check would
// ask the store.
std::optional<Response> SubmitReports(ApiContext& ctx, const Principal& p,
                                      std::vector<UplinkReport> reports, bool single,
                                      bool may_block = true, std::string sigfox_device = {}) {
  // A station outside the caller's subtree is answered like an unknown one,
  // before anything is queued.
  std::vector<bool> allowed(reports.size(), true);
  for (size_t i = 0; i < reports.size(); ++i) {
    // Through a public network: the store decides, for the caller's subtree.
    if (!reports[i].public_network_caller.empty()) continue;
    reports[i].caller_group = p.group;  // checked again by the store
    if (!may_block) {
      std::optional<bool> may = ctx.messages->MayReportCached(p.group, reports[i].station);
      if (!may) return std::nullopt;
      allowed[i] = *may;
      continue;
    }
    auto may = ctx.messages->MayReport(p.group, reports[i].station);
    if (!may.ok()) return FromStatus(may.status()).ToResponse();
    allowed[i] = *may;
  }
  // A report asking for a downlink is answered once its frame is decided; in
  // an array, the answer waits for every such report of it.
  std::vector<std::optional<std::string>> ack_stations(reports.size());
  for (size_t i = 0; i < reports.size(); ++i) {
    if (reports[i].ack) ack_stations[i] = reports[i].station;
  }
  // Whose share of the held frames a new frame takes (DownlinkOptions): the
  // caller's customer, so that its many API users or subgroups hold one share.
  std::string client;
  if (std::any_of(ack_stations.begin(), ack_stations.end(),
                  [](const auto& station) { return station.has_value(); })) {
    if (!may_block) {
      auto tenant = ctx.messages->TenantOfCached(p.group);
      if (!tenant) return std::nullopt;
      client = std::move(*tenant);
    } else {
      auto tenant = ctx.messages->TenantOf(p.group);
      if (!tenant.ok()) return FromStatus(tenant.status()).ToResponse();
      client = std::move(*tenant);
    }
  }
  std::vector<UplinkReport> queued;
  std::vector<size_t> where;              // index in the request of each queued report
  std::vector<UplinkReport> not_allowed;  // counted and logged once the request is taken
  queued.reserve(reports.size());
  for (size_t i = 0; i < reports.size(); ++i) {
    if (!allowed[i]) {
      not_allowed.push_back(std::move(reports[i]));
      continue;
    }
    where.push_back(i);
    queued.push_back(std::move(reports[i]));
  }
  const size_t total = reports.size();
  auto pending = std::make_shared<http::PendingResponse>();
  pipeline::DownlinkArbiter* downlinks = ctx.messages->downlinks();
  auto answer = [pending, single, total, allowed = std::move(allowed), where = std::move(where),
                 ack_stations = std::move(ack_stations), sigfox_device = std::move(sigfox_device),
                 downlinks,
                 client = std::move(client)](Result<std::vector<storage::IngestDecision>> decided) {
    if (!decided.ok()) {
      pending->Complete(Busy("the reports could not be stored; send them again"));
      return;
    }
    std::vector<storage::IngestDecision> all(total);
    for (size_t i = 0; i < total; ++i) {
      if (!allowed[i]) all[i].result = IngestResult::kUnknownStation;
    }
    for (size_t k = 0; k < where.size(); ++k) all[where[k]] = std::move((*decided)[k]);
    auto held = std::make_shared<HeldAnswers>();
    held->pending = pending;
    held->results.reserve(total);
    int accepted = 0, duplicates = 0, refused = 0;
    for (const auto& d : all) {
      held->results.push_back(IngestDecisionJson(d));
      if (d.result == IngestResult::kAccepted) {
        ++accepted;
      } else if (d.result == IngestResult::kDuplicate) {
        ++duplicates;
      } else {
        ++refused;
      }
    }
    if (single) {
      held->single = true;
      held->sigfox_device = sigfox_device;
    } else {
      held->counts = json{{"accepted", accepted}, {"duplicates", duplicates}, {"refused", refused}};
    }
    // One share for this loop, so that an answer given at once by Hold cannot
    // complete the response before every hold is placed.
    held->waiting = 1;
    for (size_t i = 0; i < total; ++i) {
      const bool heard =
          all[i].result == IngestResult::kAccepted || all[i].result == IngestResult::kDuplicate;
      // A late copy of a frame older than the device's latest is answered at
      // once without a downlink (IngestDecision::behind_latest).
      if (!ack_stations[i] || !heard || !all[i].message || all[i].behind_latest ||
          downlinks == nullptr) {
        continue;
      }
      const Message& m = *all[i].message;
      {
        std::lock_guard<std::mutex> lock(held->mu);
        ++held->waiting;
      }
      downlinks->Hold(
          {m.time, m.device.value, m.seq_number},
          ReceptionKey(*ack_stations[i], all[i].public_network), client,
          [held, i](std::optional<std::string> downlink) { held->Answer(i, std::move(downlink)); });
    }
    held->Answer(total, std::nullopt);
  };
  auto note_not_allowed = [&] {
    for (const UplinkReport& r : not_allowed) {
      ctx.messages->NoteRefused(r.device.value, r.station, IngestResult::kUnknownStation);
    }
  };
  if (queued.empty()) {
    note_not_allowed();
    answer(std::vector<storage::IngestDecision>{});
    return Response::Later(pending);
  }
  if (!ctx.messages->Ingest(std::move(queued), std::move(answer))) {
    return Busy("ingest is busy; send the reports again shortly");
  }
  note_not_allowed();
  return Response::Later(pending);
}

}  // namespace

Response IngestUplink(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto reports = pipeline::ParseUplinkReports(req.body);
  if (!reports.ok()) return FromStatus(reports.status()).ToResponse();
  const size_t first = req.body.find_first_not_of(" \t\r\n");
  const bool single = first != std::string::npos && req.body[first] == '{';
  Status ahead = pipeline::CheckReportTimes(*reports, !single, ctx.now_ms(), ctx.max_report_age_ms);
  if (!ahead.ok()) return FromStatus(ahead).ToResponse();
  return *SubmitReports(ctx, p, std::move(*reports), single);
}

std::optional<Response> IngestUplinkFast(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return std::nullopt;
  auto reports = pipeline::ParseUplinkReports(req.body);
  if (!reports.ok()) return std::nullopt;  // the usual way words the refusal
  const size_t first = req.body.find_first_not_of(" \t\r\n");
  const bool single = first != std::string::npos && req.body[first] == '{';
  if (!pipeline::CheckReportTimes(*reports, !single, ctx.now_ms(), ctx.max_report_age_ms).ok())
    return std::nullopt;
  return SubmitReports(ctx, p, std::move(*reports), single, /*may_block=*/false);
}

Response IngestSigfoxCallback(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto report =
      pipeline::ParseSigfoxCallbackBody(req.body, req.Header("Content-Type").value_or(""));
  if (!report.ok()) return FromStatus(report.status()).ToResponse();
  Status ahead = pipeline::CheckReportTimes(std::span(&*report, 1), false, ctx.now_ms(),
                                            ctx.max_report_age_ms);
  if (!ahead.ok()) return FromStatus(ahead).ToResponse();
  // A frame that asks for a downlink came through a BIDIR callback, whose
  // caller reads the answer as the Sigfox Cloud defines it.
  std::string bidir_device = report->ack ? report->device.ToApi() : std::string();
  // Owners whose devices use a public Sigfox network cannot list its base
  // stations: the store takes any but their own as the network's, heard for
  // the caller's subtree (UplinkReport::public_network_caller).
  report->public_network_caller = p.group;
  std::vector<UplinkReport> one;
  one.push_back(std::move(*report));
  return *SubmitReports(ctx, p, std::move(one), /*single=*/true, /*may_block=*/true,
                        std::move(bidir_device));
}

namespace {

// The answer to a service report the route may take: stored (or refused) by
// the store, in one transaction.
Response DecideService(ApiContext& ctx, const ServiceReport& report) {
  auto decided = ctx.messages->IngestService(report);
  if (!decided.ok()) {
    if (decided.status().code() == Status::Code::kInvalidInput) {
      return FromStatus(decided.status()).ToResponse();
    }
    return Busy("the report could not be stored; send it again");
  }
  return JsonResponse(200, IngestDecisionJson(*decided));
}

}  // namespace

Response IngestService(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto report = pipeline::ParseServiceReport(req.body);
  if (!report.ok()) return FromStatus(report.status()).ToResponse();
  Status ahead = pipeline::CheckReportTime(*report, ctx.now_ms(), ctx.max_report_age_ms);
  if (!ahead.ok()) return FromStatus(ahead).ToResponse();
  report->caller_group = p.group;  // checked again by the store
  auto may = ctx.messages->MayReport(p.group, report->station);
  if (!may.ok()) return FromStatus(may.status()).ToResponse();
  if (!*may) {
    storage::IngestDecision decision;
    decision.result = IngestResult::kUnknownStation;  // as if it did not exist
    ctx.messages->NoteRefused(report->device.value, report->station, decision.result);
    return JsonResponse(200, IngestDecisionJson(decision));
  }
  return DecideService(ctx, *report);
}

Response IngestSigfoxServiceCallback(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto report =
      pipeline::ParseSigfoxServiceCallbackBody(req.body, req.Header("Content-Type").value_or(""));
  if (!report.ok()) return FromStatus(report.status()).ToResponse();
  Status ahead = pipeline::CheckReportTime(*report, ctx.now_ms(), ctx.max_report_age_ms);
  if (!ahead.ok()) return FromStatus(ahead).ToResponse();
  // As the DATA callbacks' route: a station the caller does not list is the
  // public network's, heard for the caller's subtree (decided by the store).
  report->public_network_caller = p.group;
  return DecideService(ctx, *report);
}

Response ListDeviceLocations(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error().ToResponse();
  storage::MessageQuery query;
  query.device = device->id.value;
  query.with_location = true;
  return ListMessages(ctx, p, req, std::move(query));
}

Response ListDeviceMessages(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error().ToResponse();
  storage::MessageQuery query;
  query.device = device->id.value;
  return ListMessages(ctx, p, req, std::move(query));
}

Response ListDeviceTypeMessages(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  storage::MessageQuery query;
  query.type = type->id;
  return ListMessages(ctx, p, req, std::move(query));
}

namespace {

// Last-Event-ID: the id of the last event an EventSource received, sent when
// it reconnects. A value that is not one of ours is refused, naming the header.
Parsed<std::optional<storage::MessageCursor>> LastEventId(const Request& req) {
  auto header = req.Header("Last-Event-ID");
  if (!header || header->empty()) return std::optional<storage::MessageCursor>();
  auto cursor = ParseMessageCursor(*header);
  if (!cursor.ok()) {
    return ApiError::BadField("Last-Event-ID",
                              "must be the id of an event of this stream "
                              "(<time>-<device hex>-<seqNumber>), not " +
                                  QuoteForMessage(*header, 60));
  }
  return std::optional<storage::MessageCursor>(*cursor);
}

}  // namespace

Response LiveDeviceMessages(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto device = VisibleDevice(ctx, p, req.Param("id"));
  if (!device.ok()) return device.error().ToResponse();
  if (ctx.live == nullptr) return Unavailable();
  auto resume = LastEventId(req);
  if (!resume.ok()) return resume.error().ToResponse();
  return ctx.live->Open(p, device->id.value, "", *resume);
}

Response LiveDeviceTypeMessages(ApiContext& ctx, const Principal& p, const Request& req) {
  if (ctx.messages == nullptr) return Unavailable();
  auto type = VisibleDeviceType(ctx, p, req.Param("id"));
  if (!type.ok()) return type.error().ToResponse();
  if (ctx.live == nullptr) return Unavailable();
  auto resume = LastEventId(req);
  if (!resume.ok()) return resume.error().ToResponse();
  return ctx.live->Open(p, std::nullopt, type->id, *resume);
}

}  // namespace roost::api
