// The route handlers of the registry API and what they share. Internal to the
// api library: routes.cpp lists each handler once, with its roles, in
// ApiRoutes(). One file per resource, <resource>_handlers.cpp:
//   device_type_handlers.cpp  /api/devicetypes…
//   device_handlers.cpp       /api/devices…, bulk registration
//   device_edit_handlers.cpp  device edits (single, bulk jobs), series uploads
//   device_state_handlers.cpp /api/devices/{id}/token-state, …/networkstate,
//                             /api/devicetypes/{id}/disengage
//   job_handlers.cpp          /api/jobs/{jobId}
//   credential_handlers.cpp   /api/credentials/import
//   certificate_handlers.cpp  /api/product-certificates… (global, not per group)
//   group_handlers.cpp        /api/groups…
//   api_user_handlers.cpp     /api/api-users…
//   user_handlers.cpp         /api/users…
//   session_handlers.cpp      /api/session…
//   message_handlers.cpp      /api/stations…, /api/ingest/uplink, …/messages
//   callback_handlers.cpp     /api/devicetypes/{id}/callbacks…, /api/callbacks…
//   event_handlers.cpp        …/status/error, …/status/warn, …/events/config…
//   provisioning_handlers.cpp /api/provisioning… (LoRaWAN Provision IDs, provisioned devices)
//   console_handlers.cpp      /api/console…, /api/codec… (what the web console needs)
// Their JSON is in json/<resource>_json.h; refusals are ApiError (errors.h).
// A handler runs after authentication and the role check; it must answer 404
// for any object outside the principal's group subtree (CheckVisible and the
// Visible* lookups below do that).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/authenticate.h"
#include "api/errors.h"
#include "api/json/body.h"
#include "api/routes.h"
#include "http/message.h"
#include "model/device.h"
#include "model/device_type.h"
#include "model/event.h"
#include "registry/users.h"
#include "storage/store.h"

