#include "observe/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace roost::observe {
namespace {

enum Type { kCounter = 0, kGauge = 1, kHistogram = 2, kCallback = 3 };

constexpr std::string_view TypeName(int type) {
  switch (type) {
    case kCounter:
      return "counter";
    case kHistogram:
      return "histogram";
    default:
      return "gauge";
  }
}

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(std::string_view s) {
  if (s.empty() || s.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void AppendEscaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
}

// Appends {a="x",b="y"[,le="..."]} (nothing when there are no labels).
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view le = {}) {
  if (names.empty() && le.empty()) return;
  out.push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += names[i];
    out += "=\"";
    AppendEscaped(out, values[i], true);
    out.push_back('"');
  }
  if (!le.empty()) {
    if (!names.empty()) out.push_back(',');
    out += "le=\"";
    out += le;
    out.push_back('"');
  }
  out.push_back('}');
}

template <typename Metric>
std::unique_ptr<Metric> MakeMetric(const std::vector<double>& bounds) {
  if constexpr (std::is_same_v<Metric, Histogram>) {
    return std::make_unique<Histogram>(bounds);
  } else {
    (void)bounds;
    return std::make_unique<Metric>();
  }
}

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Shortest round-trip digits; plain decimal for exponents -4..20 (0.0005,
  // 1712345678.5), scientific beyond (1e-05, 1e+21).
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  size_t e = sci.find('e') + 1;
  int exp = 0;
  if (e < sci.size() && sci[e] == '+') ++e;  // from_chars takes '-' but not '+'
  std::from_chars(sci.data() + e, sci.data() + sci.size(), exp);
  if (exp < -4 || exp > 20) return std::string(sci);
  r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                 bounds_.begin());  // first bound >= v: "le" is inclusive
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // Under concurrent updates, keep count consistent with the +Inf bucket.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(std::initializer_list<std::string_view> values) {
  // Key: each value length-prefixed, so no value can forge another's boundary.
  thread_local std::string key;
  key.clear();
  auto it = values.begin();
  for (size_t i = 0; i < label_names_.size(); ++i) {
    std::string_view v = it != values.end() ? *it++ : std::string_view();
    auto n = static_cast<uint32_t>(v.size());
    key.append(reinterpret_cast<const char*>(&n), sizeof n);
    key.append(v);
  }
  {
    std::shared_lock lock(mu_);
    auto found = children_.find(std::string_view(key));
    if (found != children_.end()) return *found->second.metric;
  }
  std::unique_lock lock(mu_);
  auto found = children_.find(std::string_view(key));
  if (found != children_.end()) return *found->second.metric;
  Child child;
  it = values.begin();
  for (size_t i = 0; i < label_names_.size(); ++i) {
    child.values.emplace_back(it != values.end() ? *it++ : std::string_view());
  }
  child.metric = MakeMetric<Metric>(bounds_);
  Metric& m = *child.metric;
  children_.emplace(key, std::move(child));
  return m;
}

