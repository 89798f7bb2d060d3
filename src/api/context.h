// What a registry API handler runs with: the principal the request was
// authenticated as (api/authenticate.h) and the services it may call.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "api/login_throttle.h"
#include "crypto/password.h"
#include "crypto/seal.h"
#include "model/roles.h"
#include "pipeline/events.h"
#include "pipeline/messages.h"
#include "registry/certificates.h"
#include "registry/devices.h"
#include "registry/provisioning.h"
#include "registry/users.h"

namespace roost::api {

class LiveFeed;

// Who is calling: an authenticated API user or user (person); empty for a
// public route.
struct Principal {
  std::string login;    // the API user's login; "" for a person
  std::string user_id;  // the person's id; "" for an API user
  std::string group;    // the principal sees this group and the groups below it
  RoleSet roles;
  // Cookie sessions only: the stored hash of the session token, and its CSRF token.
  std::string session_hash;
  std::string csrf_token;
};

// The services the handlers call (never the store); everything must outlive
// the router.
struct ApiContext {
  registry::DeviceRegistry& devices;  // devices, device types, jobs, credentials
  // Groups, users, API users, sessions, password links.
  registry::Accounts& accounts;
  registry::CertificateRegistry& certificates;
  crypto::PasswordVerifyCache& passwords;
  LoginThrottle& throttle;
  std::function<int64_t()> now_ms;  // wall clock, epoch ms
  // Seals device KEYs on credentials import; nullptr = import unavailable (503).
  const crypto::Sealer* sealer = nullptr;
  // Stations, ingest and messages; nullptr = not running (those routes answer 503).
  pipeline::MessageService* messages = nullptr;
  // Device events and event configurations; nullptr = not running (503).
  pipeline::EventService* events = nullptr;
  // LoRaWAN Provision IDs and provisioned devices; nullptr = not running (503).
  registry::ProvisioningRegistry* provisioning = nullptr;
  // What GET /api/console/config tells the web console.
  struct Console {
    std::string tile_url;       // console.tile_url; "" = no map tiles
    bool provisioning = false;  // the GWMP listener (LoRaWAN provisioning) is on
  } console{};
  // The live message streams (api/live_feed.h); nullptr = not running (503).
  LiveFeed* live = nullptr;
  // http.secure_cookies: the session cookie is Secure and named with the __Host- prefix.
  bool secure_cookies = false;
  // Reports older than this (ms) are refused: pipeline.retention_days would
  // purge their messages at once. 0 = any age.
  int64_t max_report_age_ms = 0;
};

}  // namespace roost::api
