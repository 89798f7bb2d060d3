#include "server/runtime.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "api/live_feed.h"
#include "api/login_throttle.h"
#include "api/routes.h"
#include "core/cpus.h"
#include "core/text.h"
#include "crypto/aes.h"
#include "crypto/password.h"
#include "crypto/seal.h"
#include "gateway/listener.h"
#include "http/console_assets.h"
#include "http/ops.h"
#include "http/router.h"
#include "http/server.h"
#include "integration/dispatcher.h"
#include "jobs/runner.h"
#include "jobs/worker.h"
#include "observe/log.h"
#include "observe/metrics.h"
#include "pipeline/event_watcher.h"
#include "pipeline/events.h"
#include "pipeline/message_hub.h"
#include "pipeline/messages.h"
#include "pipeline/retention.h"
#include "pipeline/stored_queues.h"
#include "pipeline/uplink_writer.h"
#include "provisioning/service.h"
#include "registry/accounts.h"
#include "registry/certificates.h"
#include "registry/devices.h"
#include "registry/provisioning.h"
#include "registry/users.h"
#include "server/event_loop.h"
#include "server/provisioning_bridge.h"
#include "server/setup.h"
#include "storage/store.h"

namespace roost::server {
namespace {

constexpr auto kDrainTimeout = std::chrono::seconds(10);

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Bounds the Argon2id work anyone can start (crypto/password.h) and counts it
// for /metrics.
Status LimitPasswordWork(const config::ServeConfig& cfg, unsigned handler_threads,
                         observe::MetricsRegistry& metrics) {
  auto checks = metrics.AddCounter("roost_auth_password_checks_total",
                                   "Argon2id password verifications run (cache hits excluded)");
  auto hashes =
      metrics.AddCounter("roost_auth_password_hashes_total", "Argon2id password hashes made");
  auto refused = metrics.AddCounter(
      "roost_auth_password_busy_total",
      "Password hashes or checks refused because every Argon2id slot was taken (503)");
  if (!checks.ok()) return checks.status().WithPrefix("metrics");
  if (!hashes.ok()) return hashes.status().WithPrefix("metrics");
  if (!refused.ok()) return refused.status().WithPrefix("metrics");
  observe::Counter* counters[] = {&(*hashes)->Get(), &(*checks)->Get(), &(*refused)->Get()};
  crypto::ConfigurePasswordWork(
      crypto::ServerPasswordWorkLimits(cfg.password_hash_slots, handler_threads),
      [counters](crypto::PasswordWork w) {
        switch (w) {
          case crypto::PasswordWork::kHashed:
            return counters[0]->Inc();
          case crypto::PasswordWork::kVerified:
            return counters[1]->Inc();
          case crypto::PasswordWork::kRefused:
            return counters[2]->Inc();
        }
      });
  return Status::Ok();
}

// The directory console.dir names: "" = `web` beside the running executable.
std::string ConsoleDirectory(const config::ServeConfig& cfg) {
  if (!cfg.console_dir.empty()) return cfg.console_dir;
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "web";
  std::string path(exe, static_cast<size_t>(n));
  size_t slash = path.rfind('/');
  return (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) + "/web";
}

// The origin (scheme://host[:port]) of a URL the configuration checked.
std::string OriginOf(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  size_t host_end = url.find_first_of("/?#", scheme_end + 3);
  return std::string(url.substr(0, host_end));
}

// How many HTTP connections this process can serve: `wanted`, or fewer when
// the open-file limit (raised to its hard limit first) leaves too few
// descriptors beside `reserved` for everything else.
size_t ConnectionsWithinOpenFileLimit(size_t wanted, rlim_t reserved, observe::Logger& logger) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted + reserved) return wanted;
  const size_t can = limit.rlim_cur > 2 * reserved ? limit.rlim_cur - reserved
                                                   : std::max<size_t>(limit.rlim_cur / 2, 16);
  logger.Warn("fewer HTTP connections than http.max_connections: the open-file limit is low",
              {{"max_connections", static_cast<int64_t>(wanted)},
               {"serving", static_cast<int64_t>(can)},
               {"open_file_limit", static_cast<int64_t>(limit.rlim_cur)}});
  return can;
}

}  // namespace

