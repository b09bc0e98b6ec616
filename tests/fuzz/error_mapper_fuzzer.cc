// Fuzz target: an upstream error reply through the error envelope parser,
// the message sanitizer, the secret redactor and MapUpstreamFailure
// (gateway/response/error_mapper.h and the headers it names).
//
// Input: "<HTTP status>\n<body>", the status as 1 to 3 decimal digits; an
// input without such a first line is a body answered with 400. The API key
// in use is one of kSecrets (picked by the body's length), and the seeds
// and the dictionary plant it in bodies. Properties:
//   - envelope: a body that is not JSON sets nothing; at most
//     kMaxEnvelopeEntries errors and field errors;
//   - SanitizeMessage(body, cap) for a cap from the input: at most
//     max(cap, 3) bytes, valid UTF-8, no control characters, single spaces,
//     trimmed, and every "Bearer " at a word start followed by [REDACTED];
//   - SecretRedactor: no 8-byte piece of the key survives Redact(), and a
//     text without one comes back unchanged;
//   - MapUpstreamFailure: the code is the error table's for the status
//     (INTERNAL for 2xx), the details decode with the same code, message
//     and the table's reason; the message, every metadata value and every
//     violation are valid UTF-8 without control characters and within
//     their byte caps; no 8-byte piece of the key appears in any of those
//     texts; RetryInfo exactly when the status
//     honours Retry-After and one was given; a non-JSON body is never
//     echoed; the mapping is deterministic.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/response/error_envelope.h"
#include "gateway/response/error_mapper.h"
#include "gateway/response/error_table.h"
#include "gateway/response/message_sanitizer.h"
#include "gateway/response/secret_redactor.h"
#include "gateway/response/status_details.h"
#include "gateway/upstream/upstream_types.h"
#include "google/rpc/error_details.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/text_properties.h"

