// Prints a sample registry's Expose() text on stdout, for
// promtool_test.sh: every metric type, with and without labels, a family
// without children, and label values and help text that need escaping
// (backslash, quote, newline, UTF-8, bytes that are not UTF-8).
#include <cstdio>
#include <limits>
#include <string>

#include "gateway/observability/metrics.h"

int main() {
  namespace metrics = ::usergateway::metrics;
  metrics::Registry registry;

  metrics::CounterFamily& calls = registry.AddCounter(
      "usergateway_calls_total",
      "Calls answered, by gRPC code and reason. Help with a \\ backslash,\n"
      "a newline and \"quotes\".",
      {"code", "reason"});
  calls.Get({"OK", ""}).Inc(41);
  calls.Get({"UNAVAILABLE", "UPSTREAM_UNAVAILABLE"}).Inc(2);
  calls.Get({"INVALID_ARGUMENT", "back\\slash \"quoted\"\nnewline"}).Inc();
  calls.Get({"INTERNAL", "Gr\xC3\xBC\xC3\x9F" "e \xE2\x82\xAC"}).Inc();
  calls.Get({"UNKNOWN", "not UTF-8: \xFF\xC3"}).Inc();
  calls.Get({"ABORTED", ""});  // created, never incremented
  registry.AddCounter("usergateway_retries_total", "Retries, by reason.",
                      {"reason"})
      .Get({"UPSTREAM_503"})
      .Inc(std::numeric_limits<uint64_t>::max());

  registry.AddGauge("usergateway_in_flight_calls", "Calls in flight.", {})
      .Get({})
      .Set(3);
  metrics::GaugeFamily& loops = registry.AddGauge(
      "usergateway_upstream_loop_queued_calls", "Queued calls, by loop.",
      {"loop"});
  loops.Get({"0"}).Set(-1);
  loops.Get({"1"}).Set(std::numeric_limits<int64_t>::min());

  metrics::HistogramFamily& latency = registry.AddHistogram(
      "usergateway_call_duration_seconds", "Call latency.", {"code"},
      metrics::DefaultLatencyBuckets());
  for (double seconds : {0.00025, 0.0007, 0.1 + 0.2, 30.0, 31.0, 0.0}) {
    latency.Get({"OK"}).Observe(seconds);
  }
  latency.Get({"UNAVAILABLE"}).Observe(2.5);
  latency.Get({"a \"quoted\\\" code\n"});  // created, no observation
  metrics::Histogram& sizes =
      registry
          .AddHistogram("usergateway_response_size_bytes",
                        "Response body sizes.", {},
                        {100, 1e4, 1e6, 2.5e7, 1.5e9})
          .Get({});
  sizes.Observe(1e6);
  sizes.Observe(123456789);
  registry.AddHistogram("usergateway_upstream_attempt_duration_seconds",
                        "Attempt latency.", {"loop"}, {0.000025, 0.5});
  registry.AddCounter("usergateway_refusals_total", "Refused calls.",
                      {"reason"});

  const std::string text = registry.Expose();
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
