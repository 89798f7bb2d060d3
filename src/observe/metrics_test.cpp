#include "observe/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

namespace roost::observe {
namespace {

TEST(MetricsTest, RendersCounterWithLabelsSortedAndEscaped) {
  MetricsRegistry r;
  auto* requests =
      r.AddCounter("roost_test_total", "Things\\counted\nhere", {"method", "path"}).value();
  requests->WithLabels({"POST", "/b"}).Inc(3);
  requests->WithLabels({"GET", "/a\"q\"\\\n"}).Inc();
  requests->WithLabels({"POST", "/b"}).Inc();
  EXPECT_EQ(r.Render(),
            "# HELP roost_test_total Things\\\\counted\\nhere\n"
            "# TYPE roost_test_total counter\n"
            "roost_test_total{method=\"GET\",path=\"/a\\\"q\\\"\\\\\\n\"} 1\n"
            "roost_test_total{method=\"POST\",path=\"/b\"} 4\n");
  EXPECT_EQ(requests->WithLabels({"POST", "/b"}).Value(), 4u);
}

TEST(MetricsTest, UnlabelledMetricsRenderZeroBeforeUse) {
  MetricsRegistry r;
  ASSERT_TRUE(r.AddGauge("b_gauge", "A gauge").ok());
  ASSERT_TRUE(r.AddCounter("a_total", "A counter").ok());
  ASSERT_TRUE(r.AddCounter("c_total", "Labelled, unused", {"x"}).ok());
  EXPECT_EQ(r.Render(),
            "# HELP a_total A counter\n# TYPE a_total counter\na_total 0\n"
            "# HELP b_gauge A gauge\n# TYPE b_gauge gauge\nb_gauge 0\n"
            "# HELP c_total Labelled, unused\n# TYPE c_total counter\n");
}

TEST(MetricsTest, GaugeSetAddAndCallback) {
  MetricsRegistry r;
  Gauge& g = r.AddGauge("open", "Open things").value()->Get();
  g.Set(5);
  g.Add(-1.5);
  double reading = 7;
  ASSERT_TRUE(r.AddGaugeCallback("computed", "Computed at render", [&] { return reading; }).ok());
  std::string text = r.Render();
  EXPECT_NE(text.find("\nopen 3.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE computed gauge\ncomputed 7\n"), std::string::npos) << text;
  reading = 1e21;
  EXPECT_NE(r.Render().find("computed 1e+21\n"), std::string::npos);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndInclusive) {
  MetricsRegistry r;
  auto* h = r.AddHistogram("lat_seconds", "Latency", {"route"}, {0.1, 0.5, 1}).value();
  Histogram& x = h->WithLabels({"/x"});
  for (double v : {0.05, 0.1, 0.3, 2.0}) x.Observe(v);
  EXPECT_EQ(r.Render(),
            "# HELP lat_seconds Latency\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{route=\"/x\",le=\"0.5\"} 3\n"
            "lat_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
            "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{route=\"/x\"} 2.45\n"
            "lat_seconds_count{route=\"/x\"} 4\n");
}

TEST(MetricsTest, UnlabelledHistogram) {
  MetricsRegistry r;
  r.AddHistogram("h", "H", {}, {1}).value()->Get().Observe(3);
  EXPECT_EQ(r.Render(),
            "# HELP h H\n# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 1\n"
            "h_sum 3\nh_count 1\n");
}

TEST(MetricsTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(0.25), "0.25");
  EXPECT_EQ(FormatMetricValue(0.0005), "0.0005");
  EXPECT_EQ(FormatMetricValue(0.00001), "1e-05");
  EXPECT_EQ(FormatMetricValue(1e20), "100000000000000000000");
  EXPECT_EQ(FormatMetricValue(1.5e21), "1.5e+21");
  EXPECT_EQ(FormatMetricValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(1712345678.5), "1712345678.5");
  EXPECT_EQ(FormatMetricValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatMetricValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatMetricValue(NAN), "NaN");
}

TEST(MetricsTest, SameDefinitionReturnsSameFamily) {
  MetricsRegistry r;
  auto* a = r.AddCounter("x_total", "X", {"a"}).value();
  auto* b = r.AddCounter("x_total", "X", {"a"}).value();
  EXPECT_EQ(a, b);
  auto* h1 = r.AddHistogram("h", "H", {}, {1, 2}).value();
  EXPECT_EQ(h1, r.AddHistogram("h", "H", {}, {1, 2}).value());
}

TEST(MetricsTest, RejectsConflictingDefinitions) {
  MetricsRegistry r;
  ASSERT_TRUE(r.AddCounter("x_total", "X", {"a"}).ok());
  ASSERT_TRUE(r.AddHistogram("lat", "L", {}, {1}).ok());
  ASSERT_TRUE(r.AddGaugeCallback("cb", "C", [] { return 1.0; }).ok());
  struct Case {
    Status status;
    const char* name;
  };
  std::vector<Case> cases = {
      {r.AddGauge("x_total", "X", {"a"}).status(), "x_total"},
      {r.AddCounter("x_total", "X", {"b"}).status(), "x_total"},
      {r.AddCounter("x_total", "Other help", {"a"}).status(), "x_total"},
      {r.AddHistogram("lat", "L", {}, {2}).status(), "lat"},
      {r.AddCounter("lat_bucket", "B").status(), "lat_bucket"},
      {r.AddGauge("lat_count", "B").status(), "lat_count"},
      {r.AddHistogram("x", "X", {}, {1}).status(), "x"},  // would own x_total? no: x_count
      {r.AddGaugeCallback("cb", "C", [] { return 2.0; }), "cb"},
  };
  // "x" does not clash with "x_total": only _bucket, _sum and _count are taken.
  EXPECT_TRUE(cases[6].status.ok());
  cases.erase(cases.begin() + 6);
  for (const Case& c : cases) {
    EXPECT_EQ(c.status.code(), Status::Code::kAlreadyExists)
        << c.name << ": " << c.status.message();
    EXPECT_NE(c.status.message().find(c.name), std::string::npos) << c.status.message();
  }
  // A new histogram may not take the name of an existing metric's _sum.
  ASSERT_TRUE(r.AddGauge("y_sum", "Y").ok());
  EXPECT_EQ(r.AddHistogram("y", "Y", {}, {1}).status().code(), Status::Code::kAlreadyExists);
}

TEST(MetricsTest, RejectsInvalidNames) {
  MetricsRegistry r;
  const std::vector<Status> bad = {
      r.AddCounter("", "empty").status(),
      r.AddCounter("1abc", "digit first").status(),
      r.AddCounter("a-b", "dash").status(),
      r.AddCounter("ok_total", "bad label", {"a-b"}).status(),
      r.AddCounter("ok_total", "reserved label", {"__name"}).status(),
      r.AddCounter("ok_total", "digit label", {"1a"}).status(),
      r.AddCounter("ok_total", "repeated label", {"a", "a"}).status(),
      r.AddHistogram("h", "le label", {"le"}, {1}).status(),
      r.AddHistogram("h", "unsorted", {}, {2, 1}).status(),
      r.AddHistogram("h", "duplicate bound", {}, {1, 1}).status(),
      r.AddHistogram("h", "infinite bound", {}, {1, INFINITY}).status(),
      r.AddGaugeCallback("cb", "no function", nullptr),
  };
  for (const Status& s : bad) {
    EXPECT_EQ(s.code(), Status::Code::kInvalidInput) << s.message();
    EXPECT_EQ(s.message().rfind("metric ", 0), 0u) << s.message();
  }
  EXPECT_EQ(r.Render(), "");  // nothing was registered
}

TEST(MetricsTest, MissingLabelValuesAreEmpty) {
  MetricsRegistry r;
  r.AddCounter("m_total", "M", {"a", "b"}).value()->WithLabels({"x"}).Inc();
  EXPECT_NE(r.Render().find("m_total{a=\"x\",b=\"\"} 1\n"), std::string::npos);
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry r;
  auto* c = r.AddCounter("c_total", "C", {"t"}).value();
  auto* h = r.AddHistogram("h", "H", {"t"}, {0.5}).value();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string label = t % 2 == 0 ? "even" : "odd";
      for (int i = 0; i < kPerThread; ++i) {
        c->WithLabels({label}).Inc();
        h->WithLabels({"all"}).Observe(i % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(c->WithLabels({"even"}).Value(), uint64_t{kThreads / 2 * kPerThread});
  EXPECT_EQ(c->WithLabels({"odd"}).Value(), uint64_t{kThreads / 2 * kPerThread});
  Histogram::Snapshot s = h->WithLabels({"all"}).Read();
  EXPECT_EQ(s.count, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(s.cumulative[0], uint64_t{kThreads * kPerThread / 2});
  EXPECT_DOUBLE_EQ(s.sum, kThreads * kPerThread / 2 * 1.25);
}

}  // namespace
}  // namespace roost::observe
