// Successful calls through the real gateway and the real emulator: the
// returned user field by field against the fixture, the exact request the
// upstream received, path encoding, the {enterprise_id} path template, API
// key rotation without a restart, HTTPS with a private CA, the request id
// the caller gets back, and the call log.
//
// The tests about what the upstream receives and returns run twice
// (instantiations "Http1" and "H2Tls"): against the emulator itself over
// HTTP/1.1, and over h2 with TLS through nginx in front of it
// (UpstreamFront::kNginxH2), which passes requests and replies through
// unchanged. The others say in a comment why one transport is enough.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/fixture_matcher.h"
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
using usergateway::v1::ROLE_ENTERPRISE_ADMIN;
using usergateway::v1::ROLE_ENTERPRISE_USER;
using usergateway::v1::ROLE_UNSPECIFIED;
using usergateway::v1::ROLE_VIEWER;

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

// A call that keeps the gateway's initial metadata "x-request-id", which
// CallResult does not.
struct CallWithRequestId {
  grpc::Status status;
  usergateway::v1::UpdateUserProfileResponse response;
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
  CallWithRequestId out;
  out.status = stub.UpdateUserProfile(&context, request, &out.response);
  auto [begin, end] =
      context.GetServerInitialMetadata().equal_range("x-request-id");
  for (auto it = begin; it != end; ++it) {
    out.request_ids.emplace_back(it->second.data(), it->second.size());
  }
  return out;
}

// The tests run over each upstream transport.
class GatewaySuccessTest : public ::testing::TestWithParam<UpstreamFront> {
 protected:
  TestEnvOptions Options() const { return Over(GetParam()); }
};

INSTANTIATE_TEST_SUITE_P(Http1, GatewaySuccessTest,
                         ::testing::Values(UpstreamFront::kNone));
INSTANTIATE_TEST_SUITE_P(H2Tls, GatewaySuccessTest,
                         ::testing::Values(UpstreamFront::kNginxH2));

struct UserCase {
  const char* name;
  const char* user_id;
  const char* enterprise_id;
  const char* new_first_name;
  // What the emulator computes: "first last", or first alone without a
  // last name.
  const char* expected_full_name;
  usergateway::v1::Role role_enum;
  const char* role_text;
};

class FixtureUserTest
    : public ::testing::TestWithParam<std::tuple<UserCase, UpstreamFront>> {};

