#include "gateway/error_mapper.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/field_violation.h"
#include "gateway/upstream_types.h"
#include "gateway/utf8.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"
#include "simdjson.h"

namespace usergateway {
namespace {

namespace ondemand = simdjson::ondemand;

// ---------------------------------------------------------------------------
// Message sanitizing.

constexpr char32_t kReplacementChar = 0xFFFD;
constexpr absl::string_view kEllipsis = "\xE2\x80\xA6";  // "…"
constexpr absl::string_view kRedacted = "[REDACTED]";

bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Decodes the code point at s[i]. Returns the bytes it spans; invalid UTF-8
// decodes as U+FFFD spanning one byte.
size_t DecodeOrReplace(absl::string_view s, size_t i, char32_t* cp) {
  size_t length = DecodeUtf8(s, i, cp);
  if (length == 0) {
    *cp = kReplacementChar;
    return 1;
  }
  return length;
}

// Controls and line breaks of any kind: they would forge log lines or
// break single-line displays of the message.
bool IsControlOrSpace(char32_t cp) {
  return cp <= 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
         cp == 0x2028 || cp == 0x2029;
}

bool IsWordByte(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Replaces the token after each "Bearer " (any case, at a word start) with
// kRedacted. `s` has single spaces only (see SanitizeMessage).
std::string ScrubBearerTokens(const std::string& s) {
  constexpr absl::string_view kScheme = "bearer";
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const bool at_scheme =
        (i == 0 || !IsWordByte(s[i - 1])) && i + kScheme.size() < s.size() &&
        absl::EqualsIgnoreCase(absl::string_view(s).substr(i, kScheme.size()),
                               kScheme) &&
        s[i + kScheme.size()] == ' ';
    if (!at_scheme) {
      out.push_back(s[i++]);
      continue;
    }
    const size_t token_start = i + kScheme.size() + 1;
    size_t token_end = token_start;
    while (token_end < s.size() && s[token_end] != ' ') ++token_end;
    out.append(s, i, token_start - i);
    if (token_end > token_start) out.append(kRedacted.data(), kRedacted.size());
    i = token_end;
  }
  return out;
}

// Builds an ErrorInfo-bearing grpc::Status.
struct StatusParts {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string reason;
  std::string message;  // raw; sanitized when built
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<FieldViolation> violations;  // raw; sanitized when built
  bool bad_request = false;                // attach BadRequest
  std::optional<absl::Duration> retry_delay;
};

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  absl::Duration rem;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &rem);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::IDivDuration(
      rem, absl::Nanoseconds(1), &rem)));
}