template <typename Metric>
std::vector<const typename Family<Metric>::Child*> Family<Metric>::SortedChildren() const {
  std::vector<const Child*> out;
  {
    std::shared_lock lock(mu_);
    for (const auto& [k, c] : children_) out.push_back(&c);
  }
  std::sort(out.begin(), out.end(),
            [](const Child* a, const Child* b) { return a->values < b->values; });
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct MetricsRegistry::Entry {
  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<std::string> labels;
  std::vector<double> bounds;
  std::unique_ptr<CounterFamily> counter;
  std::unique_ptr<GaugeFamily> gauge;
  std::unique_ptr<HistogramFamily> histogram;
  std::function<double()> read;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

Result<MetricsRegistry::Entry*> MetricsRegistry::Find(std::string_view name, int type,
                                                      const std::vector<std::string>& labels,
                                                      const std::vector<double>& bounds,
                                                      std::string_view help) {
  std::string where = "metric " + std::string(name);
  if (!IsMetricName(name)) {
    return Status::InvalidInput(where + ": name must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!IsLabelName(labels[i])) {
      return Status::InvalidInput(where + ": label name \"" + labels[i] +
                                  "\" must match [a-zA-Z_][a-zA-Z0-9_]* without a leading __");
    }
    if (type == kHistogram && labels[i] == "le") {
      return Status::InvalidInput(where + ": a histogram may not have a label \"le\"");
    }
    for (size_t j = 0; j < i; ++j) {
      if (labels[j] == labels[i]) {
        return Status::InvalidInput(where + ": label \"" + labels[i] + "\" repeated");
      }
    }
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      return Status::InvalidInput(where + ": bucket bounds must be finite and strictly increasing");
    }
  }
  for (auto& e : entries_) {
    // A histogram also owns name_bucket, name_sum and name_count.
    auto owns = [](std::string_view hist, std::string_view other) {
      if (other.size() <= hist.size() || other.substr(0, hist.size()) != hist) return false;
      std::string_view suffix = other.substr(hist.size());
      return suffix == "_bucket" || suffix == "_sum" || suffix == "_count";
    };
    bool clash = e->name == name || (e->type == kHistogram && owns(e->name, name)) ||
                 (type == kHistogram && owns(name, e->name));
    if (!clash) continue;
    if (e->name == name && e->type == type && type != kCallback && e->labels == labels &&
        e->bounds == bounds && e->help == help) {
      return e.get();
    }
    return Status::AlreadyExists(where + ": already registered with a different definition");
  }
  return static_cast<Entry*>(nullptr);
}

Result<CounterFamily*> MetricsRegistry::AddCounter(std::string_view name, std::string_view help,
                                                   std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  auto found = Find(name, kCounter, label_names, {}, help);
  if (!found.ok()) return found.status();
  if (*found) return (*found)->counter.get();
  auto e = std::make_unique<Entry>();
  e->name = std::string(name);
  e->help = std::string(help);
  e->type = kCounter;
  e->labels = label_names;
  e->counter.reset(new CounterFamily(e->name, std::move(label_names), {}));
  if (e->labels.empty()) e->counter->Get();
  CounterFamily* f = e->counter.get();
  entries_.push_back(std::move(e));
  return f;
}

Result<GaugeFamily*> MetricsRegistry::AddGauge(std::string_view name, std::string_view help,
                                               std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  auto found = Find(name, kGauge, label_names, {}, help);
  if (!found.ok()) return found.status();
  if (*found) return (*found)->gauge.get();
  auto e = std::make_unique<Entry>();
  e->name = std::string(name);
  e->help = std::string(help);
  e->type = kGauge;
  e->labels = label_names;
  e->gauge.reset(new GaugeFamily(e->name, std::move(label_names), {}));
  if (e->labels.empty()) e->gauge->Get();
  GaugeFamily* f = e->gauge.get();
  entries_.push_back(std::move(e));
  return f;
}

Result<HistogramFamily*> MetricsRegistry::AddHistogram(std::string_view name, std::string_view help,
                                                       std::vector<std::string> label_names,
                                                       std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto found = Find(name, kHistogram, label_names, bounds, help);
  if (!found.ok()) return found.status();
  if (*found) return (*found)->histogram.get();
  auto e = std::make_unique<Entry>();
  e->name = std::string(name);
  e->help = std::string(help);
  e->type = kHistogram;
  e->labels = label_names;
  e->bounds = bounds;
  e->histogram.reset(new HistogramFamily(e->name, std::move(label_names), std::move(bounds)));
  if (e->labels.empty()) e->histogram->Get();
  HistogramFamily* f = e->histogram.get();
  entries_.push_back(std::move(e));
  return f;
}

Status MetricsRegistry::AddGaugeCallback(std::string_view name, std::string_view help,
                                         std::function<double()> read) {
  if (!read) return Status::InvalidInput("metric " + std::string(name) + ": empty callback");
  std::lock_guard lock(mu_);
  auto found = Find(name, kCallback, {}, {}, help);
  if (!found.ok()) return found.status();
  auto e = std::make_unique<Entry>();
  e->name = std::string(name);
  e->help = std::string(help);
  e->type = kCallback;
  e->read = std::move(read);
  entries_.push_back(std::move(e));
  return Status::Ok();
}

std::string MetricsRegistry::Render() const {
  std::vector<const Entry*> entries;
  {
    std::lock_guard lock(mu_);
    for (const auto& e : entries_) entries.push_back(e.get());
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry* a, const Entry* b) { return a->name < b->name; });
  std::string out;
  out.reserve(4096);
  for (const Entry* e : entries) {
    out += "# HELP ";
    out += e->name;
    out.push_back(' ');
    AppendEscaped(out, e->help, false);
    out += "\n# TYPE ";
    out += e->name;
    out.push_back(' ');
    out += TypeName(e->type);
    out.push_back('\n');
    switch (e->type) {
      case kCounter:
        for (const auto* c : e->counter->SortedChildren()) {
          out += e->name;
          AppendLabels(out, e->labels, c->values);
          out.push_back(' ');
          out += std::to_string(c->metric->Value());
          out.push_back('\n');
        }
        break;
      case kGauge:
        for (const auto* c : e->gauge->SortedChildren()) {
          out += e->name;
          AppendLabels(out, e->labels, c->values);
          out.push_back(' ');
          out += FormatMetricValue(c->metric->Value());
          out.push_back('\n');
        }
        break;
      case kCallback:
        out += e->name;
        out.push_back(' ');
        out += FormatMetricValue(e->read());
        out.push_back('\n');
        break;
      case kHistogram:
        for (const auto* c : e->histogram->SortedChildren()) {
          Histogram::Snapshot s = c->metric->Read();
          for (size_t i = 0; i < s.cumulative.size(); ++i) {
            out += e->name;
            out += "_bucket";
            std::string le = i < e->bounds.size() ? FormatMetricValue(e->bounds[i]) : "+Inf";
            AppendLabels(out, e->labels, c->values, le);
            out.push_back(' ');
            out += std::to_string(s.cumulative[i]);
            out.push_back('\n');
          }
          out += e->name;
          out += "_sum";
          AppendLabels(out, e->labels, c->values);
          out.push_back(' ');
          out += FormatMetricValue(s.sum);
          out += '\n';
          out += e->name;
          out += "_count";
          AppendLabels(out, e->labels, c->values);
          out.push_back(' ');
          out += std::to_string(s.count);
          out.push_back('\n');
        }
        break;
    }
  }
  return out;
}

}  // namespace roost::observe
