// A small Prometheus metrics registry: counters, gauges and histograms whose
// updates are lock-free (relaxed atomics), grouped in families with a fixed
// list of label names, and written out in the Prometheus text exposition
// format (version 0.0.4) only when scraped.
//
// Example:
//
//   Registry registry;
//   CounterFamily& calls = registry.AddCounter(
//       "usergateway_calls_total", "Calls answered, by gRPC code and reason.",
//       {"code", "reason"});
//   Counter& ok = calls.Get({"OK", ""});   // resolve once, keep the reference
//   ok.Inc();                              // hot path: one relaxed fetch_add
//   HistogramFamily& latency = registry.AddHistogram(
//       "usergateway_call_duration_seconds", "...", {},
//       DefaultLatencyBuckets());
//   latency.Get({}).Observe(0.0012);
//   std::string text = registry.Expose();  // on scrape
//
// Label values must come from bounded sets (codes, reasons, status classes):
// never a user id, request id, key or other unbounded value. Families and
// children are never removed, so references stay valid for the registry's
// life.
//
// Thread-safe: Get may be called from any thread (a read-mostly lookup under
// a lock; keep the reference on hot paths); Inc/Set/Add/Observe are
// lock-free; Expose may run concurrently with updates (each value is read
// atomically; a histogram's buckets, sum and count are not one snapshot, but
// the cumulative bucket counts written are monotonic and the +Inf bucket
// equals the count written).
#ifndef USERGATEWAY_GATEWAY_OBSERVABILITY_METRICS_H_
#define USERGATEWAY_GATEWAY_OBSERVABILITY_METRICS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace usergateway {
namespace metrics {

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Observations in seconds (or bytes); `bounds` are the buckets' upper
// bounds, finite and strictly ascending (a bug otherwise: the process aborts
// with a message), +Inf implied. A value v goes into the first bucket whose
// bound b has v <= b (Prometheus' `le`), else into +Inf; NaN goes into +Inf
// (and makes the sum NaN).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Lock-free: a relaxed fetch_add on the bucket and one on the count, a CAS
  // loop on the sum.
  void Observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  // Non-cumulative count of bucket i (i == bounds().size() is +Inf).
  uint64_t BucketCount(size_t i) const;
  uint64_t Count() const;
  double Sum() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_bits_{0};  // a double, updated by CAS
};

// Call latencies in seconds: 0.00025, 0.0005, 0.001, 0.0025 ... 2.5, 5, 10,
// 30 (1-2.5-5 steps from 0.25 ms to 10 s, then 30 s; 16 bounds).
std::vector<double> DefaultLatencyBuckets();

// One metric family: a name, help text, label names, and its children (one
// per distinct list of label values, created on first Get). Defined in
// metrics_family.h:
//
//   template <typename T> class Family {
//    public:
//     // The child for `label_values` (exactly one per label name), created
//     // on first use; the reference stays valid for the registry's life.
//     T& Get(std::initializer_list<absl::string_view> label_values);
//     T& Get(absl::Span<const std::string> label_values);
//   };
template <typename T>
class Family;
using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Adds a family and returns it (valid for the registry's life). `name`
  // must be a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) and not yet used
  // by a family, nor by a histogram's samples (a histogram "x" also takes
  // "x_bucket", "x_sum" and "x_count"); label names valid
  // ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"), distinct, and for a
  // histogram not "le"; histogram bounds as Histogram requires. Anything else
  // is a bug: the process aborts with a message, at start-up where families
  // are made.
  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names);
  GaugeFamily& AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names);
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names,
                                std::vector<double> bounds);

  // The whole registry in the text exposition format, families in the order
  // they were added, children in the order they were created: "# HELP",
  // "# TYPE", then one line per sample (histograms: _bucket{le=...}
  // cumulative, _sum, _count); a family without children yet has its two
  // comment lines only. Label values are escaped (\\, \", \n), help text
  // too (\\, \n); bytes that are not UTF-8 are written as U+FFFD.
  // Counters and gauges are integers; bounds and sums the shortest decimal
  // that reads back as the same double, laid out as Go's
  // strconv.FormatFloat(x, 'g', -1, 64) (Prometheus' own client): "0.00025",
  // "30", "1e+06", "+Inf", "NaN".
  std::string Expose() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The content type of Expose()'s text.
inline constexpr absl::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace metrics
}  // namespace usergateway

#include "gateway/observability/metrics_family.h"  // IWYU pragma: export

#endif  // USERGATEWAY_GATEWAY_OBSERVABILITY_METRICS_H_
