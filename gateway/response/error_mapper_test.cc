#include "gateway/response/error_mapper.h"

#include <cstddef>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gateway/common/field_violation.h"
#include "gateway/response/response_test_util.h"
#include "gateway/response/secret_redactor.h"
#include "gateway/upstream/upstream_types.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

// What a client sees in a status's details.
struct Details {
  google::rpc::Status status;
  google::rpc::ErrorInfo info;
  int info_count = 0;
  std::optional<google::rpc::BadRequest> bad_request;
  std::optional<google::rpc::RetryInfo> retry_info;
};

Details Decode(const grpc::Status& s) {
  Details d;
  EXPECT_TRUE(DecodeStatusDetails(s, &d.status));
  EXPECT_EQ(d.status.message(), s.error_message());
  for (const google::protobuf::Any& any : d.status.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) {
      EXPECT_TRUE(any.UnpackTo(&d.info));
      ++d.info_count;
    } else if (any.Is<google::rpc::BadRequest>()) {
      d.bad_request.emplace();
      EXPECT_TRUE(any.UnpackTo(&*d.bad_request));
    } else if (any.Is<google::rpc::RetryInfo>()) {
      d.retry_info.emplace();
      EXPECT_TRUE(any.UnpackTo(&*d.retry_info));
    } else {
      ADD_FAILURE() << "unexpected detail " << any.type_url();
    }
  }
  EXPECT_EQ(d.info_count, 1);
  EXPECT_EQ(d.info.domain(), "usergateway.v1");
  return d;
}

std::map<std::string, std::string> Metadata(const Details& d) {
  return std::map<std::string, std::string>(d.info.metadata().begin(),
                                            d.info.metadata().end());
}

std::vector<std::string> MetadataKeys(const Details& d) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : d.info.metadata()) keys.push_back(key);
  return keys;
}

UpstreamResult HttpResult(int http_status, std::string body,
                          int attempts = 1) {
  UpstreamResult r;
  r.http_status = http_status;
  r.body = std::move(body);
  r.content_type = "application/json";
  r.attempts = attempts;
  return r;
}

// ---------------------------------------------------------------------------
// Every HTTP row of the table.

struct HttpCase {
  int http_status;
  grpc::StatusCode code;
  std::string reason;
  std::string generic_message;  // for a body that is not JSON
};

std::ostream& operator<<(std::ostream& os, const HttpCase& c) {
  return os << "HTTP " << c.http_status;
}

class HttpTableTest : public testing::TestWithParam<HttpCase> {};

TEST_P(HttpTableTest, JsonEnvelopeGivesCodeReasonMetadataAndMessage) {
  const HttpCase& c = GetParam();
  const grpc::Status s = MapUpstreamFailure(HttpResult(
      c.http_status,
      absl::StrCat(R"({"errors": [], "message": "upstream says no", "status": )",
                   c.http_status, "}"),
      /*attempts=*/3));
  EXPECT_EQ(s.error_code(), c.code);
  const Details d = Decode(s);
  EXPECT_EQ(d.status.code(), static_cast<int>(c.code));
  EXPECT_EQ(d.info.reason(), c.reason);
  std::map<std::string, std::string> want = {
      {"http_status", absl::StrCat(c.http_status)},
      {"attempts", "3"},
      {"upstream_status", absl::StrCat(c.http_status)},
      {"upstream_message", "upstream says no"}};
  std::string want_message = "upstream says no";
  if (c.http_status == 401) {
    want["credentials"] = "gateway_api_key";
    want_message = "upstream rejected the gateway's API key: upstream says no";
  }
  EXPECT_EQ(Metadata(d), want);
  EXPECT_EQ(s.error_message(), want_message);
  EXPECT_FALSE(d.bad_request.has_value());
  EXPECT_FALSE(d.retry_info.has_value());
}

TEST_P(HttpTableTest, HtmlBodyGivesGenericMessage) {
  const HttpCase& c = GetParam();
  UpstreamResult r = HttpResult(
      c.http_status,
      "<html><head><title>Error</title></head><body>nginx</body></html>");
  r.content_type = "text/html";
  const grpc::Status s = MapUpstreamFailure(r);
  EXPECT_EQ(s.error_code(), c.code);
  const Details d = Decode(s);
  EXPECT_EQ(d.info.reason(), c.reason);
  std::vector<std::string> want_keys = {"http_status", "attempts"};
  std::string want_message = c.generic_message;
  if (c.http_status == 401) {
    want_keys.push_back("credentials");
    want_message = "upstream rejected the gateway's API key: " + want_message;
  }
  EXPECT_THAT(MetadataKeys(d), UnorderedElementsAreArray(want_keys));
  EXPECT_EQ(s.error_message(), want_message);
  EXPECT_THAT(s.error_message(), Not(HasSubstr("<")));
}

INSTANTIATE_TEST_SUITE_P(
    Table, HttpTableTest,
    testing::Values(
        HttpCase{400, grpc::StatusCode::INVALID_ARGUMENT,
                 "UPSTREAM_INVALID_ARGUMENT",
                 "upstream returned HTTP 400 (Bad Request)"},
        HttpCase{422, grpc::StatusCode::INVALID_ARGUMENT,
                 "UPSTREAM_INVALID_ARGUMENT",
                 "upstream returned HTTP 422 (Unprocessable Entity)"},
        HttpCase{401, grpc::StatusCode::UNAUTHENTICATED,
                 "UPSTREAM_UNAUTHENTICATED",
                 "upstream returned HTTP 401 (Unauthorized)"},
        HttpCase{403, grpc::StatusCode::PERMISSION_DENIED,
                 "UPSTREAM_PERMISSION_DENIED",
                 "upstream returned HTTP 403 (Forbidden)"},
        HttpCase{404, grpc::StatusCode::NOT_FOUND, "UPSTREAM_NOT_FOUND",
                 "upstream returned HTTP 404 (Not Found)"},
        HttpCase{408, grpc::StatusCode::UNAVAILABLE, "UPSTREAM_REQUEST_TIMEOUT",
                 "upstream returned HTTP 408 (Request Timeout)"},
        HttpCase{409, grpc::StatusCode::ABORTED, "UPSTREAM_CONFLICT",
                 "upstream returned HTTP 409 (Conflict)"},
        HttpCase{412, grpc::StatusCode::FAILED_PRECONDITION,
                 "UPSTREAM_PRECONDITION_FAILED",
                 "upstream returned HTTP 412 (Precondition Failed)"},
        HttpCase{429, grpc::StatusCode::RESOURCE_EXHAUSTED,
                 "UPSTREAM_RATE_LIMITED",
                 "upstream returned HTTP 429 (Too Many Requests)"},
        HttpCase{499, grpc::StatusCode::CANCELLED,
                 "UPSTREAM_CLIENT_CLOSED_REQUEST",
                 "upstream returned HTTP 499 (Client Closed Request)"},
        HttpCase{500, grpc::StatusCode::INTERNAL, "UPSTREAM_INTERNAL_ERROR",
                 "upstream returned HTTP 500 (Internal Server Error)"},
        HttpCase{501, grpc::StatusCode::UNIMPLEMENTED,
                 "UPSTREAM_NOT_IMPLEMENTED",
                 "upstream returned HTTP 501 (Not Implemented)"},
        HttpCase{502, grpc::StatusCode::UNAVAILABLE, "UPSTREAM_UNAVAILABLE",
                 "upstream returned HTTP 502 (Bad Gateway)"},
        HttpCase{503, grpc::StatusCode::UNAVAILABLE, "UPSTREAM_UNAVAILABLE",
                 "upstream returned HTTP 503 (Service Unavailable)"},
        HttpCase{504, grpc::StatusCode::DEADLINE_EXCEEDED,
                 "UPSTREAM_GATEWAY_TIMEOUT",
                 "upstream returned HTTP 504 (Gateway Timeout)"},
        // Anything else: UNKNOWN, with the status in ErrorInfo.
        HttpCase{100, grpc::StatusCode::UNKNOWN, "UPSTREAM_UNEXPECTED_STATUS",
                 "upstream returned HTTP 100"},
        HttpCase{301, grpc::StatusCode::UNKNOWN, "UPSTREAM_UNEXPECTED_STATUS",
                 "upstream returned HTTP 301 (redirects are not followed)"},
        HttpCase{302, grpc::StatusCode::UNKNOWN, "UPSTREAM_UNEXPECTED_STATUS",
                 "upstream returned HTTP 302 (redirects are not followed)"},
        HttpCase{405, grpc::StatusCode::UNKNOWN, "UPSTREAM_UNEXPECTED_STATUS",
                 "upstream returned HTTP 405"},
        HttpCase{418, grpc::StatusCode::UNKNOWN, "UPSTREAM_UNEXPECTED_STATUS",
                 "upstream returned HTTP 418"},
        HttpCase{505, grpc::StatusCode::UNKNOWN, "UPSTREAM_UNEXPECTED_STATUS",
                 "upstream returned HTTP 505"},
        HttpCase{599, grpc::StatusCode::UNKNOWN, "UPSTREAM_UNEXPECTED_STATUS",
                 "upstream returned HTTP 599"}),
    [](const testing::TestParamInfo<HttpCase>& info) {
      return absl::StrCat("Http", info.param.http_status);
    });