TEST_P(FixtureUserTest, EveryFieldMatchesTheFixture) {
  const UserCase& c = std::get<0>(GetParam());
  std::unique_ptr<TestEnv> env = StartEnv(Over(std::get<1>(GetParam())));
  ASSERT_NE(env, nullptr);
  // The file the emulator serves (BUILD passes its runfiles path).
  ASSERT_TRUE(FixturePath().ok()) << FixturePath().status();
  absl::StatusOr<std::string> fixture = ReadFixtureJson();
  ASSERT_TRUE(fixture.ok()) << fixture.status();

  CallResult r = Call(
      env->stub(), MakeRequest(c.user_id, c.new_first_name, c.enterprise_id));

  ASSERT_TRUE(r.status.ok()) << r.status.error_code() << " "
                             << r.status.error_message();
  const usergateway::v1::User& user = r.response.user();
  EXPECT_TRUE(UserMatchesFixture(*fixture, c.user_id,
                                 {{"first_name", c.new_first_name},
                                  {"full_name", c.expected_full_name}},
                                 user));
  // The fields the matcher cannot see or that this case is about, spelt out.
  EXPECT_EQ(user.first_name(), c.new_first_name);
  EXPECT_EQ(user.full_name(), c.expected_full_name);
  EXPECT_EQ(user.profile().authn_user_id(), c.user_id);
  EXPECT_EQ(user.profile().role(), c.role_text);
  EXPECT_EQ(user.profile().role_enum(), c.role_enum);
  // The emulator kept the update: its stored user says the same.
  std::optional<std::string> stored = env->emulator().UserJson(c.user_id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(UserMatchesFixture(
      absl::StrCat("[", *stored, "]"), c.user_id,
      {{"first_name", c.new_first_name}, {"full_name", c.expected_full_name}},
      user));
}

const UserCase kUserCases[] = {
    // Every field set, two groups, emm with its authentication_token, an
    // integer above 2^53.
    UserCase{"Ada", kAdaUserId, kEnterpriseId, "Augusta", "Augusta Lovelace",
             ROLE_ENTERPRISE_ADMIN, "Enterprise Admin"},
    // last_name, emm, last_login, authz_role_id null; no groups.
    UserCase{"Nadia", kNadiaUserId, kEnterpriseId, "Nadja", "Nadja",
             ROLE_ENTERPRISE_USER, "Enterprise User"},
    // A role not in the documented enum; non-ASCII names.
    UserCase{"Zoe", kZoeUserId, kOtherEnterpriseId, "Zoé \"Z\" \\ 🦓",
             "Zoé \"Z\" \\ 🦓 Núñez", ROLE_UNSPECIFIED, "Auditor"},
    // An id with '|', '/', ' ' and non-ASCII.
    UserCase{"Legacy", kLegacyUserId, kEnterpriseId, "Leland", "Leland Gacy",
             ROLE_VIEWER, "Viewer"},
};

std::string UserCaseName(
    const ::testing::TestParamInfo<std::tuple<UserCase, UpstreamFront>>&
        info) {
  return std::string(std::get<0>(info.param).name);
}

INSTANTIATE_TEST_SUITE_P(
    Http1, FixtureUserTest,
    ::testing::Combine(::testing::ValuesIn(kUserCases),
                       ::testing::Values(UpstreamFront::kNone)),
    UserCaseName);
INSTANTIATE_TEST_SUITE_P(
    H2Tls, FixtureUserTest,
    ::testing::Combine(::testing::ValuesIn(kUserCases),
                       ::testing::Values(UpstreamFront::kNginxH2)),
    UserCaseName);

TEST_P(GatewaySuccessTest, NullsAreUnsetNotDefaults) {
  std::unique_ptr<TestEnv> env = StartEnv(Options());
  ASSERT_NE(env, nullptr);

  CallResult r = Call(env->stub(), MakeRequest(kNadiaUserId, "Nadia"));

  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const usergateway::v1::User& user = r.response.user();
  EXPECT_FALSE(user.has_last_name());
  EXPECT_FALSE(user.has_emm());
  EXPECT_FALSE(user.has_last_login());
  EXPECT_FALSE(user.profile().has_authz_role_id());
  EXPECT_EQ(user.profile().groups_size(), 0);
  // false is a value, not an absence.
  ASSERT_TRUE(user.has_emm_enabled());
  EXPECT_FALSE(user.emm_enabled());
  ASSERT_TRUE(user.has_is_staff());
  EXPECT_FALSE(user.is_staff());
}

TEST_P(GatewaySuccessTest, UpstreamReceivesExactlyTheSpecifiedRequest) {
  std::unique_ptr<TestEnv> env = StartEnv(Options());
  ASSERT_NE(env, nullptr);
  const std::string traceparent =
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  CallOptions options;
  options.metadata = {{"x-request-id", "caller-req-42"},
                      {"traceparent", traceparent},
                      {"tracestate", "congo=t61rcWkgMzE"},
                      {"x-random-caller-key", "do-not-forward"},
                      {"cookie", "session=secret"}};

  CallResult r = Call(env->stub(),
                      MakeRequest(kAdaUserId, "Ada \"The\" \\Countess\\ é\t"),
                      options);

  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  std::vector<RecordedRequest> requests = env->emulator().Requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& put = requests[0];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.target, absl::StrCat("/api/authn2/v0/user/", kAdaUserId));
  EXPECT_EQ(put.body,
            R"({"first_name":"Ada \"The\" \\Countess\\ é\t"})");
  EXPECT_THAT(put.HeaderValues("Authorization"),
              ElementsAre(absl::StrCat("Bearer ", kDefaultApiKey)));
  EXPECT_THAT(put.HeaderValues("Content-Type"),
              ElementsAre("application/json"));
  EXPECT_THAT(put.HeaderValues("Accept"), ElementsAre("application/json"));
  ASSERT_EQ(put.HeaderValues("User-Agent").size(), 1u);
  EXPECT_THAT(put.HeaderValue("User-Agent"), StartsWith("usergateway/"));
  EXPECT_THAT(put.HeaderValues("X-Request-Id"), ElementsAre("caller-req-42"));
  EXPECT_THAT(put.HeaderValues("traceparent"), ElementsAre(traceparent));
  EXPECT_THAT(put.HeaderValues("tracestate"), ElementsAre("congo=t61rcWkgMzE"));
  EXPECT_FALSE(put.HasHeader("x-random-caller-key"));
  EXPECT_FALSE(put.HasHeader("cookie"));
  EXPECT_FALSE(put.HasHeader("Expect"));
  for (const auto& [name, value] : put.headers) {
    EXPECT_FALSE(absl::StartsWithIgnoreCase(name, "grpc-")) << name;
    EXPECT_THAT(value, Not(HasSubstr("do-not-forward"))) << name;
  }
  // The stored name is the trimmed one, as DRF would store it.
  EXPECT_EQ(r.response.user().first_name(), "Ada \"The\" \\Countess\\ é");
}

