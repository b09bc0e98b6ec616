#include "gateway/upstream/fake_upstream_client.h"

#include <utility>

namespace usergateway {

struct FakeUpstreamClient::Entry {
  UpstreamRequest request;
  UpstreamCallback done;
  bool cancelled = false;
  bool completed = false;
};

class FakeUpstreamClient::Handle final : public UpstreamCall {
 public:
  Handle(std::weak_ptr<FakeUpstreamClient*> fake, size_t index)
      : fake_(std::move(fake)), index_(index) {}
  void Cancel() override {
    std::shared_ptr<FakeUpstreamClient*> fake = fake_.lock();
    if (fake != nullptr) (*fake)->OnCancel(index_);
  }

 private:
  const std::weak_ptr<FakeUpstreamClient*> fake_;
  const size_t index_;
};

UpstreamResult FakeUpstreamClient::HttpResult(int status,
                                              absl::string_view body) {
  UpstreamResult result;
  result.http_status = status;
  result.body = std::string(body);
  result.content_type = "application/json";
  result.attempts = 1;
  return result;
}

UpstreamResult FakeUpstreamClient::ErrorResult(TransportError error,
                                               absl::string_view detail) {
  UpstreamResult result;
  result.error = error;
  result.error_detail = std::string(detail);
  return result;
}

FakeUpstreamClient::FakeUpstreamClient()
    : responder_([](const UpstreamRequest&) { return Hold(); }),
      self_(std::make_shared<FakeUpstreamClient*>(this)) {}

FakeUpstreamClient::~FakeUpstreamClient() = default;

void FakeUpstreamClient::SetResponder(Responder responder) {
  absl::MutexLock lock(&mu_);
  responder_ = std::move(responder);
}

void FakeUpstreamClient::SetStartHook(std::function<void(size_t)> hook) {
  absl::MutexLock lock(&mu_);
  start_hook_ = std::move(hook);
}

std::shared_ptr<UpstreamCall> FakeUpstreamClient::Start(
    UpstreamRequest request, UpstreamCallback done) {
  size_t index = 0;
  Responder responder;
  std::function<void(size_t)> hook;
  {
    absl::MutexLock lock(&mu_);
    index = calls_.size();
    auto entry = std::make_unique<Entry>();
    entry->request = request;
    entry->done = std::move(done);
    calls_.push_back(std::move(entry));
    responder = responder_;
    hook = start_hook_;
  }
  auto handle = std::make_shared<Handle>(self_, index);
  if (hook) hook(index);
  std::optional<UpstreamResult> result = responder(request);
  if (result.has_value()) Complete(index, *std::move(result));
  return handle;
}

UpstreamCallback FakeUpstreamClient::TakeCallback(size_t index) {
  if (index >= calls_.size() || calls_[index]->completed) return nullptr;
  calls_[index]->completed = true;
  return std::move(calls_[index]->done);
}

bool FakeUpstreamClient::Complete(size_t index, UpstreamResult result) {
  UpstreamCallback done;
  {
    absl::MutexLock lock(&mu_);
    done = TakeCallback(index);
  }
  if (!done) return false;
  done(std::move(result));
  return true;
}

void FakeUpstreamClient::OnCancel(size_t index) {
  UpstreamCallback done;
  {
    absl::MutexLock lock(&mu_);
    if (index >= calls_.size()) return;
    calls_[index]->cancelled = true;
    done = TakeCallback(index);
  }
  // As the real client: a cancelled call completes at once.
  if (done) {
    done(ErrorResult(TransportError::kCancelled, "cancelled by the caller"));
  }
}

size_t FakeUpstreamClient::started() const {
  absl::MutexLock lock(&mu_);
  return calls_.size();
}

UpstreamRequest FakeUpstreamClient::request(size_t index) const {
  absl::MutexLock lock(&mu_);
  return index < calls_.size() ? calls_[index]->request : UpstreamRequest();
}

bool FakeUpstreamClient::cancelled(size_t index) const {
  absl::MutexLock lock(&mu_);
  return index < calls_.size() && calls_[index]->cancelled;
}

bool FakeUpstreamClient::completed(size_t index) const {
  absl::MutexLock lock(&mu_);
  return index < calls_.size() && calls_[index]->completed;
}

bool FakeUpstreamClient::WaitForStarted(size_t n,
                                        absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto ready = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return calls_.size() >= n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
}

bool FakeUpstreamClient::WaitForCancelled(size_t index,
                                          absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto ready = [this, index]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return index < calls_.size() && calls_[index]->cancelled;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
}

}  // namespace usergateway
