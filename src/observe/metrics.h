// A thread-safe metrics registry rendered in the Prometheus text exposition
// format 0.0.4 (served at /metrics).
//
// Modules register families once at start-up and keep the returned pointers
// (valid for the registry's lifetime). On the hot path a sample is one atomic
// add; looking up a labelled child takes a shared lock and a hash lookup, so
// callers with fixed labels should look the child up once and keep the reference.
//
//   auto* uplinks = registry.AddCounter("roost_uplinks_total", "Uplinks received",
//                                       {"source"}).value();
//   Counter& lora = uplinks->WithLabels({"lorawan"});
//   lora.Inc();
//
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and
// may not start with "__" (histograms may not use "le"). Registering the same name
// again with the same type, labels (and buckets) returns the existing family;
// anything else under a taken name fails with AlreadyExists.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace roost::observe {

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: strictly increasing finite upper bounds; +Inf is implicit.
  explicit Histogram(const std::vector<double>& bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // non-cumulative, bounds_.size() + 1
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// All children of one metric name, one per distinct list of label values.
template <typename Metric>
class Family {
 public:
  // The child for these label values (one per label name, in order), created on
  // first use. A wrong number of values is a programming error: missing values
  // are taken as "" and extra ones ignored.
  Metric& WithLabels(std::initializer_list<std::string_view> values);
  // The child without labels (for families declared with no label names).
  Metric& Get() { return WithLabels({}); }

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  friend class MetricsRegistry;
  struct Child {
    std::vector<std::string> values;
    std::unique_ptr<Metric> metric;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  Family(std::string name, std::vector<std::string> label_names, std::vector<double> bounds)
      : name_(std::move(name)), label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}
  std::vector<const Child*> SortedChildren() const;

  std::string name_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;  // histograms only
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Child, KeyHash, std::equal_to<>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Default histogram bounds for request latencies, in seconds (0.5 ms .. 10 s).
std::vector<double> DefaultLatencyBuckets();

class MetricsRegistry {
 public:
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Result<CounterFamily*> AddCounter(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names = {});
  Result<GaugeFamily*> AddGauge(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names = {});
  Result<HistogramFamily*> AddHistogram(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds);
  // A gauge without labels whose value is computed by `read` at every render
  // (e.g. resident memory). `read` must be thread-safe and fast.
  Status AddGaugeCallback(std::string_view name, std::string_view help,
                          std::function<double()> read);

  // All families, sorted by name, in the text exposition format 0.0.4.
  std::string Render() const;

 private:
  struct Entry;
  Result<Entry*> Find(std::string_view name, int type, const std::vector<std::string>& labels,
                      const std::vector<double>& bounds, std::string_view help);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// Formats a sample value as Prometheus expects: shortest round-trip decimal,
// "+Inf", "-Inf" or "NaN".
std::string FormatMetricValue(double v);

}  // namespace roost::observe