// ---------------------------------------------------------------------------
// Every transport row of the table.

struct TransportCase {
  TransportError error;
  grpc::StatusCode code;
  std::string reason;
  std::string message_prefix;
  bool retry_info;
};

std::ostream& operator<<(std::ostream& os, const TransportCase& c) {
  return os << TransportErrorName(c.error);
}

class TransportTableTest : public testing::TestWithParam<TransportCase> {};

TEST_P(TransportTableTest, GivesCodeReasonMetadataAndMessage) {
  const TransportCase& c = GetParam();
  UpstreamResult r;
  r.error = c.error;
  r.error_detail = "Failure when receiving data from the peer";
  r.attempts = 2;
  const grpc::Status s = MapUpstreamFailure(r);
  EXPECT_EQ(s.error_code(), c.code);
  const Details d = Decode(s);
  EXPECT_EQ(d.info.reason(), c.reason);
  std::map<std::string, std::string> want = {
      {"attempts", "2"},
      {"transport_error", std::string(TransportErrorName(c.error))}};
  if (c.retry_info) want["retry_after_ms"] = "1000";
  EXPECT_EQ(Metadata(d), want);
  EXPECT_EQ(s.error_message(),
            c.message_prefix + ": Failure when receiving data from the peer");
  EXPECT_EQ(d.retry_info.has_value(), c.retry_info);
  if (d.retry_info.has_value()) {
    EXPECT_EQ(d.retry_info->retry_delay().seconds(), 1);
    EXPECT_EQ(d.retry_info->retry_delay().nanos(), 0);
  }
  EXPECT_FALSE(d.bad_request.has_value());
}

TEST_P(TransportTableTest, WithoutDetailMessageIsGenericText) {
  const TransportCase& c = GetParam();
  UpstreamResult r;
  r.error = c.error;
  const grpc::Status s = MapUpstreamFailure(r);
  EXPECT_EQ(s.error_code(), c.code);
  EXPECT_EQ(s.error_message(), c.message_prefix);
  EXPECT_EQ(Metadata(Decode(s)).at("attempts"), "0");
}

INSTANTIATE_TEST_SUITE_P(
    Table, TransportTableTest,
    testing::Values(
        TransportCase{TransportError::kDns, grpc::StatusCode::UNAVAILABLE,
                      "UPSTREAM_DNS_FAILURE",
                      "could not resolve the upstream host", false},
        TransportCase{TransportError::kConnect, grpc::StatusCode::UNAVAILABLE,
                      "UPSTREAM_CONNECT_FAILURE",
                      "could not connect to the upstream", false},
        TransportCase{TransportError::kConnectionReset,
                      grpc::StatusCode::UNAVAILABLE,
                      "UPSTREAM_CONNECTION_RESET",
                      "upstream connection was reset", false},
        TransportCase{TransportError::kTlsHandshake,
                      grpc::StatusCode::UNAVAILABLE,
                      "UPSTREAM_TLS_HANDSHAKE_FAILURE",
                      "TLS handshake with the upstream failed", false},
        TransportCase{TransportError::kTlsUntrusted,
                      grpc::StatusCode::UNAVAILABLE, "UPSTREAM_TLS_UNTRUSTED",
                      "upstream TLS certificate is not trusted", false},
        TransportCase{TransportError::kTlsHostnameMismatch,
                      grpc::StatusCode::UNAVAILABLE,
                      "UPSTREAM_TLS_HOSTNAME_MISMATCH",
                      "upstream TLS certificate does not match the upstream "
                      "host name",
                      false},
        TransportCase{TransportError::kTlsCertificateExpired,
                      grpc::StatusCode::UNAVAILABLE,
                      "UPSTREAM_TLS_CERTIFICATE_EXPIRED",
                      "upstream TLS certificate has expired", false},
        TransportCase{TransportError::kHttp2, grpc::StatusCode::UNAVAILABLE,
                      "UPSTREAM_HTTP2_ERROR",
                      "HTTP/2 error talking to the upstream", false},
        TransportCase{TransportError::kProtocol, grpc::StatusCode::UNAVAILABLE,
                      "UPSTREAM_PROTOCOL_ERROR",
                      "malformed HTTP response from the upstream", false},
        TransportCase{TransportError::kDeadlineExceeded,
                      grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED",
                      "deadline exceeded before the upstream responded",
                      false},
        TransportCase{TransportError::kCancelled, grpc::StatusCode::CANCELLED,
                      "CALLER_CANCELLED",
                      "the call was cancelled by the caller", false},
        TransportCase{TransportError::kResponseTooLarge,
                      grpc::StatusCode::INTERNAL,
                      "UPSTREAM_RESPONSE_TOO_LARGE",
                      "upstream response body exceeds the gateway's size limit",
                      false},
        TransportCase{TransportError::kResponseHeadersTooLarge,
                      grpc::StatusCode::INTERNAL,
                      "UPSTREAM_RESPONSE_HEADERS_TOO_LARGE",
                      "upstream response headers exceed the gateway's size "
                      "limit",
                      false},
        TransportCase{TransportError::kAttemptTimeout,
                      grpc::StatusCode::UNAVAILABLE,
                      "UPSTREAM_ATTEMPT_TIMEOUT",
                      "upstream did not answer within the per-attempt timeout",
                      false},
        TransportCase{TransportError::kResponseBudgetExhausted,
                      grpc::StatusCode::UNAVAILABLE,
                      "GATEWAY_RESPONSE_BUDGET_EXHAUSTED",
                      "gateway holds too many upstream responses in memory; "
                      "retry later",
                      true},
        TransportCase{TransportError::kOverloaded,
                      grpc::StatusCode::UNAVAILABLE, "GATEWAY_OVERLOADED",
                      "gateway is overloaded; retry later", true},
        TransportCase{TransportError::kDraining, grpc::StatusCode::UNAVAILABLE,
                      "GATEWAY_DRAINING",
                      "gateway is shutting down; retry on another instance",
                      true},
        TransportCase{TransportError::kInternal, grpc::StatusCode::INTERNAL,
                      "GATEWAY_INTERNAL", "gateway internal error", false}),
    [](const testing::TestParamInfo<TransportCase>& info) {
      return std::string(TransportErrorName(info.param.error));
    });