// Everything the server runs, in the order it is built (and destroyed in reverse).
struct Runtime::Parts {
  // The dispatcher and the downlink arbiter send on the loop, which is
  // destroyed before them: when the runtime failed to start (Stop never ran),
  // they let go of the loop first.
  ~Parts() {
    if (downlinks) downlinks->Stop();
    if (dispatcher) dispatcher->Stop();
  }

  config::ServeConfig config;
  observe::Logger logger;
  sigset_t signals{};
  std::optional<crypto::Sealer> sealer;
  std::unique_ptr<storage::Store> store;
  observe::MetricsRegistry metrics;
  http::Readiness readiness;
  http::Router router;
  http::ConsoleAssets console;  // the fallback route reads it
  std::unique_ptr<registry::DeviceRegistry> devices;
  crypto::PasswordVerifyCache passwords;
  api::LoginThrottle throttle;
  std::unique_ptr<registry::Accounts> accounts;
  std::unique_ptr<registry::CertificateRegistry> certificates;
  std::unique_ptr<registry::ProvisioningRegistry> provisioning;
  // Outlives the server: requests waiting for their reports to be durable are
  // answered by it while the server drains.
  std::unique_ptr<integration::Dispatcher> dispatcher;  // woken by the writer's commits
  pipeline::MessageHub message_hub;  // the writer publishes to it, live streams listen
  std::unique_ptr<pipeline::UplinkWriter> uplink_writer;
  std::unique_ptr<pipeline::MessageService> messages;
  std::unique_ptr<pipeline::DownlinkArbiter> downlinks;
  std::unique_ptr<pipeline::RetentionTask> retention;
  std::unique_ptr<pipeline::StoredQueueGauges> stored_queues;
  std::unique_ptr<pipeline::EventService> events;
  std::unique_ptr<pipeline::EventWatcher> event_watcher;  // wakes the dispatcher
  std::unique_ptr<api::ApiContext> api_context;
  std::unique_ptr<api::LiveFeed> live;  // the console's live message streams
  std::unique_ptr<jobs::Runner> jobs;
  std::unique_ptr<EventLoop> loop;  // outlives the listeners on it
  std::unique_ptr<http::Server> server;
  // LoRaWAN provisioning over the gateways' UDP protocol (provisioning.gwmp_listen);
  // all three null when it is off. The listener goes first, then the bridge's
  // pool, then the service it calls.
  std::unique_ptr<provisioning::ProvisioningService> provisioning_service;
  std::unique_ptr<ProvisioningBridge> provisioning_bridge;
  std::unique_ptr<gateway::Listener> gateway;
  std::unique_ptr<jobs::Worker> worker;
  bool stopped = false;
  bool drained = true;
};

