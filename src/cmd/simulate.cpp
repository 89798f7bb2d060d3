// roost simulate provisioning: devices and gateways against a running server
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "config/config.h"
#include "core/hex.h"
#include "factory/provision_csv.h"
#include "gateway/region.h"
#include "simulate/provisioning_run.h"

namespace roost::cmd {
namespace {

struct SimulateArgs {
  std::string server;
  size_t devices = 0;
  size_t gateways = 1;
  std::string report;
  std::string region = "EU868";
  bool json = false;
  bool show_keys = false;
  bool impostors = false;
  unsigned timeout_ms = 5000;
  int retries = 2;
  size_t concurrency = 32;
};

std::string Fixed(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

nlohmann::json ReportJson(const simulate::SimulationReport& report, bool show_keys) {
  nlohmann::json devices = nlohmann::json::array();
  for (const auto& d : report.devices) {
    nlohmann::json j = {{"provisionId", d.provision_id},
                        {"rDevEui", ToHex(d.rdev_eui)},
                        {"outcome", simulate::DeviceOutcomeName(d.outcome)},
                        {"accepted", d.outcome == simulate::DeviceOutcome::kAccepted},
                        {"attempts", d.attempts},
                        {"rx1Failures", d.rx1_failures}};
    if (d.outcome != simulate::DeviceOutcome::kTimedOut) j["exchangeMs"] = d.exchange_ms;
    if (d.provisioned) {
      j["devEui"] = d.provisioned->dev_eui.ToString();
      j["joinEui"] = d.provisioned->join_eui.ToString();
      if (show_keys) {
        j["appKey"] = ToHex(d.provisioned->keys.app_key);
        j["nwkKey"] = ToHex(d.provisioned->keys.nwk_key);
      }
    }
    if (!d.error.empty()) j["error"] = d.error;
    devices.push_back(std::move(j));
  }
  return {{"devices", report.devices.size()},     {"accepted", report.accepted},
          {"rejected", report.rejected},          {"timedOut", report.timed_out},
          {"rx1ChecksFailed", report.rx1_failed}, {"exchangeMsP50", report.p50_ms},
          {"exchangeMsP99", report.p99_ms},       {"results", std::move(devices)}};
}

void RunSimulateProvisioning(const SimulateArgs& a) {
  simulate::SimulationOptions options;
  options.server = ValueOrFail(config::ParseHostPort(a.server), "--server");
  options.region = ValueOrFail(gateway::ParseRegion(a.region), "--region");
  options.gateways = a.gateways;
  options.timeout = std::chrono::milliseconds(a.timeout_ms);
  options.retries = a.retries;
  options.concurrency = a.concurrency;
  options.impostors = a.impostors;
  if (!a.report.empty()) {
    const std::string text = ValueOrFail(ReadWholeFile(a.report));
    auto parsed = factory::ParseProvisionCsv(text);
    if (!parsed.ok()) Fail(a.report + ": " + parsed.errors[0].ToString());
    if (!parsed.csv.is_report) Fail(a.report + ": not a report (no provisionIdHash column)");
    const size_t n = a.devices == 0 ? parsed.csv.rows.size() : a.devices;
    if (n > parsed.csv.rows.size()) {
      Fail(a.report + " has " + std::to_string(parsed.csv.rows.size()) +
           " Provision IDs, fewer than --devices " + std::to_string(n));
    }
    for (size_t i = 0; i < n; ++i) options.provision_ids.push_back(parsed.csv.rows[i].provision_id);
  } else {
    if (a.devices == 0) Fail("--devices N is needed without --report");
    options.provision_ids = factory::RandomProvisionIds(a.devices);
  }
  auto report = ValueOrFail(simulate::RunProvisioningSimulation(options));
  if (a.json) {
    std::cout << ReportJson(report, a.show_keys).dump(2) << "\n";
  } else {
    std::cout << "devices " << report.devices.size() << ": accepted " << report.accepted
              << ", rejected " << report.rejected << ", timed out " << report.timed_out
              << ", RX1 checks failed " << report.rx1_failed << "\n"
              << "exchange p50 " << Fixed(report.p50_ms) << " ms, p99 " << Fixed(report.p99_ms)
              << " ms\n";
  }
  if (!report.AllSucceeded()) {
    throw CommandFailed(std::to_string(report.devices.size() - report.accepted) + " of " +
                        std::to_string(report.devices.size()) + " devices not provisioned" +
                        (report.rx1_failed ? " or answered outside RX1" : ""));
  }
}

}  // namespace

void AddSimulateCommands(CLI::App& app) {
  auto* simulate = app.add_subcommand("simulate", "Simulated devices and gateways, for tests");
  simulate->require_subcommand(1);
  auto a = std::make_shared<SimulateArgs>();
  auto* prov = simulate->add_subcommand(
      "provisioning",
      "Provision simulated devices through simulated gateways (GWMP over UDP) against a server; "
      "exit status 1 unless every device is accepted in RX1 of its best gateway");
  prov->add_option("--server", a->server, "The server's GWMP address HOST:PORT")->required();
  prov->add_option("--devices", a->devices,
                   "Number of devices (default with --report: one per row)");
  prov->add_option("--gateways", a->gateways, "Gateways hearing every device")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  prov->add_option("--report", a->report,
                   "Provision ID report CSV: devices take their IDs from it (else random IDs, "
                   "which the server rejects)");
  prov->add_option("--region", a->region, "EU868, US915 or CN470")->capture_default_str();
  prov->add_flag("--json", a->json, "Print a JSON object with each device's outcome");
  prov->add_flag("--show-keys", a->show_keys, "With --json: include each device's AppKey, NwkKey");
  prov->add_flag("--impostors", a->impostors,
                 "Devices name their Provision ID by its hash but prove another ID (a wrong "
                 "verify code): to check that the server rejects them");
  prov->add_option("--timeout-ms", a->timeout_ms, "How long a device waits for each downlink")
      ->check(CLI::Range(1u, 600000u))
      ->capture_default_str();
  prov->add_option("--retries", a->retries, "New Hellos after a timeout")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  prov->add_option("--concurrency", a->concurrency, "Exchanges in flight at once")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  prov->callback([a] { RunSimulateProvisioning(*a); });
}

}  // namespace roost::cmd