TEST(MapUpstreamFailureTest, TransportErrorWinsOverHttpStatusButKeepsIt) {
  UpstreamResult r = HttpResult(200, std::string(100, 'x'), 1);
  r.error = TransportError::kResponseTooLarge;
  const grpc::Status s = MapUpstreamFailure(r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  const Details d = Decode(s);
  EXPECT_EQ(d.info.reason(), "UPSTREAM_RESPONSE_TOO_LARGE");
  EXPECT_EQ(Metadata(d).at("http_status"), "200");
  EXPECT_EQ(Metadata(d).at("transport_error"), "RESPONSE_TOO_LARGE");
}

TEST(MapUpstreamFailureTest, OverloadUsesKnownRetryAfter) {
  UpstreamResult r;
  r.error = TransportError::kOverloaded;
  r.retry_after = absl::Seconds(3);
  const Details d = Decode(MapUpstreamFailure(r));
  ASSERT_TRUE(d.retry_info.has_value());
  EXPECT_EQ(d.retry_info->retry_delay().seconds(), 3);
  EXPECT_EQ(Metadata(d).at("retry_after_ms"), "3000");
}

TEST(MapUpstreamFailureTest, SuccessPassedByMistakeIsInternal) {
  for (int http : {200, 201, 204, 299}) {
    const grpc::Status s = MapUpstreamFailure(HttpResult(http, "{}"));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL) << http;
    EXPECT_EQ(Decode(s).info.reason(), "GATEWAY_INTERNAL") << http;
    EXPECT_THAT(s.error_message(), HasSubstr(absl::StrCat("HTTP ", http)));
  }
}

TEST(MapUpstreamFailureTest, NoResponseAndNoTransportErrorIsInternal) {
  const grpc::Status s = MapUpstreamFailure(UpstreamResult());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  const Details d = Decode(s);
  EXPECT_EQ(d.info.reason(), "GATEWAY_INTERNAL");
  EXPECT_THAT(MetadataKeys(d), ElementsAre("attempts"));
}

TEST(MapUpstreamFailureTest, HttpStatusIsThePrimarySignal) {
  const grpc::Status s = MapUpstreamFailure(
      HttpResult(404, R"({"status": 400, "message": "No such user"})"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  const Details d = Decode(s);
  EXPECT_EQ(d.info.reason(), "UPSTREAM_NOT_FOUND");
  EXPECT_EQ(Metadata(d).at("http_status"), "404");
  EXPECT_EQ(Metadata(d).at("upstream_status"), "400");
  EXPECT_EQ(s.error_message(), "No such user");
}

// ---------------------------------------------------------------------------
// Envelope variants: which text becomes the message.

struct EnvelopeCase {
  std::string name;
  int http_status;
  std::string body;
  std::string want_message;
  std::map<std::string, std::string> want_extra_metadata;  // beyond the usual
};

std::ostream& operator<<(std::ostream& os, const EnvelopeCase& c) {
  return os << c.name;
}

class EnvelopeMessageTest : public testing::TestWithParam<EnvelopeCase> {};

TEST_P(EnvelopeMessageTest, PicksMessage) {
  const EnvelopeCase& c = GetParam();
  const grpc::Status s =
      MapUpstreamFailure(HttpResult(c.http_status, c.body, 1));
  EXPECT_EQ(s.error_message(), c.want_message);
  const Details d = Decode(s);
  std::map<std::string, std::string> want = c.want_extra_metadata;
  want["http_status"] = absl::StrCat(c.http_status);
  want["attempts"] = "1";
  if (c.http_status == 401) want["credentials"] = "gateway_api_key";
  EXPECT_EQ(Metadata(d), want);
}

INSTANTIATE_TEST_SUITE_P(
    Variants, EnvelopeMessageTest,
    testing::Values(
        EnvelopeCase{"documented_example", 400,
                     R"({"errors": [], "message": "error message", "status": 400})",
                     "error message",
                     {{"upstream_status", "400"},
                      {"upstream_message", "error message"}}},
        EnvelopeCase{"code_and_error", 403,
                     R"({"code": 403, "error": "Key is read-only"})",
                     "Key is read-only",
                     {{"upstream_code", "403"},
                      {"upstream_error", "Key is read-only"}}},
        EnvelopeCase{"status_and_errors", 400,
                     R"({"status": 400, "errors": ["Bad name", "Too long"]})",
                     "Bad name; Too long",
                     {{"upstream_status", "400"},
                      {"upstream_errors", "Bad name; Too long"}}},
        EnvelopeCase{"message_then_error_then_detail", 400,
                     R"({"error": "e", "message": "m", "detail": "d"})",
                     "m: e; d",
                     {{"upstream_message", "m"},
                      {"upstream_error", "e"},
                      {"upstream_detail", "d"}}},
        EnvelopeCase{"error_then_detail_then_errors", 400,
                     R"({"errors": ["x"], "error": "e", "detail": "d"})",
                     "e: d; x",
                     {{"upstream_error", "e"},
                      {"upstream_detail", "d"},
                      {"upstream_errors", "x"}}},
        EnvelopeCase{"detail_then_errors", 400,
                     R"({"errors": ["x"], "detail": "d"})", "d: x",
                     {{"upstream_detail", "d"}, {"upstream_errors", "x"}}},
        EnvelopeCase{"drf_detail_401", 401,
                     R"({"detail": "Authentication credentials were not provided."})",
                     "upstream rejected the gateway's API key: Authentication "
                     "credentials were not provided.",
                     {{"upstream_detail",
                       "Authentication credentials were not provided."}}},
        EnvelopeCase{"empty_message_falls_through", 400,
                     R"({"message": "", "error": " \n ", "detail": "d"})", "d",
                     {{"upstream_detail", "d"}}},
        EnvelopeCase{"null_and_wrong_types_ignored", 400,
                     R"({"message": null, "error": 5, "detail": ["x"], "status": true, "errors": ["real"]})",
                     "real", {{"upstream_errors", "real"}}},
        EnvelopeCase{"status_as_digit_string", 400,
                     R"({"status": "400", "message": "m"})", "m",
                     {{"upstream_status", "400"}, {"upstream_message", "m"}}},
        EnvelopeCase{"status_as_word_ignored", 500,
                     R"({"status": "error", "message": "m"})", "m",
                     {{"upstream_message", "m"}}},
        EnvelopeCase{"code_as_word_ignored", 404,
                     R"({"code": "not_found", "message": "m"})", "m",
                     {{"upstream_message", "m"}}},
        EnvelopeCase{"both_status_and_code", 409,
                     R"({"status": 409, "code": 1001, "message": "m"})", "m",
                     {{"upstream_status", "409"},
                      {"upstream_code", "1001"},
                      {"upstream_message", "m"}}},
        EnvelopeCase{"nested_error_object", 500,
                     R"({"error": {"code": 13, "message": "nested"}})",
                     "nested", {{"upstream_error", "nested"}}},
        EnvelopeCase{"errors_objects_and_strings", 400,
                     R"({"errors": [{"message": "obj"}, 5, null, "str", {"x": 1}]})",
                     "obj; str", {{"upstream_errors", "obj; str"}}},
        EnvelopeCase{"errors_as_one_string", 400, R"({"errors": "only one"})",
                     "only one", {{"upstream_errors", "only one"}}},
        EnvelopeCase{"drf_non_field_errors", 400,
                     R"({"non_field_errors": ["Bad combination."]})",
                     "Bad combination.",
                     {{"upstream_errors", "Bad combination."}}},
        EnvelopeCase{"escaped_text", 400,
                     R"({"message": "caf\u00e9 \"quoted\" \\ done"})",
                     "caf\xC3\xA9 \"quoted\" \\ done",
                     {{"upstream_message",
                       "caf\xC3\xA9 \"quoted\" \\ done"}}},
        EnvelopeCase{"empty_object", 404, "{}",
                     "upstream returned HTTP 404 (Not Found)", {}},
        EnvelopeCase{"unknown_fields_only", 502,
                     R"({"timestamp": "2024-01-01", "path": "/api"})",
                     "upstream returned HTTP 502 (Bad Gateway)", {}}),
    [](const testing::TestParamInfo<EnvelopeCase>& info) {
      return info.param.name;
    });

