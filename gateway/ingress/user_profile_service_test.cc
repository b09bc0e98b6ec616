// Unit tests of the UpdateUserProfile reactor: the real service behind an
// in-process gRPC channel, with a scripted FakeUpstreamClient as its
// upstream and a FakeClock for the call log.
#include "gateway/ingress/user_profile_service.h"

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>  // NOLINT(build/c++11)
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/common/fake_clock.h"
#include "gateway/observability/gateway_metrics.h"
#include "gateway/observability/metrics.h"
#include "gateway/request/api_key_source.h"
#include "gateway/response/error_mapper.h"
#include "gateway/upstream/fake_upstream_client.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "usergateway/v1/user_profile.grpc.pb.h"

namespace usergateway {
namespace {

using ::testing::MatchesRegex;
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

constexpr char kUuidV4Regex[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

// The ErrorInfo of an error's details, if it has one.
std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (!DecodeStatusDetails(status, &details)) return std::nullopt;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info;
  }
  return std::nullopt;
}

// Every value of initial metadata `key` the server sent on the call.
std::vector<std::string> InitialMetadata(const grpc::ClientContext& context,
                                         const std::string& key) {
  std::vector<std::string> values;
  auto [begin, end] = context.GetServerInitialMetadata().equal_range(key);
  for (auto it = begin; it != end; ++it) {
    values.emplace_back(it->second.data(), it->second.size());
  }
  return values;
}

// The X-Request-Id header of a request the upstream was sent.
std::string RequestIdHeader(const UpstreamRequest& request) {
  for (const Header& header : request.headers) {
    if (header.name == "X-Request-Id") return header.value;
  }
  return "<none>";
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

  void StartWithKey(
      const std::string& key,
      const std::function<void(ServiceOptions*)>& configure = nullptr) {
    if (server_ != nullptr) server_->Shutdown();
    auto source = ApiKeySource::FromValue(key);
    ASSERT_TRUE(source.ok()) << source.status();
    api_key_ = *std::move(source);
    ServiceOptions options;
    options.translator.base_url = "https://acme-api.example.test/api";
    options.log_calls = true;
    options.log_sink = log_.Sink();
    options.metrics = &gateway_metrics_;
    if (configure) configure(&options);
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

  metrics::Registry registry_;
  GatewayMetrics gateway_metrics_{&registry_, "test"};
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

TEST_F(UserProfileServiceTest, CallsAreCountedByCodeAndReasonWithTheirDuration) {
  upstream_.SetResponder([this](const UpstreamRequest& request) {
    clock_.Advance(absl::Milliseconds(3));
    return std::optional<UpstreamResult>(
        absl::StrContains(request.url, "missing")
            ? FakeUpstreamClient::HttpResult(404, R"({"message":"Not found"})")
            : FakeUpstreamClient::HttpResult(200, kUserJson));
  });
  UpdateUserProfileResponse response;
  EXPECT_TRUE(Call(ValidRequest(), &response).ok());
  UpdateUserProfileRequest missing = ValidRequest();
  missing.set_user_id("missing");
  EXPECT_EQ(Call(missing, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(UpdateUserProfileRequest(), &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(gateway_metrics_.Call("OK", "").Value(), 1u);
  EXPECT_EQ(gateway_metrics_.Call("NOT_FOUND", "UPSTREAM_NOT_FOUND").Value(),
            1u);
  EXPECT_EQ(gateway_metrics_.Call("INVALID_ARGUMENT", "INVALID_REQUEST").Value(),
            1u);
  EXPECT_EQ(gateway_metrics_.call_duration().Count(), 3u);
  // Two calls took 3 ms on the simulated clock: both in the 5 ms bucket.
  EXPECT_NEAR(gateway_metrics_.call_duration().Sum(), 0.006, 1e-9);
  EXPECT_EQ(gateway_metrics_.calls_in_flight().Value(), 0);
  // No label carries a user id.
  EXPECT_EQ(registry_.Expose().find("missing"), std::string::npos);
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


// ---------------------------------------------------------------------------
// The request id: one per call, drawn when it arrives, and the same
// everywhere: the upstream's X-Request-Id, the caller's x-request-id
// initial metadata, the error's ErrorInfo.metadata["request_id"] and the
// log line.

struct RequestIdCase {
  std::string name;
  // Sent as the caller's x-request-id, unless empty.
  std::string caller_request_id;
  // The upstream's answer; nullopt when the call must not reach it.
  std::optional<UpstreamResult> upstream;
  // Breaks the request (user_id "..") so that validation refuses it.
  bool invalid_request = false;
  // Gives the translator a path it refuses (a literal ".." segment, which
  // the config would have refused at start-up): refused after the key was
  // read, before an upstream request exists.
  bool unbuildable_path = false;
  grpc::StatusCode code;
  std::string reason;  // empty for OK
};

void PrintTo(const RequestIdCase& c, std::ostream* os) { *os << c.name; }

class RequestIdTest : public UserProfileServiceTest,
                      public ::testing::WithParamInterface<RequestIdCase> {};

TEST_P(RequestIdTest, OneIdForTheCallerTheUpstreamAndTheLog) {
  const RequestIdCase& c = GetParam();
  if (c.unbuildable_path) {
    StartWithKey("fixture-key", [](ServiceOptions* options) {
      options->translator.path_template = "/authn2/v0/../user/{user_id}";
    });
  }
  if (c.upstream.has_value()) {
    const UpstreamResult result = *c.upstream;
    upstream_.SetResponder([result](const UpstreamRequest&) {
      return std::optional<UpstreamResult>(result);
    });
  }
  UpdateUserProfileRequest request = ValidRequest();
  if (c.invalid_request) request.set_user_id("..");
  grpc::ClientContext context;
  if (!c.caller_request_id.empty()) {
    context.AddMetadata("x-request-id", c.caller_request_id);
  }
  UpdateUserProfileResponse response;

  const grpc::Status status = Call(request, &response, &context);

  ASSERT_EQ(status.error_code(), c.code) << status.error_message();
  // The caller got the id as initial metadata, once, whatever the outcome.
  const std::vector<std::string> header =
      InitialMetadata(context, "x-request-id");
  ASSERT_EQ(header.size(), 1u);
  const std::string& id = header[0];
  if (c.caller_request_id.empty()) {
    EXPECT_THAT(id, MatchesRegex(kUuidV4Regex));
  } else {
    EXPECT_EQ(id, c.caller_request_id);
  }
  // The upstream saw the same id.
  if (c.upstream.has_value()) {
    ASSERT_EQ(upstream_.started(), 1u);
    EXPECT_EQ(upstream_.request(0).request_id, id);
    EXPECT_EQ(RequestIdHeader(upstream_.request(0)), id);
  } else {
    EXPECT_EQ(upstream_.started(), 0u);
  }
  // An error quotes it in its ErrorInfo, the rest of the details intact.
  if (!status.ok()) {
    google::rpc::Status details;
    ASSERT_TRUE(DecodeStatusDetails(status, &details));
    EXPECT_EQ(details.message(), status.error_message());
    const std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->reason(), c.reason);
    EXPECT_EQ(info->domain(), kErrorDomain);
    ASSERT_EQ(info->metadata().count("request_id"), 1u);
    EXPECT_EQ(info->metadata().at("request_id"), id);
    EXPECT_EQ(info->metadata().count("attempts"), 1u);
    if (c.invalid_request) {
      bool has_bad_request = false;
      for (const google::protobuf::Any& any : details.details()) {
        has_bad_request |= any.Is<google::rpc::BadRequest>();
      }
      EXPECT_TRUE(has_bad_request);
    }
  }
  // And so does the log line.
  ASSERT_TRUE(log_.WaitFor(1));
  ASSERT_EQ(log_.entries().size(), 1u);
  EXPECT_EQ(log_.entries()[0].request_id, id);
  EXPECT_EQ(log_.entries()[0].reason, c.reason);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RequestIdTest,
    ::testing::Values(
        RequestIdCase{"Success", "",
                      FakeUpstreamClient::HttpResult(200, kUserJson), false,
                      false, grpc::StatusCode::OK, ""},
        RequestIdCase{"SuccessWithCallerId", "caller-req-1",
                      FakeUpstreamClient::HttpResult(200, kUserJson), false,
                      false, grpc::StatusCode::OK, ""},
        RequestIdCase{"UpstreamNotFound", "",
                      FakeUpstreamClient::HttpResult(
                          404, R"({"message": "Not found", "status": 404})"),
                      false, false, grpc::StatusCode::NOT_FOUND,
                      "UPSTREAM_NOT_FOUND"},
        RequestIdCase{"UpstreamNotFoundWithCallerId", "caller-req-2",
                      FakeUpstreamClient::HttpResult(
                          404, R"({"message": "Not found", "status": 404})"),
                      false, false, grpc::StatusCode::NOT_FOUND,
                      "UPSTREAM_NOT_FOUND"},
        RequestIdCase{"MalformedSuccessBody", "",
                      FakeUpstreamClient::HttpResult(200, "<html>"), false,
                      false, grpc::StatusCode::INTERNAL,
                      "UPSTREAM_MALFORMED_RESPONSE"},
        RequestIdCase{"InlineRefusal", "",
                      FakeUpstreamClient::ErrorResult(
                          TransportError::kOverloaded, "too many"),
                      false, false, grpc::StatusCode::UNAVAILABLE,
                      "GATEWAY_OVERLOADED"},
        RequestIdCase{"InvalidRequest", "", std::nullopt, true, false,
                      grpc::StatusCode::INVALID_ARGUMENT, "INVALID_REQUEST"},
        RequestIdCase{"InvalidRequestWithCallerId", "caller-req-3",
                      std::nullopt, true, false,
                      grpc::StatusCode::INVALID_ARGUMENT, "INVALID_REQUEST"},
        RequestIdCase{"RefusedBeforeTheUpstreamRequestExists", "",
                      std::nullopt, false, true, grpc::StatusCode::INTERNAL,
                      "GATEWAY_INTERNAL"}),
    [](const ::testing::TestParamInfo<RequestIdCase>& info) {
      return info.param.name;
    });

// A caller's x-request-id that could not be a header value is not echoed:
// the caller, the upstream and the log get a fresh UUID instead.
TEST_F(UserProfileServiceTest, InsaneCallerRequestIdIsReplacedEverywhere) {
  upstream_.SetResponder([](const UpstreamRequest&) {
    return std::optional<UpstreamResult>(FakeUpstreamClient::HttpResult(
        404, R"({"message": "Not found", "status": 404})"));
  });
  grpc::ClientContext context;
  const std::string too_long(129, 'r');
  context.AddMetadata("x-request-id", too_long);
  UpdateUserProfileResponse response;
  const grpc::Status status = Call(ValidRequest(), &response, &context);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  const std::vector<std::string> header =
      InitialMetadata(context, "x-request-id");
  ASSERT_EQ(header.size(), 1u);
  EXPECT_THAT(header[0], MatchesRegex(kUuidV4Regex));
  ASSERT_EQ(upstream_.started(), 1u);
  EXPECT_EQ(RequestIdHeader(upstream_.request(0)), header[0]);
  const std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata().at("request_id"), header[0]);
}

// Without a log_sink the service writes the log itself, through a
// CallLogWriter whose drop counter it exposes; with one, it has none.
TEST_F(UserProfileServiceTest, DefaultSinkIsAWriterWithADropCounter) {
  EXPECT_EQ(service_->call_log_writer(), nullptr);
  StartWithKey("fixture-key", [](ServiceOptions* options) {
    options->log_sink = nullptr;
    options->log_capacity = 16;
  });
  ASSERT_NE(service_->call_log_writer(), nullptr);
  EXPECT_EQ(service_->call_log_writer()->dropped(), 0u);
  StartWithKey("fixture-key", [](ServiceOptions* options) {
    options->log_sink = nullptr;
    options->log_calls = false;
  });
  EXPECT_EQ(service_->call_log_writer(), nullptr);
}

}  // namespace
}  // namespace usergateway