Result<std::unique_ptr<Runtime>> Runtime::Start(const config::ServeConfig& config) {
  auto p = std::make_unique<Parts>();
  p->config = config;
  const config::ServeConfig& cfg = p->config;
  observe::Logger& logger = p->logger;
  if (cfg.downlink_callback_timeout_ms > cfg.downlink_hold_ms) {
    // The hook is called while the station's answer is held: a longer deadline
    // could never be met.
    return Status::InvalidInput(
        "pipeline.downlink_callback_timeout_ms (" +
        std::to_string(cfg.downlink_callback_timeout_ms) +
        ") must not exceed pipeline.downlink_hold_ms (" + std::to_string(cfg.downlink_hold_ms) +
        "): the downlinkHook callback is called while the station's answer is held");
  }
  if (cfg.gwmp_listen) ROOST_RETURN_IF_ERROR(config::CheckProvisioningLimits(cfg));
  ROOST_RETURN_IF_ERROR(config::CheckCallbackLease(cfg));
  ROOST_RETURN_IF_ERROR(PrepareDataDir(cfg.data_dir, logger));

  auto master_key = LoadOrCreateMasterKey(cfg.MasterKeyPath(), logger);
  if (!master_key.ok()) return master_key.status();
  // The Sealer keeps its own copy (wiped when it is destroyed) for credentials import.
  auto sealer = crypto::Sealer::FromKey(*master_key);
  crypto::Cleanse(master_key->data(), master_key->size());
  if (!sealer.ok()) return sealer.status().WithPrefix(cfg.MasterKeyPath());
  p->sealer.emplace(std::move(sealer).value());

  // database.url: empty = SQLite in the data dir, "sqlite:PATH", or postgresql://...
  std::string location = cfg.database_url.empty() ? cfg.data_dir : cfg.database_url;
  if (AsciiLower(std::string_view(location).substr(0, 7)) == "sqlite:") {
    location = location.substr(7);
  }
  // Every handler thread, job worker, callback sender and event watcher thread may hold a
  // connection at once.
  const unsigned threads = cfg.threads != 0 ? cfg.threads : UsableCpus();
  const unsigned handler_threads =
      cfg.handler_threads != 0 ? cfg.handler_threads : std::max(4u, 2 * threads);
  auto store = storage::OpenStore(
      location, static_cast<int>(handler_threads + cfg.job_workers + cfg.callback_threads) + 5);
  if (!store.ok()) return store.status().WithPrefix("database");
  p->store = std::move(store).value();
  // Sealing what an earlier Roost stored in clear may meet other instances'
  // work; what is left is sealed at the next start, and reads as before.
  if (Status sealed = p->store->SealSecretsWith(&*p->sealer); !sealed.ok()) {
    logger.Warn("callbacks stored in clear are left so until the next start",
                {{"error", sealed.message()}});
  }
  auto admin_password = AdminPassword(cfg);
  if (!admin_password.ok()) return admin_password.status();
  auto boot = registry::Bootstrap(*p->store, "admin@localhost", *admin_password, NowMs());
  if (!boot.ok()) return boot.status().WithPrefix("bootstrap");
  if (boot->created) {
    logger.Info("created the root group and the admin user",
                {{"group", boot->root_group}, {"admin", boot->admin_email}});
    if (!boot->generated_password.empty()) {
      // Shown once, on stdout (not in the log): it is not stored anywhere in clear.
      std::printf("roost: admin user %s, password (shown once): %s\n", boot->admin_email.c_str(),
                  boot->generated_password.c_str());
      std::fflush(stdout);
      crypto::Cleanse(boot->generated_password.data(), boot->generated_password.size());
    }
  }

  // Signals are taken synchronously (sigwait, WaitForStopSignal); every thread
  // started from here on inherits the blocked mask.
  sigemptyset(&p->signals);
  sigaddset(&p->signals, SIGTERM);
  sigaddset(&p->signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &p->signals, nullptr);

  ROOST_RETURN_IF_ERROR(http::RegisterProcessMetrics(p->metrics).WithPrefix("metrics"));
  ROOST_RETURN_IF_ERROR(LimitPasswordWork(cfg, handler_threads, p->metrics));
  ROOST_RETURN_IF_ERROR(
      http::AddOperationalRoutes(p->router, p->metrics, p->readiness, {cfg.metrics_token})
          .WithPrefix("routes"));
  p->devices = std::make_unique<registry::DeviceRegistry>(*p->store, NowMs);
  p->devices->RequireKnownCertificates(cfg.require_known_certificates);
  registry::AccountSettings account_settings;
  account_settings.password_link_ttl_ms = int64_t{cfg.password_link_ttl_s} * 1000;
  account_settings.session_ttl_ms = int64_t{cfg.session_ttl_s} * 1000;
  account_settings.public_url = cfg.PublicUrl();
  auto send_email = MakeEmailSender(cfg, logger);
  if (!send_email.ok()) return send_email.status();
  const registry::SendEmail email = *send_email;
  p->accounts = std::make_unique<registry::Accounts>(*p->store, NowMs, account_settings,
                                                     std::move(send_email).value());
  p->certificates = std::make_unique<registry::CertificateRegistry>(*p->store, NowMs);
  p->api_context.reset(new api::ApiContext{*p->devices, *p->accounts, *p->certificates,
                                           p->passwords, p->throttle, NowMs, &*p->sealer});
  p->api_context->secure_cookies = cfg.UseSecureCookies();
  p->api_context->max_report_age_ms = int64_t{cfg.retention_days} * 86'400'000;
  p->provisioning = std::make_unique<registry::ProvisioningRegistry>(
      *p->store, *p->sealer, registry::ProvisioningOptions{cfg.dev_eui_pool, cfg.join_eui, &logger},
      NowMs);
  p->api_context->provisioning = p->provisioning.get();
  // The one event loop: the HTTP server, the radio gateway and callback sends
  // run on it. Its threads start last, once everything on it is in place.
  p->loop = std::make_unique<EventLoop>(threads, &logger);
  integration::DispatcherOptions dispatch;
  dispatch.loop = &p->loop->context();
  dispatch.max_in_flight = cfg.callback_concurrency;
  dispatch.timeout = std::chrono::milliseconds(cfg.callback_timeout_ms);
  dispatch.email_timeout = std::chrono::milliseconds(config::kEmailSendTimeoutMs);
  dispatch.dead_after_ms = int64_t{cfg.callback_dead_after_s} * 1000;
  dispatch.lease_ms = int64_t{cfg.callback_lease_s} * 1000;
  dispatch.refuse_private_destinations = cfg.callback_refuse_private;
  dispatch.clock = NowMs;
  dispatch.metrics = &p->metrics;
  dispatch.batch_lines = cfg.batch_callback_lines;
  dispatch.batch_interval_ms = cfg.batch_callback_interval_ms;
  dispatch.send_email = email;  // EMAIL callbacks; empty without smtp.host (they then fail)
  dispatch.on_died = [&logger](const Callback& cb, const storage::DeliveryOutcome& last) {
    logger.Warn("callback dead", {{"callback", cb.id},
                                  {"type", cb.type},
                                  {"status", static_cast<int64_t>(last.status)},
                                  {"reason", last.info}});
  };
  dispatch.on_alert_error = [&logger](const Status& error) {
    logger.Warn("callback alerts", {{"error", error.message()}});
  };
  // Without SMTP this instance sends no alerts: they wait in the store for an
  // instance that can (Dispatcher).
  if (email) {
    dispatch.on_dead = [store = p->store.get(), email, &logger](
                           const Callback& cb, const storage::DeliveryOutcome& last) -> Status {
      // One line per try: a failed alert is tried again (Dispatcher).
      auto told = [&](bool sent, std::string_view reason) {
        logger.Log(sent ? observe::Logger::Level::kInfo : observe::Logger::Level::kWarn,
                   sent ? "callback alert email sent" : "callback alert email not sent",
                   {{"callback", cb.id}, {"type", cb.type}, {"reason", reason}});
      };
      auto type = store->GetDeviceType(cb.type);
      if (!type.ok() && type.status().code() != Status::Code::kNotFound) {
        told(false, type.status().message());
        return type.status();
      }
      if (!type.ok() || type->alert_email.empty()) {
        told(false, !type.ok() ? "its device type is gone" : "its device type has no alertEmail");
        return Status::Ok();  // nobody to tell: not tried again
      }
      Status sent = email(
          type->alert_email, "Roost: callback " + cb.id + " is dead",
          "The callback " + cb.id + " of device type " + type->name + " (" + type->id +
              ") has failed continuously and is now dead: its deliveries are kept but "
              "no longer sent.\n\nLast attempt: status " +
              std::to_string(last.status) + " (" + last.info +
              ").\n\nEnable it again (POST /api/devicetypes/" + type->id + "/callbacks/" + cb.id +
              "/enable?enabled=true) once its endpoint works; the waiting deliveries "
              "are then sent.\n");
      told(sent.ok(), sent.ok() ? "to the device type's alertEmail" : sent.message());
      return sent;
    };
  }
  // Without it this instance only queues deliveries, due at once and leased
  // to nobody: the instances on the same database that send take them.
  if (cfg.send_callbacks) {
    p->dispatcher = std::make_unique<integration::Dispatcher>(*p->store, std::move(dispatch));
  }
  auto ingest_batches = p->metrics.AddCounter(
      "roost_ingest_batches_total", "Ingest transactions committed (each holds many reports)", {});
  if (!ingest_batches.ok()) return ingest_batches.status().WithPrefix("metrics");
  pipeline::UplinkWriterOptions writer_opts;
  writer_opts.dedup_window_ms = cfg.dedup_window_ms;
  writer_opts.max_queued_reports = cfg.ingest_queue_reports;
  writer_opts.clock = NowMs;
  // Past the hold and the hook's deadline, with room for a slow commit: until
  // then the downlink arbiter makes the hook's call for that frame itself.
  writer_opts.downlink_hook_delay_ms =
      int64_t{cfg.downlink_hold_ms} + cfg.downlink_callback_timeout_ms + 5'000;
  writer_opts.batches = &(*ingest_batches)->Get();
  if (p->dispatcher) {
    writer_opts.after_commit = [d = p->dispatcher.get()] { d->Wake(); };
    writer_opts.handoff_room = [d = p->dispatcher.get()] { return d->HandoffRoom(); };
    writer_opts.handoff = [d = p->dispatcher.get()](std::vector<storage::DeliveryTask> tasks) {
      return d->Offer(std::move(tasks));
    };
  }
  writer_opts.handoff_lease_ms = int64_t{cfg.callback_lease_s} * 1000;
  writer_opts.on_durable = [hub =
                                &p->message_hub](std::span<const storage::IngestDecision> decided) {
    hub->Publish(decided);
  };
  p->uplink_writer = std::make_unique<pipeline::UplinkWriter>(*p->store, writer_opts);
  p->messages =
      std::make_unique<pipeline::MessageService>(*p->store, *p->uplink_writer, NowMs, &p->metrics);
  pipeline::DownlinkOptions downlink_opts;
  downlink_opts.hold_ms = cfg.downlink_hold_ms;
  downlink_opts.callback_timeout = std::chrono::milliseconds(cfg.downlink_callback_timeout_ms);
  downlink_opts.loop = &p->loop->context();
  downlink_opts.callback_threads = cfg.callback_threads;
  downlink_opts.refuse_private_destinations = cfg.callback_refuse_private;
  downlink_opts.clock = NowMs;
  downlink_opts.max_frames = cfg.downlink_max_frames;
  downlink_opts.max_frames_per_client = cfg.downlink_max_frames_per_client;
  auto downlinks_refused = p->metrics.AddCounter(
      "roost_downlink_frames_refused_total",
      "Reports with ack answered at once without a downlink: too many frames held", {});
  if (!downlinks_refused.ok()) return downlinks_refused.status().WithPrefix("metrics");
  downlink_opts.refused = &(*downlinks_refused)->Get();
  p->downlinks = std::make_unique<pipeline::DownlinkArbiter>(*p->store, downlink_opts);
  p->messages->SetDownlinks(p->downlinks.get());
  p->messages->SetLogger(&logger);
  pipeline::RetentionOptions retention_opts;
  retention_opts.retention_days = static_cast<int>(cfg.retention_days);
  retention_opts.period_ms = int64_t{cfg.retention_period_s} * 1000;
  retention_opts.clock = NowMs;
  retention_opts.statistics_retention_days = static_cast<int>(cfg.statistics_retention_days);
  retention_opts.on_pass = [&logger](const pipeline::RetentionPass& pass) {
    if (!pass.partitions.ok())
      logger.Warn("retention", {{"partitions", pass.partitions.message()}});
    if (!pass.messages.ok()) {
      logger.Warn("retention", {{"error", pass.messages.status().message()}});
    } else {
      if (pass.messages->rows_deleted > 0 || pass.messages->partitions_dropped > 0) {
        logger.Info("retention", {{"messages_deleted", pass.messages->rows_deleted},
                                  {"partitions_dropped", pass.messages->partitions_dropped}});
      }
      for (const std::string& name : pass.messages->partitions_busy) {
        logger.Warn("retention: partition not dropped, messages busy; retried next pass",
                    {{"partition", name}});
      }
    }
    if (!pass.events.ok()) {
      logger.Warn("retention", {{"events_error", pass.events.status().message()}});
    } else if (*pass.events > 0) {
      logger.Info("retention", {{"event_rows_deleted", *pass.events}});
    }
    if (!pass.statistics.ok()) {
      logger.Warn("retention", {{"statistics_error", pass.statistics.status().message()}});
    } else if (*pass.statistics > 0) {
      logger.Info("retention", {{"statistics_rows_deleted", *pass.statistics}});
    }
  };
  p->retention = std::make_unique<pipeline::RetentionTask>(*p->store, std::move(retention_opts));
  pipeline::StoredQueueOptions stored_queue_opts;
  stored_queue_opts.clock = NowMs;
  auto stored_queues =
      pipeline::StoredQueueGauges::Start(*p->store, p->metrics, std::move(stored_queue_opts));
  if (!stored_queues.ok()) return stored_queues.status().WithPrefix("metrics");
  p->stored_queues = std::move(*stored_queues);
  p->api_context->messages = p->messages.get();
  api::LiveFeedOptions live_opts;
  live_opts.max_streams_per_principal = cfg.live_max_streams_per_principal;
  live_opts.max_streams = cfg.live_max_streams;
  live_opts.poll_interval = std::chrono::milliseconds(cfg.live_poll_interval_ms);
  live_opts.keepalive_interval = std::chrono::milliseconds(cfg.live_keepalive_ms);
  live_opts.metrics = &p->metrics;
  p->live = std::make_unique<api::LiveFeed>(*p->api_context, p->message_hub, live_opts);
  ROOST_RETURN_IF_ERROR(p->live->Init().WithPrefix("metrics"));
  p->api_context->live = p->live.get();
  p->events = std::make_unique<pipeline::EventService>(*p->store, NowMs);
  p->api_context->events = p->events.get();
  pipeline::EventWatcherOptions watch_opts;
  watch_opts.period_ms = cfg.event_watch_ms;
  watch_opts.clock = NowMs;
  watch_opts.send_email = email;
  watch_opts.logger = &logger;
  if (p->dispatcher) watch_opts.after_events = [d = p->dispatcher.get()] { d->Wake(); };
  p->event_watcher = std::make_unique<pipeline::EventWatcher>(*p->store, std::move(watch_opts));
  api::BodyLimits body_limits;
  body_limits.bulk = cfg.max_bulk_body_bytes;
  body_limits.upload = cfg.max_upload_bytes;
  p->api_context->console.tile_url = cfg.console_tile_url;
  p->api_context->console.provisioning = cfg.gwmp_listen.has_value();
  ROOST_RETURN_IF_ERROR(
      api::AddApiRoutes(p->router, *p->api_context, body_limits).WithPrefix("routes"));
  // Said after "listening", once the server surely starts.
  std::string console_not_built;
  if (cfg.console_dir != "off") {
    const std::string dir = ConsoleDirectory(cfg);
    auto console = http::ConsoleAssets::Load(dir);
    if (!console.ok()) return console.status().WithPrefix("console.dir");
    p->console = std::move(console).value();
    if (!p->console.built()) console_not_built = dir;
    ROOST_RETURN_IF_ERROR(http::ServeConsole(p->router, p->console).WithPrefix("routes"));
  }
  p->jobs = std::make_unique<jobs::Runner>(*p->store, NowMs);
  ROOST_RETURN_IF_ERROR(p->devices->AddJobHandlers(*p->jobs).WithPrefix("jobs"));

  http::ServerOptions server_opts;
  server_opts.host = cfg.http_listen.host;
  server_opts.port = cfg.http_listen.port;
  server_opts.handler_threads = handler_threads;
  server_opts.loop_threads = p->loop->threads();
  server_opts.max_body_bytes_in_flight = cfg.max_body_bytes_in_flight;
  // Descriptors kept for everything but HTTP connections: the database, the
  // callbacks' connections, files; and the gateways' upstream sockets.
  const gateway::ListenerOptions gateway_defaults;
  const rlim_t reserved =
      512 + (cfg.gwmp_listen && cfg.lns_upstream ? gateway_defaults.max_upstream_sockets : 0);
  server_opts.max_connections =
      ConnectionsWithinOpenFileLimit(cfg.max_connections, reserved, logger);
  server_opts.max_connections_per_address = cfg.max_connections_per_address;
  server_opts.trust_forwarded_for = cfg.behind_proxy;
  server_opts.readiness = &p->readiness;
  server_opts.logger = &logger;
  server_opts.metrics = &p->metrics;
  server_opts.content_security_policy = http::ContentSecurityPolicy(OriginOf(cfg.console_tile_url));
  auto server = http::Server::Listen(p->loop->context(), server_opts, p->router);
  if (!server.ok()) return server.status();
  p->server = std::move(server).value();

  std::string gwmp_address = "off";
  if (cfg.gwmp_listen) {
    provisioning::ProvisioningService::Options limits;
    limits.session_ttl = std::chrono::seconds(cfg.provisioning_session_ttl_s);
    limits.max_sessions = cfg.max_provisioning_sessions;
    limits.hellos_per_second = cfg.hellos_per_second;
    limits.hello_burst = cfg.hello_burst;
    limits.hellos_per_second_per_gateway = cfg.gateway_hellos_per_second;
    limits.hello_burst_per_gateway = cfg.gateway_hello_burst;
    p->provisioning_service = std::make_unique<provisioning::ProvisioningService>(
        limits, *p->provisioning, NowMs, provisioning::ProvisioningService::HelloSecretsSource{},
        &p->metrics, &logger);
    ProvisioningBridge::Options bridge;
    bridge.max_queued = cfg.max_queued_uplinks;
    p->provisioning_bridge =
        std::make_unique<ProvisioningBridge>(*p->provisioning_service, bridge, &p->metrics);
    gateway::ListenerOptions gw;
    gw.listen = *cfg.gwmp_listen;
    gw.region = cfg.region;
    gw.lns_upstream = cfg.lns_upstream;
    gw.dedup_window = std::chrono::milliseconds(cfg.gwmp_dedup_window_ms);
    auto listener = gateway::Listener::Start(
        p->loop->context(), std::move(gw), p->provisioning_bridge->Handler(), &p->metrics, &logger);
    if (!listener.ok()) {
      return listener.status().WithPrefix("provisioning.gwmp_listen " +
                                          cfg.gwmp_listen->ToString());
    }
    p->gateway = std::move(listener).value();
    gwmp_address = cfg.gwmp_listen->host + ":" + std::to_string(p->gateway->port());
  }

  auto chunks = p->metrics.AddCounter("roost_job_chunks_total",
                                      "Background job chunks processed by this instance", {});
  if (!chunks.ok()) return chunks.status().WithPrefix("metrics");
  jobs::WorkerOptions worker_opts;
  worker_opts.name = "serve-" + std::to_string(::getpid());
  worker_opts.lease_ms = int64_t{cfg.job_lease_seconds} * 1000;
  worker_opts.threads = cfg.job_workers;
  worker_opts.logger = &logger;
  worker_opts.chunks = &(*chunks)->Get();
  p->worker = std::make_unique<jobs::Worker>(*p->jobs, std::move(worker_opts));
  // Before Start(): handlers call it from then on.
  p->devices->OnJobStarted([worker = p->worker.get()] { worker->Wake(); });

  // Nothing is served before Start(), so this stays the first log line. Ready
  // now: there is nothing else to prepare yet (storage will come before this).
  logger.Info("listening", {{"address", p->server->address()},
                            {"gwmp", gwmp_address},
                            {"threads", p->loop->threads()},
                            {"handler_threads", p->server->handler_threads()},
                            {"data_dir", cfg.data_dir},
                            {"database", std::string(p->store->engine())},
                            {"version", http::BuildVersion()}});
  if (!console_not_built.empty()) {
    logger.Warn("the web console was not built: / answers a page saying so",
                {{"console_dir", console_not_built},
                 {"build", "scripts/build.sh, or npm ci && npm run build in web/"}});
  }
  p->readiness.Set(http::Readiness::State::kReady);
  p->server->Start();
  p->loop->Start();
  p->event_watcher->Start();
  return std::unique_ptr<Runtime>(new Runtime(std::move(p)));
}