grpc::Status Build(StatusParts parts) {
  const std::string message = SanitizeMessage(parts.message);

  google::rpc::ErrorInfo info;
  info.set_reason(parts.reason);
  info.set_domain(std::string(kErrorDomain));
  auto& metadata = *info.mutable_metadata();
  for (auto& [key, value] : parts.metadata) metadata[key] = std::move(value);

  std::optional<absl::Duration> delay = parts.retry_delay;
  if (delay.has_value()) {
    // Defensive: RetryInfo must never carry a negative or absurd delay.
    if (*delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
    if (*delay > absl::Hours(24)) delay = absl::Hours(24);
    metadata["retry_after_ms"] = absl::StrCat(absl::ToInt64Milliseconds(*delay));
  }

  google::rpc::Status status;
  status.set_code(static_cast<int32_t>(parts.code));
  status.set_message(message);
  status.add_details()->PackFrom(info);
  if (parts.bad_request) {
    google::rpc::BadRequest bad_request;
    for (const FieldViolation& v : parts.violations) {
      google::rpc::BadRequest::FieldViolation* out =
          bad_request.add_field_violations();
      out->set_field(SanitizeMessage(v.field, kMaxFieldPathBytes));
      out->set_description(SanitizeMessage(v.description));
    }
    status.add_details()->PackFrom(bad_request);
  }
  if (delay.has_value()) {
    google::rpc::RetryInfo retry_info;
    SetDuration(*delay, retry_info.mutable_retry_delay());
    status.add_details()->PackFrom(retry_info);
  }
  return grpc::Status(parts.code, message, status.SerializeAsString());
}

// ---------------------------------------------------------------------------
// Envelope parsing. Every helper returns false only when the document itself
// is broken (truncated, invalid); a value of an unexpected type is skipped.

// Reads a string value, or a non-string scalar as nothing.
std::optional<std::string> ReadString(ondemand::value& value) {
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
  return std::string(text);
}

// Reads an integer value, or a string of digits ("400").
std::optional<int64_t> ReadInt(ondemand::value& value) {
  ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return std::nullopt;
  if (type == ondemand::json_type::number) {
    int64_t n = 0;
    if (value.get_int64().get(n) != simdjson::SUCCESS) return std::nullopt;
    return n;
  }
  if (type == ondemand::json_type::string) {
    std::optional<std::string> text = ReadString(value);
    int64_t n = 0;
    if (text.has_value() && !text->empty() &&
        absl::ascii_isdigit(static_cast<unsigned char>(text->front())) &&
        absl::SimpleAtoi(*text, &n)) {
      return n;
    }
  }
  return std::nullopt;
}

// From an object like {"message": "..."} or {"detail": "..."}, the first
// such string. Sets *ok to false on a broken document.
std::optional<std::string> ReadObjectMessage(ondemand::value& value,
                                             bool* ok) {
  ondemand::object object;
  if (value.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
  std::optional<std::string> found;
  for (auto field_result : object) {
    ondemand::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      *ok = false;
      return std::nullopt;
    }
    if (!found.has_value() && (key == "message" || key == "detail")) {
      found = ReadString(field.value());
    }
  }
  return found;
}

// A string, or an object with a message: one `errors` entry.
bool AddErrorEntry(ondemand::value& value, std::vector<std::string>* out) {
  ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  std::optional<std::string> text;
  bool ok = true;
  if (type == ondemand::json_type::string) {
    text = ReadString(value);
  } else if (type == ondemand::json_type::object) {
    text = ReadObjectMessage(value, &ok);
  }
  if (text.has_value() && out->size() < kMaxEnvelopeEntries) {
    out->push_back(std::move(*text));
  }
  return ok;
}

// "errors"/"non_field_errors": an array of entries, or one string.
bool AddErrorList(ondemand::value& value, std::vector<std::string>* out) {
  ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  if (type != ondemand::json_type::array) return AddErrorEntry(value, out);
  ondemand::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) return false;
  for (auto element_result : array) {
    ondemand::value element;
    if (std::move(element_result).get(element) != simdjson::SUCCESS) return false;
    if (!AddErrorEntry(element, out)) return false;
  }
  return true;
}

constexpr int kMaxFieldErrorDepth = 3;

// DRF validation errors: `path` is an array of strings (one violation
// each) or an object of such arrays (nested serializer).
bool AddFieldErrors(ondemand::value& value, const std::string& path,
                    int depth, std::vector<FieldViolation>* out) {
  ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  if (type == ondemand::json_type::array) {
    ondemand::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) return false;
    for (auto element_result : array) {
      ondemand::value element;
      if (std::move(element_result).get(element) != simdjson::SUCCESS) return false;
      ondemand::json_type element_type;
      if (element.type().get(element_type) != simdjson::SUCCESS) return false;
      if (element_type != ondemand::json_type::string) continue;
      std::optional<std::string> text = ReadString(element);
      if (text.has_value() && out->size() < kMaxEnvelopeEntries) {
        out->push_back(FieldViolation{path, std::move(*text)});
      }
    }
    return true;
  }
  if (type == ondemand::json_type::object && depth < kMaxFieldErrorDepth) {
    ondemand::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) return false;
    for (auto field_result : object) {
      ondemand::field field;
      std::string_view key;
      if (std::move(field_result).get(field) != simdjson::SUCCESS ||
          field.unescaped_key().get(key) != simdjson::SUCCESS) {
        return false;
      }
      const std::string child =
          absl::StrCat(path, ".", absl::string_view(key.data(), key.size()));
      if (!AddFieldErrors(field.value(), child, depth + 1, out)) return false;
    }
  }
  return true;
}

