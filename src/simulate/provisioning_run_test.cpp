#include "simulate/provisioning_run.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <variant>

#include "crypto/random.h"
#include "gateway/listener.h"
#include "provisioning/provision_id.h"
#include "provisioning/server.h"

namespace roost::simulate {
namespace {

using namespace std::chrono_literals;
using namespace roost::provisioning;

// A small provisioning server on the real gateway listener: the pure server
// steps with an in-memory list of Provision IDs. It answers on the loop (the
// ECDH of a test's few devices is quick enough).
class TestServer {
 public:
  TestServer(gateway::Region region, std::vector<std::string> ids) {
    for (auto& id : ids) by_hash_[ProvisionIdHash(id)] = id;
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    gateway::ListenerOptions options;
    options.listen = {"127.0.0.1", 0};
    options.region = region;
    options.dedup_window = 200ms;
    auto listener = gateway::Listener::Start(
        io_, options,
        [this](gateway::ProprietaryUplink uplink, gateway::Answer answer) {
          answer(Handle(uplink.phy_payload));
        },
        nullptr, nullptr);
    EXPECT_TRUE(listener.ok()) << listener.status().message();
    if (listener.ok()) listener_ = std::move(*listener);
  }
  ~TestServer() {
    if (listener_) listener_->Stop();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  uint16_t port() const { return listener_->port(); }

  // Hellos to ignore per rDevEUI before answering (a server that lost them).
  void IgnoreHellos(int n) { ignore_hellos_ = n; }
  void Silent() { silent_ = true; }

  std::map<Eui64, SessionKeys> Provisioned() {
    std::lock_guard lock(mu_);
    return provisioned_;
  }

 private:
  Bytes Handle(const Bytes& phy) {
    std::lock_guard lock(mu_);
    if (silent_) return {};
    auto message = DecodeFrame(phy);
    if (!message.ok()) return {};
    if (const auto* hello = std::get_if<Hello>(&*message)) {
      if (ignored_[hello->rdev_eui]++ < ignore_hellos_) return {};
      Nonce nonce;
      crypto::RandomBytes(nonce);
      auto outcome = HandleHello(*hello, crypto::K233GenerateKeyPair(), nonce);
      if (!outcome.ok()) return {};
      sessions_[hello->rdev_eui] = outcome->session;
      return EncodeFrame(outcome->response);
    }
    if (const auto* auth = std::get_if<Auth>(&*message)) {
      auto session = sessions_.find(auth->rdev_eui);
      if (session == sessions_.end()) return {};
      auto content = OpenAuth(*auth, session->second);
      if (!content.ok()) return {};
      auto id = by_hash_.find(content->provision_id_hash);
      if (id == by_hash_.end() || !AuthVerifyCodeMatches(*content, id->second, session->second)) {
        return EncodeFrame(BuildAuthRejected(auth->rdev_eui));
      }
      const Eui64 dev_eui = Eui64::FromU64(0x70B3D57ED0000000ull + ++assigned_);
      provisioned_[dev_eui] = session->second.keys;
      return EncodeFrame(
          BuildAuthAccepted(session->second, dev_eui, kJoinEui, id->second, content->dev_nonce));
    }
    return {};
  }

 public:
  static inline const Eui64 kJoinEui = Eui64::FromU64(0x00000000000000AB);

 private:
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::vector<std::thread> threads_;
  std::unique_ptr<gateway::Listener> listener_;
  std::mutex mu_;
  std::map<crypto::Sha256Digest, std::string> by_hash_;
  std::map<RDevEui, ServerSession> sessions_;
  std::map<RDevEui, int> ignored_;
  std::map<Eui64, SessionKeys> provisioned_;
  int ignore_hellos_ = 0;
  bool silent_ = false;
  uint64_t assigned_ = 0;
};

std::vector<std::string> Ids(size_t n, char first = 'A') {
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) {
    std::string id(20, first);
    id[19] = static_cast<char>('A' + i);
    ids.push_back(id);
  }
  return ids;
}

SimulationOptions Options(const TestServer& server, std::vector<std::string> ids,
                          gateway::Region region, size_t gateways) {
  SimulationOptions o;
  o.server = {"127.0.0.1", server.port()};
  o.provision_ids = std::move(ids);
  o.gateways = gateways;
  o.region = region;
  o.timeout = 2000ms;
  o.retries = 1;
  return o;
}

TEST(ProvisioningSimulation, DevicesThroughThreeGatewaysAreAcceptedInRx1OfTheBestOne) {
  const auto ids = Ids(6);
  TestServer server(gateway::Region::kEU868, ids);
  auto report = RunProvisioningSimulation(Options(server, ids, gateway::Region::kEU868, 3));
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->accepted, 6u);
  EXPECT_EQ(report->rx1_failed, 0u);
  EXPECT_TRUE(report->AllSucceeded());
  const auto provisioned = server.Provisioned();
  std::set<Eui64> dev_euis;
  for (const DeviceResult& r : report->devices) {
    EXPECT_EQ(r.outcome, DeviceOutcome::kAccepted) << r.provision_id << ": " << r.error;
    EXPECT_EQ(r.attempts, 1);
    ASSERT_TRUE(r.provisioned.has_value());
    EXPECT_EQ(r.provisioned->join_eui, TestServer::kJoinEui);
    dev_euis.insert(r.provisioned->dev_eui);
    auto keys = provisioned.find(r.provisioned->dev_eui);
    ASSERT_NE(keys, provisioned.end());
    EXPECT_EQ(keys->second.app_key, r.provisioned->keys.app_key);
    EXPECT_EQ(keys->second.nwk_key, r.provisioned->keys.nwk_key);
  }
  EXPECT_EQ(dev_euis.size(), 6u) << "one exchange per device, however many gateways heard it";
  EXPECT_GT(report->p99_ms, 0);
}

TEST(ProvisioningSimulation, Us915AndCn470DownlinksPassTheirRx1Checks) {
  for (gateway::Region region : {gateway::Region::kUS915, gateway::Region::kCN470}) {
    const auto ids = Ids(3);
    TestServer server(region, ids);
    auto report = RunProvisioningSimulation(Options(server, ids, region, 2));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->accepted, 3u) << gateway::RegionName(region);
    EXPECT_EQ(report->rx1_failed, 0u) << gateway::RegionName(region);
  }
}

