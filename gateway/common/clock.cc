#include "gateway/common/clock.h"

#include "absl/time/clock.h"

namespace usergateway {
namespace {

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

const Clock& RealClock() {
  // Never destroyed: threads may still read it while the process exits.
  static const SystemClock* const clock = new SystemClock();
  return *clock;
}

}  // namespace usergateway
