#include "pipeline/message_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace roost::pipeline {
namespace {

storage::IngestDecision Decided(IngestResult result, uint32_t device, std::string type,
                                int64_t seq) {
  storage::IngestDecision d;
  d.result = result;
  Message m;
  m.device = SigfoxId{device};
  m.type = std::move(type);
  m.seq_number = seq;
  m.time = 1000 + seq;
  d.message = m;
  return d;
}

TEST(MessageHub, ListenersGetTheNewMessagesOfTheirDeviceOrDeviceType) {
  MessageHub hub;
  std::vector<int64_t> by_device, by_type, other;
  hub.Subscribe(0x41A2F0, "", [&](const Message& m) { by_device.push_back(m.seq_number); });
  hub.Subscribe(std::nullopt, "type-a", [&](const Message& m) { by_type.push_back(m.seq_number); });
  hub.Subscribe(0x41A2F1, "", [&](const Message& m) { other.push_back(m.seq_number); });
  EXPECT_EQ(hub.listeners(), 3u);
  std::vector<storage::IngestDecision> decided = {
      Decided(IngestResult::kAccepted, 0x41A2F0, "type-a", 1),
      Decided(IngestResult::kDuplicate, 0x41A2F0, "type-a", 1),  // merged: not new
      Decided(IngestResult::kAccepted, 0x41A2F2, "type-a", 7),
      Decided(IngestResult::kAccepted, 0x41A2F0, "type-b", 2),
  };
  storage::IngestDecision refused;
  refused.result = IngestResult::kUnknownDevice;  // no message at all
  decided.push_back(refused);
  hub.Publish(decided);
  EXPECT_EQ(by_device, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(by_type, (std::vector<int64_t>{1, 7}));
  EXPECT_TRUE(other.empty());
}

TEST(MessageHub, UnsubscribedListenersHearNothingMore) {
  MessageHub hub;
  int heard = 0;
  uint64_t id = hub.Subscribe(0x41A2F0, "", [&](const Message&) { ++heard; });
  uint64_t typed = hub.Subscribe(std::nullopt, "t", [&](const Message&) { ++heard; });
  std::vector<storage::IngestDecision> one = {Decided(IngestResult::kAccepted, 0x41A2F0, "t", 1)};
  hub.Publish(one);
  EXPECT_EQ(heard, 2);
  hub.Unsubscribe(id);
  hub.Unsubscribe(typed);
  hub.Unsubscribe(typed);  // twice: nothing
  EXPECT_EQ(hub.listeners(), 0u);
  hub.Publish(one);
  EXPECT_EQ(heard, 2);
}

TEST(MessageHub, SubscribingAndPublishingFromManyThreadsIsSafe) {
  MessageHub hub;
  std::atomic<int> heard{0};
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    std::vector<storage::IngestDecision> one = {Decided(IngestResult::kAccepted, 0x41A2F0, "t", 1)};
    while (!stop.load()) hub.Publish(one);
  });
  std::vector<std::thread> listeners;
  for (int t = 0; t < 4; ++t) {
    listeners.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        uint64_t id = hub.Subscribe(0x41A2F0, "", [&](const Message&) { heard.fetch_add(1); });
        hub.Unsubscribe(id);
      }
    });
  }
  for (auto& t : listeners) t.join();
  stop.store(true);
  publisher.join();
  EXPECT_EQ(hub.listeners(), 0u);
}

}  // namespace
}  // namespace roost::pipeline