namespace usergateway {
namespace fuzz {
namespace {

// API keys as an upstream might echo them: a typical one, one with the
// characters JSON and URLs escape, and one of exactly the fragment length.
const std::string kSecrets[] = {
    "sk_live_Fz9Q2wXr7LmN4pKd8TbV",
    R"(k3y"with\quote/and%2Fslash)",
    "AbCdEfGh",
};

struct FuzzInput {
  int http_status = 400;
  absl::string_view body;
};

FuzzInput ReadInput(absl::string_view data) {
  FuzzInput in;
  in.body = data;
  const size_t newline = data.find('\n');
  if (newline == 0 || newline == absl::string_view::npos || newline > 3) {
    return in;
  }
  int status = 0;
  const absl::string_view digits = data.substr(0, newline);
  if (digits.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(digits, &status)) {
    return in;
  }
  in.http_status = status;
  in.body = data.substr(newline + 1);
  return in;
}

// Valid UTF-8, no control character, at most `cap` bytes, no piece of
// `secret`.
void CheckText(absl::string_view what, absl::string_view text, size_t cap,
               absl::string_view secret) {
  const std::string detail = absl::StrCat(what, " ", Quote(text));
  FUZZ_CHECK(text.size() <= cap, absl::StrCat(detail, " over ", cap, " bytes"));
  FUZZ_CHECK(IsValidUtf8(text), detail);
  FUZZ_CHECK(!HasControlCharacter(text), detail);
  FUZZ_CHECK(!FindSecretPiece(text, secret).has_value(),
             absl::StrCat(detail, " holds a piece of the API key"));
}

void CheckEnvelope(const ErrorEnvelope& env, absl::string_view body) {
  FUZZ_CHECK(env.errors.size() <= kMaxEnvelopeEntries,
             absl::StrCat(env.errors.size(), " errors"));
  FUZZ_CHECK(env.field_errors.size() <= kMaxEnvelopeEntries,
             absl::StrCat(env.field_errors.size(), " field errors"));
  if (env.is_json) {
    const absl::string_view trimmed = absl::StripAsciiWhitespace(body);
    FUZZ_CHECK(absl::StartsWith(trimmed, "{") && absl::EndsWith(trimmed, "}"),
               "is_json for a body that is not one object");
    return;
  }
  FUZZ_CHECK(!env.status.has_value() && !env.code.has_value() &&
                 !env.error.has_value() && !env.message.has_value() &&
                 !env.detail.has_value() && env.errors.empty() &&
                 env.field_errors.empty(),
             "a body that is not JSON set envelope fields");
}

void CheckSanitized(absl::string_view input, size_t cap) {
  const std::string out = SanitizeMessage(input, cap);
  const size_t limit = cap < 3 ? 3 : cap;
  const std::string detail = absl::StrCat("cap ", cap, ": ", Quote(out));
  FUZZ_CHECK(out.size() <= limit, detail);
  FUZZ_CHECK(IsValidUtf8(out), detail);
  FUZZ_CHECK(!HasControlCharacter(out), detail);
  FUZZ_CHECK(out.find("  ") == std::string::npos, detail);
  FUZZ_CHECK(out.empty() || (out.front() != ' ' && out.back() != ' '), detail);
  const std::string lower = absl::AsciiStrToLower(out);
  constexpr absl::string_view kEllipsis = "\xE2\x80\xA6";
  for (size_t at = lower.find("bearer "); at != std::string::npos;
       at = lower.find("bearer ", at + 1)) {
    if (at > 0 && (absl::ascii_isalnum(static_cast<unsigned char>(
                       lower[at - 1])) ||
                   lower[at - 1] == '_')) {
      continue;
    }
    // The token is [REDACTED], or was cut inside it.
    absl::string_view token = absl::string_view(out).substr(at + 7);
    const bool cut = absl::EndsWith(token, kEllipsis) &&
                     absl::StartsWith(kRedactedText,
                                      token.substr(0, token.size() - 3));
    FUZZ_CHECK(absl::StartsWith(token, kRedactedText) || cut,
               absl::StrCat("a Bearer token survived: ", detail));
  }
}

void CheckRedactor(absl::string_view body, const std::string& secret) {
  const SecretRedactor redactor({secret});
  const std::string out = redactor.Redact(body);
  FUZZ_CHECK(!FindSecretPiece(out, secret).has_value(),
             absl::StrCat("Redact() left a piece of the key: ", Quote(out)));
  if (!FindSecretPiece(body, secret).has_value()) {
    FUZZ_CHECK(out == body, absl::StrCat("Redact() changed a text without "
                                         "the key: ",
                                         Quote(out)));
  }
}

void CheckStatus(const grpc::Status& status, const UpstreamResult& result,
                 const ErrorEnvelope& env, const std::string& secret) {
  const int http = result.http_status;
  const bool success = http == 0 || (http >= 200 && http < 300);
  const HttpErrorRow row = LookupHttpStatus(http);
  const grpc::StatusCode want =
      success ? grpc::StatusCode::INTERNAL : row.code;
  FUZZ_CHECK(status.error_code() == want,
             absl::StrCat("HTTP ", http, " gave code ", status.error_code(),
                          ", the table says ", want));
  CheckText("message", status.error_message(), kMaxMessageBytes, secret);
  if (!success && !env.is_json) {
    std::string generic = GenericHttpText(http);
    if (http == 401) {
      generic = absl::StrCat("upstream rejected the gateway's API key: ",
                             generic);
    }
    FUZZ_CHECK(status.error_message() == generic,
               absl::StrCat("a body that is not JSON was echoed: ",
                            Quote(status.error_message())));
  }

  google::rpc::Status details;
  FUZZ_CHECK(DecodeStatusDetails(status, &details), "details do not decode");
  FUZZ_CHECK(details.message() == status.error_message(),
             Quote(details.message()));
  bool has_error_info = false;
  bool has_retry_info = false;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad_request;
    if (any.UnpackTo(&info)) {
      has_error_info = true;
      if (!success) {
        FUZZ_CHECK(info.reason() == row.reason, Quote(info.reason()));
      }
      FUZZ_CHECK(info.domain() == kErrorDomain, Quote(info.domain()));
      for (const auto& [key, value] : info.metadata()) {
        const size_t cap = absl::StartsWith(key, "upstream_")
                               ? kMaxUpstreamMetadataBytes
                               : kMaxMessageBytes;
        CheckText(absl::StrCat("metadata ", key), value, cap, secret);
      }
      if (http != 0) {
        const auto it = info.metadata().find("http_status");
        FUZZ_CHECK(it != info.metadata().end() &&
                       it->second == absl::StrCat(http),
                   "http_status metadata missing or wrong");
      }
    } else if (any.UnpackTo(&bad_request)) {
      for (const auto& v : bad_request.field_violations()) {
        CheckText("violation field", v.field(), kMaxFieldPathBytes, secret);
        CheckText("violation description", v.description(), kMaxMessageBytes,
                  secret);
      }
    } else if (any.Is<google::rpc::RetryInfo>()) {
      has_retry_info = true;
    }
  }
  FUZZ_CHECK(has_error_info, "no ErrorInfo");
  const bool want_retry_info = !success && row.honours_retry_after &&
                               result.retry_after.has_value();
  FUZZ_CHECK(has_retry_info == want_retry_info,
             absl::StrCat("RetryInfo ", has_retry_info, " for HTTP ", http));
}

}  // namespace
}  // namespace fuzz
}  // namespace usergateway

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fuzz = ::usergateway::fuzz;
  using ::usergateway::UpstreamResult;
  const fuzz::FuzzInput in =
      fuzz::ReadInput(absl::string_view(reinterpret_cast<const char*>(data),
                                        size));
  const std::string& secret =
      fuzz::kSecrets[in.body.size() % (sizeof(fuzz::kSecrets) /
                                       sizeof(fuzz::kSecrets[0]))];

  const usergateway::ErrorEnvelope env =
      usergateway::ParseErrorEnvelope(in.body);
  fuzz::CheckEnvelope(env, in.body);
  fuzz::CheckSanitized(in.body, static_cast<size_t>(in.http_status) % 600);
  fuzz::CheckRedactor(in.body, secret);

  UpstreamResult result;
  result.http_status = in.http_status;
  result.body = std::string(in.body);
  result.attempts = 1 + in.http_status % 4;
  if (in.body.size() % 2 == 1) result.retry_after = absl::Seconds(3);
  const grpc::Status status = usergateway::MapUpstreamFailure(result, {secret});
  fuzz::CheckStatus(status, result, env, secret);

  // The same details, compared as messages: ErrorInfo.metadata is a map,
  // whose serialized order protobuf does not fix.
  const grpc::Status again = usergateway::MapUpstreamFailure(result, {secret});
  google::rpc::Status details;
  google::rpc::Status details_again;
  FUZZ_CHECK(again.error_code() == status.error_code() &&
                 again.error_message() == status.error_message() &&
                 usergateway::DecodeStatusDetails(status, &details) &&
                 usergateway::DecodeStatusDetails(again, &details_again) &&
                 google::protobuf::util::MessageDifferencer::Equals(
                     details, details_again),
             "MapUpstreamFailure is not deterministic");
  return 0;
}
