#include "server/provisioning_bridge.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "crypto/k233.h"
#include "provisioning/frames.h"

namespace roost::server {
namespace {

// No Provision ID is known: enough for Hellos, which never reach the directory.
class NoIds : public provisioning::ProvisionDirectory {
 public:
  Result<std::optional<provisioning::ProvisionIdEntry>> FindByHash(
      const crypto::Sha256Digest&) override {
    return std::optional<provisioning::ProvisionIdEntry>();
  }
  Result<provisioning::Assignment> RecordProvisioned(
      const provisioning::ProvisioningRecord&) override {
    return Status::NotFound("unknown Provision ID");
  }
};

gateway::ProprietaryUplink HelloUplink(uint8_t n) {
  provisioning::Hello hello;
  hello.rdev_eui = {n, 2, 3, 4, 5, 6, 7, 8};
  hello.dev_public_key = crypto::K233GenerateKeyPair().public_xy;
  hello.network_flag = 1;
  gateway::ProprietaryUplink up;
  up.phy_payload = provisioning::EncodeFrame(hello);
  gateway::HeardUplink heard;
  heard.gateway_eui = Eui64::FromU64(0x0102030405060708);
  heard.rx.lsnr = 7.5;
  heard.rx.rssi = -80;
  up.receptions.push_back(heard);
  return up;
}

// Collects the answers the bridge gives, from whichever thread.
struct Answers {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Bytes> got;

  gateway::Answer Make() {
    return [this](Bytes b) {
      std::lock_guard<std::mutex> lock(mu);
      got.push_back(std::move(b));
      cv.notify_all();
    };
  }
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return got.size() >= n; });
  }
};

TEST(ProvisioningBridgeTest, AHelloIsAnsweredFromThePoolWithAHelloResponse) {
  NoIds ids;
  provisioning::ProvisioningService service({}, ids, {});
  ProvisioningBridge bridge(service, {}, nullptr);
  Answers answers;
  auto handler = bridge.Handler();
  handler(HelloUplink(1), answers.Make());
  ASSERT_TRUE(answers.WaitFor(1));
  auto decoded = provisioning::DecodeFrame(answers.got[0]);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(provisioning::TypeOf(*decoded), provisioning::MessageType::kHelloResponse);
  EXPECT_EQ(service.session_count(), 1u);
}

TEST(ProvisioningBridgeTest, UplinksPastTheQueueBoundAreNotAnsweredAndCounted) {
  NoIds ids;
  provisioning::ProvisioningService service({}, ids, {});
  ProvisioningBridge bridge(service, {.threads = 1, .max_queued = 0}, nullptr);
  Answers answers;
  auto handler = bridge.Handler();
  handler(HelloUplink(1), answers.Make());
  handler(HelloUplink(2), answers.Make());
  ASSERT_TRUE(answers.WaitFor(2));
  EXPECT_TRUE(answers.got[0].empty());
  EXPECT_TRUE(answers.got[1].empty());
  EXPECT_EQ(bridge.overloaded(), 2u);
  EXPECT_EQ(service.session_count(), 0u);
}

TEST(ProvisioningBridgeTest, AfterStopNothingIsHandled) {
  NoIds ids;
  provisioning::ProvisioningService service({}, ids, {});
  ProvisioningBridge bridge(service, {}, nullptr);
  bridge.Stop();
  Answers answers;
  bridge.Handler()(HelloUplink(1), answers.Make());
  ASSERT_TRUE(answers.WaitFor(1));
  EXPECT_TRUE(answers.got[0].empty());
  EXPECT_EQ(service.session_count(), 0u);
}

}  // namespace
}  // namespace roost::server