// ---------------------------------------------------------------------------
// Bodies that are not a JSON object: never fail, never echo.

class BadBodyTest : public testing::TestWithParam<BadBodyCase> {};

TEST_P(BadBodyTest, MapperUsesGenericMessage) {
  const grpc::Status s = MapUpstreamFailure(HttpResult(502, GetParam().body));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "upstream returned HTTP 502 (Bad Gateway)");
  const Details d = Decode(s);
  EXPECT_EQ(d.info.reason(), "UPSTREAM_UNAVAILABLE");
  EXPECT_THAT(MetadataKeys(d),
              UnorderedElementsAreArray({"http_status", "attempts"}));
}

INSTANTIATE_TEST_SUITE_P(Bodies, BadBodyTest,
                         testing::ValuesIn(BadBodyCases()),
                         [](const testing::TestParamInfo<BadBodyCase>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------
// BadRequest from DRF validation errors.

TEST(MapUpstreamFailureTest, DrfFieldErrorsBecomeBadRequest) {
  for (int http : {400, 422}) {
    const grpc::Status s = MapUpstreamFailure(HttpResult(http, R"({
      "first_name": ["This field may not be blank.", "Second problem."],
      "profile": {"role": ["\"x\" is not a valid choice."], "n": 5},
      "ignored": "a plain string is not a violation"
    })"));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(),
              "first_name: This field may not be blank.; first_name: Second "
              "problem.; profile.role: \"x\" is not a valid choice.");
    const Details d = Decode(s);
    EXPECT_EQ(d.info.reason(), "UPSTREAM_INVALID_ARGUMENT");
    ASSERT_TRUE(d.bad_request.has_value()) << http;
    ASSERT_EQ(d.bad_request->field_violations_size(), 3);
    EXPECT_EQ(d.bad_request->field_violations(0).field(), "first_name");
    EXPECT_EQ(d.bad_request->field_violations(0).description(),
              "This field may not be blank.");
    EXPECT_EQ(d.bad_request->field_violations(1).field(), "first_name");
    EXPECT_EQ(d.bad_request->field_violations(1).description(),
              "Second problem.");
    EXPECT_EQ(d.bad_request->field_violations(2).field(), "profile.role");
    EXPECT_EQ(d.bad_request->field_violations(2).description(),
              "\"x\" is not a valid choice.");
  }
}

TEST(MapUpstreamFailureTest, EnvelopeMessageKeptWithFieldErrors) {
  const grpc::Status s = MapUpstreamFailure(HttpResult(
      400, R"({"message": "Validation failed", "first_name": ["Too long."]})"));
  EXPECT_EQ(s.error_message(), "Validation failed: first_name: Too long.");
  const Details d = Decode(s);
  ASSERT_TRUE(d.bad_request.has_value());
  ASSERT_EQ(d.bad_request->field_violations_size(), 1);
  EXPECT_EQ(d.bad_request->field_violations(0).description(), "Too long.");
}

TEST(MapUpstreamFailureTest, NoBadRequestOutside400And422) {
  const Details d = Decode(MapUpstreamFailure(
      HttpResult(409, R"({"first_name": ["Already taken."]})")));
  EXPECT_EQ(d.info.reason(), "UPSTREAM_CONFLICT");
  EXPECT_FALSE(d.bad_request.has_value());
}

TEST(MapUpstreamFailureTest, NoBadRequestWithoutFieldErrors) {
  const Details d = Decode(MapUpstreamFailure(
      HttpResult(400, R"({"status": 400, "errors": ["Bad"]})")));
  EXPECT_FALSE(d.bad_request.has_value());
}

// ---------------------------------------------------------------------------
// RetryInfo.

struct RetryCase {
  int http_status;
  std::optional<absl::Duration> retry_after;
  bool want_retry_info;
};

std::ostream& operator<<(std::ostream& os, const RetryCase& c) {
  return os << "HTTP " << c.http_status;
}

class RetryInfoTest : public testing::TestWithParam<RetryCase> {};

TEST_P(RetryInfoTest, PresentOnlyWhenDelayKnownAndRetryable) {
  const RetryCase& c = GetParam();
  UpstreamResult r = HttpResult(c.http_status, "");
  r.retry_after = c.retry_after;
  const Details d = Decode(MapUpstreamFailure(r));
  ASSERT_EQ(d.retry_info.has_value(), c.want_retry_info);
  if (!c.want_retry_info) {
    EXPECT_EQ(Metadata(d).count("retry_after_ms"), 0u);
    return;
  }
  const absl::Duration delay = *c.retry_after;
  EXPECT_EQ(d.retry_info->retry_delay().seconds(),
            absl::ToInt64Seconds(delay));
  EXPECT_EQ(d.retry_info->retry_delay().nanos(),
            absl::ToInt64Nanoseconds(delay % absl::Seconds(1)));
  EXPECT_EQ(Metadata(d).at("retry_after_ms"),
            absl::StrCat(absl::ToInt64Milliseconds(delay)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RetryInfoTest,
    testing::Values(RetryCase{429, absl::Seconds(7), true},
                    RetryCase{429, std::nullopt, false},
                    RetryCase{503, absl::Milliseconds(1500), true},
                    RetryCase{503, std::nullopt, false},
                    RetryCase{502, absl::ZeroDuration(), true},
                    RetryCase{502, std::nullopt, false},
                    RetryCase{400, absl::Seconds(5), false},
                    RetryCase{500, absl::Seconds(5), false},
                    RetryCase{504, absl::Seconds(5), false}),
    [](const testing::TestParamInfo<RetryCase>& info) {
      return absl::StrCat("Http", info.param.http_status,
                          info.param.retry_after.has_value() ? "WithDelay"
                                                              : "NoDelay");
    });

// ---------------------------------------------------------------------------
// Sanitizing.

TEST(MapUpstreamFailureTest, OverlongMessageIsCutOnCharacterBoundary) {
  // 3-byte characters after 0, 1 or 2 ASCII bytes, so that the cut lands at
  // every offset inside a character.
  for (int prefix = 0; prefix < 3; ++prefix) {
    std::string text(prefix, 'a');
    for (int i = 0; i < 400; ++i) text += "\xE2\x82\xAC";  // "€"
    const grpc::Status s = MapUpstreamFailure(
        HttpResult(400, absl::StrCat(R"({"message": ")", text, "\"}")));
    const std::string& m = s.error_message();
    EXPECT_LE(m.size(), 512u) << prefix;
    EXPECT_GE(m.size(), 505u) << prefix;
    EXPECT_TRUE(IsValidUtf8(m)) << prefix;
    EXPECT_TRUE(absl::EndsWith(m, "\xE2\x80\xA6")) << prefix;  // "…"
    EXPECT_TRUE(absl::StartsWith(m, text.substr(0, 100))) << prefix;
  }
}

TEST(MapUpstreamFailureTest, ControlCharactersBecomeSpaces) {
  const grpc::Status s = MapUpstreamFailure(HttpResult(
      400,
      R"({"message": "line1\nline2\r\n\tend\u0000x\u0007y\u001b[31mred\u2028z  "})"));
  EXPECT_EQ(s.error_message(), "line1 line2 end x y [31mred z");
}

TEST(MapUpstreamFailureTest, BearerTokenScrubbedFromMessages) {
  const grpc::Status s = MapUpstreamFailure(HttpResult(
      401, R"({"message": "Invalid header Authorization: Bearer abc"})"));
  EXPECT_THAT(s.error_message(), Not(HasSubstr("abc")));
  EXPECT_EQ(s.error_message(),
            "upstream rejected the gateway's API key: Invalid header "
            "Authorization: Bearer [REDACTED]");

  UpstreamResult r;
  r.error = TransportError::kProtocol;
  r.error_detail = "sent bearer\tsk_live_123.456 oops";
  const grpc::Status t = MapUpstreamFailure(r);
  EXPECT_THAT(t.error_message(), Not(HasSubstr("sk_live")));
  EXPECT_THAT(t.error_message(), HasSubstr("bearer [REDACTED] oops"));
}

// ---------------------------------------------------------------------------
// Everything an envelope says is kept: message, metadata, violations.

using Violations = std::vector<std::pair<std::string, std::string>>;

Violations ViolationsOf(const Details& d) {
  Violations out;
  if (!d.bad_request.has_value()) return out;
  for (const auto& v : d.bad_request->field_violations()) {
    out.emplace_back(v.field(), v.description());
  }
  return out;
}

struct DetailCase {
  std::string name;
  int http_status;
  std::string body;
  std::string want_message;
  // ErrorInfo.metadata, beyond http_status and attempts.
  std::map<std::string, std::string> want_metadata;
  // BadRequest.field_violations; empty: no BadRequest at all.
  Violations want_violations;
};

std::ostream& operator<<(std::ostream& os, const DetailCase& c) {
  return os << c.name;
}

class EnvelopeDetailTest : public testing::TestWithParam<DetailCase> {};

TEST_P(EnvelopeDetailTest, KeepsEveryText) {
  const DetailCase& c = GetParam();
  const grpc::Status s = MapUpstreamFailure(HttpResult(c.http_status, c.body));
  EXPECT_EQ(s.error_message(), c.want_message);
  const Details d = Decode(s);
  std::map<std::string, std::string> want = c.want_metadata;
  want["http_status"] = absl::StrCat(c.http_status);
  want["attempts"] = "1";
  EXPECT_EQ(Metadata(d), want);
  EXPECT_EQ(d.bad_request.has_value(), !c.want_violations.empty());
  EXPECT_EQ(ViolationsOf(d), c.want_violations);
}

INSTANTIATE_TEST_SUITE_P(
    Envelopes, EnvelopeDetailTest,
    testing::Values(
        DetailCase{
            "validation_failed_with_errors", 400,
            R"({"code": 400, "message": "Validation failed", "errors": ["first_name: Ensure this field has no more than 150 characters."]})",
            "Validation failed: first_name: Ensure this field has no more "
            "than 150 characters.",
            {{"upstream_code", "400"},
             {"upstream_message", "Validation failed"},
             {"upstream_errors",
              "first_name: Ensure this field has no more than 150 "
              "characters."}},
            {{"first_name",
              "Ensure this field has no more than 150 characters."}}},
        DetailCase{
            "bad_request_with_error", 400,
            R"({"status": 400, "error": "first_name may not be blank", "message": "Bad Request"})",
            "Bad Request: first_name may not be blank",
            {{"upstream_status", "400"},
             {"upstream_error", "first_name may not be blank"},
             {"upstream_message", "Bad Request"}},
            {{"first_name", "first_name may not be blank"}}},
        DetailCase{
            "all_five_in_contract_order", 400,
            R"({"first_name": ["F."], "errors": ["E1", "E2"], "detail": "D", "error": "R", "message": "M"})",
            "M: R; D; E1; E2; first_name: F.",
            {{"upstream_message", "M"},
             {"upstream_error", "R"},
             {"upstream_detail", "D"},
             {"upstream_errors", "E1; E2"}},
            {{"first_name", "F."}}},
        DetailCase{
            "repeats_dropped_ignoring_case_after_sanitizing", 400,
            R"({"message": "Not found", "error": "NOT FOUND", "detail": "not \n found ", "errors": ["Not Found", "User gone", "user GONE"]})",
            "Not found: User gone",
            {{"upstream_message", "Not found"},
             {"upstream_error", "NOT FOUND"},
             {"upstream_detail", "not found"},
             {"upstream_errors", "Not Found; User gone; user GONE"}},
            {}},
        DetailCase{"errors_repeating_the_message", 404,
                   R"({"status": 404, "errors": ["User not found"], "message": "User not found"})",
                   "User not found",
                   {{"upstream_status", "404"},
                    {"upstream_message", "User not found"},
                    {"upstream_errors", "User not found"}},
                   {}},
        DetailCase{"field_error_repeating_an_errors_entry", 400,
                   R"({"errors": ["first_name: Too long."], "first_name": ["Too long."]})",
                   "first_name: Too long.",
                   {{"upstream_errors", "first_name: Too long."}},
                   {{"first_name", "Too long."}}},
        DetailCase{"detail_naming_a_request_field", 422,
                   R"({"detail": "user_id must be a UUID"})",
                   "user_id must be a UUID",
                   {{"upstream_detail", "user_id must be a UUID"}},
                   {{"user_id", "user_id must be a UUID"}}},
        DetailCase{"errors_naming_fields", 400,
                   R"({"errors": ["enterprise_id is unknown", "profile.role: not a choice", "_x: y"]})",
                   "enterprise_id is unknown; profile.role: not a choice; _x: "
                   "y",
                   {{"upstream_errors",
                     "enterprise_id is unknown; profile.role: not a choice; "
                     "_x: y"}},
                   {{"enterprise_id", "enterprise_id is unknown"},
                    {"profile.role", "not a choice"},
                    {"_x", "y"}}},
        DetailCase{"padded_field_text_is_sanitized_first", 400,
                   R"({"error": "  first_name:\t too long  "})",
                   "first_name: too long",
                   {{"upstream_error", "first_name: too long"}},
                   {{"first_name", "too long"}}},
        DetailCase{"texts_that_name_no_field", 400,
                   R"({"errors": ["Validation failed", "9lives: no", "first_name:no space", "first_namex y", "first_name", "-x: y"]})",
                   "Validation failed; 9lives: no; first_name:no space; "
                   "first_namex y; first_name; -x: y",
                   {{"upstream_errors",
                     "Validation failed; 9lives: no; first_name:no space; "
                     "first_namex y; first_name; -x: y"}},
                   {}},
        DetailCase{"message_is_not_read_for_fields", 400,
                   R"({"message": "first_name: too long"})",
                   "first_name: too long",
                   {{"upstream_message", "first_name: too long"}},
                   {}},
        DetailCase{"no_bad_request_outside_400_and_422", 409,
                   R"({"errors": ["first_name: already taken"]})",
                   "first_name: already taken",
                   {{"upstream_errors", "first_name: already taken"}},
                   {}},
        DetailCase{"duplicate_drf_errors_once", 400,
                   R"({"first_name": ["Too long.", "Too long."], "error": "first_name: Too long."})",
                   "first_name: Too long.",
                   {{"upstream_error", "first_name: Too long."}},
                   {{"first_name", "Too long."}}},
        DetailCase{"empty_texts_give_no_metadata", 400,
                   R"({"message": "", "error": "  ", "detail": "\n", "errors": ["", " "]})",
                   "upstream returned HTTP 400 (Bad Request)", {}, {}}),
    [](const testing::TestParamInfo<DetailCase>& info) {
      return info.param.name;
    });

TEST(EnvelopeBoundsTest, MetadataValuesAreBounded) {
  std::string errors;
  for (int i = 0; i < 100; ++i) {
    absl::StrAppend(&errors, i ? "," : "", "\"", std::string(50, 'r'), i,
                    "\"");
  }
  const std::string body = absl::StrCat(
      R"({"message": ")", std::string(1000, 'm'), R"(", "error": ")",
      std::string(1000, 'e'), R"(", "detail": ")", std::string(1000, 'd'),
      R"(", "errors": [)", errors, "]}");
  const grpc::Status s = MapUpstreamFailure(HttpResult(500, body));
  EXPECT_LE(s.error_message().size(), kMaxMessageBytes);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), std::string(500, 'm')));
  const std::map<std::string, std::string> metadata = Metadata(Decode(s));
  for (const char* key : {"upstream_message", "upstream_error",
                          "upstream_detail", "upstream_errors"}) {
    ASSERT_EQ(metadata.count(key), 1u) << key;
    const std::string& value = metadata.at(key);
    EXPECT_LE(value.size(), kMaxUpstreamMetadataBytes) << key;
    EXPECT_GE(value.size(), kMaxUpstreamMetadataBytes - 3) << key;
    EXPECT_TRUE(absl::EndsWith(value, "\xE2\x80\xA6")) << key;  // "…"
  }
  EXPECT_TRUE(absl::StartsWith(metadata.at("upstream_errors"),
                               std::string(50, 'r') + "0; "));
}

