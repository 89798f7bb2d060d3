// The ingest service's accounting of refused reports: counted, and logged
// within a bound.
#include "pipeline/messages.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "storage/store_test_fixture.h"

namespace roost::pipeline {
namespace {

using storage::StoreTest;

class MessageServiceTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    root_ = MakeGroup(1, "");
    type_ = MakeType(1, root_.id);
    ASSERT_TRUE(store_->InsertDevice(MakeDevice(1, type_)).ok());
    ASSERT_TRUE(store_->CreateStation(Station{"0A1B", "roof", root_.id, 43.6, 1.44, 1}).ok());
  }

  // The log lines named `msg`, parsed.
  std::vector<nlohmann::json> Lines(const std::string& msg) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<nlohmann::json> out;
    for (const std::string& line : lines_) {
      auto entry = nlohmann::json::parse(line);
      if (entry.value("msg", "") == msg) out.push_back(std::move(entry));
    }
    return out;
  }

  Group root_;
  DeviceType type_;
  std::mutex mu_;
  std::vector<std::string> lines_;
  observe::Logger logger_{[this](std::string_view line) {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(line);
  }};
};

TEST_P(MessageServiceTest, RefusedReportsAreCountedAndLoggedWithinABound) {
  UplinkWriterOptions options;
  options.clock = [] { return EpochMillis{2'000'000}; };
  UplinkWriter writer(*store_, options);
  observe::MetricsRegistry metrics;
  MessageService service(*store_, writer, options.clock, &metrics);
  service.SetLogger(&logger_);

  // Decided by the writer: an unknown device, and a station that is not
  // registered; one accepted report is neither counted as refused nor logged.
  std::vector<UplinkReport> reports(3);
  for (size_t i = 0; i < reports.size(); ++i) {
    reports[i].device.value = i == 0 ? 0x99 : 1;
    reports[i].seq_number = 1;
    reports[i].time = 1'000'000;
    reports[i].station = i == 1 ? "0FFF" : "0A1B";
    reports[i].rssi = -120;
    reports[i].snr = 9;
  }
  std::promise<void> answered;
  ASSERT_TRUE(service.Ingest(reports, [&](auto decided) {
    EXPECT_TRUE(decided.ok());
    answered.set_value();
  }));
  answered.get_future().wait();
  auto logged = Lines("ingest report refused");
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[0]["device"], "99");
  EXPECT_EQ(logged[0]["reason"], "unknown_device");
  EXPECT_EQ(logged[1]["station"], "0FFF");
  EXPECT_EQ(logged[1]["reason"], "unknown_station");

  // Refused before the writer, many at once: every one counted, at most
  // kRefusalLinesPerSecond lines a second, and the next line says how many
  // were left out.
  constexpr int kMany = 500;
  for (int i = 0; i < kMany; ++i) service.NoteRefused(1, "0B00", IngestResult::kUnknownStation);
  const size_t burst = Lines("ingest report refused").size() - 2;
  // The burst may share its second with the two lines above, or straddle
  // the turn of a second, no more.
  EXPECT_GE(burst, static_cast<size_t>(MessageService::kRefusalLinesPerSecond - 2));
  EXPECT_LE(burst, static_cast<size_t>(2 * MessageService::kRefusalLinesPerSecond));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  service.NoteRefused(1, "0B00", IngestResult::kUnknownStation);
  logged = Lines("ingest report refused");
  ASSERT_EQ(logged.size(), 2 + burst + 1);
  EXPECT_EQ(logged.back()["earlier_refusals_not_logged"], kMany - static_cast<int>(burst));
  const std::string rendered = metrics.Render();
  EXPECT_NE(rendered.find("roost_ingest_reports_total{result=\"unknown_station\"} " +
                          std::to_string(kMany + 2)),
            std::string::npos)
      << rendered;
  EXPECT_NE(rendered.find("roost_ingest_reports_total{result=\"unknown_device\"} 1"),
            std::string::npos);
  EXPECT_NE(rendered.find("roost_ingest_reports_total{result=\"accepted\"} 1"), std::string::npos);
}

