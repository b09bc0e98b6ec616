#include "gateway/response/error_mapper.h"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/common/field_violation.h"
#include "gateway/response/error_envelope.h"
#include "gateway/response/error_table.h"
#include "gateway/response/message_sanitizer.h"
#include "gateway/response/status_details.h"
#include "gateway/upstream/upstream_types.h"
#include "grpcpp/support/status.h"

namespace usergateway {
namespace {

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
  const TransportErrorRow row = LookupTransportError(result.error);
  StatusParts parts;
  parts.code = row.code;
  parts.reason = std::string(row.reason);
  parts.message = std::string(row.text);
  if (!result.error_detail.empty()) {
    absl::StrAppend(&parts.message, ": ", result.error_detail);
  }
  AddCommonMetadata(result, &parts);
  if (row.retry_later) {
    parts.retry_delay = result.retry_after.value_or(kDefaultOverloadRetryDelay);
  }
  return BuildStatus(std::move(parts));
}

}  // namespace

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
    return BuildStatus(std::move(parts));
  }

  const HttpErrorRow row = LookupHttpStatus(http);
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
  if (text.empty()) text = GenericHttpText(http);
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
  if (row.honours_retry_after && result.retry_after.has_value()) {
    parts.retry_delay = result.retry_after;
  }
  return BuildStatus(std::move(parts));
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
  return BuildStatus(std::move(parts));
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
  return BuildStatus(std::move(parts));
}

}  // namespace usergateway