Runtime::Runtime(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Runtime::~Runtime() {
  Stop();
  // The observer counts into this runtime's metrics, which go with it.
  crypto::ConfigurePasswordWork(crypto::ServerPasswordWorkLimits(
      parts_->config.password_hash_slots, parts_->server->handler_threads()));
}

void Runtime::WaitForStopSignal() {
  int sig = 0;
  sigwait(&parts_->signals, &sig);
  parts_->logger.Info("shutting down",
                      {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                       {"drain_timeout_s", static_cast<int64_t>(kDrainTimeout.count())}});
  // Owns copies: it may outlive the runtime. A second signal ends the process
  // at once; so does a stop that takes longer than http.stop_timeout_s (parts
  // waiting on a database that stopped answering would hold it for good).
  std::thread([signals = parts_->signals,
               timeout = std::chrono::seconds(parts_->config.stop_timeout_s)] {
    const auto end = std::chrono::steady_clock::now() + timeout;
    const char* why = "stop took too long; exiting";
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      timespec wait{};
      wait.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
      wait.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
      if (sigtimedwait(&signals, nullptr, &wait) > 0) {
        why = "second signal during drain; exiting";
        break;
      }
      if (errno == EAGAIN) break;  // the time is up
      // EINTR: another signal was handled meanwhile; wait out the rest.
    }
    std::string line = observe::Logger::Format(observe::Logger::Level::kWarn, why, {});
    (void)!::write(STDERR_FILENO, line.data(), line.size());
    std::_Exit(1);
  }).detach();
}

bool Runtime::Stop() {
  Parts& p = *parts_;
  if (p.stopped) return p.drained;
  p.stopped = true;
  if (p.stored_queues) p.stored_queues->Stop();   // its gauges matter no more
  if (p.gateway) p.gateway->Stop();               // no new provisioning uplinks
  p.drained = p.server->Shutdown(kDrainTimeout);  // ends the live streams' connections
  p.live->Stop();
  if (p.provisioning_bridge) p.provisioning_bridge->Stop();  // exchanges in progress finish
  p.worker->Stop();  // a chunk in progress finishes (or its lease lets another instance redo it)
  p.uplink_writer->Stop();                 // commits what was queued; nothing waits for it any more
  p.downlinks->Stop();                     // answers the reports still held, without a downlink
  p.event_watcher->Stop();                 // a pass or a send in progress finishes
  if (p.dispatcher) p.dispatcher->Stop();  // sends in progress finish; leased ones come due
  p.retention->Stop();                     // a pass in progress finishes; the next instance goes on
  p.loop->Stop();
  p.logger.Info("stopped", {{"drained", p.drained}});
  return p.drained;
}

}  // namespace roost::server
