// Every error class, end to end: what the caller sees (code, message,
// google.rpc.Status details) when the request is invalid, the upstream
// refuses it, fails, misbehaves on the wire, is down, or presents an
// untrusted certificate; and how many attempts the gateway made. No status
// may carry the API key or a token from the fixture.
//
// The tests of what the upstream answers run twice (instantiations "Http1"
// and "H2Tls"): against the emulator itself over HTTP/1.1, and over h2 with
// TLS through nginx in front of it (UpstreamFront::kNginxH2). The others
// say in a comment why one transport is enough.
//
// Every error quotes the call's request id twice: as the initial metadata
// x-request-id and as ErrorInfo.metadata["request_id"].
#include <grpcpp/grpcpp.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_env.h"

namespace usergateway {
namespace testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr absl::string_view kDomain = "usergateway.v1";
constexpr char kUuidV4Pattern[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

std::unique_ptr<TestEnv> StartEnv(TestEnvOptions options = TestEnvOptions()) {
  absl::StatusOr<std::unique_ptr<TestEnv>> env =
      TestEnv::Start(std::move(options));
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? *std::move(env) : nullptr;
}

TestEnvOptions Over(UpstreamFront front) {
  TestEnvOptions options;
  options.upstream_front = front;
  return options;
}

// The tests run over each upstream transport.
class GatewayErrorsTest : public ::testing::TestWithParam<UpstreamFront> {
 protected:
  TestEnvOptions Options() const { return Over(GetParam()); }
};

INSTANTIATE_TEST_SUITE_P(Http1, GatewayErrorsTest,
                         ::testing::Values(UpstreamFront::kNone));
INSTANTIATE_TEST_SUITE_P(H2Tls, GatewayErrorsTest,
                         ::testing::Values(UpstreamFront::kNginxH2));

// A call that keeps the gateway's initial metadata "x-request-id", which
// CallResult does not.
struct CallWithRequestId {
  grpc::Status status;
  std::vector<std::string> request_ids;  // every x-request-id value
};

CallWithRequestId CallKeepingRequestId(
    usergateway::v1::UserProfileGateway::Stub& stub,
    const usergateway::v1::UpdateUserProfileRequest& request,
    const std::string& caller_request_id = "") {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  if (!caller_request_id.empty()) {
    context.AddMetadata("x-request-id", caller_request_id);
  }
  usergateway::v1::UpdateUserProfileResponse response;
  CallWithRequestId out;
  out.status = stub.UpdateUserProfile(&context, request, &response);
  auto [begin, end] =
      context.GetServerInitialMetadata().equal_range("x-request-id");
  for (auto it = begin; it != end; ++it) {
    out.request_ids.emplace_back(it->second.data(), it->second.size());
  }
  return out;
}

// ErrorInfo.metadata["request_id"] of an error, or "<absent>".
std::string ErrorInfoRequestId(const grpc::Status& status) {
  const ErrorDetails details = DecodeDetails(status);
  if (!details.error_info.has_value()) return "<absent>";
  auto it = details.error_info->metadata().find("request_id");
  return it == details.error_info->metadata().end() ? "<absent>" : it->second;
}

// What a caller must see for one error.
struct ExpectedError {
  grpc::StatusCode code;
  std::string reason;
  // The exact message; empty to check `message_prefix` only.
  std::string message;
  std::string message_prefix;
  // ErrorInfo.metadata entries that must be present with these values.
  std::map<std::string, std::string> metadata;
  // ErrorInfo.metadata keys that must be absent.
  std::vector<std::string> absent_metadata;
  // The RetryInfo delay, if one must be attached (none may be otherwise).
  std::optional<absl::Duration> retry_delay;
};

// Secrets the gateway holds or relays: none may reach a status.
std::vector<std::string> Secrets(const TestEnv& env) {
  return {env.config().api_key_env_value.empty()
              ? std::string(kDefaultApiKey)
              : env.config().api_key_env_value,
          "fixture-token-"};
}

void ExpectNoSecrets(const grpc::Status& status,
                     const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    EXPECT_THAT(status.error_message(), Not(HasSubstr(secret)));
    EXPECT_THAT(status.error_details(), Not(HasSubstr(secret)));
  }
}

void ExpectError(const grpc::Status& status, const ExpectedError& want,
                 const std::vector<std::string>& secrets) {
  SCOPED_TRACE(absl::StrCat("status: ", status.error_code(), " \"",
                            status.error_message(), "\""));
  EXPECT_EQ(status.error_code(), want.code);
  if (!want.message.empty()) {
    EXPECT_EQ(status.error_message(), want.message);
  }
  EXPECT_THAT(status.error_message(), StartsWith(want.message_prefix));
  ExpectNoSecrets(status, secrets);

  const ErrorDetails details = DecodeDetails(status);
  ASSERT_TRUE(details.decoded) << "no google.rpc.Status details";
  EXPECT_EQ(details.status.message(), status.error_message());
  EXPECT_EQ(details.other_details, 0);
  ASSERT_TRUE(details.error_info.has_value()) << "no ErrorInfo";
  EXPECT_EQ(details.error_info->domain(), kDomain);
  EXPECT_EQ(details.error_info->reason(), want.reason);
  const auto& metadata = details.error_info->metadata();
  for (const auto& [key, value] : want.metadata) {
    auto it = metadata.find(key);
    if (it == metadata.end()) {
      ADD_FAILURE() << "ErrorInfo.metadata lacks \"" << key << "\"";
    } else {
      EXPECT_EQ(it->second, value) << "ErrorInfo.metadata[\"" << key << "\"]";
    }
  }
  for (const std::string& key : want.absent_metadata) {
    EXPECT_EQ(metadata.count(key), 0u) << "unexpected metadata " << key;
  }
  if (want.retry_delay.has_value()) {
    ASSERT_TRUE(details.retry_info.has_value()) << "no RetryInfo";
    const auto& delay = details.retry_info->retry_delay();
    EXPECT_EQ(absl::Seconds(delay.seconds()) + absl::Nanoseconds(delay.nanos()),
              *want.retry_delay);
  } else {
    EXPECT_FALSE(details.retry_info.has_value());
  }
}

// One transport: the request never reaches the upstream.
TEST(GatewayErrorsTest, InvalidRequestIsRefusedWithoutAnUpstreamCall) {
  std::unique_ptr<TestEnv> env = StartEnv();
  ASSERT_NE(env, nullptr);

  CallResult empty =
      Call(env->stub(), usergateway::v1::UpdateUserProfileRequest());
  CallResult bad = Call(env->stub(), MakeRequest("..", std::string(151, 'x')));

  ExpectError(empty.status,
              {grpc::StatusCode::INVALID_ARGUMENT, "INVALID_REQUEST",
               "invalid request: enterprise_id: is required; user_id: is "
               "required; first_name: is required",
               "", {{"attempts", "0"}}, {"http_status"}, std::nullopt},
              Secrets(*env));
  ErrorDetails details = DecodeDetails(empty.status);
  ASSERT_TRUE(details.bad_request.has_value());
  ASSERT_EQ(details.bad_request->field_violations_size(), 3);
  EXPECT_EQ(details.bad_request->field_violations(0).field(), "enterprise_id");
  EXPECT_EQ(details.bad_request->field_violations(0).description(),
            "is required");
  EXPECT_EQ(details.bad_request->field_violations(1).field(), "user_id");
  EXPECT_EQ(details.bad_request->field_violations(2).field(), "first_name");

  ExpectError(bad.status,
              {grpc::StatusCode::INVALID_ARGUMENT, "INVALID_REQUEST", "",
               "invalid request: ", {{"attempts", "0"}}, {}, std::nullopt},
              Secrets(*env));
  details = DecodeDetails(bad.status);
  ASSERT_TRUE(details.bad_request.has_value());
  ASSERT_EQ(details.bad_request->field_violations_size(), 2);
  EXPECT_EQ(details.bad_request->field_violations(0).field(), "user_id");
  EXPECT_EQ(details.bad_request->field_violations(0).description(),
            "must not be \".\" or \"..\" (it is a path segment, which "
            "clients and servers would resolve to another path)");
  EXPECT_EQ(details.bad_request->field_violations(1).field(), "first_name");
  EXPECT_EQ(details.bad_request->field_violations(1).description(),
            "must be at most 150 characters (Unicode code points)");

  EXPECT_THAT(env->emulator().Requests(), IsEmpty());
  EXPECT_EQ(env->gateway().UpstreamStats().transfers, 0u);
}

// One transport: refused before any upstream request exists, and still
// quotable: the id in the initial metadata and in ErrorInfo, the caller's
// own when it sent one.
TEST(GatewayErrorsTest, InvalidRequestQuotesTheRequestId) {
  std::unique_ptr<TestEnv> env = StartEnv();
  ASSERT_NE(env, nullptr);

  CallWithRequestId fresh = CallKeepingRequestId(
      env->stub(), usergateway::v1::UpdateUserProfileRequest());
  CallWithRequestId quoted =
      CallKeepingRequestId(env->stub(), MakeRequest("..", "Ada"), "caller-3");

  EXPECT_EQ(fresh.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(fresh.request_ids.size(), 1u);
  EXPECT_THAT(fresh.request_ids[0], MatchesRegex(kUuidV4Pattern));
  EXPECT_EQ(ErrorInfoRequestId(fresh.status), fresh.request_ids[0]);
  EXPECT_EQ(quoted.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(quoted.request_ids, ElementsAre("caller-3"));
  EXPECT_EQ(ErrorInfoRequestId(quoted.status), "caller-3");
  EXPECT_THAT(env->emulator().Requests(), IsEmpty());
}

TEST_P(GatewayErrorsTest, WrongApiKeyIsUnauthenticatedNamingTheGatewaysKey) {
  TestEnvOptions options = Options();
  options.configure = [](Config* config) {
    config->api_key_env_value = "wrong-key-9f8e7d";
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Ada"));

  ExpectError(r.status,
              {grpc::StatusCode::UNAUTHENTICATED, "UPSTREAM_UNAUTHENTICATED",
               "upstream rejected the gateway's API key: Invalid API key",
               "",
               {{"credentials", "gateway_api_key"},
                {"http_status", "401"},
                {"upstream_status", "401"},
                {"attempts", "1"}},
               {},
               std::nullopt},
              Secrets(*env));
  EXPECT_THAT(r.status.error_message(), Not(HasSubstr("wrong-key")));
  EXPECT_EQ(env->emulator().Requests().size(), 1u);
}

TEST_P(GatewayErrorsTest, ReadOnlyKeyIsPermissionDenied) {
  TestEnvOptions options = Options();
  options.configure = [](Config* config) {
    config->api_key_env_value = kDefaultReadOnlyKey;
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Ada"));

  ExpectError(r.status,
              {grpc::StatusCode::PERMISSION_DENIED,
               "UPSTREAM_PERMISSION_DENIED",
               // The envelope's "message", then its "error": both kept.
               "Permission denied: You do not have permission to perform "
               "this action.",
               "",
               {{"http_status", "403"},
                {"upstream_code", "403"},
                {"attempts", "1"}},
               {"credentials"},
               std::nullopt},
              Secrets(*env));
}

TEST_P(GatewayErrorsTest, FirstNameTheUpstreamRejectsIsInvalidArgument) {
  // The gateway's own limit is raised, so that only the upstream's 150
  // code points apply: a name of 151 reaches the emulator, which says 400.
  TestEnvOptions options = Options();
  options.configure = [](Config* config) {
    config->limits.max_first_name_chars = 1000;
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);

  CallResult r =
      Call(env->stub(), MakeRequest(kAdaUserId, std::string(151, 'a')));

  ExpectError(r.status,
              {grpc::StatusCode::INVALID_ARGUMENT, "UPSTREAM_INVALID_ARGUMENT",
               "Bad request: first_name: Ensure this field has no more than "
               "150 characters.",
               "",
               {{"http_status", "400"},
                {"upstream_status", "400"},
                {"upstream_errors",
                 "first_name: Ensure this field has no more than 150 "
                 "characters."},
                {"attempts", "1"}},
               {},
               std::nullopt},
              Secrets(*env));
  EXPECT_EQ(env->emulator().Requests().size(), 1u);
}

TEST_P(GatewayErrorsTest, DrfFieldErrorsBecomeBadRequestViolations) {
  std::unique_ptr<TestEnv> env = StartEnv(Options());
  ASSERT_NE(env, nullptr);
  Fault fault;
  fault.status = 400;
  fault.body =
      R"({"first_name":["This field may not be blank.","Second reason."],)"
      R"("profile":{"role":["Not a valid choice."]}})";
  env->emulator().PushFault(fault);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Ada"));

  ExpectError(r.status,
              {grpc::StatusCode::INVALID_ARGUMENT, "UPSTREAM_INVALID_ARGUMENT",
               "", "", {{"http_status", "400"}, {"attempts", "1"}}, {},
               std::nullopt},
              Secrets(*env));
  const ErrorDetails details = DecodeDetails(r.status);
  ASSERT_TRUE(details.bad_request.has_value());
  ASSERT_EQ(details.bad_request->field_violations_size(), 3);
  EXPECT_EQ(details.bad_request->field_violations(0).field(), "first_name");
  EXPECT_EQ(details.bad_request->field_violations(0).description(),
            "This field may not be blank.");
  EXPECT_EQ(details.bad_request->field_violations(1).field(), "first_name");
  EXPECT_EQ(details.bad_request->field_violations(1).description(),
            "Second reason.");
  EXPECT_EQ(details.bad_request->field_violations(2).field(), "profile.role");
  EXPECT_EQ(details.bad_request->field_violations(2).description(),
            "Not a valid choice.");
  EXPECT_THAT(r.status.error_message(),
              HasSubstr("This field may not be blank."));
}

// The id the caller is told (initial metadata and ErrorInfo) is the
// X-Request-Id the upstream received.
TEST_P(GatewayErrorsTest, UpstreamErrorQuotesTheRequestIdTheUpstreamSaw) {
  std::unique_ptr<TestEnv> env = StartEnv(Options());
  ASSERT_NE(env, nullptr);
  const auto unknown =
      MakeRequest("00000000-0000-4000-8000-000000000000", "X");

  CallWithRequestId fresh = CallKeepingRequestId(env->stub(), unknown);
  CallWithRequestId quoted =
      CallKeepingRequestId(env->stub(), unknown, "caller-req-404");

  std::vector<RecordedRequest> requests = env->emulator().Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(fresh.status.error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(fresh.request_ids.size(), 1u);
  EXPECT_THAT(fresh.request_ids[0], MatchesRegex(kUuidV4Pattern));
  EXPECT_EQ(ErrorInfoRequestId(fresh.status), fresh.request_ids[0]);
  EXPECT_THAT(requests[0].HeaderValues("X-Request-Id"),
              ElementsAre(fresh.request_ids[0]));
  EXPECT_EQ(quoted.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(quoted.request_ids, ElementsAre("caller-req-404"));
  EXPECT_EQ(ErrorInfoRequestId(quoted.status), "caller-req-404");
  EXPECT_THAT(requests[1].HeaderValues("X-Request-Id"),
              ElementsAre("caller-req-404"));
}

TEST_P(GatewayErrorsTest, UnknownUserIsNotFound) {
  std::unique_ptr<TestEnv> env = StartEnv(Options());
  ASSERT_NE(env, nullptr);

  CallResult r = Call(env->stub(),
                      MakeRequest("00000000-0000-4000-8000-000000000000", "X"));

  ExpectError(r.status,
              {grpc::StatusCode::NOT_FOUND, "UPSTREAM_NOT_FOUND",
               "Not found: User not found", "",
               {{"http_status", "404"},
                {"upstream_status", "404"},
                {"attempts", "1"}},
               {},
               std::nullopt},
              Secrets(*env));
}

// One upstream fault, queued for every attempt, and what the caller sees.
struct FaultCase {
  const char* name;
  Fault fault;
  ExpectedError want;
  size_t upstream_requests;  // what the emulator saw: the attempts
  // Why the case runs over HTTP/1.1 (the emulator itself) only, or over h2
  // (through nginx) only; nullptr when it runs over both.
  const char* http1_only = nullptr;
  const char* h2_only = nullptr;
};

Fault MakeFault(Fault::Action action, int status = 0,
                std::string retry_after = "", std::string body = "",
                size_t body_bytes = 0) {
  Fault fault;
  fault.action = action;
  fault.status = status;
  fault.retry_after = std::move(retry_after);
  fault.body = std::move(body);
  fault.body_bytes = body_bytes;
  fault.times = 1000;  // every attempt of the call
  return fault;
}

class UpstreamFaultTest
    : public ::testing::TestWithParam<std::tuple<FaultCase, UpstreamFront>> {};

TEST_P(UpstreamFaultTest, MapsToTheDocumentedStatus) {
  const FaultCase& c = std::get<0>(GetParam());
  TestEnvOptions options = Over(std::get<1>(GetParam()));
  options.configure = [](Config* config) {
    config->upstream.max_response_bytes = 64 * 1024;
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  env->emulator().PushFault(c.fault);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Ada"));

  ExpectError(r.status, c.want, Secrets(*env));
  EXPECT_EQ(env->emulator().Requests().size(), c.upstream_requests);
  EXPECT_EQ(env->gateway().UpstreamStats().transfers, c.upstream_requests);
  EXPECT_EQ(env->gateway().UpstreamStats().retries, c.upstream_requests - 1);
}

const FaultCase kFaultCases[] = {
    // Retry-After beyond the call's budget (30 s cap): not retried, the
    // delay handed to the caller.
    FaultCase{"RateLimited",
              MakeFault(Fault::Action::kStatus, 429, "120"),
              {grpc::StatusCode::RESOURCE_EXHAUSTED,
               "UPSTREAM_RATE_LIMITED",
               "Rate limit exceeded",
               "",
               {{"http_status", "429"},
                {"upstream_status", "429"},
                {"attempts", "1"},
                {"retry_after_ms", "120000"}},
               {},
               absl::Seconds(120)},
              1},
    FaultCase{"UnavailableForever",
              MakeFault(Fault::Action::kStatus, 503),
              {grpc::StatusCode::UNAVAILABLE,
               "UPSTREAM_UNAVAILABLE",
               "Service unavailable",
               "",
               {{"http_status", "503"}, {"attempts", "4"}},
               {"retry_after_ms"},
               std::nullopt},
              4},
    // A proxy's HTML page: never echoed, a generic text instead.
    FaultCase{"BadGatewayHtml",
              MakeFault(Fault::Action::kStatus, 502, "",
                        "<html><body>502 Bad Gateway nginx</body></html>"),
              {grpc::StatusCode::UNAVAILABLE,
               "UPSTREAM_UNAVAILABLE",
               "upstream returned HTTP 502 (Bad Gateway)",
               "",
               {{"http_status", "502"}, {"attempts", "4"}},
               {"upstream_status"},
               std::nullopt},
              4},
    // 500 is not retried.
    FaultCase{"InternalServerError",
              MakeFault(Fault::Action::kStatus, 500),
              {grpc::StatusCode::INTERNAL,
               "UPSTREAM_INTERNAL_ERROR",
               "Internal server error",
               "",
               {{"http_status", "500"},
                {"upstream_status", "500"},
                {"attempts", "1"}},
               {},
               std::nullopt},
              1},
    FaultCase{"GatewayTimeout",
              MakeFault(Fault::Action::kStatus, 504),
              {grpc::StatusCode::DEADLINE_EXCEEDED,
               "UPSTREAM_GATEWAY_TIMEOUT",
               "Gateway timeout",
               "",
               {{"http_status", "504"}, {"attempts", "4"}},
               {},
               std::nullopt},
              4},
    FaultCase{"UnexpectedStatus",
              MakeFault(Fault::Action::kStatus, 418),
              {grpc::StatusCode::UNKNOWN,
               "UPSTREAM_UNEXPECTED_STATUS",
               "Error",
               "",
               {{"http_status", "418"}, {"attempts", "1"}},
               {},
               std::nullopt},
              1},
    FaultCase{"MalformedSuccessBody",
              MakeFault(Fault::Action::kMalformedBody),
              {grpc::StatusCode::INTERNAL,
               "UPSTREAM_MALFORMED_RESPONSE",
               "",
               "upstream returned a malformed response (HTTP 200)",
               {{"http_status", "200"}, {"attempts", "1"}},
               {},
               std::nullopt},
              1},
    // A user object with a field of the wrong type, holding a token.
    FaultCase{"WrongTypeInSuccessBody",
              MakeFault(Fault::Action::kMalformedBody, 200, "",
                        R"({"id":"101","token":"fixture-token-x"})"),
              {grpc::StatusCode::INTERNAL,
               "UPSTREAM_MALFORMED_RESPONSE",
               "",
               "upstream returned a malformed response (HTTP 200)",
               {{"http_status", "200"}, {"attempts", "1"}},
               {},
               std::nullopt},
              1},
    // A short body is a broken connection: retried, then reported.
    FaultCase{"TruncatedBody",
              MakeFault(Fault::Action::kTruncateBody),
              {grpc::StatusCode::UNAVAILABLE,
               "UPSTREAM_CONNECTION_RESET",
               "",
               "upstream connection was reset",
               {{"transport_error", "CONNECTION_RESET"},
                {"attempts", "4"}},
               {},
               std::nullopt},
              4,
              "nginx reads the short body and resets the h2 stream: "
              "TruncatedBodyIsAStreamReset"},
    // What the gateway sees of it over h2: the stream nginx reset after
    // the headers and half the body.
    FaultCase{"TruncatedBodyIsAStreamReset",
              MakeFault(Fault::Action::kTruncateBody),
              {grpc::StatusCode::UNAVAILABLE,
               "UPSTREAM_HTTP2_ERROR",
               "",
               "HTTP/2 error talking to the upstream: ",
               {{"transport_error", "HTTP2"}, {"attempts", "4"}},
               {},
               std::nullopt},
              4,
              nullptr,
              "an h2 stream reset; over HTTP/1.1 it is TruncatedBody"},
    FaultCase{"OversizedBody",
              MakeFault(Fault::Action::kOversizedBody, 0, "", "",
                        256 * 1024),
              {grpc::StatusCode::INTERNAL,
               "UPSTREAM_RESPONSE_TOO_LARGE",
               "",
               "upstream response body exceeds the gateway's size limit",
               {{"transport_error", "RESPONSE_TOO_LARGE"},
                {"attempts", "1"}},
               {},
               std::nullopt},
              1},
    FaultCase{"ConnectionReset",
              MakeFault(Fault::Action::kReset),
              {grpc::StatusCode::UNAVAILABLE,
               "UPSTREAM_CONNECTION_RESET",
               "",
               "upstream connection was reset",
               {{"transport_error", "CONNECTION_RESET"},
                {"attempts", "4"}},
               {"http_status"},
               std::nullopt},
              4,
              "the RST ends nginx's connection to the emulator, and the "
              "gateway gets nginx's 502 (as in BadGatewayHtml)"},
    // An upstream that echoes the bearer token in its message.
    FaultCase{"EchoedBearerTokenIsRedacted",
              MakeFault(Fault::Action::kStatus, 401, "",
                        R"({"detail":"Bad header: Bearer emulator-key"})"),
              {grpc::StatusCode::UNAUTHENTICATED,
               "UPSTREAM_UNAUTHENTICATED",
               "upstream rejected the gateway's API key: Bad header: "
               "Bearer [REDACTED]",
               "",
               {{"http_status", "401"}, {"attempts", "1"}},
               {},
               std::nullopt},
              1},
};

// The cases that run over `front`.
std::vector<std::tuple<FaultCase, UpstreamFront>> FaultCasesOver(
    UpstreamFront front) {
  std::vector<std::tuple<FaultCase, UpstreamFront>> cases;
  for (const FaultCase& c : kFaultCases) {
    const bool skip = front == UpstreamFront::kNone ? c.h2_only != nullptr
                                                    : c.http1_only != nullptr;
    if (!skip) cases.emplace_back(c, front);
  }
  return cases;
}

std::string FaultCaseName(
    const ::testing::TestParamInfo<std::tuple<FaultCase, UpstreamFront>>&
        info) {
  return std::string(std::get<0>(info.param).name);
}

INSTANTIATE_TEST_SUITE_P(Http1, UpstreamFaultTest,
                         ::testing::ValuesIn(FaultCasesOver(
                             UpstreamFront::kNone)),
                         FaultCaseName);
INSTANTIATE_TEST_SUITE_P(H2Tls, UpstreamFaultTest,
                         ::testing::ValuesIn(FaultCasesOver(
                             UpstreamFront::kNginxH2)),
                         FaultCaseName);

TEST_P(GatewayErrorsTest, TransientUnavailabilityIsRetriedToSuccess) {
  std::unique_ptr<TestEnv> env = StartEnv(Options());
  ASSERT_NE(env, nullptr);
  // The reset comes first, on a fresh connection: on a reused one libcurl
  // would itself resend the request once (a keep-alive connection the
  // server closed), which the emulator would count as an extra request.
  // Behind nginx the reset is of nginx's upstream connection, and the
  // gateway gets nginx's 502 instead: retried just the same.
  Fault reset;
  reset.action = Fault::Action::kReset;
  env->emulator().PushFault(reset);
  Fault busy;
  busy.status = 503;
  busy.times = 2;
  env->emulator().PushFault(busy);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Persistent"));

  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.response.user().first_name(), "Persistent");
  EXPECT_EQ(env->emulator().Requests().size(), 4u);
  EXPECT_EQ(env->emulator().PendingFaults(), 0);
  EXPECT_EQ(env->gateway().UpstreamStats().retries, 3u);
}

TEST_P(GatewayErrorsTest, RetryAfterWithinTheBudgetIsHonouredThenSucceeds) {
  std::unique_ptr<TestEnv> env = StartEnv(Options());
  ASSERT_NE(env, nullptr);
  Fault limited;
  limited.status = 429;
  limited.retry_after = "1";
  env->emulator().PushFault(limited);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Patient"));

  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(env->emulator().Requests().size(), 2u);
  // The retry waited for Retry-After, not the (millisecond) backoff.
  EXPECT_GE(r.elapsed, absl::Seconds(1));
}

// One transport: the gateway's connection is refused before any TLS or
// h2 (a front that is up would answer 502 for an emulator that is down).
TEST(GatewayErrorsTest, UpstreamDownIsUnavailableConnectFailure) {
  absl::StatusOr<std::unique_ptr<RefusingPort>> refusing =
      RefusingPort::Create();
  ASSERT_TRUE(refusing.ok()) << refusing.status();
  const int port = (*refusing)->port();
  TestEnvOptions options;
  options.configure = [port](Config* config) {
    config->translator.base_url =
        absl::StrCat("http://127.0.0.1:", port, "/api");
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Ada"));

  ExpectError(r.status,
              {grpc::StatusCode::UNAVAILABLE, "UPSTREAM_CONNECT_FAILURE", "",
               "could not connect to the upstream",
               {{"transport_error", "CONNECT"}, {"attempts", "4"}},
               {"http_status"},
               std::nullopt},
              Secrets(*env));
  EXPECT_LT(r.elapsed, absl::Seconds(5));
  EXPECT_THAT(env->emulator().Requests(), IsEmpty());
}

TEST_P(GatewayErrorsTest, HttpsWithoutTheCaIsUntrusted) {
  TestEnvOptions options = Options();
  // The emulator's own TLS, or the front's.
  options.emulator_tls = GetParam() == UpstreamFront::kNone;
  options.trust_emulator_ca = false;
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Ada"));

  ExpectError(r.status,
              {grpc::StatusCode::UNAVAILABLE, "UPSTREAM_TLS_UNTRUSTED", "",
               "upstream TLS certificate is not trusted",
               {{"transport_error", "TLS_UNTRUSTED"}, {"attempts", "1"}},
               {"http_status"},
               std::nullopt},
              Secrets(*env));
  // The handshake failed before any request (and the key) was sent.
  EXPECT_THAT(env->emulator().Requests(), IsEmpty());
}

TEST_P(GatewayErrorsTest, HttpsWithAnotherCaIsUntrusted) {
  // Trusting a CA, just not the one that signed the emulator's certificate.
  absl::StatusOr<TestCertificates> other = GenerateTestCertificates(
      absl::StrCat(TestTmpDir(), "/other-ca"));
  ASSERT_TRUE(other.ok()) << other.status();
  TestEnvOptions options = Options();
  options.emulator_tls = GetParam() == UpstreamFront::kNone;
  options.configure = [&other](Config* config) {
    config->upstream.ca_bundle = other->ca_cert_path;
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Ada"));

  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  const ErrorDetails details = DecodeDetails(r.status);
  ASSERT_TRUE(details.error_info.has_value());
  EXPECT_EQ(details.error_info->reason(), "UPSTREAM_TLS_UNTRUSTED");
  EXPECT_THAT(env->emulator().Requests(), IsEmpty());
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