TEST_P(GatewaySuccessTest, GeneratesAFreshUuidRequestIdWhenTheCallerSentNone) {
  std::unique_ptr<TestEnv> env = StartEnv(Options());
  ASSERT_NE(env, nullptr);

  ASSERT_TRUE(Call(env->stub(), MakeRequest(kAdaUserId, "One")).status.ok());
  ASSERT_TRUE(Call(env->stub(), MakeRequest(kAdaUserId, "Two")).status.ok());

  std::vector<RecordedRequest> requests = env->emulator().Requests();
  ASSERT_EQ(requests.size(), 2u);
  ASSERT_EQ(requests[0].HeaderValues("X-Request-Id").size(), 1u);
  ASSERT_EQ(requests[1].HeaderValues("X-Request-Id").size(), 1u);
  const std::string first = requests[0].HeaderValue("X-Request-Id");
  const std::string second = requests[1].HeaderValue("X-Request-Id");
  EXPECT_THAT(first, MatchesRegex(kUuidV4Pattern));
  EXPECT_THAT(second, MatchesRegex(kUuidV4Pattern));
  EXPECT_NE(first, second);
  EXPECT_FALSE(requests[0].HasHeader("traceparent"));
  EXPECT_FALSE(requests[0].HasHeader("tracestate"));
}

// The caller learns the call's request id from the initial metadata
// x-request-id: its own when it sent one, else the UUID the upstream got.
TEST_P(GatewaySuccessTest, RequestIdIsReturnedAsInitialMetadata) {
  std::unique_ptr<TestEnv> env = StartEnv(Options());
  ASSERT_NE(env, nullptr);

  CallWithRequestId fresh =
      CallKeepingRequestId(env->stub(), MakeRequest(kAdaUserId, "Fresh"));
  CallWithRequestId quoted = CallKeepingRequestId(
      env->stub(), MakeRequest(kAdaUserId, "Quoted"), "caller-req-77");

  ASSERT_TRUE(fresh.status.ok()) << fresh.status.error_message();
  ASSERT_TRUE(quoted.status.ok()) << quoted.status.error_message();
  std::vector<RecordedRequest> requests = env->emulator().Requests();
  ASSERT_EQ(requests.size(), 2u);
  ASSERT_EQ(fresh.request_ids.size(), 1u);
  EXPECT_THAT(fresh.request_ids[0], MatchesRegex(kUuidV4Pattern));
  EXPECT_THAT(requests[0].HeaderValues("X-Request-Id"),
              ElementsAre(fresh.request_ids[0]));
  EXPECT_THAT(quoted.request_ids, ElementsAre("caller-req-77"));
  EXPECT_THAT(requests[1].HeaderValues("X-Request-Id"),
              ElementsAre("caller-req-77"));
}

TEST_P(GatewaySuccessTest, UserIdIsOnePercentEncodedPathSegment) {
  std::unique_ptr<TestEnv> env = StartEnv(Options());
  ASSERT_NE(env, nullptr);

  CallResult legacy = Call(env->stub(), MakeRequest(kLegacyUserId, "Lee"));
  // '?' and '#' would start a query or fragment; '/' a new segment.
  CallResult tricky =
      Call(env->stub(), MakeRequest("a?b=c/../d#e", "Someone"));

  ASSERT_TRUE(legacy.status.ok()) << legacy.status.error_message();
  EXPECT_EQ(legacy.response.user().profile().authn_user_id(), kLegacyUserId);
  // The emulator decoded the id back to the fixture's, so it found the user;
  // an id that reached it differently would be a 404.
  EXPECT_EQ(tricky.status.error_code(), grpc::StatusCode::NOT_FOUND)
      << tricky.status.error_message();
  std::vector<RecordedRequest> requests = env->emulator().Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target,
            "/api/authn2/v0/user/legacy%7Cimport%2F%C3%BC%201");
  EXPECT_EQ(requests[1].target, "/api/authn2/v0/user/a%3Fb%3Dc%2F..%2Fd%23e");
}

