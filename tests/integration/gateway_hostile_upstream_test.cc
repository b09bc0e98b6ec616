// An upstream that misbehaves on purpose, and what the caller must see: a
// key echoed back in an error never reaches a status; a reset is never
// re-sent behind the retry policy's back, and a retry storm stays within
// the budget; the upstream's own error text survives as detail; malformed
// HTTP and oversized header sections are refused, not retried; a draining
// gateway answers for itself; dot segments never reach a path; the
// process-wide response budget is enforced and released; and the
// per-attempt timeout retries a stuck attempt while a call queued for a
// connection times out as a deadline, not as a connect failure.
//
// Byte-level faults (non-HTTP replies, bad chunking, huge headers) come from
// RawHttpServer; the rest from the emulator's faults.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cmath>
#include <condition_variable>  // NOLINT(build/c++11)
#include <memory>
#include <mutex>  // NOLINT(build/c++11)
#include <optional>
#include <ostream>
#include <string>
#include <thread>  // NOLINT(build/c++11)
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "tests/emulator/emulator.h"
#include "tests/emulator/fault.h"
#include "tests/emulator/raw_http_server.h"
#include "tests/integration/test_env.h"

namespace usergateway {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr absl::string_view kDomain = "usergateway.v1";
constexpr char kRedacted[] = "[REDACTED]";

std::unique_ptr<TestEnv> StartEnv(TestEnvOptions options = TestEnvOptions()) {
  absl::StatusOr<std::unique_ptr<TestEnv>> env =
      TestEnv::Start(std::move(options));
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? *std::move(env) : nullptr;
}

std::unique_ptr<RawHttpServer> StartRawServer() {
  absl::StatusOr<std::unique_ptr<RawHttpServer>> server =
      RawHttpServer::Start();
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(status.error_code(), " \"", status.error_message(),
                      "\"");
}

// Checks the code and the ErrorInfo (domain, reason) of `status` and
// returns its details for further checks.
ErrorDetails ExpectReason(const grpc::Status& status, grpc::StatusCode code,
                          absl::string_view reason) {
  EXPECT_EQ(status.error_code(), code) << Describe(status);
  ErrorDetails details = DecodeDetails(status);
  EXPECT_TRUE(details.decoded)
      << "no google.rpc.Status details: " << Describe(status);
  if (!details.error_info.has_value()) {
    ADD_FAILURE() << "no ErrorInfo: " << Describe(status);
    return details;
  }
  EXPECT_EQ(details.error_info->domain(), kDomain);
  EXPECT_EQ(details.error_info->reason(), reason) << Describe(status);
  return details;
}

// ErrorInfo.metadata[key], or nullopt.
std::optional<std::string> Metadata(const ErrorDetails& details,
                                    const std::string& key) {
  if (!details.error_info.has_value()) return std::nullopt;
  auto it = details.error_info->metadata().find(key);
  if (it == details.error_info->metadata().end()) return std::nullopt;
  return it->second;
}

void ExpectMetadata(const ErrorDetails& details, const std::string& key,
                    const std::string& value) {
  EXPECT_EQ(Metadata(details, key), std::optional<std::string>(value))
      << "ErrorInfo.metadata[\"" << key << "\"]";
}

bool HasViolationFor(const ErrorDetails& details, absl::string_view field) {
  if (!details.bad_request.has_value()) return false;
  for (const auto& violation : details.bad_request->field_violations()) {
    if (violation.field() == field) return true;
  }
  return false;
}

// Holds a few calls at the emulator at once, so that each needs its own
// connection, then lets them finish: afterwards the gateway's pool holds
// several idle keep-alive connections to the emulator. Forgets the
// requests it made.
void WarmConnectionPool(TestEnv& env, int concurrent) {
  ASSERT_TRUE(Call(env.stub(), MakeRequest(kAdaUserId, "Warm")).status.ok());
  Fault hold;
  hold.delay = absl::Milliseconds(300);
  hold.times = concurrent;
  env.emulator().PushFault(hold);
  std::vector<std::unique_ptr<AsyncCall>> calls;
  for (int i = 0; i < concurrent; ++i) {
    calls.push_back(std::make_unique<AsyncCall>(
        env.stub(), MakeRequest(kAdaUserId, absl::StrCat("Warm", i)),
        absl::Seconds(20)));
  }
  for (const std::unique_ptr<AsyncCall>& call : calls) {
    ASSERT_TRUE(call->Wait(absl::Seconds(20)));
    ASSERT_TRUE(call->status().ok()) << Describe(call->status());
  }
  ASSERT_GE(env.emulator().ConnectionCount(), 2)
      << "the warm-up left fewer than two keep-alive connections";
  ASSERT_EQ(env.emulator().PendingFaults(), 0);
  env.emulator().ClearRequests();
}

// grpc.health.v1.Health/Check for the whole server (service ""), through
// the generic stub (the health protos are not compiled here). Returns the
// ServingStatus (1 SERVING, 2 NOT_SERVING), or -1 when the call fails.
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  // An empty HealthCheckRequest serializes to no bytes.
  grpc::Slice empty{std::string()};
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check",
                 grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_all();
                 });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  // HealthCheckResponse {ServingStatus status = 1;}: tag 0x08, then the
  // value as a one-byte varint. No bytes: UNKNOWN (0), the default.
  if (bytes.size() == 2 && bytes[0] == 0x08) return bytes[1];
  return bytes.empty() ? 0 : -1;
}

