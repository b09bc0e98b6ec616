#include "gateway/response/error_mapper.h"

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gateway/common/field_violation.h"
#include "gateway/response/response_test_util.h"
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
      {"upstream_status", absl::StrCat(c.http_status)}};
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
                     "error message", {{"upstream_status", "400"}}},
        EnvelopeCase{"code_and_error", 403,
                     R"({"code": 403, "error": "Key is read-only"})",
                     "Key is read-only", {{"upstream_code", "403"}}},
        EnvelopeCase{"status_and_errors", 400,
                     R"({"status": 400, "errors": ["Bad name", "Too long"]})",
                     "Bad name; Too long", {{"upstream_status", "400"}}},
        EnvelopeCase{"message_beats_error", 400,
                     R"({"error": "e", "message": "m", "detail": "d"})", "m",
                     {}},
        EnvelopeCase{"error_beats_detail", 400,
                     R"({"errors": ["x"], "error": "e", "detail": "d"})", "e",
                     {}},
        EnvelopeCase{"detail_beats_errors", 400,
                     R"({"errors": ["x"], "detail": "d"})", "d", {}},
        EnvelopeCase{"drf_detail_401", 401,
                     R"({"detail": "Authentication credentials were not provided."})",
                     "upstream rejected the gateway's API key: Authentication "
                     "credentials were not provided.",
                     {}},
        EnvelopeCase{"empty_message_falls_through", 400,
                     R"({"message": "", "error": " \n ", "detail": "d"})", "d",
                     {}},
        EnvelopeCase{"null_and_wrong_types_ignored", 400,
                     R"({"message": null, "error": 5, "detail": ["x"], "status": true, "errors": ["real"]})",
                     "real", {}},
        EnvelopeCase{"status_as_digit_string", 400,
                     R"({"status": "400", "message": "m"})", "m",
                     {{"upstream_status", "400"}}},
        EnvelopeCase{"status_as_word_ignored", 500,
                     R"({"status": "error", "message": "m"})", "m", {}},
        EnvelopeCase{"code_as_word_ignored", 404,
                     R"({"code": "not_found", "message": "m"})", "m", {}},
        EnvelopeCase{"both_status_and_code", 409,
                     R"({"status": 409, "code": 1001, "message": "m"})", "m",
                     {{"upstream_status", "409"}, {"upstream_code", "1001"}}},
        EnvelopeCase{"nested_error_object", 500,
                     R"({"error": {"code": 13, "message": "nested"}})",
                     "nested", {}},
        EnvelopeCase{"errors_objects_and_strings", 400,
                     R"({"errors": [{"message": "obj"}, 5, null, "str", {"x": 1}]})",
                     "obj; str", {}},
        EnvelopeCase{"errors_as_one_string", 400, R"({"errors": "only one"})",
                     "only one", {}},
        EnvelopeCase{"drf_non_field_errors", 400,
                     R"({"non_field_errors": ["Bad combination."]})",
                     "Bad combination.", {}},
        EnvelopeCase{"escaped_text", 400,
                     R"({"message": "caf\u00e9 \"quoted\" \\ done"})",
                     "caf\xC3\xA9 \"quoted\" \\ done", {}},
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
  EXPECT_EQ(s.error_message(), "Validation failed");
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

}  // namespace
}  // namespace usergateway
