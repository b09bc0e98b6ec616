// The fault matrix: the real gateway binary (//gateway:usergateway, a child
// process) called over a real gRPC channel, in front of a raw-socket
// upstream (tests/emulator/raw_http_server.h) that misbehaves on the wire in
// one chosen way per row. Each row states the gRPC code and ErrorInfo
// reason the caller gets (README, "Errors"), the longest the call may take
// (its deadline plus kMargin), the exact number of PUTs the upstream read,
// and the ErrorInfo `attempts` (checked against the call log too).
//
// Every gateway runs with --max_attempts=3 and short backoff so that
// retried classes show attempts == PUTs == 3, and with one upstream loop so
// that consecutive calls share one keep-alive connection (the smuggling
// rows need that).
#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/emulator/raw_http_server.h"
#include "tests/faults/gateway_process.h"
#include "tests/integration/test_env.h"
#include "usergateway/v1/user_profile.grpc.pb.h"

namespace usergateway {
namespace testing {
namespace {

using After = RawHttpServer::Reply::After;
using Reply = RawHttpServer::Reply;
using grpc::StatusCode;

// How far past its deadline a call may end: the gateway answers
// --deadline_margin_ms (250) before the deadline; this covers a loaded
// 2-core machine and the ASan build.
constexpr absl::Duration kMargin = absl::Milliseconds(400);

// A user whose `username` tells whose reply a caller got.
std::string UserJson(absl::string_view username) {
  return absl::StrCat(R"({"id":7,"username":")", username,
                      R"(","first_name":"Ada","profile":{"id":8,"groups":[]}})");
}

std::string Ok200(absl::string_view body,
                  const std::vector<std::string>& headers = {}) {
  return RawHttpServer::HttpResponse(200, "OK", body, "application/json",
                                     headers);
}

Reply Bytes(std::string bytes, After after,
            absl::Duration delay = absl::ZeroDuration()) {
  Reply reply;
  reply.bytes = std::move(bytes);
  reply.after = after;
  reply.delay_before = delay;
  return reply;
}

// A 200 head announcing a 500-byte body, and the first 20 bytes of it.
std::string HeadAndPartialBody() {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
         "Content-Length: 500\r\n\r\n{\"id\":7,\"username\":";
}

// A body framed by two Content-Length headers, `first` then `second`.
std::string TwoContentLengths(absl::string_view body, size_t first,
                              size_t second) {
  return absl::StrCat(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Content-Length: ",
      first, "\r\nContent-Length: ", second, "\r\n\r\n", body);
}

// What one call of a row must end with.
struct CallExpect {
  StatusCode code;
  std::string reason;  // ErrorInfo reason; "" for OK
  int attempts;        // ErrorInfo `attempts` and the call log's
  std::string username = "";  // OK only: whose user the caller got
  // A second reason the row accepts, when the kernel's timing decides
  // between two documented ones.
  std::string other_reason = "";
};

struct Row {
  std::string name;
  // Why the row expects what it does (libcurl 7.88's part included).
  std::string comment;
  std::vector<Reply> replies;  // queued in order; then the default 200
  absl::Duration deadline;
  std::vector<CallExpect> calls;
  int puts;              // PUTs the upstream read, all calls together
  int connections = -1;  // connections accepted, when the row says
  std::vector<std::string> flags = {};
  // Between consecutive calls.
  absl::Duration pause = absl::ZeroDuration();
};

std::vector<Row> Rows() {
  const std::string user = UserJson("first.call");
  std::vector<Row> rows;
  rows.push_back(
      {"AcceptReadNeverAnswer",
       "the request is read, nothing comes back: the call's deadline ends "
       "the only attempt (no --attempt_timeout_ms)",
       {Bytes("", After::kStall)},
       absl::Seconds(1),
       {{StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", 1}},
       1});
  rows.push_back({"StatusLineThenStall",
                  "a status line, then silence",
                  {Bytes("HTTP/1.1 200 OK\r\n", After::kStall)},
                  absl::Seconds(1),
                  {{StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", 1}},
                  1});
  rows.push_back({"HeadersThenStallMidBody",
                  "headers and 20 of 500 body bytes, then silence",
                  {Bytes(HeadAndPartialBody(), After::kStall)},
                  absl::Seconds(1),
                  {{StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", 1}},
                  1});
  rows.push_back(
      {"StatusLineThenStallWithAttemptTimeout",
       "with --attempt_timeout_ms=250 each stalled attempt is abandoned and "
       "retried: three attempts, the reason of the last",
       {Bytes("HTTP/1.1 200 OK\r\n", After::kStall),
        Bytes("HTTP/1.1 200 OK\r\n", After::kStall),
        Bytes("HTTP/1.1 200 OK\r\n", After::kStall)},
       absl::Seconds(2),
       {{StatusCode::UNAVAILABLE, "UPSTREAM_ATTEMPT_TIMEOUT", 3}},
       3,
       3,
       {"--attempt_timeout_ms=250"}});
  Reply reset_on_accept = RawHttpServer::ResetOnAcceptReply();
  rows.push_back(
      {"ResetAfterAccept",
       "RST before the request is read: every attempt is a fresh connection "
       "reset (libcurl: CURLE_SEND_ERROR or CURLE_RECV_ERROR; or, when the "
       "RST beats libcurl's check of the new socket, CURLE_COULDNT_CONNECT), "
       "retried; the upstream read no PUT, so attempts == connections",
       {reset_on_accept, reset_on_accept, reset_on_accept},
       absl::Seconds(2),
       {{StatusCode::UNAVAILABLE, "UPSTREAM_CONNECTION_RESET", 3, "",
         "UPSTREAM_CONNECT_FAILURE"}},
       0,
       3});
  rows.push_back({"ResetAfterRequest",
                  "RST once the request is read, no byte of reply",
                  {RawHttpServer::ResetReply(), RawHttpServer::ResetReply(),
                   RawHttpServer::ResetReply()},
                  absl::Seconds(2),
                  {{StatusCode::UNAVAILABLE, "UPSTREAM_CONNECTION_RESET", 3}},
                  3,
                  3});
  const Reply mid_headers = Bytes(
      "HTTP/1.1 200 OK\r\nContent-Type: appl", After::kReset);
  rows.push_back({"ResetMidHeaders",
                  "half a header section, then RST",
                  {mid_headers, mid_headers, mid_headers},
                  absl::Seconds(2),
                  {{StatusCode::UNAVAILABLE, "UPSTREAM_CONNECTION_RESET", 3}},
                  3,
                  3});
  const Reply mid_body = Bytes(HeadAndPartialBody(), After::kReset);
  rows.push_back({"ResetMidBody",
                  "20 of 500 body bytes, then RST (CURLE_RECV_ERROR)",
                  {mid_body, mid_body, mid_body},
                  absl::Seconds(2),
                  {{StatusCode::UNAVAILABLE, "UPSTREAM_CONNECTION_RESET", 3}},
                  3,
                  3});
  const Reply fin_mid_body = Bytes(HeadAndPartialBody(), After::kClose);
  rows.push_back({"CloseMidBody",
                  "20 of 500 body bytes, then FIN (CURLE_PARTIAL_FILE)",
                  {fin_mid_body, fin_mid_body, fin_mid_body},
                  absl::Seconds(2),
                  {{StatusCode::UNAVAILABLE, "UPSTREAM_CONNECTION_RESET", 3}},
                  3,
                  3});
  rows.push_back({"Http10CloseDelimitedBody",
                  "HTTP/1.0, no Content-Length: the body ends at FIN",
                  {RawHttpServer::CloseDelimitedReply(user)},
                  absl::Seconds(2),
                  {{StatusCode::OK, "", 1, "first.call"}},
                  1});
  rows.push_back({"ChunkedValid",
                  "Transfer-Encoding: chunked in 16-byte chunks",
                  {RawHttpServer::ChunkedReply(user, 16)},
                  absl::Seconds(2),
                  {{StatusCode::OK, "", 1, "first.call"}},
                  1});
  rows.push_back(
      {"ChunkedBroken",
       "a chunk size that is not hex: libcurl's CURLE_RECV_ERROR \"Illegal "
       "or missing hexadecimal sequence in chunked-encoding\"; the same "
       "request would get the same reply, so not retried",
       {RawHttpServer::InvalidChunkSizeReply()},
       absl::Seconds(2),
       {{StatusCode::UNAVAILABLE, "UPSTREAM_PROTOCOL_ERROR", 1}},
       1});
  rows.push_back({"ContinueThenOk",
                  "an unsolicited 100 Continue, then the 200",
                  {Bytes(absl::StrCat("HTTP/1.1 100 Continue\r\n\r\n",
                                      Ok200(user)),
                         After::kKeepOpen)},
                  absl::Seconds(2),
                  {{StatusCode::OK, "", 1, "first.call"}},
                  1});
  rows.push_back(
      {"DuplicateIdenticalContentLength",
       "two equal Content-Length headers frame the body unambiguously (RFC "
       "9110 8.6 allows treating them as one)",
       {Bytes(TwoContentLengths(user, user.size(), user.size()),
              After::kKeepOpen)},
       absl::Seconds(2),
       {{StatusCode::OK, "", 1, "first.call"}},
       1});
  rows.push_back(
      {"ConflictingContentLength",
       "Content-Length 600 then the true length: libcurl 7.88 keeps the last "
       "value (http.c, Curl_http_readwrite_headers) and would deliver the "
       "reply; RFC 9112 6.3 makes differing lengths an unrecoverable framing "
       "error, so the gateway refuses it as malformed HTTP, not retried",
       {Bytes(TwoContentLengths(user, 600, user.size()), After::kKeepOpen)},
       absl::Seconds(2),
       {{StatusCode::UNAVAILABLE, "UPSTREAM_PROTOCOL_ERROR", 1}},
       1});
  // A second, different response after a complete 200 on a keep-alive
  // connection: the next call must get its own reply (second.call).
  const std::string smuggled = Ok200(UserJson("smuggled.user"));
  Reply same_packet = RawHttpServer::OkReply(user);
  same_packet.bytes += smuggled;
  rows.push_back(
      {"SmuggledResponseInTheSameRead",
       "extra bytes read with the body: libcurl 7.88 closes the connection "
       "(transfer.c: \"Excess found in a read\", connclose), so the next "
       "call goes out on a new one",
       {same_packet, RawHttpServer::OkReply(UserJson("second.call"))},
       absl::Seconds(2),
       {{StatusCode::OK, "", 1, "first.call"},
        {StatusCode::OK, "", 1, "second.call"}},
       2,
       2,
       {},
       absl::Milliseconds(200)});
  Reply later_packet = RawHttpServer::OkReply(user);
  later_packet.later.push_back({absl::Milliseconds(50), smuggled});
  rows.push_back(
      {"SmuggledResponseArrivingLater",
       "extra bytes 50 ms after a complete 200, while the connection is "
       "idle: libcurl 7.88 would reuse it (cf-socket.c conn_is_alive: "
       "readable with data counts as alive; fixed in 8.0.0) and hand the "
       "smuggled reply to the next call; the gateway does not reuse a "
       "connection with unread bytes",
       {later_packet, RawHttpServer::OkReply(UserJson("second.call"))},
       absl::Seconds(2),
       {{StatusCode::OK, "", 1, "first.call"},
        {StatusCode::OK, "", 1, "second.call"}},
       2,
       2,
       {},
       absl::Milliseconds(500)});
  return rows;
}

// gtest prints a failing row by its name, not its bytes.
void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

class FaultMatrixTest : public ::testing::TestWithParam<Row> {};

std::vector<std::string> CommonFlags(const RawHttpServer& server) {
  return {absl::StrCat("--upstream_base_url=", server.base_url(), "/api"),
          "--allow_insecure_http",
          "--upstream_loops=1",
          "--max_attempts=3",
          "--backoff_base_ms=10",
          "--backoff_max_ms=20",
          "--deadline_margin_ms=250",
          "--connect_timeout_ms=1000",
          "--drain_delay_ms=0",
          "--drain_grace_ms=0"};
}

// The attempts of the call log line for `request_id`, or -1.
int LoggedAttempts(const GatewayProcess& gateway,
                   const std::string& request_id) {
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  for (;;) {
    for (const CallLogLine& line : gateway.CallLog()) {
      if (line.request_id == request_id) return line.attempts;
    }
    if (absl::Now() > give_up) return -1;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

TEST_P(FaultMatrixTest, CodeReasonTimeAndPutsAreAsTheRowSays) {
  const Row& row = GetParam();
  SCOPED_TRACE(row.comment);
  absl::StatusOr<std::unique_ptr<RawHttpServer>> server =
      RawHttpServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  for (const Reply& reply : row.replies) (*server)->PushReply(reply);
  std::vector<std::string> flags = CommonFlags(**server);
  flags.insert(flags.end(), row.flags.begin(), row.flags.end());
  absl::StatusOr<std::unique_ptr<GatewayProcess>> gateway =
      GatewayProcess::Start(flags);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto stub = usergateway::v1::UserProfileGateway::NewStub(
      (*gateway)->channel());

  for (size_t i = 0; i < row.calls.size(); ++i) {
    const CallExpect& expect = row.calls[i];
    SCOPED_TRACE(absl::StrCat("call ", i));
    if (i > 0) absl::SleepFor(row.pause);
    CallOptions options;
    options.timeout = row.deadline;
    const std::string request_id = absl::StrCat(row.name, "-", i);
    options.metadata.push_back({"x-request-id", request_id});
    const CallResult r = Call(*stub, MakeRequest(kAdaUserId, "Ada"), options);

    EXPECT_LE(r.elapsed, row.deadline + kMargin);
    ASSERT_EQ(r.status.error_code(), expect.code)
        << r.status.error_message() << "\n" << (*gateway)->Stderr();
    if (expect.code == StatusCode::OK) {
      EXPECT_EQ(r.response.user().username(), expect.username);
    } else {
      const ErrorDetails details = DecodeDetails(r.status);
      ASSERT_TRUE(details.decoded) << r.status.error_message();
      ASSERT_TRUE(details.error_info.has_value());
      EXPECT_EQ(details.error_info->domain(), "usergateway.v1");
      const std::string& reason = details.error_info->reason();
      EXPECT_TRUE(reason == expect.reason ||
                  (!expect.other_reason.empty() &&
                   reason == expect.other_reason))
          << reason << ": " << r.status.error_message();
      const auto& metadata = details.error_info->metadata();
      ASSERT_EQ(metadata.count("attempts"), 1u);
      EXPECT_EQ(metadata.at("attempts"), absl::StrCat(expect.attempts));
      EXPECT_EQ(metadata.at("request_id"), request_id);
    }
    EXPECT_EQ(LoggedAttempts(**gateway, request_id), expect.attempts);
  }

  const std::vector<RawRequest> requests = (*server)->Requests();
  EXPECT_EQ(static_cast<int>(requests.size()), row.puts);
  for (const RawRequest& request : requests) EXPECT_EQ(request.method, "PUT");
  if (row.connections >= 0) {
    EXPECT_EQ((*server)->ConnectionCount(), row.connections);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Wire, FaultMatrixTest, ::testing::ValuesIn(Rows()),
    [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

// The upstream killed (every connection reset) and restarted on the same
// port while 200 calls are in flight.
TEST(FaultMatrixRestartTest, UpstreamKilledAndRestartedUnder200Calls) {
  constexpr int kCalls = 200;
  constexpr absl::Duration kDeadline = absl::Seconds(2);
  RawHttpServerOptions slow;
  Reply held = RawHttpServer::OkReply();
  held.delay_before = absl::Milliseconds(300);
  slow.default_reply = held;
  absl::StatusOr<std::unique_ptr<RawHttpServer>> first =
      RawHttpServer::Start(slow);
  ASSERT_TRUE(first.ok()) << first.status();
  const int port = (*first)->port();
  std::vector<std::string> flags = CommonFlags(**first);
  flags.push_back("--max_attempts=4");
  absl::StatusOr<std::unique_ptr<GatewayProcess>> gateway =
      GatewayProcess::Start(flags);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto stub = usergateway::v1::UserProfileGateway::NewStub(
      (*gateway)->channel());

  // The calls start 2 ms apart: of the first 80, those read by then are
  // held when the upstream dies (each reply waits 300 ms); the next 50 find
  // it gone (connection refused); the last 70 find it back on the same
  // port.
  std::vector<std::unique_ptr<AsyncCall>> calls;
  absl::StatusOr<std::unique_ptr<RawHttpServer>> second;
  for (int i = 0; i < kCalls; ++i) {
    if (i == 80) {
      (*first)->WaitForRequests(60, absl::Seconds(1));
      (*first)->Kill();
    }
    if (i == 130) {
      RawHttpServerOptions same_port;
      same_port.port = port;
      second = RawHttpServer::Start(same_port);
      ASSERT_TRUE(second.ok()) << second.status();
    }
    calls.push_back(std::make_unique<AsyncCall>(
        *stub, MakeRequest(kAdaUserId, "Ada"), kDeadline));
    absl::SleepFor(absl::Milliseconds(2));
  }

  const std::set<std::string> kDocumented = {"UPSTREAM_CONNECTION_RESET",
                                             "UPSTREAM_CONNECT_FAILURE"};
  std::map<std::string, int> outcomes;
  std::map<std::string, int> error_attempts;  // request id -> attempts
  for (const std::unique_ptr<AsyncCall>& call : calls) {
    ASSERT_TRUE(call->Wait(kDeadline + absl::Seconds(5)));
    EXPECT_LE(call->elapsed(), kDeadline + kMargin);
    if (call->status().ok()) {
      ++outcomes["OK"];
      continue;
    }
    EXPECT_EQ(call->status().error_code(), StatusCode::UNAVAILABLE)
        << call->status().error_message();
    const ErrorDetails details = DecodeDetails(call->status());
    ASSERT_TRUE(details.error_info.has_value());
    const std::string& reason = details.error_info->reason();
    EXPECT_EQ(kDocumented.count(reason), 1u) << reason;
    ++outcomes[reason];
    int attempts = 0;
    EXPECT_TRUE(absl::SimpleAtoi(details.error_info->metadata().at("attempts"),
                                 &attempts));
    EXPECT_GE(attempts, 1);
    error_attempts[details.error_info->metadata().at("request_id")] = attempts;
  }
  for (const auto& [outcome, count] : outcomes) {
    std::printf("restart under load: %s x%d\n", outcome.c_str(), count);
  }
  // Calls made once the upstream was back succeed.
  EXPECT_GT(outcomes["OK"], 0);

  // Every call's attempts, from the call log (OK calls have no ErrorInfo).
  ASSERT_TRUE((*gateway)->WaitForCallLog(kCalls, absl::Seconds(5)));
  int attempts_reported = 0;
  for (const CallLogLine& line : (*gateway)->CallLog()) {
    attempts_reported += line.attempts;
    auto it = error_attempts.find(line.request_id);
    if (it != error_attempts.end()) {
      EXPECT_EQ(line.attempts, it->second);
    }
  }
  const size_t puts_seen = (*first)->RequestCount() + (*second)->RequestCount();
  std::printf("restart under load: %zu PUTs seen, %d attempts reported\n",
              puts_seen, attempts_reported);
  EXPECT_LE(puts_seen, static_cast<size_t>(attempts_reported));
  EXPECT_GE(puts_seen, static_cast<size_t>(kCalls) / 2);

  // The gateway keeps serving.
  CallOptions options;
  options.timeout = kDeadline;
  const CallResult after = Call(*stub, MakeRequest(kAdaUserId, "Ada"), options);
  EXPECT_TRUE(after.status.ok()) << after.status.error_message();
  EXPECT_EQ(after.response.user().username(), "ada.lovelace");
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