// ---------------------------------------------------------------------------
// 1. The API key never leaves the gateway, whoever echoes it.

struct EchoedKeyCase {
  const char* name;
  int http_status;
  // Empty: the emulator's and the gateway's default key.
  std::string key;
  grpc::StatusCode code;
  std::string reason;
};

// Names the case in gtest's output (instead of a byte dump).
void PrintTo(const EchoedKeyCase& c, std::ostream* os) { *os << c.name; }

class EchoedKeyTest : public ::testing::TestWithParam<EchoedKeyCase> {};

TEST_P(EchoedKeyTest, KeyIsRedactedFromMessageMetadataAndViolations) {
  const EchoedKeyCase& c = GetParam();
  const std::string key = c.key.empty() ? kDefaultApiKey : c.key;
  TestEnvOptions options;
  options.emulator.api_keys = {key};
  options.configure = [key](Config* config) {
    config->api_key_env_value = key;
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  Fault echo;
  echo.action = Fault::Action::kEchoKey;
  echo.status = c.http_status;
  echo.times = 1000;
  env->emulator().PushFault(echo);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Ada"));

  // The emulator did receive the key, and quoted it.
  EXPECT_EQ(env->emulator().Requests().size(), 1u);
  ASSERT_GE(env->emulator().Requests().size(), 1u);
  ASSERT_EQ(env->emulator().Requests()[0].HeaderValue("Authorization"),
            absl::StrCat("Bearer ", key));
  const ErrorDetails details = ExpectReason(r.status, c.code, c.reason);
  ExpectMetadata(details, "attempts", "1");
  EXPECT_THAT(r.status.error_message(), Not(HasSubstr(key)));
  EXPECT_THAT(r.status.error_message(), HasSubstr(kRedacted));
  // Nowhere in the serialized details either (any field, any detail type).
  EXPECT_THAT(r.status.error_details(), Not(HasSubstr(key)));
  EXPECT_THAT(details.status.message(), Not(HasSubstr(key)));
  if (details.error_info.has_value()) {
    for (const auto& [name, value] : details.error_info->metadata()) {
      EXPECT_THAT(value, Not(HasSubstr(key))) << "metadata " << name;
      EXPECT_THAT(name, Not(HasSubstr(key)));
    }
  }
  if (details.bad_request.has_value()) {
    for (const auto& violation : details.bad_request->field_violations()) {
      EXPECT_THAT(violation.field(), Not(HasSubstr(key)));
      EXPECT_THAT(violation.description(), Not(HasSubstr(key)));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Keys, EchoedKeyTest,
    ::testing::Values(
        EchoedKeyCase{"DefaultKey401", 401, "",
                      grpc::StatusCode::UNAUTHENTICATED,
                      "UPSTREAM_UNAUTHENTICATED"},
        EchoedKeyCase{"DefaultKey400", 400, "",
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "UPSTREAM_INVALID_ARGUMENT"},
        EchoedKeyCase{"LongKey401", 401, "sk_live_0123456789abcdefABCDEF",
                      grpc::StatusCode::UNAUTHENTICATED,
                      "UPSTREAM_UNAUTHENTICATED"},
        EchoedKeyCase{"LongKey400", 400, "sk_live_0123456789abcdefABCDEF",
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "UPSTREAM_INVALID_ARGUMENT"}),
    [](const ::testing::TestParamInfo<EchoedKeyCase>& info) {
      return std::string(info.param.name);
    });

// ---------------------------------------------------------------------------
// 2. Every PUT the upstream sees is an attempt the gateway counts: libcurl's
// own silent re-send on a reused connection is not allowed.

class NoHiddenResendTest : public ::testing::TestWithParam<int> {};

TEST_P(NoHiddenResendTest, ResetOnWarmConnectionsIsSentOncePerAttempt) {
  const int max_attempts = GetParam();
  TestEnvOptions options;
  options.configure = [max_attempts](Config* config) {
    config->upstream.max_attempts = max_attempts;
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  ASSERT_NO_FATAL_FAILURE(WarmConnectionPool(*env, 3));
  Fault reset;
  reset.action = Fault::Action::kReset;
  reset.times = 20;
  env->emulator().PushFault(reset);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Reset"));

  const ErrorDetails details =
      ExpectReason(r.status, grpc::StatusCode::UNAVAILABLE,
                   "UPSTREAM_CONNECTION_RESET");
  ExpectMetadata(details, "attempts", absl::StrCat(max_attempts));
  EXPECT_EQ(env->emulator().Requests().size(),
            static_cast<size_t>(max_attempts));
  EXPECT_EQ(env->emulator().PendingFaults(), 20 - max_attempts);
}

INSTANTIATE_TEST_SUITE_P(Attempts, NoHiddenResendTest, ::testing::Values(1, 4),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return absl::StrCat("MaxAttempts", info.param);
                         });

TEST(GatewayHostileUpstreamTest, ResetStormStaysWithinTheRetryBudget) {
  constexpr int kCalls = 20;
  constexpr double kBurst = 2;
  constexpr double kRatio = 0.1;
  TestEnvOptions options;
  options.configure = [](Config* config) {
    config->upstream.retry_budget_burst = kBurst;
    config->upstream.retry_budget_ratio = kRatio;
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  // Idle keep-alive connections, so that hidden re-sends could happen.
  ASSERT_NO_FATAL_FAILURE(WarmConnectionPool(*env, 3));
  Fault reset;
  reset.action = Fault::Action::kReset;
  reset.times = 1000;
  env->emulator().PushFault(reset);

  std::vector<std::unique_ptr<AsyncCall>> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::make_unique<AsyncCall>(
        env->stub(), MakeRequest(kAdaUserId, absl::StrCat("Storm", i)),
        absl::Seconds(30)));
  }
  size_t attempts = 0;
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(calls[i]->Wait(absl::Seconds(60))) << "call " << i;
    EXPECT_EQ(calls[i]->status().error_code(), grpc::StatusCode::UNAVAILABLE)
        << i << ": " << Describe(calls[i]->status());
    const std::optional<std::string> counted =
        Metadata(DecodeDetails(calls[i]->status()), "attempts");
    int n = 0;
    EXPECT_TRUE(counted.has_value() && absl::SimpleAtoi(*counted, &n))
        << i << ": no \"attempts\" in " << Describe(calls[i]->status());
    attempts += n;
  }

  // One first attempt per call, plus at most the burst and the ratio's
  // share of the calls (the warm-up's deposits cannot exceed the burst),
  // plus one for rounding.
  const size_t bound =
      kCalls + static_cast<size_t>(kBurst) +
      static_cast<size_t>(std::ceil(kRatio * kCalls)) + 1;
  EXPECT_LE(env->emulator().Requests().size(), bound);
  EXPECT_GE(env->emulator().Requests().size(), static_cast<size_t>(kCalls));
  // And every PUT the upstream saw is an attempt some call reported.
  EXPECT_EQ(env->emulator().Requests().size(), attempts);
}

// ---------------------------------------------------------------------------
// 3. The upstream's own explanation of a 400 reaches the caller.

TEST(GatewayHostileUpstreamTest, UpstreamLengthErrorIsKeptAsDetail) {
  // Only the upstream's 150 code points apply: the gateway's limit is
  // raised so that a name of 151 reaches the emulator.
  TestEnvOptions options;
  options.configure = [](Config* config) {
    config->limits.max_first_name_chars = 1000;
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);

  CallResult r =
      Call(env->stub(), MakeRequest(kAdaUserId, std::string(151, 'a')));

  const std::string text = "Ensure this field has no more than 150 characters";
  const ErrorDetails details =
      ExpectReason(r.status, grpc::StatusCode::INVALID_ARGUMENT,
                   "UPSTREAM_INVALID_ARGUMENT");
  EXPECT_THAT(r.status.error_message(), HasSubstr(text));
  EXPECT_TRUE(HasViolationFor(details, "first_name"))
      << "no BadRequest violation for first_name";
  EXPECT_THAT(Metadata(details, "upstream_errors").value_or(""),
              HasSubstr(text));
  ExpectMetadata(details, "attempts", "1");
  EXPECT_EQ(env->emulator().Requests().size(), 1u);
}

TEST(GatewayHostileUpstreamTest, UpstreamErrorMemberIsKeptAsDetail) {
  std::unique_ptr<TestEnv> env = StartEnv();
  ASSERT_NE(env, nullptr);
  Fault fault;
  fault.status = 400;
  fault.body =
      R"({"status": 400, "error": "first_name may not be blank", )"
      R"("message": "Bad Request"})";
  env->emulator().PushFault(fault);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Ada"));

  const ErrorDetails details =
      ExpectReason(r.status, grpc::StatusCode::INVALID_ARGUMENT,
                   "UPSTREAM_INVALID_ARGUMENT");
  EXPECT_THAT(r.status.error_message(),
              HasSubstr("first_name may not be blank"));
  ExpectMetadata(details, "upstream_error", "first_name may not be blank");
  EXPECT_TRUE(HasViolationFor(details, "first_name"))
      << "no BadRequest violation for first_name";
  EXPECT_EQ(env->emulator().Requests().size(), 1u);
}

// ---------------------------------------------------------------------------
// 4. Malformed HTTP from a raw socket: refused once, never retried.

struct MalformedCase {
  const char* name;
  RawHttpServer::Reply reply;
  // 0: the default max_response_header_bytes.
  size_t max_response_header_bytes;
  // OK: the call must succeed.
  grpc::StatusCode code;
  std::string reason;
};

// Names the case in gtest's output (the replies run to 120 KiB).
void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

class MalformedHttpTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedHttpTest, IsRefusedAfterOneAttempt) {
  const MalformedCase& c = GetParam();
  // Declared first: it outlives the gateway that talks to it.
  std::unique_ptr<RawHttpServer> raw = StartRawServer();
  ASSERT_NE(raw, nullptr);
  // Every request gets the same reply, so that a retry would be seen.
  raw->SetDefaultReply(c.reply);
  TestEnvOptions options;
  options.upstream_base_url = raw->base_url();
  const size_t header_limit = c.max_response_header_bytes;
  options.configure = [header_limit](Config* config) {
    if (header_limit != 0) {
      config->upstream.max_response_header_bytes = header_limit;
    }
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  if (header_limit == 0) {
    ASSERT_EQ(env->config().upstream.max_response_header_bytes, 61440u);
  }

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Ada"));

  if (c.code == grpc::StatusCode::OK) {
    EXPECT_TRUE(r.status.ok()) << Describe(r.status);
    EXPECT_EQ(r.response.user().first_name(), "Ada");
  } else {
    const ErrorDetails details = ExpectReason(r.status, c.code, c.reason);
    ExpectMetadata(details, "attempts", "1");
  }
  EXPECT_EQ(raw->RequestCount(), 1u);
  ASSERT_GE(raw->RequestCount(), 1u);
  const RawRequest request = raw->Requests()[0];
  EXPECT_EQ(request.method, "PUT");
  EXPECT_EQ(request.target,
            absl::StrCat("/authn2/v0/user/", kAdaUserId));
  // The emulator was started but never asked.
  EXPECT_THAT(env->emulator().Requests(), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Replies, MalformedHttpTest,
    ::testing::Values(
        MalformedCase{"NonHttpBytes", RawHttpServer::NonHttpReply(), 0,
                      grpc::StatusCode::UNAVAILABLE,
                      "UPSTREAM_PROTOCOL_ERROR"},
        MalformedCase{"InvalidChunkSize",
                      RawHttpServer::InvalidChunkSizeReply(), 0,
                      grpc::StatusCode::UNAVAILABLE,
                      "UPSTREAM_PROTOCOL_ERROR"},
        MalformedCase{"OneHeaderLineOf120KiB",
                      RawHttpServer::LongHeaderLineReply(120 * 1024), 0,
                      grpc::StatusCode::INTERNAL,
                      "UPSTREAM_RESPONSE_HEADERS_TOO_LARGE"},
        MalformedCase{"HeadersOf70KiBIn1KiBLines",
                      RawHttpServer::ManyHeaderLinesReply(70 * 1024, 1024), 0,
                      grpc::StatusCode::INTERNAL,
                      "UPSTREAM_RESPONSE_HEADERS_TOO_LARGE"},
        MalformedCase{"HeadersOf40KiBAreAccepted",
                      RawHttpServer::ManyHeaderLinesReply(40 * 1024, 1024), 0,
                      grpc::StatusCode::OK, ""},
        MalformedCase{"HeadersOf10KiBOverAConfigured8KiB",
                      RawHttpServer::ManyHeaderLinesReply(10 * 1024, 1024),
                      8192, grpc::StatusCode::INTERNAL,
                      "UPSTREAM_RESPONSE_HEADERS_TOO_LARGE"}),
    [](const ::testing::TestParamInfo<MalformedCase>& info) {
      return std::string(info.param.name);
    });

// ---------------------------------------------------------------------------
// 5. A draining gateway answers for itself, with a hint to retry elsewhere.

TEST(GatewayHostileUpstreamTest, DrainRefusesNewCallsAndEndsHeldOnes) {
  constexpr absl::Duration kGrace = absl::Milliseconds(1500);
  TestEnvOptions options;
  options.configure = [kGrace](Config* config) {
    config->drain_delay = absl::ZeroDuration();
    config->drain_grace = kGrace;
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  ASSERT_EQ(HealthStatus(env->channel()), 1);
  Fault slow;
  slow.delay = absl::Seconds(20);
  env->emulator().PushFault(slow);
  AsyncCall held(env->stub(), MakeRequest(kAdaUserId, "Held"),
                 absl::Seconds(30));
  ASSERT_TRUE(env->emulator().WaitForRequests(1, absl::Seconds(10)));

  const absl::Time drain_start = absl::Now();
  std::thread drain([&env] { env->gateway().Drain(); });
  // Draining once health says NOT_SERVING (or no longer answers at all).
  const bool draining = PollUntil(
      [&env] { return HealthStatus(env->channel()) != 1; }, absl::Seconds(5));
  CallResult fresh;
  if (draining) {
    CallOptions fresh_options;
    fresh_options.timeout = absl::Seconds(5);
    fresh = Call(env->stub(), MakeRequest(kNadiaUserId, "New"), fresh_options);
  }
  const bool held_done = held.Wait(absl::Seconds(15));
  const absl::Duration held_after_drain = absl::Now() - drain_start;
  drain.join();

  ASSERT_TRUE(draining) << "health still SERVING 5 s into the drain";
  {
    SCOPED_TRACE("new call during the drain");
    const ErrorDetails details = ExpectReason(
        fresh.status, grpc::StatusCode::UNAVAILABLE, "GATEWAY_DRAINING");
    EXPECT_TRUE(details.retry_info.has_value()) << "no RetryInfo";
  }
  ASSERT_TRUE(held_done) << "the held call did not end";
  {
    SCOPED_TRACE("call in flight when the drain began");
    const ErrorDetails details = ExpectReason(
        held.status(), grpc::StatusCode::UNAVAILABLE, "GATEWAY_DRAINING");
    EXPECT_TRUE(details.retry_info.has_value()) << "no RetryInfo";
  }
  // It had the grace period, and not much more: far from the emulator's
  // 20 s.
  EXPECT_GE(held_after_drain, kGrace - absl::Milliseconds(500));
  EXPECT_LT(held.elapsed(), absl::Seconds(6));
  // The new call never reached the upstream.
  EXPECT_EQ(env->emulator().Requests().size(), 1u);
}

// ---------------------------------------------------------------------------
// 6. "." and ".." never become path segments.

class DotSegmentTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DotSegmentTest, EnterpriseIdIsRefusedBeforeSending) {
  TestEnvOptions options;
  options.configure = [](Config* config) {
    config->translator.path_template =
        "/authn2/v0/tenant/{enterprise_id}/user/{user_id}";
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);

  CallResult r =
      Call(env->stub(), MakeRequest(kAdaUserId, "Ada", GetParam()));

  const ErrorDetails details = ExpectReason(
      r.status, grpc::StatusCode::INVALID_ARGUMENT, "INVALID_REQUEST");
  EXPECT_TRUE(HasViolationFor(details, "enterprise_id"))
      << "no BadRequest violation for enterprise_id";
  ExpectMetadata(details, "attempts", "0");
  EXPECT_THAT(env->emulator().Requests(), IsEmpty());
  EXPECT_EQ(env->gateway().UpstreamStats().transfers, 0u);
}

INSTANTIATE_TEST_SUITE_P(Segments, DotSegmentTest,
                         ::testing::Values("..", "."),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "." ? "Dot" : "DotDot";
                         });

// ---------------------------------------------------------------------------
// 7. The process-wide response buffer budget. One response always fits (the
// config refuses a budget below max_response_bytes), so the budget runs out
// only when bodies of several calls are held at once.

// A valid user object padded to exactly `size` bytes.
std::string PaddedUserJson(size_t size) {
  const std::string head = R"({"first_name":"Ada","padding":")";
  const std::string tail = R"("})";
  return absl::StrCat(head, std::string(size - head.size() - tail.size(), 'x'),
                      tail);
}