TEST(EnvelopeBoundsTest, ViolationsAreBounded) {
  std::string drf;
  for (int i = 0; i < 20; ++i) {
    absl::StrAppend(&drf, i ? "," : "", "\"d", i, "\"");
  }
  std::string errors;
  for (int i = 0; i < 32; ++i) {
    absl::StrAppend(&errors, i ? "," : "", "\"f_", i, ": bad\"");
  }
  const grpc::Status s = MapUpstreamFailure(HttpResult(
      400, absl::StrCat(R"({"first_name": [)", drf, R"(], "errors": [)",
                        errors, R"(], "error": "user_id is wrong"})")));
  const Violations got = ViolationsOf(Decode(s));
  ASSERT_EQ(got.size(), kMaxEnvelopeEntries);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(got[i], std::make_pair(std::string("first_name"),
                                     absl::StrCat("d", i)));
  }
  // Then "error", then the "errors" entries, until the cap.
  EXPECT_EQ(got[20], std::make_pair(std::string("user_id"),
                                    std::string("user_id is wrong")));
  EXPECT_EQ(got[21], std::make_pair(std::string("f_0"), std::string("bad")));
  EXPECT_EQ(got[31], std::make_pair(std::string("f_10"), std::string("bad")));
  EXPECT_LE(s.error_message().size(), kMaxMessageBytes);
}