TEST(ProvisioningSimulation, ServerInAnotherRegionFailsTheRx1Check) {
  const auto ids = Ids(1);
  TestServer server(gateway::Region::kEU868, ids);
  auto report = RunProvisioningSimulation(Options(server, ids, gateway::Region::kUS915, 1));
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->rx1_failed, 1u);
  EXPECT_FALSE(report->AllSucceeded());
  EXPECT_NE(report->devices[0].error.find("RX1"), std::string::npos) << report->devices[0].error;
}

TEST(ProvisioningSimulation, UnknownProvisionIdsAreRejected) {
  TestServer server(gateway::Region::kEU868, Ids(2));
  auto report = RunProvisioningSimulation(Options(server, Ids(2, 'Q'), gateway::Region::kEU868, 2));
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->rejected, 2u);
  EXPECT_EQ(report->accepted, 0u);
  EXPECT_FALSE(report->AllSucceeded());
}

TEST(ProvisioningSimulation, DeviceStartsAgainFromHelloAfterATimeout) {
  const auto ids = Ids(2);
  TestServer server(gateway::Region::kEU868, ids);
  server.IgnoreHellos(1);
  SimulationOptions options = Options(server, ids, gateway::Region::kEU868, 2);
  options.timeout = 500ms;
  auto report = RunProvisioningSimulation(options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->accepted, 2u);
  for (const DeviceResult& r : report->devices) EXPECT_EQ(r.attempts, 2);
}

TEST(ProvisioningSimulation, SilentServerTimesOutAfterTheRetries) {
  const auto ids = Ids(1);
  TestServer server(gateway::Region::kEU868, ids);
  server.Silent();
  SimulationOptions options = Options(server, ids, gateway::Region::kEU868, 1);
  options.timeout = 300ms;
  options.retries = 2;
  auto report = RunProvisioningSimulation(options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->timed_out, 1u);
  EXPECT_EQ(report->devices[0].attempts, 3);
}

TEST(ProvisioningSimulation, NoServerIsAnError) {
  SimulationOptions options;
  options.server = {"127.0.0.1", 9};  // discard: nothing answers a PULL_DATA
  options.provision_ids = Ids(1);
  options.timeout = 300ms;
  auto report = RunProvisioningSimulation(options);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("PULL_ACK"), std::string::npos);
}

}  // namespace
}  // namespace roost::simulate