bool ParseEnvelopeFields(ondemand::object& object, ErrorEnvelope* env) {
  for (auto field_result : object) {
    ondemand::field field;
    std::string_view key_view;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key_view) != simdjson::SUCCESS) {
      return false;
    }
    const std::string key(key_view);
    ondemand::value& value = field.value();
    bool ok = true;
    if (key == "status") {
      env->status = ReadInt(value);
    } else if (key == "code") {
      env->code = ReadInt(value);
    } else if (key == "message") {
      env->message = ReadString(value);
    } else if (key == "detail") {
      env->detail = ReadString(value);
    } else if (key == "error") {
      // Usually a string; some APIs nest {"error": {"message": "..."}}.
      ondemand::json_type type;
      if (value.type().get(type) != simdjson::SUCCESS) return false;
      env->error = type == ondemand::json_type::object
                       ? ReadObjectMessage(value, &ok)
                       : ReadString(value);
    } else if (key == "errors" || key == "non_field_errors") {
      ok = AddErrorList(value, &env->errors);
    } else {
      ok = AddFieldErrors(value, key, 1, &env->field_errors);
    }
    if (!ok) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// The table.

struct HttpRow {
  grpc::StatusCode code;
  absl::string_view reason;
  absl::string_view phrase;  // for the generic message
};

HttpRow HttpMapping(int http_status) {
  switch (http_status) {
    case 400:
      return {grpc::StatusCode::INVALID_ARGUMENT, "UPSTREAM_INVALID_ARGUMENT",
              "Bad Request"};
    case 422:
      return {grpc::StatusCode::INVALID_ARGUMENT, "UPSTREAM_INVALID_ARGUMENT",
              "Unprocessable Entity"};
    case 401:
      return {grpc::StatusCode::UNAUTHENTICATED, "UPSTREAM_UNAUTHENTICATED",
              "Unauthorized"};
    case 403:
      return {grpc::StatusCode::PERMISSION_DENIED,
              "UPSTREAM_PERMISSION_DENIED", "Forbidden"};
    case 404:
      return {grpc::StatusCode::NOT_FOUND, "UPSTREAM_NOT_FOUND", "Not Found"};
    case 408:
      return {grpc::StatusCode::UNAVAILABLE, "UPSTREAM_REQUEST_TIMEOUT",
              "Request Timeout"};
    case 409:
      return {grpc::StatusCode::ABORTED, "UPSTREAM_CONFLICT", "Conflict"};
    case 412:
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "UPSTREAM_PRECONDITION_FAILED", "Precondition Failed"};
    case 429:
      return {grpc::StatusCode::RESOURCE_EXHAUSTED, "UPSTREAM_RATE_LIMITED",
              "Too Many Requests"};
    case 499:
      return {grpc::StatusCode::CANCELLED, "UPSTREAM_CLIENT_CLOSED_REQUEST",
              "Client Closed Request"};
    case 500:
      return {grpc::StatusCode::INTERNAL, "UPSTREAM_INTERNAL_ERROR",
              "Internal Server Error"};
    case 501:
      return {grpc::StatusCode::UNIMPLEMENTED, "UPSTREAM_NOT_IMPLEMENTED",
              "Not Implemented"};
    case 502:
      return {grpc::StatusCode::UNAVAILABLE, "UPSTREAM_UNAVAILABLE",
              "Bad Gateway"};
    case 503:
      return {grpc::StatusCode::UNAVAILABLE, "UPSTREAM_UNAVAILABLE",
              "Service Unavailable"};
    case 504:
      return {grpc::StatusCode::DEADLINE_EXCEEDED, "UPSTREAM_GATEWAY_TIMEOUT",
              "Gateway Timeout"};
  }
  if (http_status >= 300 && http_status < 400) {
    // The gateway never follows redirects: they would carry the API key.
    return {grpc::StatusCode::UNKNOWN, "UPSTREAM_UNEXPECTED_STATUS",
            "redirects are not followed"};
  }
  return {grpc::StatusCode::UNKNOWN, "UPSTREAM_UNEXPECTED_STATUS", ""};
}