// ---------------------------------------------------------------------------
// The API key never reaches a caller.

constexpr char kApiKey[] = "sk_live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c";

std::vector<std::string> ApiKeys() { return {kApiKey}; }

// Every text a caller can read from `s`: the message, the bytes of its
// details, and in the decoded details the message, every ErrorInfo string
// (reason, domain, metadata keys and values) and every BadRequest field and
// description.
std::vector<std::string> StatusTexts(const grpc::Status& s) {
  std::vector<std::string> texts = {s.error_message(), s.error_details()};
  google::rpc::Status status;
  EXPECT_TRUE(DecodeStatusDetails(s, &status));
  texts.push_back(status.message());
  for (const google::protobuf::Any& any : status.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad_request;
    if (any.UnpackTo(&info)) {
      texts.push_back(info.reason());
      texts.push_back(info.domain());
      for (const auto& [key, value] : info.metadata()) {
        texts.push_back(key);
        texts.push_back(value);
      }
    } else if (any.UnpackTo(&bad_request)) {
      for (const auto& v : bad_request.field_violations()) {
        texts.push_back(v.field());
        texts.push_back(v.description());
      }
    }
  }
  return texts;
}

// Fails when a text of `s` holds `secret` or any piece of it at least
// kMinSecretFragmentBytes long (every such piece holds one of the windows
// checked here).
void ExpectNoSecret(const grpc::Status& s, const std::string& secret) {
  for (const std::string& text : StatusTexts(s)) {
    for (size_t i = 0; i + kMinSecretFragmentBytes <= secret.size(); ++i) {
      const std::string piece = secret.substr(i, kMinSecretFragmentBytes);
      EXPECT_THAT(text, Not(HasSubstr(piece))) << "in: " << text;
    }
  }
}

