// Unit tests of the UpdateUserProfile reactor: the real service behind an
// in-process gRPC channel, with a scripted FakeUpstreamClient as its
// upstream and a FakeClock for the call log.
#include "gateway/ingress/user_profile_service.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>  // NOLINT(build/c++11)
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/common/fake_clock.h"
#include "gateway/request/api_key_source.h"
#include "gateway/response/error_mapper.h"
#include "gateway/upstream/fake_upstream_client.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "usergateway/v1/user_profile.grpc.pb.h"

namespace usergateway {
namespace {

using usergateway::v1::UpdateUserProfileRequest;
using usergateway::v1::UpdateUserProfileResponse;
using usergateway::v1::UserProfileGateway;

constexpr char kUserJson[] =
    R"({"id": 101, "username": "ada", "first_name": "Ada", "profile": )"
    R"({"authn_user_id": "3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d"}})";

// Records the call log: exactly one entry per call means exactly one
// Complete, the only caller of Finish.
class LogRecorder {
 public:
  CallLogSink Sink() {
    return [this](const CallLogEntry& entry) {
      absl::MutexLock lock(&mu_);
      entries_.push_back(entry);
    };
  }
  std::vector<CallLogEntry> entries() const {
    absl::MutexLock lock(&mu_);
    return entries_;
  }
  // Waits (real time) until `n` entries were logged.
  bool WaitFor(size_t n) const {
    absl::MutexLock lock(&mu_);
    auto ready = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return entries_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(10));
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<CallLogEntry> entries_ ABSL_GUARDED_BY(mu_);
};

std::string ReasonOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (!DecodeStatusDetails(status, &details)) return "<no details>";
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "<no ErrorInfo>";
}

UpdateUserProfileRequest ValidRequest() {
  UpdateUserProfileRequest request;
  request.set_enterprise_id("9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79");
  request.set_user_id("3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d");
  request.set_first_name("Ada");
  return request;
}

class UserProfileServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWithKey("fixture-key"); }

  void StartWithKey(const std::string& key) {
    if (server_ != nullptr) server_->Shutdown();
    auto source = ApiKeySource::FromValue(key);
    ASSERT_TRUE(source.ok()) << source.status();
    api_key_ = *std::move(source);
    ServiceOptions options;
    options.translator.base_url = "https://acme-api.example.test/api";
    options.log_calls = true;
    options.log_sink = log_.Sink();
    service_ = std::make_unique<UserProfileService>(options, &upstream_,
                                                    api_key_.get(), clock_);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = UserProfileGateway::NewStub(
        server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  grpc::Status Call(const UpdateUserProfileRequest& request,
                    UpdateUserProfileResponse* response,
                    grpc::ClientContext* context = nullptr) {
    grpc::ClientContext local;
    if (context == nullptr) context = &local;
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    return stub_->UpdateUserProfile(context, request, response);
  }

  FakeClock clock_;
  FakeUpstreamClient upstream_;
  LogRecorder log_;
  std::unique_ptr<ApiKeySource> api_key_;
  std::unique_ptr<UserProfileService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<UserProfileGateway::Stub> stub_;
};

TEST_F(UserProfileServiceTest, SuccessParsesTheUserAndFinishesOnce) {
  upstream_.SetResponder([this](const UpstreamRequest&) {
    clock_.Advance(absl::Milliseconds(7));  // the upstream "takes" 7 ms
    return std::optional<UpstreamResult>(
        FakeUpstreamClient::HttpResult(200, kUserJson));
  });
  UpdateUserProfileResponse response;
  grpc::Status status = Call(ValidRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().id(), 101);
  EXPECT_EQ(response.user().first_name(), "Ada");
  ASSERT_EQ(upstream_.started(), 1u);
  const UpstreamRequest sent = upstream_.request(0);
  EXPECT_EQ(sent.url,
            "https://acme-api.example.test/api/authn2/v0/user/"
            "3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d");
  EXPECT_EQ(sent.body, R"({"first_name":"Ada"})");
  ASSERT_TRUE(log_.WaitFor(1));
  std::vector<CallLogEntry> entries = log_.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].grpc_code, "OK");
  EXPECT_EQ(entries[0].http_status, 200);
  EXPECT_EQ(entries[0].request_id, sent.request_id);
  // Simulated time: exactly what the fake upstream "took".
  EXPECT_EQ(entries[0].latency, absl::Milliseconds(7));
}

TEST_F(UserProfileServiceTest, UpstreamErrorIsMappedOnce) {
  upstream_.SetResponder([](const UpstreamRequest&) {
    return std::optional<UpstreamResult>(FakeUpstreamClient::HttpResult(
        404, R"({"message": "Not found", "status": 404})"));
  });
  UpdateUserProfileResponse response;
  grpc::Status status = Call(ValidRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "Not found");
  EXPECT_EQ(ReasonOf(status), "UPSTREAM_NOT_FOUND");
  ASSERT_TRUE(log_.WaitFor(1));
  ASSERT_EQ(log_.entries().size(), 1u);
  EXPECT_EQ(log_.entries()[0].reason, "UPSTREAM_NOT_FOUND");
}