TEST(GatewayHostileUpstreamTest, ResponseBudgetIsSharedAndGivenBack) {
  constexpr size_t kBudget = 256 * 1024;
  constexpr size_t kBody = 200000;  // one fits, two do not
  std::unique_ptr<RawHttpServer> raw = StartRawServer();
  ASSERT_NE(raw, nullptr);
  // The first call's reply announces a 200000-byte body and stalls after
  // 100 bytes of it: its buffer stays reserved while it waits. Every other
  // request gets a complete 200000-byte user.
  RawHttpServer::Reply stalled;
  stalled.bytes = absl::StrCat(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Content-Length: ",
      kBody, "\r\n\r\n", PaddedUserJson(kBody).substr(0, 100));
  raw->PushReply(stalled);
  raw->SetDefaultReply(RawHttpServer::OkReply(PaddedUserJson(kBody)));
  TestEnvOptions options;
  options.upstream_base_url = raw->base_url();
  options.configure = [](Config* config) {
    config->upstream.max_response_bytes = kBudget;
    config->upstream.response_buffer_budget_bytes = kBudget;
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  AsyncCall held(env->stub(), MakeRequest(kAdaUserId, "Held"),
                 absl::Seconds(30));
  ASSERT_TRUE(raw->WaitForRequests(1, absl::Seconds(10)));

  // Until the gateway has read the stalled reply's headers, a big reply
  // still fits; from then on it must be refused.
  CallResult refused;
  const bool was_refused = PollUntil(
      [&] {
        refused = Call(env->stub(), MakeRequest(kAdaUserId, "Big"));
        return !refused.status.ok();
      },
      absl::Seconds(5));

  ASSERT_TRUE(was_refused) << "a second 200000-byte body was always accepted";
  const ErrorDetails details =
      ExpectReason(refused.status, grpc::StatusCode::UNAVAILABLE,
                   "GATEWAY_RESPONSE_BUDGET_EXHAUSTED");
  EXPECT_TRUE(details.retry_info.has_value()) << "no RetryInfo";

  // The held call's reservation comes back with its completion, and the
  // refused call kept none: the same big reply fits again.
  held.Cancel();
  ASSERT_TRUE(held.Wait(absl::Seconds(10)));
  EXPECT_EQ(held.status().error_code(), grpc::StatusCode::CANCELLED)
      << Describe(held.status());
  // The client sees CANCELLED at once; the gateway's loop a moment later.
  ASSERT_TRUE(PollUntil(
      [&env] { return env->gateway().UpstreamStats().in_flight == 0; },
      absl::Seconds(5)));
  CallResult next = Call(env->stub(), MakeRequest(kAdaUserId, "Big"));
  EXPECT_TRUE(next.status.ok()) << Describe(next.status);
  EXPECT_EQ(next.response.user().first_name(), "Ada");
}

// ---------------------------------------------------------------------------
// 8. Per-attempt timeout, and a call that times out waiting for a
// connection.

TEST(GatewayHostileUpstreamTest, StuckAttemptIsAbandonedAndRetried) {
  TestEnvOptions options;
  options.configure = [](Config* config) {
    config->upstream.attempt_timeout = absl::Milliseconds(300);
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  Fault stuck;
  stuck.delay = absl::Seconds(3);
  stuck.times = 1;
  env->emulator().PushFault(stuck);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Unstuck"));

  EXPECT_TRUE(r.status.ok()) << Describe(r.status);
  EXPECT_EQ(r.response.user().first_name(), "Unstuck");
  EXPECT_EQ(env->emulator().Requests().size(), 2u);
  EXPECT_LT(r.elapsed, absl::Seconds(2));
}

TEST(GatewayHostileUpstreamTest, EveryAttemptStuckIsAttemptTimeout) {
  TestEnvOptions options;
  options.configure = [](Config* config) {
    config->upstream.attempt_timeout = absl::Milliseconds(300);
    config->upstream.max_attempts = 2;
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  Fault stuck;
  stuck.delay = absl::Seconds(5);
  stuck.times = 10;
  env->emulator().PushFault(stuck);
  CallOptions call_options;
  call_options.timeout = absl::Seconds(8);

  CallResult r =
      Call(env->stub(), MakeRequest(kAdaUserId, "Stuck"), call_options);

  const ErrorDetails details =
      ExpectReason(r.status, grpc::StatusCode::UNAVAILABLE,
                   "UPSTREAM_ATTEMPT_TIMEOUT");
  ExpectMetadata(details, "attempts", "2");
  EXPECT_EQ(env->emulator().Requests().size(), 2u);
  EXPECT_LT(r.elapsed, absl::Seconds(3));
}

TEST(GatewayHostileUpstreamTest, CallQueuedForAConnectionTimesOutAsDeadline) {
  TestEnvOptions options;
  options.configure = [](Config* config) {
    // One connection to the emulator (HTTP/1.1 over http://: one call at
    // a time); the second call waits inside libcurl for it.
    config->upstream.max_host_connections = 1;
    // The gateway answers well before the caller's own timer fires, so
    // that the status it chose (with its details) is the one seen.
    config->upstream.deadline_margin = absl::Milliseconds(150);
  };
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  Fault slow;
  slow.delay = absl::Seconds(3);
  env->emulator().PushFault(slow);
  AsyncCall held(env->stub(), MakeRequest(kAdaUserId, "Held"),
                 absl::Seconds(20));
  ASSERT_TRUE(env->emulator().WaitForRequests(1, absl::Seconds(10)));
  CallOptions queued_options;
  queued_options.timeout = absl::Milliseconds(400);

  CallResult queued =
      Call(env->stub(), MakeRequest(kNadiaUserId, "Queued"), queued_options);

  const ErrorDetails details =
      ExpectReason(queued.status, grpc::StatusCode::DEADLINE_EXCEEDED,
                   "DEADLINE_EXCEEDED");
  EXPECT_NE(Metadata(details, "transport_error"),
            std::optional<std::string>("CONNECT"));
  EXPECT_LT(queued.elapsed, absl::Seconds(2));
  EXPECT_EQ(env->emulator().Requests().size(), 1u);
  ASSERT_TRUE(held.Wait(absl::Seconds(20)));
  EXPECT_TRUE(held.status().ok()) << Describe(held.status());
  // The timed-out call was dropped from libcurl's queue, not sent later.
  EXPECT_EQ(env->emulator().Requests().size(), 1u);
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
