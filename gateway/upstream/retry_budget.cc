#include "gateway/upstream/retry_budget.h"

#include <algorithm>
#include <cmath>

namespace usergateway {
namespace {

int64_t ToMilli(double tokens) {
  // Clamped so that absurd options cannot overflow the sums below.
  if (!(tokens > 0.0)) return 0;  // also maps NaN to 0
  return static_cast<int64_t>(std::llround(std::min(tokens, 1e12) * 1000.0));
}

}  // namespace

RetryBudget::RetryBudget(double ratio, double burst)
    : ratio_milli_(ToMilli(ratio)),
      burst_milli_(ToMilli(burst)),
      tokens_milli_(burst_milli_) {}

void RetryBudget::OnCall() {
  int64_t tokens = tokens_milli_.load(std::memory_order_relaxed);
  // A full bucket is the steady state of a healthy gateway: no write then.
  while (tokens < burst_milli_ &&
         !tokens_milli_.compare_exchange_weak(
             tokens, std::min(burst_milli_, tokens + ratio_milli_),
             std::memory_order_relaxed)) {
  }
}

bool RetryBudget::TryConsume() {
  int64_t tokens = tokens_milli_.load(std::memory_order_relaxed);
  do {
    if (tokens < 1000) return false;
  } while (!tokens_milli_.compare_exchange_weak(tokens, tokens - 1000,
                                                std::memory_order_relaxed));
  return true;
}

}  // namespace usergateway
