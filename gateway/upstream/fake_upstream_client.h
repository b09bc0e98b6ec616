// A scriptable UpstreamClient for tests of the service and the reactor: it
// records every request, and completes each call inline (inside Start, as
// the real client does for refusals), later when the test says so, or with
// kCancelled when the call is cancelled, as the real client does.
//
// Example:
//
//   FakeUpstreamClient upstream;
//   upstream.SetResponder([](const UpstreamRequest&) {
//     return FakeUpstreamClient::Hold();  // complete later
//   });
//   UserProfileService service(options, &upstream, key.get());
//   ... start an RPC ...
//   ASSERT_TRUE(upstream.WaitForStarted(1, absl::Seconds(10)));
//   upstream.Complete(0, FakeUpstreamClient::HttpResult(200, user_json));
//
// Thread-safe. Callbacks run on the thread that calls Start (inline
// results), Complete, or the call's Cancel, never under the fake's lock.
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_FAKE_UPSTREAM_CLIENT_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_FAKE_UPSTREAM_CLIENT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/upstream/upstream_client.h"
#include "gateway/upstream/upstream_types.h"

namespace usergateway {

class FakeUpstreamClient final : public UpstreamClient {
 public:
  // Decides what a started call does: a result completes it at once, before
  // Start returns; nullopt (Hold()) keeps it in flight until Complete() or
  // a Cancel().
  using Responder =
      std::function<std::optional<UpstreamResult>(const UpstreamRequest&)>;

  // A responder's "keep the call in flight".
  static std::optional<UpstreamResult> Hold() { return std::nullopt; }
  // An HTTP response after one attempt, e.g. HttpResult(404, "{...}").
  static UpstreamResult HttpResult(int status, absl::string_view body);
  // A transport outcome, e.g. ErrorResult(TransportError::kOverloaded).
  static UpstreamResult ErrorResult(TransportError error,
                                    absl::string_view detail = "fake");

  FakeUpstreamClient();
  ~FakeUpstreamClient() override;

  // Replaces the responder; the default holds every call.
  void SetResponder(Responder responder);
  // Runs `hook(index)` inside Start, before the responder (e.g. to cancel
  // the RPC while the service is still inside Start).
  void SetStartHook(std::function<void(size_t index)> hook);

  std::shared_ptr<UpstreamCall> Start(UpstreamRequest request,
                                      UpstreamCallback done) override;

  // Completes held call `index` with `result`. Returns false when it does
  // not exist or already completed.
  bool Complete(size_t index, UpstreamResult result);

  // How many calls were started; a copy of call `index`'s request.
  size_t started() const;
  UpstreamRequest request(size_t index) const;
  // Whether call `index`'s handle was cancelled; whether it completed.
  bool cancelled(size_t index) const;
  bool completed(size_t index) const;

  // Block (real time, at most `timeout`) until the condition holds; return
  // whether it does.
  bool WaitForStarted(size_t n, absl::Duration timeout) const;
  bool WaitForCancelled(size_t index, absl::Duration timeout) const;

 private:
  struct Entry;
  class Handle;

  void OnCancel(size_t index);
  // Takes the callback of call `index` if it has not completed yet.
  UpstreamCallback TakeCallback(size_t index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  Responder responder_ ABSL_GUARDED_BY(mu_);
  std::function<void(size_t)> start_hook_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Entry>> calls_ ABSL_GUARDED_BY(mu_);
  // Call handles may outlive the fake; they reach it through this.
  std::shared_ptr<FakeUpstreamClient*> self_;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_FAKE_UPSTREAM_CLIENT_H_