// Where Retry-After means "try again later" (RFC 9110 10.2.3, RFC 6585).
bool HonoursRetryAfter(int http_status) {
  return http_status == 429 || http_status == 502 || http_status == 503;
}

struct TransportRow {
  grpc::StatusCode code;
  absl::string_view reason;
  absl::string_view text;
};

TransportRow TransportMapping(TransportError error) {
  switch (error) {
    case TransportError::kDns:
      return {grpc::StatusCode::UNAVAILABLE, "UPSTREAM_DNS_FAILURE",
              "could not resolve the upstream host"};
    case TransportError::kConnect:
      return {grpc::StatusCode::UNAVAILABLE, "UPSTREAM_CONNECT_FAILURE",
              "could not connect to the upstream"};
    case TransportError::kConnectionReset:
      return {grpc::StatusCode::UNAVAILABLE, "UPSTREAM_CONNECTION_RESET",
              "upstream connection was reset"};
    case TransportError::kTlsHandshake:
      return {grpc::StatusCode::UNAVAILABLE, "UPSTREAM_TLS_HANDSHAKE_FAILURE",
              "TLS handshake with the upstream failed"};
    case TransportError::kTlsUntrusted:
      return {grpc::StatusCode::UNAVAILABLE, "UPSTREAM_TLS_UNTRUSTED",
              "upstream TLS certificate is not trusted"};
    case TransportError::kHttp2:
      return {grpc::StatusCode::UNAVAILABLE, "UPSTREAM_HTTP2_ERROR",
              "HTTP/2 error talking to the upstream"};
    case TransportError::kProtocol:
      return {grpc::StatusCode::UNAVAILABLE, "UPSTREAM_PROTOCOL_ERROR",
              "malformed HTTP response from the upstream"};
    case TransportError::kDeadlineExceeded:
      return {grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED",
              "deadline exceeded before the upstream responded"};
    case TransportError::kCancelled:
      return {grpc::StatusCode::CANCELLED, "CALLER_CANCELLED",
              "the call was cancelled by the caller"};
    case TransportError::kResponseTooLarge:
      return {grpc::StatusCode::INTERNAL, "UPSTREAM_RESPONSE_TOO_LARGE",
              "upstream response body exceeds the gateway's size limit"};
    case TransportError::kOverloaded:
      return {grpc::StatusCode::UNAVAILABLE, "GATEWAY_OVERLOADED",
              "gateway is overloaded; retry later"};
    case TransportError::kDraining:
      return {grpc::StatusCode::UNAVAILABLE, "GATEWAY_DRAINING",
              "gateway is shutting down; retry on another instance"};
    case TransportError::kInternal:
    case TransportError::kNone:
      break;
  }
  return {grpc::StatusCode::INTERNAL, "GATEWAY_INTERNAL",
          "gateway internal error"};
}

// The first of message, error, detail, errors, field errors that has any
// visible text after sanitizing; empty if none.
std::string EnvelopeText(const ErrorEnvelope& env) {
  for (const std::optional<std::string>* candidate :
       {&env.message, &env.error, &env.detail}) {
    if (candidate->has_value() && !SanitizeMessage(**candidate).empty()) {
      return **candidate;
    }
  }
  std::string joined;
  for (const std::string& e : env.errors) {
    if (SanitizeMessage(e).empty()) continue;
    if (!joined.empty()) joined += "; ";
    joined += e;
    if (joined.size() > 4 * kMaxMessageBytes) break;  // cut later anyway
  }
  if (!joined.empty()) return joined;
  for (const FieldViolation& v : env.field_errors) {
    if (!joined.empty()) joined += "; ";
    absl::StrAppend(&joined, v.field, ": ", v.description);
    if (joined.size() > 4 * kMaxMessageBytes) break;
  }
  return joined;
}

