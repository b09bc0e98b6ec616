// The seam between the gRPC service and the REST API: an interface that
// starts one upstream call and reports its outcome later, never blocking.
//
// The production implementation is CurlUpstreamClient (one libcurl multi
// event loop); tests may inject their own.
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_UPSTREAM_CLIENT_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_UPSTREAM_CLIENT_H_

#include <functional>
#include <memory>

#include "gateway/upstream/upstream_types.h"

namespace usergateway {

// A handle on one call in flight. Thread-safe.
class UpstreamCall {
 public:
  virtual ~UpstreamCall() = default;
  // Aborts the call if it is still running; its callback then reports
  // TransportError::kCancelled. A no-op once the call has finished.
  virtual void Cancel() = 0;
};

// Runs exactly once per call with the final outcome (after retries).
using UpstreamCallback = std::function<void(UpstreamResult)>;

// Starts upstream calls. Implementations are thread-safe.
class UpstreamClient {
 public:
  virtual ~UpstreamClient() = default;

  // Starts `request` and returns at once. `done` runs exactly once: on the
  // client's own thread, or before Start returns when the call is refused
  // (kOverloaded, kDraining). Never returns null.
  virtual std::shared_ptr<UpstreamCall> Start(UpstreamRequest request,
                                              UpstreamCallback done) = 0;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_UPSTREAM_CLIENT_H_