TEST_P(GatewaySuccessTest, EnterprisePathTemplate) {
  TestEnvOptions options = Options();
  options.configure = [](Config* config) {
    config->translator.path_template =
        "/authn2/v0/tenant/{enterprise_id}/user/{user_id}";
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);

  CallResult ada =
      Call(env->stub(), MakeRequest(kAdaUserId, "Ada", kEnterpriseId));
  // Zoe belongs to the other enterprise: the tenant route refuses her here.
  CallResult zoe =
      Call(env->stub(), MakeRequest(kZoeUserId, "Zoe", kEnterpriseId));
  CallResult zoe_home =
      Call(env->stub(), MakeRequest(kZoeUserId, "Zoe", kOtherEnterpriseId));

  ASSERT_TRUE(ada.status.ok()) << ada.status.error_message();
  EXPECT_EQ(ada.response.user().profile().authn_user_id(), kAdaUserId);
  EXPECT_EQ(zoe.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(zoe_home.status.ok()) << zoe_home.status.error_message();
  std::vector<RecordedRequest> requests = env->emulator().Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].target,
            absl::StrCat("/api/authn2/v0/tenant/", kEnterpriseId, "/user/",
                         kAdaUserId));
  EXPECT_EQ(requests[2].target,
            absl::StrCat("/api/authn2/v0/tenant/", kOtherEnterpriseId,
                         "/user/", kZoeUserId));
}

TEST_P(GatewaySuccessTest, RotatedKeyFileIsUsedWithoutARestart) {
  const std::string key_file = absl::StrCat(TestTmpDir(), "/rotation.key");
  ASSERT_TRUE(WriteFileAtomically(key_file, "old-key-1111\n").ok());
  TestEnvOptions options = Options();
  options.emulator.api_keys = {"old-key-1111"};
  options.configure = [&key_file](Config* config) {
    config->api_key_env_value.clear();
    config->api_key_file = key_file;
    config->api_key_reload_interval = absl::ZeroDuration();
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);

  CallResult before = Call(env->stub(), MakeRequest(kAdaUserId, "Before"));
  // The vendor replaced the key: the old one stops working at once...
  env->emulator().SetApiKeys({"new-key-2222"});
  CallResult revoked = Call(env->stub(), MakeRequest(kAdaUserId, "Revoked"));
  // ...and the operator updates the Secret.
  ASSERT_TRUE(WriteFileAtomically(key_file, "new-key-2222\n").ok());
  CallResult after = Call(env->stub(), MakeRequest(kAdaUserId, "After"));

  EXPECT_TRUE(before.status.ok()) << before.status.error_message();
  EXPECT_EQ(revoked.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(after.status.ok()) << after.status.error_message();
  EXPECT_EQ(after.response.user().first_name(), "After");
  std::vector<RecordedRequest> requests = env->emulator().Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].HeaderValue("Authorization"), "Bearer old-key-1111");
  EXPECT_EQ(requests[2].HeaderValue("Authorization"), "Bearer new-key-2222");
}

TEST_P(GatewaySuccessTest, HttpsUpstreamWithTheConfiguredCa) {
  TestEnvOptions options = Options();
  // The emulator's own TLS, or the front's.
  options.emulator_tls = GetParam() == UpstreamFront::kNone;
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  ASSERT_TRUE(absl::StartsWith(env->config().translator.base_url, "https://"));
  ASSERT_FALSE(env->config().upstream.allow_insecure_http);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Secure"));

  ASSERT_TRUE(r.status.ok()) << r.status.error_code() << " "
                             << r.status.error_message();
  EXPECT_EQ(r.response.user().first_name(), "Secure");
  EXPECT_EQ(env->emulator().Requests().size(), 1u);
}