std::string GenericHttpText(int http_status, absl::string_view phrase) {
  if (phrase.empty()) return absl::StrCat("upstream returned HTTP ", http_status);
  return absl::StrCat("upstream returned HTTP ", http_status, " (", phrase,
                      ")");
}

void AddCommonMetadata(const UpstreamResult& result, StatusParts* parts) {
  if (result.http_status != 0) {
    parts->metadata.emplace_back("http_status",
                                 absl::StrCat(result.http_status));
  }
  parts->metadata.emplace_back("attempts", absl::StrCat(result.attempts));
  if (result.error != TransportError::kNone) {
    parts->metadata.emplace_back(
        "transport_error", std::string(TransportErrorName(result.error)));
  }
}

grpc::Status MapTransportFailure(const UpstreamResult& result) {
  const TransportRow row = TransportMapping(result.error);
  StatusParts parts;
  parts.code = row.code;
  parts.reason = std::string(row.reason);
  parts.message = std::string(row.text);
  if (!result.error_detail.empty()) {
    absl::StrAppend(&parts.message, ": ", result.error_detail);
  }
  AddCommonMetadata(result, &parts);
  if (result.error == TransportError::kOverloaded ||
      result.error == TransportError::kDraining) {
    parts.retry_delay = result.retry_after.value_or(kDefaultOverloadRetryDelay);
  }
  return Build(std::move(parts));
}

}  // namespace

std::string SanitizeMessage(absl::string_view text, size_t max_bytes) {
  if (max_bytes < kEllipsis.size()) max_bytes = kEllipsis.size();
  // Work on a bounded prefix: scrubbing can grow the text ("Bearer a" to
  // "Bearer [REDACTED]") or shrink it, so keep a margin past max_bytes.
  const size_t collect_limit = 4 * max_bytes + 64;
  std::string clean;
  clean.reserve(std::min(text.size(), collect_limit));
  bool pending_space = false;
  bool cut = false;
  size_t i = 0;
  while (i < text.size()) {
    if (clean.size() >= collect_limit) {
      cut = true;
      break;
    }
    char32_t cp;
    const size_t len = DecodeOrReplace(text, i, &cp);
    if (IsControlOrSpace(cp)) {
      pending_space = !clean.empty();
    } else {
      if (pending_space) clean.push_back(' ');
      pending_space = false;
      if (cp == kReplacementChar && len == 1) {
        clean.append("\xEF\xBF\xBD");
      } else {
        clean.append(text.data() + i, len);
      }
    }
    i += len;
  }

  std::string out = ScrubBearerTokens(clean);
  if (!cut && out.size() <= max_bytes) return out;

  size_t keep = std::min(out.size(), max_bytes - kEllipsis.size());
  while (keep > 0 && keep < out.size() &&
         IsContinuation(static_cast<unsigned char>(out[keep]))) {
    --keep;
  }
  out.resize(keep);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  out.append(kEllipsis.data(), kEllipsis.size());
  return out;
}

ErrorEnvelope ParseErrorEnvelope(absl::string_view body) {
  ErrorEnvelope env;
  // Cheap rejection of HTML and other non-object bodies before copying.
  absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(body);
  if (trimmed.empty() || trimmed.front() != '{') return env;

  const simdjson::padded_string padded(body.data(), body.size());
  ondemand::parser parser;
  ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return env;
  ondemand::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return env;
  if (!ParseEnvelopeFields(object, &env)) return ErrorEnvelope();
  // Content after the object ("{...} junk") means this is not the JSON we
  // think it is. current_location() is out of bounds exactly at the end.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return ErrorEnvelope();
  }
  env.is_json = true;
  return env;
}