// The held downlink frames' shares go by customer: a group's top-level group
// (the root's child above or at it), the root group for the operator's own.
TEST_P(MessageServiceTest, AGroupsShareOfHeldFramesIsItsTopLevelGroups) {
  const Group tenant = MakeGroup(2, root_.id);
  const Group team = MakeGroup(3, tenant.id);
  const Group squad = MakeGroup(4, team.id);
  UplinkWriterOptions options;
  options.clock = [] { return EpochMillis{2'000'000}; };
  UplinkWriter writer(*store_, options);
  MessageService service(*store_, writer, options.clock, nullptr);
  EXPECT_FALSE(service.TenantOfCached(squad.id).has_value()) << "nothing looked up yet";
  for (const Group* g : {&tenant, &team, &squad}) {
    auto tenant_of = service.TenantOf(g->id);
    ASSERT_TRUE(tenant_of.ok()) << tenant_of.status().message();
    EXPECT_EQ(*tenant_of, tenant.id) << g->name;
    EXPECT_EQ(service.TenantOfCached(g->id), std::optional<std::string>(tenant.id));
  }
  EXPECT_EQ(*service.TenantOf(root_.id), root_.id);
  EXPECT_EQ(service.TenantOf("000000000000000000000999").status().code(), Status::Code::kNotFound);
}

// A station's group changes only by its deletion and listing again: what an
// instance cached before is trusted only for a "yes", which the store checks
// again when it takes the report; a "no" is asked of the store again.
TEST_P(MessageServiceTest, AStationListedAgainElsewhereIsTheNewOwnersAtOnce) {
  const Group first = MakeGroup(2, root_.id);
  const Group second = MakeGroup(3, root_.id);
  ASSERT_TRUE(store_->CreateStation(Station{"0C1C", "mast", first.id, {}, {}, 1}).ok());
  UplinkWriterOptions options;
  options.clock = [] { return EpochMillis{2'000'000}; };
  UplinkWriter writer(*store_, options);
  MessageService service(*store_, writer, options.clock, nullptr);
  EXPECT_EQ(service.MayReport(first.id, "0C1C").value(), true);
  EXPECT_EQ(service.MayReport(second.id, "0C1C").value(), false);
  EXPECT_EQ(service.MayReportCached(first.id, "0C1C"), std::optional<bool>(true));
  EXPECT_EQ(service.MayReportCached(second.id, "0C1C"), std::nullopt) << "a no is asked again";

  // Another instance deletes it and the second group lists it again.
  ASSERT_TRUE(store_->DeleteStation("0C1C", first.id).ok());
  ASSERT_TRUE(store_->CreateStation(Station{"0C1C", "mast", second.id, {}, {}, 2}).ok());
  EXPECT_EQ(service.MayReport(second.id, "0C1C").value(), true);
  EXPECT_EQ(service.MayReportCached(second.id, "0C1C"), std::optional<bool>(true));
  // The former owner's "yes" was forgotten with the new answer.
  EXPECT_EQ(service.MayReportCached(first.id, "0C1C"), std::nullopt);
  EXPECT_EQ(service.MayReport(first.id, "0C1C").value(), false);

  // Deleted through this service: forgotten at once.
  auto listed = service.GetVisibleStation(root_.id, "0c1c");
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_TRUE(service.DeleteStation(*listed).ok());
  EXPECT_EQ(service.MayReportCached(second.id, "0C1C"), std::nullopt);
  EXPECT_EQ(service.MayReport(second.id, "0C1C").value(), false);
  EXPECT_EQ(service.GetVisibleStation(root_.id, "0C1C").status().code(), Status::Code::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Engines, MessageServiceTest, ::testing::Values("sqlite", "postgresql"),
                         storage::EngineName);

}  // namespace
}  // namespace roost::pipeline