TEST_F(UserProfileServiceTest, MalformedSuccessBodyIsInternal) {
  upstream_.SetResponder([](const UpstreamRequest&) {
    return std::optional<UpstreamResult>(
        FakeUpstreamClient::HttpResult(200, "<html>not json</html>"));
  });
  UpdateUserProfileResponse response;
  grpc::Status status = Call(ValidRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(ReasonOf(status), "UPSTREAM_MALFORMED_RESPONSE");
  EXPECT_FALSE(response.has_user());
}

TEST_F(UserProfileServiceTest, InlineRefusalByAdmissionIsUnavailable) {
  // The real client refuses inside Start when max_in_flight is reached.
  upstream_.SetResponder([](const UpstreamRequest&) {
    return std::optional<UpstreamResult>(FakeUpstreamClient::ErrorResult(
        TransportError::kOverloaded, "too many upstream calls in flight"));
  });
  UpdateUserProfileResponse response;
  grpc::Status status = Call(ValidRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ReasonOf(status), "GATEWAY_OVERLOADED");
  google::rpc::Status details;
  ASSERT_TRUE(DecodeStatusDetails(status, &details));
  bool has_retry_info = false;
  for (const google::protobuf::Any& any : details.details()) {
    has_retry_info |= any.Is<google::rpc::RetryInfo>();
  }
  EXPECT_TRUE(has_retry_info);
  ASSERT_TRUE(log_.WaitFor(1));
  EXPECT_EQ(log_.entries().size(), 1u);
}

TEST_F(UserProfileServiceTest, InvalidRequestNeverReachesTheUpstream) {
  UpdateUserProfileRequest request = ValidRequest();
  request.set_user_id("..");
  UpdateUserProfileResponse response;
  grpc::Status status = Call(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(status), "INVALID_REQUEST");
  EXPECT_EQ(upstream_.started(), 0u);
  ASSERT_TRUE(log_.WaitFor(1));
  EXPECT_EQ(log_.entries().size(), 1u);
}

TEST_F(UserProfileServiceTest, KeyThatCannotBeSentIsRefusedBeforeAnyCall) {
  // A control character inside the key (say, a key file with "\x01") would
  // corrupt the Authorization header, and so fail every call: the key
  // source refuses it when the gateway starts, without echoing it.
  absl::StatusOr<std::unique_ptr<ApiKeySource>> source =
      ApiKeySource::FromValue("bad\x01key");
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(source.status().message().find("bad"), std::string::npos);
  EXPECT_EQ(upstream_.started(), 0u);
}

TEST_F(UserProfileServiceTest, KeyEchoedByTheUpstreamIsRedacted) {
  const std::string key = "sk_live_0123456789abcdefABCDEF";
  StartWithKey(key);
  upstream_.SetResponder([&key](const UpstreamRequest&) {
    return std::optional<UpstreamResult>(FakeUpstreamClient::HttpResult(
        401, absl::StrCat(R"({"detail": "Invalid token )", key,
                          R"(", "errors": ["token )", key.substr(0, 12),
                          R"(... rejected"]})")));
  });
  UpdateUserProfileResponse response;
  grpc::Status status = Call(ValidRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(status), "UPSTREAM_UNAUTHENTICATED");
  // Neither the key nor its first 12 bytes anywhere: message or details.
  for (const std::string& text :
       {status.error_message(), status.error_details()}) {
    EXPECT_EQ(text.find(key.substr(0, 12)), std::string::npos) << text;
  }
  EXPECT_NE(status.error_message().find("[REDACTED]"), std::string::npos);
}

TEST_F(UserProfileServiceTest, CancelAfterTheUpstreamCallStartedCancelsIt) {
  // The default responder holds the call.
  grpc::ClientContext context;
  UpdateUserProfileResponse response;
  grpc::Status status;
  std::thread caller([&] { status = Call(ValidRequest(), &response, &context); });
  ASSERT_TRUE(upstream_.WaitForStarted(1, absl::Seconds(10)));
  context.TryCancel();
  caller.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(upstream_.WaitForCancelled(0, absl::Seconds(10)));
  // The cancelled upstream call completed (kCancelled) and the reactor
  // finished exactly once.
  ASSERT_TRUE(log_.WaitFor(1));
  EXPECT_EQ(log_.entries().size(), 1u);
  EXPECT_EQ(log_.entries()[0].reason, "CALLER_CANCELLED");
  EXPECT_FALSE(upstream_.Complete(0, FakeUpstreamClient::HttpResult(200, "")));
}

TEST_F(UserProfileServiceTest, CancelBeforeTheUpstreamCallStartedCancelsIt) {
  // The caller cancels while the handler is still inside Start, before the
  // reactor has a handle to cancel: the handle is cancelled as soon as it
  // exists.
  grpc::ClientContext context;
  upstream_.SetStartHook([&](size_t) {
    context.TryCancel();
    // Give gRPC's OnCancel time to run while Start has not returned (real
    // time; if it comes later, the other path cancels the call and the
    // assertions below still hold).
    absl::SleepFor(absl::Milliseconds(200));
  });
  UpdateUserProfileResponse response;
  grpc::Status status = Call(ValidRequest(), &response, &context);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(upstream_.WaitForCancelled(0, absl::Seconds(10)));
  ASSERT_TRUE(log_.WaitFor(1));
  EXPECT_EQ(log_.entries().size(), 1u);
  EXPECT_EQ(log_.entries()[0].reason, "CALLER_CANCELLED");
}

}  // namespace
}  // namespace usergateway