grpc::Status MapUpstreamFailure(const UpstreamResult& result) {
  if (result.error != TransportError::kNone) {
    return MapTransportFailure(result);
  }
  const int http = result.http_status;
  if (http == 0 || (http >= 200 && http < 300)) {
    // A caller bug: there is nothing to map. Say so rather than guess.
    StatusParts parts;
    parts.code = grpc::StatusCode::INTERNAL;
    parts.reason = "GATEWAY_INTERNAL";
    parts.message =
        http == 0 ? "gateway internal error: upstream call ended without a "
                    "response"
                  : absl::StrCat("gateway internal error: successful upstream "
                                 "response (HTTP ",
                                 http, ") reported as a failure");
    AddCommonMetadata(result, &parts);
    return Build(std::move(parts));
  }

  const HttpRow row = HttpMapping(http);
  const ErrorEnvelope env = ParseErrorEnvelope(result.body);

  StatusParts parts;
  parts.code = row.code;
  parts.reason = std::string(row.reason);
  AddCommonMetadata(result, &parts);
  if (env.status.has_value()) {
    parts.metadata.emplace_back("upstream_status", absl::StrCat(*env.status));
  }
  if (env.code.has_value()) {
    parts.metadata.emplace_back("upstream_code", absl::StrCat(*env.code));
  }

  std::string text = EnvelopeText(env);
  if (text.empty()) text = GenericHttpText(http, row.phrase);
  if (http == 401) {
    // Callers send no credentials: the refused one is the gateway's key,
    // which only an operator can fix.
    parts.metadata.emplace_back("credentials", "gateway_api_key");
    text = absl::StrCat("upstream rejected the gateway's API key: ", text);
  }
  parts.message = std::move(text);

  if ((http == 400 || http == 422) && !env.field_errors.empty()) {
    parts.bad_request = true;
    parts.violations = env.field_errors;
  }
  if (HonoursRetryAfter(http) && result.retry_after.has_value()) {
    parts.retry_delay = result.retry_after;
  }
  return Build(std::move(parts));
}

grpc::Status MalformedResponseStatus(const UpstreamResult& result,
                                     absl::string_view parse_error) {
  StatusParts parts;
  parts.code = grpc::StatusCode::INTERNAL;
  parts.reason = "UPSTREAM_MALFORMED_RESPONSE";
  parts.message = absl::StrCat("upstream returned a malformed response (HTTP ",
                               result.http_status, ")");
  if (!parse_error.empty()) absl::StrAppend(&parts.message, ": ", parse_error);
  AddCommonMetadata(result, &parts);
  return Build(std::move(parts));
}

grpc::Status InvalidRequestStatus(
    const std::vector<FieldViolation>& violations) {
  StatusParts parts;
  parts.code = grpc::StatusCode::INVALID_ARGUMENT;
  parts.reason = "INVALID_REQUEST";
  parts.message = "invalid request";
  for (size_t i = 0; i < violations.size(); ++i) {
    absl::StrAppend(&parts.message, i == 0 ? ": " : "; ", violations[i].field,
                    ": ", violations[i].description);
    if (parts.message.size() > 4 * kMaxMessageBytes) break;  // cut anyway
  }
  parts.metadata.emplace_back("attempts", "0");
  parts.bad_request = true;
  parts.violations = violations;
  return Build(std::move(parts));
}

bool DecodeStatusDetails(const grpc::Status& status,
                         google::rpc::Status* out) {
  if (status.error_details().empty()) return false;
  google::rpc::Status decoded;
  if (!decoded.ParseFromString(status.error_details())) return false;
  if (decoded.code() != static_cast<int32_t>(status.error_code())) return false;
  *out = std::move(decoded);
  return true;
}

}  // namespace usergateway