bool ShowsRedaction(const grpc::Status& s) {
  for (const std::string& text : StatusTexts(s)) {
    if (absl::StrContains(text, "[REDACTED]")) return true;
  }
  return false;
}

struct SecretCase {
  std::string name;
  int http_status;
  std::string body;
};

std::ostream& operator<<(std::ostream& os, const SecretCase& c) {
  return os << c.name;
}

class SecretEchoTest : public testing::TestWithParam<SecretCase> {};

TEST_P(SecretEchoTest, KeyIsRedactedEverywhere) {
  const SecretCase& c = GetParam();
  const grpc::Status s =
      MapUpstreamFailure(HttpResult(c.http_status, c.body), ApiKeys());
  ExpectNoSecret(s, kApiKey);
  // The echoing text is kept (with the key replaced), not dropped.
  EXPECT_TRUE(ShowsRedaction(s)) << s.error_message();
}

std::string Key() { return kApiKey; }
std::string KeyPrefix(size_t n) { return Key().substr(0, n); }

INSTANTIATE_TEST_SUITE_P(
    Echoes, SecretEchoTest,
    testing::Values(
        SecretCase{"detail_401", 401,
                   absl::StrCat(R"({"detail": "Invalid token )", Key(),
                                "\"}")},
        SecretCase{"message_400", 400,
                   absl::StrCat(R"({"message": "Authorization: Token )",
                                Key(), " is malformed\"}")},
        SecretCase{"error_400", 400,
                   absl::StrCat(R"({"error": "key )", Key(),
                                " is not valid here\"}")},
        SecretCase{"errors_400", 400,
                   absl::StrCat(R"({"errors": ["key )", Key(),
                                R"( rejected", {"message": ")", Key(),
                                "\"}]}")},
        SecretCase{"drf_field_error", 400,
                   absl::StrCat(R"({"first_name": [")", Key(), "\"]}")},
        SecretCase{"drf_field_name", 400,
                   absl::StrCat("{\"", Key(), R"(": ["unknown field"]})")},
        SecretCase{"nested_field_422", 422,
                   absl::StrCat(R"({"profile": {")", Key(), R"(": ["x )",
                                Key(), "\"]}}")},
        SecretCase{"field_named_in_errors", 400,
                   absl::StrCat(R"({"errors": ["first_name: )", Key(),
                                "\"]}")},
        SecretCase{"field_named_in_error", 400,
                   absl::StrCat(R"({"error": "user_id )", Key(),
                                " unknown\"}")},
        SecretCase{"truncated_key", 401,
                   absl::StrCat(R"({"detail": "Invalid token )",
                                KeyPrefix(20), "...\"}")},
        SecretCase{"truncated_key_of_eight", 400,
                   absl::StrCat(R"({"first_name": [")", KeyPrefix(8),
                                "\"]}")},
        SecretCase{"middle_of_key", 403,
                   absl::StrCat(R"({"message": "key ending )",
                                Key().substr(20), "\"}")},
        SecretCase{"punctuation_around_key", 401,
                   absl::StrCat(R"({"detail": "token=')", Key(), R"('; (\")",
                                Key(), R"(\"), [)", Key(), "]: {", Key(),
                                "} `", Key(), "`, <", Key(), ">.\"}")},
        SecretCase{"json_escaped_key", 401,
                   absl::StrCat(R"({"detail": "Invalid token \u0073)",
                                Key().substr(1), "\"}")},
        SecretCase{"glued_to_text", 400,
                   absl::StrCat(R"({"message": "url?api_key=)", Key(),
                                "&x=1\"}")},
        SecretCase{"key_in_every_field", 400,
                   absl::StrCat(R"({"message": ")", Key(), R"(", "error": ")",
                                Key(), R"(", "detail": ")", Key(),
                                R"(", "errors": [")", Key(),
                                R"("], "first_name": [")", Key(), "\"]}")},
        SecretCase{"key_straddles_message_cut", 400,
                   absl::StrCat(R"({"message": ")", std::string(490, 'a'),
                                " ", Key(), "\"}")},
        SecretCase{"key_straddles_metadata_cut", 404,
                   absl::StrCat(R"({"message": ")", std::string(240, 'a'),
                                " ", Key(), "\"}")},
        SecretCase{"key_straddles_description_cut", 400,
                   absl::StrCat(R"({"first_name": [")", std::string(490, 'a'),
                                " ", Key(), "\"]}")},
        SecretCase{"key_in_huge_message_past_the_cut", 500,
                   absl::StrCat(R"({"message": ")", Key(), " ",
                                std::string(100000, 'x'), " ", Key(),
                                R"(", "errors": [")", std::string(5000, 'y'),
                                Key(), "\"]}")}),
    [](const testing::TestParamInfo<SecretCase>& info) {
      return info.param.name;
    });

TEST(SecretEchoTest, RedactedTextReadsNaturally) {
  const grpc::Status s = MapUpstreamFailure(
      HttpResult(401, absl::StrCat(R"({"detail": "Invalid token ')", Key(),
                                   R"('."})")),
      ApiKeys());
  EXPECT_EQ(s.error_message(),
            "upstream rejected the gateway's API key: Invalid token "
            "'[REDACTED]'.");
  EXPECT_EQ(Metadata(Decode(s)).at("upstream_detail"),
            "Invalid token '[REDACTED]'.");
}

TEST(SecretEchoTest, FieldNamedInErrorKeepsItsViolation) {
  const grpc::Status s = MapUpstreamFailure(
      HttpResult(400, absl::StrCat(R"({"errors": ["first_name: )", Key(),
                                   R"( is not a name"]})")),
      ApiKeys());
  EXPECT_EQ(ViolationsOf(Decode(s)),
            (Violations{{"first_name", "[REDACTED] is not a name"}}));
}

TEST(SecretEchoTest, EmptySecretsChangeNothing) {
  const std::string body = R"({"message": "plain text"})";
  const std::vector<std::string> empty = {""};
  const grpc::Status with = MapUpstreamFailure(HttpResult(400, body), empty);
  const grpc::Status without = MapUpstreamFailure(HttpResult(400, body));
  EXPECT_EQ(with.error_message(), "plain text");
  EXPECT_EQ(with.error_message(), without.error_message());
  EXPECT_EQ(Metadata(Decode(with)), Metadata(Decode(without)));
}

TEST(SecretEchoTest, TransportErrorDetailIsRedacted) {
  UpstreamResult r;
  r.error = TransportError::kProtocol;
  r.error_detail = absl::StrCat("bad header value 'Token ", Key(), "'");
  const grpc::Status s = MapUpstreamFailure(r, ApiKeys());
  ExpectNoSecret(s, kApiKey);
  EXPECT_EQ(s.error_message(),
            "malformed HTTP response from the upstream: bad header value "
            "'Token [REDACTED]'");
}