// HTTP/1.1 only: it is about an http:// base URL, which has no TLS to
// negotiate h2 on (a front always serves https).
TEST(GatewaySuccessTest, PlainHttpUpstreamIsRefusedUnlessAllowed) {
  TestEnvOptions options;
  options.configure = [](Config* config) {
    config->upstream.allow_insecure_http = false;
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Clear"));

  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(env->emulator().Requests(), IsEmpty());
}

// Redirects fd 2 into a file for its lifetime (the call log is written to
// stderr with write(2)).
class StderrCapture {
 public:
  explicit StderrCapture(const std::string& path) : path_(path) {
    fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (saved_ >= 0 && fd >= 0) {
      dup2(fd, STDERR_FILENO);
      ok_ = true;
    }
    if (fd >= 0) close(fd);
  }
  // Waits (real time, bounded) until `n` call log lines were written: the
  // log is written by a thread of its own, after the call's completion
  // was handed to gRPC. Returns whether they were.
  bool WaitForCallLines(size_t n) const {
    return PollUntil(
        [this, n] {
          absl::StatusOr<std::string> text = ReadFile(path_);
          size_t lines = 0;
          for (absl::string_view line : absl::StrSplit(
                   text.ok() ? *text : "", '\n', absl::SkipEmpty())) {
            lines += absl::StrContains(line, "\"grpc_code\":") ? 1 : 0;
          }
          return lines >= n;
        },
        absl::Seconds(10));
  }
  // Restores stderr and returns what was written meanwhile.
  std::string Finish() {
    if (saved_ >= 0) {
      fflush(stderr);
      dup2(saved_, STDERR_FILENO);
      close(saved_);
      saved_ = -1;
    }
    absl::StatusOr<std::string> text = ReadFile(path_);
    return text.ok() ? *text : "";
  }
  ~StderrCapture() { Finish(); }
  bool ok() const { return ok_; }

 private:
  std::string path_;
  int saved_ = -1;
  bool ok_ = false;
};

TEST_P(GatewaySuccessTest, CallLogHasOneLinePerCallAndNoSecrets) {
  TestEnvOptions options = Options();
  options.configure = [](Config* config) { config->log_calls = true; };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  CallOptions with_id;
  with_id.metadata = {{"x-request-id", "log-req-7"}};

  // The first call succeeds on its third attempt.
  Fault busy;
  busy.status = 503;
  busy.times = 2;
  env->emulator().PushFault(busy);

  StderrCapture capture(absl::StrCat(TestTmpDir(), "/stderr.log"));
  ASSERT_TRUE(capture.ok());
  CallResult ok = Call(env->stub(), MakeRequest(kAdaUserId, "Logged"), with_id);
  CallResult missing = Call(env->stub(), MakeRequest("nobody", "Logged"));
  EXPECT_TRUE(capture.WaitForCallLines(2));
  const std::string log = capture.Finish();

  ASSERT_TRUE(ok.status.ok()) << ok.status.error_message();
  // The response carried the secrets; the log must not.
  ASSERT_TRUE(ok.response.user().has_token());
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  const std::vector<std::string> lines =
      absl::StrSplit(log, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << log;
  EXPECT_THAT(lines[0], HasSubstr("\"request_id\":\"log-req-7\""));
  EXPECT_THAT(lines[0], HasSubstr(absl::StrCat("\"user_id\":\"", kAdaUserId,
                                               "\"")));
  EXPECT_THAT(lines[0], HasSubstr("\"grpc_code\":\"OK\""));
  EXPECT_THAT(lines[0], HasSubstr("\"http_status\":200"));
  EXPECT_THAT(lines[0], HasSubstr("\"attempts\":3"));
  EXPECT_THAT(lines[1], HasSubstr("\"grpc_code\":\"NOT_FOUND\""));
  // The error's line has the id the caller was given in its ErrorInfo.
  const ErrorDetails details = DecodeDetails(missing.status);
  ASSERT_TRUE(details.error_info.has_value());
  ASSERT_EQ(details.error_info->metadata().count("request_id"), 1u);
  EXPECT_THAT(lines[1],
              HasSubstr(absl::StrCat("\"request_id\":\"",
                                     details.error_info->metadata().at(
                                         "request_id"),
                                     "\"")));
  EXPECT_THAT(lines[1], HasSubstr("\"reason\":\"UPSTREAM_NOT_FOUND\""));
  EXPECT_THAT(lines[1], HasSubstr("\"attempts\":1"));
  EXPECT_THAT(log, Not(HasSubstr("fixture-token-")));
  EXPECT_THAT(log, Not(HasSubstr(kDefaultApiKey)));
  EXPECT_THAT(log, Not(HasSubstr("Logged")));  // no request bodies either
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
