// The process-wide budget for response bodies held in memory: every call in
// flight, on every loop, reserves the bytes its body buffer grows to, and
// gives them back when the call completes. A reservation that would pass
// the limit is refused, and the transfer that asked is failed
// (kResponseBudgetExhausted), so that a flood of large replies degrades a
// few calls instead of the process.
//
// Example (a body callback on a loop thread):
//
//   if (!budget.TryReserve(grow_by)) return 0;  // refuse the transfer
//   held += grow_by;
//   ...
//   budget.Release(held);  // when the call completes
//
// Thread-safe, lock-free.
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_RESPONSE_BUDGET_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_RESPONSE_BUDGET_H_

#include <atomic>
#include <cstddef>

namespace usergateway {
namespace upstream_internal {

class ResponseBudget {
 public:
  // `limit` bytes in total; 0 = unlimited (reservations are still counted).
  explicit ResponseBudget(size_t limit) : limit_(limit) {}

  // Reserves `bytes` unless that would take the total past the limit.
  bool TryReserve(size_t bytes) {
    size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (limit_ != 0 && (bytes > limit_ || used > limit_ - bytes)) {
        return false;
      }
    } while (!used_.compare_exchange_weak(used, used + bytes,
                                          std::memory_order_relaxed));
    return true;
  }

  // Gives back `bytes` reserved earlier.
  void Release(size_t bytes) {
    used_.fetch_sub(bytes, std::memory_order_relaxed);
  }

  size_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  std::atomic<size_t> used_{0};
};

}  // namespace upstream_internal
}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_RESPONSE_BUDGET_H_