TEST(SecretEchoTest, MalformedResponseParseErrorIsRedacted) {
  const grpc::Status s = MalformedResponseStatus(
      HttpResult(200, "{}"), absl::StrCat("field '", Key(), "': unexpected"),
      ApiKeys());
  ExpectNoSecret(s, kApiKey);
  EXPECT_EQ(s.error_message(),
            "upstream returned a malformed response (HTTP 200): field "
            "'[REDACTED]': unexpected");
}

// ---------------------------------------------------------------------------
// The other constructors and decoding.

TEST(InvalidRequestStatusTest, CarriesEveryViolation) {
  const std::vector<FieldViolation> violations = {
      {"user_id", "must not be empty"},
      {"first_name", "must be at most 150 characters"},
      {"enterprise_id", "must not be empty"}};
  const grpc::Status s = InvalidRequestStatus(violations);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "invalid request: user_id: must not be empty; first_name: must be "
            "at most 150 characters; enterprise_id: must not be empty");
  const Details d = Decode(s);
  EXPECT_EQ(d.info.reason(), "INVALID_REQUEST");
  EXPECT_EQ(Metadata(d),
            (std::map<std::string, std::string>{{"attempts", "0"}}));
  EXPECT_FALSE(d.retry_info.has_value());
  ASSERT_TRUE(d.bad_request.has_value());
  ASSERT_EQ(d.bad_request->field_violations_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(d.bad_request->field_violations(i).field(), violations[i].field);
    EXPECT_EQ(d.bad_request->field_violations(i).description(),
              violations[i].description);
  }
}

TEST(InvalidRequestStatusTest, ManyViolationsAllInBadRequestMessageCapped) {
  std::vector<FieldViolation> violations;
  for (int i = 0; i < 100; ++i) {
    violations.push_back({absl::StrCat("field_", i), "is wrong in some way"});
  }
  const grpc::Status s = InvalidRequestStatus(violations);
  EXPECT_LE(s.error_message().size(), 512u);
  const Details d = Decode(s);
  ASSERT_TRUE(d.bad_request.has_value());
  EXPECT_EQ(d.bad_request->field_violations_size(), 100);
}

TEST(MalformedResponseStatusTest, InternalWithParseError) {
  UpstreamResult r = HttpResult(200, R"({"id": "seven"})", 2);
  const grpc::Status s =
      MalformedResponseStatus(r, "field 'id': expected an integer");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(s.error_message(),
            "upstream returned a malformed response (HTTP 200): field 'id': "
            "expected an integer");
  const Details d = Decode(s);
  EXPECT_EQ(d.info.reason(), "UPSTREAM_MALFORMED_RESPONSE");
  EXPECT_EQ(Metadata(d), (std::map<std::string, std::string>{
                             {"http_status", "200"}, {"attempts", "2"}}));
  EXPECT_THAT(s.error_message(), Not(HasSubstr("seven")));
}

TEST(DecodeStatusDetailsTest, RoundTrip) {
  UpstreamResult r = HttpResult(429, R"({"message": "slow down"})", 4);
  r.retry_after = absl::Seconds(2);
  const grpc::Status s = MapUpstreamFailure(r);
  google::rpc::Status decoded;
  ASSERT_TRUE(DecodeStatusDetails(s, &decoded));
  EXPECT_EQ(decoded.code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(decoded.message(), "slow down");
  ASSERT_EQ(decoded.details_size(), 2);
  EXPECT_EQ(decoded.details(0).type_url(),
            "type.googleapis.com/google.rpc.ErrorInfo");
  EXPECT_EQ(decoded.details(1).type_url(),
            "type.googleapis.com/google.rpc.RetryInfo");
}

struct TenantRefusalCase {
  TenantRefusal refusal;
  grpc::StatusCode code;
  const char* reason;
  bool retry_info;
};

TEST(TenantRefusalStatusTest, EveryRefusalHasItsCodeReasonAndDetails) {
  const TenantRefusalCase cases[] = {
      {TenantRefusal::kUnknownTenant, grpc::StatusCode::FAILED_PRECONDITION,
       "GATEWAY_UNKNOWN_TENANT", false},
      {TenantRefusal::kCallerNotAllowed, grpc::StatusCode::PERMISSION_DENIED,
       "GATEWAY_CALLER_NOT_ALLOWED", false},
      {TenantRefusal::kGateRateLimited, grpc::StatusCode::RESOURCE_EXHAUSTED,
       "GATEWAY_TENANT_RATE_LIMITED", true},
      {TenantRefusal::kGateUnavailable, grpc::StatusCode::UNAVAILABLE,
       "GATEWAY_TENANT_UNAVAILABLE", true},
      {TenantRefusal::kRequestRate, grpc::StatusCode::RESOURCE_EXHAUSTED,
       "GATEWAY_TENANT_QUOTA", true},
      {TenantRefusal::kCircuitOpen, grpc::StatusCode::UNAVAILABLE,
       "GATEWAY_CIRCUIT_OPEN", true},
      {TenantRefusal::kProbeInFlight, grpc::StatusCode::UNAVAILABLE,
       "GATEWAY_TENANT_PROBING", true},
  };
  for (const TenantRefusalCase& c : cases) {
    SCOPED_TRACE(c.reason);
    const grpc::Status s = TenantRefusalStatus(c.refusal, "acme", "why",
                                               absl::Milliseconds(1500));
    EXPECT_EQ(s.error_code(), c.code);
    EXPECT_THAT(s.error_message(), HasSubstr(": why"));
    google::rpc::Status decoded;
    ASSERT_TRUE(DecodeStatusDetails(s, &decoded));
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(decoded.details(0).UnpackTo(&info));
    EXPECT_EQ(info.reason(), c.reason);
    EXPECT_EQ(info.domain(), "usergateway.v1");
    EXPECT_EQ(info.metadata().at("tenant"), "acme");
    EXPECT_EQ(info.metadata().at("attempts"), "0");
    ASSERT_EQ(decoded.details_size(), c.retry_info ? 2 : 1);
    if (c.retry_info) {
      google::rpc::RetryInfo retry;
      ASSERT_TRUE(decoded.details(1).UnpackTo(&retry));
      EXPECT_EQ(retry.retry_delay().seconds(), 1);
      EXPECT_EQ(retry.retry_delay().nanos(), 500000000);
      EXPECT_EQ(info.metadata().at("retry_after_ms"), "1500");
    }
  }
}

TEST(TenantRefusalStatusTest, UnknownTenantNamesNoTenant) {
  const grpc::Status s = TenantRefusalStatus(TenantRefusal::kUnknownTenant,
                                             "", "", absl::ZeroDuration());
  google::rpc::Status decoded;
  ASSERT_TRUE(DecodeStatusDetails(s, &decoded));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(decoded.details(0).UnpackTo(&info));
  EXPECT_EQ(info.metadata().count("tenant"), 0u);
  EXPECT_EQ(s.error_message(),
            "no tenant is configured for this enterprise_id");
}

}  // namespace
}  // namespace usergateway
