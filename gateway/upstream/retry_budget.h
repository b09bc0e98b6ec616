// How many retries the gateway may spend overall, whatever each call's
// RetryPolicy would allow.
//
// Example (the upstream client):
//
//   budget.OnCall();  // once per call, when it starts
//   ...
//   if (policy.NextDelay(...).has_value() && budget.TryConsume()) retry;
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_RETRY_BUDGET_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_RETRY_BUDGET_H_

#include <atomic>
#include <cstdint>

namespace usergateway {

// A token bucket that caps retries at about `ratio` of calls, so that an
// upstream outage does not multiply the load on it (gRPC's retry throttling
// and Envoy's retry budget follow the same idea). Each call deposits `ratio`
// tokens, each retry costs one; the bucket starts full with `burst` tokens
// and never holds more, so a quiet gateway can still retry a few calls.
//
// Tokens are earned per call, not per second, so the budget needs no clock:
// an idle gateway keeps its burst, a gateway under a retry storm earns
// exactly `ratio` retries per call it starts.
//
// Thread-safe (lock-free): the upstream client's loops share one budget.
class RetryBudget {
 public:
  // `ratio` >= 0 (e.g. 0.2 for 20%); `burst` >= 0.
  explicit RetryBudget(double ratio, double burst = 10.0);

  // Records one new call: adds `ratio` tokens, up to `burst`.
  void OnCall();
  // Takes one token for a retry. Returns false (and takes nothing) when
  // fewer than one token is left.
  bool TryConsume();

  // Tokens left, e.g. 9.2.
  double tokens() const {
    return tokens_milli_.load(std::memory_order_relaxed) / 1000.0;
  }

 private:
  // Thousandths of a token: integer arithmetic, so that five deposits of
  // 0.2 make exactly one retry.
  const int64_t ratio_milli_;
  const int64_t burst_milli_;
  std::atomic<int64_t> tokens_milli_;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_RETRY_BUDGET_H_