namespace roost::api {

// --- shared by the handlers (handler_support.cpp) -------------------------

http::Response JsonResponse(int status, const nlohmann::json& body);
// A time filter of a query string: epoch milliseconds, 1 to 15 decimal digits
// (until the year 33658). BadField(name) otherwise.
std::optional<ApiError> ParseEpochFilter(std::string_view name, std::string_view text,
                                         std::optional<EpochMillis>& out);
// Which rows of a list a request asks for, besides its cursor (`after`).
struct PageWindow {
  int limit = 100;
  int offset = 0;  // rows skipped before the page
};
// The `limit` (ParseLimit) and `offset` query parameters of a list. Every list
// takes `offset`, as the Sigfox API pages, up to `max_offset` (skipping rows
// costs as many reads; a deeper page follows paging.next, whose cost does not
// grow). The next page's URL carries the cursor of the page's last row, not
// the offset.
Parsed<PageWindow> ParsePageWindow(const http::Request& req,
                                   int64_t max_offset = storage::kMaxListOffset);
// The `limit`, `offset`, `since` and `before` query parameters of a
// time-ordered list (messages, events), each left as it is when absent.
std::optional<ApiError> ParseTimeWindow(const http::Request& req, int& limit, int& offset,
                                        std::optional<EpochMillis>& since,
                                        std::optional<EpochMillis>& before);
http::Response NoContent();

// An edit of an object reads it, applies the request's fields and stores the
// result only if nobody else's edit landed meanwhile; it tries this often.
inline constexpr int kEditAttempts = 3;
// The 409 of an edit that lost kEditAttempts times to other edits of `what`.
http::Response KeepsChanging(std::string_view what);

// 404 "<what> not found" unless `group` is the principal's group or below it.
std::optional<ApiError> CheckVisible(ApiContext& ctx, const Principal& p, std::string_view group,
                                     std::string_view what);
// The object when it exists and is visible to the principal; 404 otherwise.
Parsed<DeviceType> VisibleDeviceType(ApiContext& ctx, const Principal& p, std::string_view id);
Parsed<Device> VisibleDevice(ApiContext& ctx, const Principal& p, std::string_view id);

// "group"/"parentId" of a create body: a visible group id, or the principal's
// group when absent. 404 naming the field otherwise.
Parsed<std::string> TargetGroup(ApiContext& ctx, const Principal& p, const nlohmann::json& body,
                                std::string_view field);

// Public routes take JSON only (415 otherwise): an HTML form of another site
// cannot send it without a CORS preflight, so they cannot be triggered cross-site.
std::optional<ApiError> RequireJsonBody(const http::Request& req);

// Whether the principal may see devices' current PAC (ADMIN, DEVICE_MANAGER).
bool SeesPac(const Principal& p);
// Whether the principal may see callback header values and url credentials
// (ADMIN, DEVICE_MANAGER); a READER sees them blanked.
bool SeesCallbackSecrets(const Principal& p);
// Shows a delivery's destination only when its callback's device type is the
// principal's to see (pipeline::ShowDestination says why).
pipeline::ShowDestination DestinationsVisibleTo(ApiContext& ctx, const Principal& p);

// The "contains" text filter `param` of a list (matched with ASCII letters
// folded): empty when absent; BadField past 200 bytes.
Parsed<std::string> ContainsFilter(const http::Request& req, std::string_view param);
// The subtree a list covers: the principal's group, or the visible "groupId".
Parsed<std::string> ListSubtree(ApiContext& ctx, const Principal& p, const http::Request& req);

std::string PercentEncode(std::string_view s);
// "<path>?k=v&...&limit=N&after=CURSOR": the next page's URL, keeping the
// request's query parameters named in `keep`.
std::string NextUrl(const http::Request& req, const std::vector<std::string_view>& keep, int limit,
                    std::string_view after);

// Keyset page of `items` (ordered by `key`), after the "after" query parameter.
template <typename T, typename Key, typename Render>
http::Response Page(const http::Request& req, const std::vector<T>& items, Key key, Render render,
                    const std::vector<std::string_view>& keep = {},
                    PageKey kind = PageKey::kObjectId) {
  auto window = ParsePageWindow(req);
  if (!window.ok()) return window.error().ToResponse();
  const int limit = window->limit;
  int skip = window->offset;
  auto cursor = ParsePageCursor(req.QueryParam("after"), kind);
  if (!cursor.ok()) return cursor.error().ToResponse();
  const std::string& after = *cursor;
  nlohmann::json data = nlohmann::json::array();
  std::string last;
  bool more = false;
  for (const T& item : items) {
    const std::string& k = key(item);
    if (!after.empty() && k <= after) continue;
    if (skip > 0) {
      --skip;
      continue;
    }
    if (static_cast<int>(data.size()) == limit) {
      more = true;
      break;
    }
    data.push_back(render(item));
    last = k;
  }
  nlohmann::json body{{"data", std::move(data)}, {"paging", nlohmann::json::object()}};
  if (more) body["paging"]["next"] = NextUrl(req, keep, limit, last);
  return JsonResponse(200, body);
}

// The entries of GET …/messages for `messages`, in their order, each with its
// "callbacks" (message_handlers.cpp; the live streams send the same), as
// `reader` may see them (DeliveryView).
Result<std::vector<std::string>> MessageEntries(ApiContext& ctx,
                                                const std::vector<Message>& messages,
                                                const Principal& reader);

// --- device types (device_type_handlers.cpp) -------------------------------

http::Response ListDeviceTypes(ApiContext&, const Principal&, const http::Request&);
http::Response GetDeviceType(ApiContext&, const Principal&, const http::Request&);
http::Response CreateDeviceType(ApiContext&, const Principal&, const http::Request&);
http::Response EditDeviceType(ApiContext&, const Principal&, const http::Request&);
http::Response DeleteDeviceType(ApiContext&, const Principal&, const http::Request&);

// --- devices (device_handlers.cpp) -----------------------------------------

http::Response ListDevices(ApiContext&, const Principal&, const http::Request&);
http::Response ListDeviceTypeDevices(ApiContext&, const Principal&, const http::Request&);
http::Response ListDeviceTypePositions(ApiContext&, const Principal&, const http::Request&);
http::Response GetDevice(ApiContext&, const Principal&, const http::Request&);
http::Response DeleteDevice(ApiContext&, const Principal&, const http::Request&);
http::Response CreateDevice(ApiContext&, const Principal&, const http::Request&);
http::Response BulkCreate(ApiContext&, const Principal&, const http::Request&);
http::Response BulkCreateStatus(ApiContext&, const Principal&, const http::Request&);

// --- LoRaWAN provisioning (provisioning_handlers.cpp) ------------------------

http::Response ImportProvisionIds(ApiContext&, const Principal&, const http::Request&);
// POST /api/provisioning/labels: a report CSV's printable QR label sheet as SVG
// (all its A4 pages in one document); stores nothing. At most
// kMaxLabelsPerSheet rows: a sheet grows with every label.
inline constexpr size_t kMaxLabelsPerSheet = 1000;
http::Response RenderProvisionLabels(ApiContext&, const Principal&, const http::Request&);
http::Response ListProvisionIds(ApiContext&, const Principal&, const http::Request&);
http::Response DisableProvisionId(ApiContext&, const Principal&, const http::Request&);
http::Response ListProvisionedDevices(ApiContext&, const Principal&, const http::Request&);
http::Response GetProvisionedDevice(ApiContext&, const Principal&, const http::Request&);
http::Response GetProvisionedKeys(ApiContext&, const Principal&, const http::Request&);
http::Response ExportProvisionedKeys(ApiContext&, const Principal&, const http::Request&);
http::Response GetProvisioningSummary(ApiContext&, const Principal&, const http::Request&);

// --- jobs (job_handlers.cpp) -------------------------------------------------

http::Response GetJob(ApiContext&, const Principal&, const http::Request&);
// The status of a visible job, 404 otherwise.
http::Response JobStatusOf(ApiContext& ctx, const Principal& p, std::string_view job_id);

// --- device edits and series uploads (device_edit_handlers.cpp) -------------

http::Response EditDevice(ApiContext&, const Principal&, const http::Request&);
http::Response BulkEdit(ApiContext&, const Principal&, const http::Request&);
http::Response BulkEditStatus(ApiContext&, const Principal&, const http::Request&);
http::Response BulkCreateSeries(ApiContext&, const Principal&, const http::Request&);

// --- credentials (credential_handlers.cpp) --------------------------------

http::Response ImportCredentials(ApiContext&, const Principal&, const http::Request&);
// --- device state (device_state_handlers.cpp) -------------------------------
// Derived by registry/device_state.h from the device, its type and the clock.

http::Response GetTokenState(ApiContext&, const Principal&, const http::Request&);
http::Response GetNetworkState(ApiContext&, const Principal&, const http::Request&);
// Flags every device of the type: the sequence-number check is skipped for its
// next message. 200 {"disengaged": n}.
http::Response DisengageDeviceType(ApiContext&, const Principal&, const http::Request&);
http::Response DisengageDevice(ApiContext&, const Principal&, const http::Request&);

// --- stations, ingest, messages (message_handlers.cpp) ----------------------
// 503 when the context has no message pipeline.

// {"id","name","lat","lng","group"} → 201 the station; "group" defaults to the
// principal's and must be visible.
http::Response CreateStation(ApiContext&, const Principal&, const http::Request&);
// The stations of the principal's subtree, paged by id.
http::Response ListStations(ApiContext&, const Principal&, const http::Request&);
http::Response GetStation(ApiContext&, const Principal&, const http::Request&);
http::Response EditStation(ApiContext&, const Principal&, const http::Request&);
http::Response DeleteStation(ApiContext&, const Principal&, const http::Request&);
// One report or an array (pipeline/ingest_body.h). Answered once the reports
// are durable: one report → {"result", "reason"}; an array → {"results": [...],
// "accepted", "duplicates", "refused"}. 503 + Retry-After when ingest is busy.
http::Response IngestUplink(ApiContext&, const Principal&, const http::Request&);
// The same on the event loop: nullopt, with nothing queued, when a station's
// check would ask the store (MessageService::MayReportCached).
std::optional<http::Response> IngestUplinkFast(ApiContext&, const Principal&, const http::Request&);
// The body of a Sigfox Cloud DATA callback (JSON or form; pipeline/ingest_body.h),
// decided like one uplink report.
http::Response IngestSigfoxCallback(ApiContext&, const Principal&, const http::Request&);
// A device's SERVICE report (pipeline/ingest_body.h ParseServiceReport),
// applied at once → {"result", "reason"} as an uplink report's.
http::Response IngestService(ApiContext&, const Principal&, const http::Request&);
// The body of a Sigfox Cloud SERVICE callback (STATUS or ACKNOWLEDGE; JSON or
// form), decided like a service report; a station the caller does not list is
// the public network's, as for DATA callbacks.
http::Response IngestSigfoxServiceCallback(ApiContext&, const Principal&, const http::Request&);
// Newest first: ?since=&before=&limit=&after= → {"data": [...], "paging": {...}}.
http::Response ListDeviceMessages(ApiContext&, const Principal&, const http::Request&);
http::Response ListDeviceTypeMessages(ApiContext&, const Principal&, const http::Request&);
// Server-sent events of new messages (api/live_feed.h); Last-Event-ID resumes.
http::Response LiveDeviceMessages(ApiContext&, const Principal&, const http::Request&);
http::Response LiveDeviceTypeMessages(ApiContext&, const Principal&, const http::Request&);
// The computed locations of a device's messages, newest first, paged as messages.
http::Response ListDeviceLocations(ApiContext&, const Principal&, const http::Request&);

// --- statistics (statistics_handlers.cpp) -------------------------------------
// ?from=&to=&step=hour|day → {"step", "from", "to", "data": [bucket...]}.
http::Response GetDeviceStats(ApiContext&, const Principal&, const http::Request&);
http::Response GetDeviceTypeStats(ApiContext&, const Principal&, const http::Request&);
// {"lastDay", "lastWeek", "lastMonth"}: messages counted from the statistics.
http::Response GetDeviceMessageMetric(ApiContext&, const Principal&, const http::Request&);
// {"consumption": {"id", "consumptions": [{"frameCount", "downlinkFrameCount"}, ...]}}.
http::Response GetDeviceConsumptions(ApiContext&, const Principal&, const http::Request&);

// --- callbacks (callback_handlers.cpp) ---------------------------------------
// A device type's callbacks; {cid} of another type is 404. 503 without a pipeline.

// An array of callbacks (or {"data": [...]}); each is checked (patterns,
// variables, method, URL) before any is stored → 200 {"data": [{"id"}]}.
http::Response CreateCallbacks(ApiContext&, const Principal&, const http::Request&);
// One callback object, as callbacks/new takes for one item, replacing the
// definition of {cid} (storage::Store::UpdateCallback: id, dead state,
// enabled unless given, downlinkHook while it still applies). 200 with the
// callback as the list shows it.
http::Response EditCallback(ApiContext&, const Principal&, const http::Request&);
http::Response ListCallbacks(ApiContext&, const Principal&, const http::Request&);
http::Response DeleteCallback(ApiContext&, const Principal&, const http::Request&);
// ?enabled=true|false; enabling a dead callback revives it. 204.
http::Response EnableCallback(ApiContext&, const Principal&, const http::Request&);
// Makes a URL DATA BIDIR callback its type's downlinkHook. 204.
http::Response SetDownlinkCallback(ApiContext&, const Principal&, const http::Request&);
// Failed and dead deliveries of the principal's subtree, newest failure first.
http::Response ListCallbackErrors(ApiContext&, const Principal&, const http::Request&);

// --- device events (event_handlers.cpp) ---------------------------------------
// 503 without the events service. A device's or device type's events of one
// severity, newest first: ?since=&before=&limit=&after= → {"data", "paging"}.
http::Response ListDeviceErrors(ApiContext&, const Principal&, const http::Request&);
http::Response ListDeviceWarnings(ApiContext&, const Principal&, const http::Request&);
http::Response ListDeviceTypeErrors(ApiContext&, const Principal&, const http::Request&);
http::Response ListDeviceTypeWarnings(ApiContext&, const Principal&, const http::Request&);
// The event configurations of a visible device, device type or group: listed
// → {"data": [...]}; created from {"kinds", "emails"} → 201 the configuration;
// deleted ({cid} of another target is 404) → 204. Only those made while the
// target was in its current group are listed, deleted and applied. One
// implementation for the three scopes: `scope` says what {id} names.
ApiHandler ListEventConfigs(EventScope scope);
ApiHandler CreateEventConfig(EventScope scope);
ApiHandler DeleteEventConfig(EventScope scope);

// --- product certificates (certificate_handlers.cpp) ------------------------
// Global reference data: every principal allowed by the route sees every
// certificate; there is no group to check.

// JSON array (application/json) or CSV with a header (text/csv); refused as a
// whole with every problem's line (CSV) or index (JSON). 200 {"imported": n}.
http::Response ImportCertificates(ApiContext&, const Principal&, const http::Request&);
// ?search=&limit=&after= → {"data": [...], "paging": {...}}
http::Response SearchCertificates(ApiContext&, const Principal&, const http::Request&);
// The key in any accepted spelling.
http::Response GetCertificate(ApiContext&, const Principal&, const http::Request&);

// --- groups (group_handlers.cpp) ------------------------------------------
// Read ADMIN/DEVICE_MANAGER/READER, write ADMIN.

http::Response ListGroups(ApiContext&, const Principal&, const http::Request&);
http::Response GetGroup(ApiContext&, const Principal&, const http::Request&);
http::Response CreateGroup(ApiContext&, const Principal&, const http::Request&);
http::Response EditGroup(ApiContext&, const Principal&, const http::Request&);
http::Response DeleteGroup(ApiContext&, const Principal&, const http::Request&);

// --- API users (api_user_handlers.cpp) ------------------------------------
// ADMIN.

http::Response ListApiUsers(ApiContext&, const Principal&, const http::Request&);
http::Response GetApiUser(ApiContext&, const Principal&, const http::Request&);
http::Response CreateApiUserRoute(ApiContext&, const Principal&, const http::Request&);
http::Response DeleteApiUser(ApiContext&, const Principal&, const http::Request&);

// --- users (user_handlers.cpp) --------------------------------------------
// ADMIN; SetPassword is public.

http::Response ListUsers(ApiContext&, const Principal&, const http::Request&);
http::Response GetUser(ApiContext&, const Principal&, const http::Request&);
http::Response CreateUser(ApiContext&, const Principal&, const http::Request&);
http::Response EditUser(ApiContext&, const Principal&, const http::Request&);
http::Response DeleteUser(ApiContext&, const Principal&, const http::Request&);
http::Response InviteUser(ApiContext&, const Principal&, const http::Request&);
http::Response SetPassword(ApiContext&, const Principal&, const http::Request&);

// Applies `edit` to `target` as the principal; when the edit checks the
// principal's current password, failures are throttled like failed logins.
http::Response ThrottledEdit(ApiContext& ctx, const Principal& p, const http::Request& req,
                             const User& target, const registry::UserEdit& edit);

// --- sessions (session_handlers.cpp) ----------------------------------------
// Login is public; GetSession, Logout and ChangeOwnPassword (people only) take
// any principal.

http::Response Login(ApiContext&, const Principal&, const http::Request&);
http::Response GetSession(ApiContext&, const Principal&, const http::Request&);
http::Response Logout(ApiContext&, const Principal&, const http::Request&);
http::Response ChangeOwnPassword(ApiContext&, const Principal&, const http::Request&);

// --- the web console (console_handlers.cpp) -----------------------------------
// GetConsoleConfig is public and runs on the event loop (from memory only).

http::Response GetConsoleConfig(ApiContext&, const Principal&, const http::Request&);
// The device-type editor's "try it": decode hex data with a display type, and
// check a DIRECT downlink template. Pure computation with the codec library.
http::Response DecodeWithCodec(ApiContext&, const Principal&, const http::Request&);
http::Response CheckDownlinkTemplate(ApiContext&, const Principal&, const http::Request&);
// The home page's counts over the principal's group subtree.
http::Response GetConsoleSummary(ApiContext&, const Principal&, const http::Request&);

}  // namespace roost::api
