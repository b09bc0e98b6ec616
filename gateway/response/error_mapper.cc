#include "gateway/response/error_mapper.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "gateway/common/field_violation.h"
#include "gateway/response/error_envelope.h"
#include "gateway/response/error_table.h"
#include "gateway/response/message_sanitizer.h"
#include "gateway/response/secret_redactor.h"
#include "gateway/response/status_details.h"
#include "gateway/upstream/upstream_types.h"
#include "grpcpp/support/status.h"

namespace usergateway {
namespace {

// The request's own fields: an upstream text that starts with one of them
// and a space ("first_name may not be blank") is about that field.
constexpr absl::string_view kRequestFields[] = {"first_name", "user_id",
                                                "enterprise_id"};

// Joined texts longer than this are cut by the sanitizer anyway.
constexpr size_t kJoinLimit = 4 * kMaxMessageBytes;

// Replaces every secret in every text of `env` (see secret_redactor.h).
void RedactEnvelope(const SecretRedactor& redactor, ErrorEnvelope* env) {
  for (std::optional<std::string>* text :
       {&env->message, &env->error, &env->detail}) {
    if (text->has_value()) **text = redactor.Redact(**text);
  }
  for (std::string& entry : env->errors) entry = redactor.Redact(entry);
  for (FieldViolation& v : env->field_errors) {
    v.field = redactor.Redact(v.field);
    v.description = redactor.Redact(v.description);
  }
}

// Texts already put in a message, by their sanitized, lower-cased form.
class SeenTexts {
 public:
  // Returns `raw` sanitized, or "" when that is empty or was seen before
  // (and remembers it).
  std::string Fresh(absl::string_view raw) {
    std::string text = SanitizeMessage(raw);
    if (text.empty() || !seen_.insert(absl::AsciiStrToLower(text)).second) {
      return "";
    }
    return text;
  }

 private:
  absl::flat_hash_set<std::string> seen_;
};

void AppendEntry(const std::string& entry, std::string* joined) {
  if (entry.empty() || joined->size() > kJoinLimit) return;
  if (!joined->empty()) *joined += "; ";
  *joined += entry;
}

// The texts of `env` in message order: "message", "error", "detail", the
// "errors" entries joined "; ", the field errors ("field: text") joined
// "; ". All sanitized; a text or entry that is empty, or equal to an
// earlier one ignoring ASCII case, is left out.
std::vector<std::string> DistinctEnvelopeTexts(const ErrorEnvelope& env) {
  SeenTexts seen;
  std::vector<std::string> texts;
  auto add = [&texts](std::string text) {
    if (text.empty()) return;
    for (const std::string& earlier : texts) {
      // A joined list may still repeat an earlier text as a whole.
      if (absl::EqualsIgnoreCase(earlier, text)) return;
    }
    texts.push_back(std::move(text));
  };
  for (const std::optional<std::string>* text :
       {&env.message, &env.error, &env.detail}) {
    if (text->has_value()) add(seen.Fresh(**text));
  }
  std::string errors;
  for (const std::string& entry : env.errors) {
    AppendEntry(seen.Fresh(entry), &errors);
  }
  std::string fields;
  for (const FieldViolation& v : env.field_errors) {
    if (SanitizeMessage(v.description).empty()) continue;
    AppendEntry(seen.Fresh(absl::StrCat(v.field, ": ", v.description)),
                &fields);
  }
  add(std::move(errors));
  add(std::move(fields));
  return texts;
}

// "first: second; third"; empty when `texts` is.
std::string JoinEnvelopeTexts(const std::vector<std::string>& texts) {
  std::string joined;
  for (size_t i = 0; i < texts.size() && joined.size() <= kJoinLimit; ++i) {
    if (i > 0) joined += i == 1 ? ": " : "; ";
    joined += texts[i];
  }
  return joined;
}

void AddTextMetadata(absl::string_view key,
                     const std::optional<std::string>& raw,
                     StatusParts* parts) {
  if (!raw.has_value()) return;
  std::string value = SanitizeMessage(*raw, kMaxUpstreamMetadataBytes);
  if (!value.empty()) parts->metadata.emplace_back(key, std::move(value));
}

// "upstream_message", "upstream_error", "upstream_detail" and
// "upstream_errors", each when the envelope has visible text for it.
void AddEnvelopeMetadata(const ErrorEnvelope& env, StatusParts* parts) {
  AddTextMetadata("upstream_message", env.message, parts);
  AddTextMetadata("upstream_error", env.error, parts);
  AddTextMetadata("upstream_detail", env.detail, parts);
  std::string errors;
  for (const std::string& entry : env.errors) {
    if (errors.size() > kMaxUpstreamMetadataBytes) break;  // cut below
    const std::string text = SanitizeMessage(entry, kMaxUpstreamMetadataBytes);
    if (text.empty()) continue;
    if (!errors.empty()) errors += "; ";
    errors += text;
  }
  AddTextMetadata("upstream_errors", std::move(errors), parts);
}

bool IsIdentifierStart(char c) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_';
}

bool IsIdentifierChar(char c) {
  return IsIdentifierStart(c) ||
         absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '.';
}

// The field that a free-text upstream error names, if any:
//   "first_name: Ensure ..."       {"first_name", "Ensure ..."}
//   "first_name may not be blank"  {"first_name", the whole text}
// The first form takes any identifier ([A-Za-z_][A-Za-z0-9_.]*), the second
// only a field of the request. `text` is sanitized (single spaces).
std::optional<FieldViolation> FieldNamedBy(absl::string_view text) {
  if (!text.empty() && IsIdentifierStart(text[0])) {
    size_t end = 1;
    while (end < text.size() && IsIdentifierChar(text[end])) ++end;
    const absl::string_view rest = text.substr(end);
    if (absl::StartsWith(rest, ": ")) {
      return FieldViolation{std::string(text.substr(0, end)),
                            std::string(rest.substr(2))};
    }
  }
  for (absl::string_view field : kRequestFields) {
    if (text.size() > field.size() && absl::StartsWith(text, field) &&
        text[field.size()] == ' ') {
      return FieldViolation{std::string(field), std::string(text)};
    }
  }
  return std::nullopt;
}

// The BadRequest violations of a 400/422: DRF field errors, then the
// fields named by "error", "detail" and each "errors" entry; each once, at
// most kMaxEnvelopeEntries.
std::vector<FieldViolation> EnvelopeViolations(const ErrorEnvelope& env) {
  std::vector<FieldViolation> violations;
  absl::flat_hash_set<std::pair<std::string, std::string>> seen;
  auto add = [&](FieldViolation v) {
    if (violations.size() >= kMaxEnvelopeEntries) return;
    std::pair<std::string, std::string> key(
        SanitizeMessage(v.field, kMaxFieldPathBytes),
        SanitizeMessage(v.description));
    if (!seen.insert(std::move(key)).second) return;
    violations.push_back(std::move(v));
  };
  for (const FieldViolation& v : env.field_errors) add(v);
  auto add_named = [&](absl::string_view raw) {
    std::optional<FieldViolation> v = FieldNamedBy(SanitizeMessage(raw));
    if (v.has_value()) add(*std::move(v));
  };
  for (const std::optional<std::string>* text : {&env.error, &env.detail}) {
    if (text->has_value()) add_named(**text);
  }
  for (const std::string& entry : env.errors) add_named(entry);
  return violations;
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

// Every status of an upstream outcome is built here. The texts were
// redacted where they were read; this last pass over everything the status
// will carry keeps a secret out even of text put together from pieces.
grpc::Status BuildRedactedStatus(StatusParts parts,
                                 const SecretRedactor& redactor) {
  if (!redactor.empty()) {
    parts.message = redactor.Redact(parts.message);
    for (auto& entry : parts.metadata) {
      entry.second = SanitizeMessage(redactor.Redact(entry.second),
                                     kMaxUpstreamMetadataBytes);
    }
    for (FieldViolation& v : parts.violations) {
      v.field = redactor.Redact(v.field);
      v.description = redactor.Redact(v.description);
    }
  }
  return BuildStatus(std::move(parts));
}

grpc::Status MapTransportFailure(const UpstreamResult& result,
                                 const SecretRedactor& redactor) {
  const TransportErrorRow row = LookupTransportError(result.error);
  StatusParts parts;
  parts.code = row.code;
  parts.reason = std::string(row.reason);
  parts.message = std::string(row.text);
  if (!result.error_detail.empty()) {
    absl::StrAppend(&parts.message, ": ",
                    redactor.Redact(result.error_detail));
  }
  AddCommonMetadata(result, &parts);
  if (row.retry_later) {
    parts.retry_delay = result.retry_after.value_or(kDefaultOverloadRetryDelay);
  }
  return BuildRedactedStatus(std::move(parts), redactor);
}

// 2xx or no response reported as a failure: a caller bug, there is nothing
// to map. Say so rather than guess.
grpc::Status MapNothingToMap(const UpstreamResult& result,
                             const SecretRedactor& redactor) {
  const int http = result.http_status;
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
  return BuildRedactedStatus(std::move(parts), redactor);
}

grpc::Status MapHttpFailure(const UpstreamResult& result,
                            const SecretRedactor& redactor) {
  const int http = result.http_status;
  const HttpErrorRow row = LookupHttpStatus(http);
  ErrorEnvelope env = ParseErrorEnvelope(result.body);
  RedactEnvelope(redactor, &env);

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
  AddEnvelopeMetadata(env, &parts);

  std::string text = JoinEnvelopeTexts(DistinctEnvelopeTexts(env));
  if (text.empty()) text = GenericHttpText(http);
  if (http == 401) {
    // Callers send no credentials: the refused one is the gateway's key,
    // which only an operator can fix.
    parts.metadata.emplace_back("credentials", "gateway_api_key");
    text = absl::StrCat("upstream rejected the gateway's API key: ", text);
  }
  parts.message = std::move(text);

  if (http == 400 || http == 422) {
    parts.violations = EnvelopeViolations(env);
    parts.bad_request = !parts.violations.empty();
  }
  if (row.honours_retry_after && result.retry_after.has_value()) {
    parts.retry_delay = result.retry_after;
  }
  return BuildRedactedStatus(std::move(parts), redactor);
}

}  // namespace

grpc::Status MapUpstreamFailure(const UpstreamResult& result,
                                absl::Span<const std::string> secrets) {
  const SecretRedactor redactor(secrets);
  if (result.error != TransportError::kNone) {
    return MapTransportFailure(result, redactor);
  }
  const int http = result.http_status;
  if (http == 0 || (http >= 200 && http < 300)) {
    return MapNothingToMap(result, redactor);
  }
  return MapHttpFailure(result, redactor);
}

grpc::Status MalformedResponseStatus(const UpstreamResult& result,
                                     absl::string_view parse_error,
                                     absl::Span<const std::string> secrets) {
  const SecretRedactor redactor(secrets);
  StatusParts parts;
  parts.code = grpc::StatusCode::INTERNAL;
  parts.reason = "UPSTREAM_MALFORMED_RESPONSE";
  parts.message = absl::StrCat("upstream returned a malformed response (HTTP ",
                               result.http_status, ")");
  if (!parse_error.empty()) {
    absl::StrAppend(&parts.message, ": ", redactor.Redact(parse_error));
  }
  AddCommonMetadata(result, &parts);
  return BuildRedactedStatus(std::move(parts), redactor);
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
    if (parts.message.size() > kJoinLimit) break;  // cut anyway
  }
  parts.metadata.emplace_back("attempts", "0");
  parts.bad_request = true;
  parts.violations = violations;
  return BuildStatus(std::move(parts));
}

grpc::Status TenantRefusalStatus(TenantRefusal refusal,
                                 absl::string_view tenant,
                                 absl::string_view detail,
                                 absl::Duration retry_delay) {
  const TenantRefusalRow row = LookupTenantRefusal(refusal);
  StatusParts parts;
  parts.code = row.code;
  parts.reason = std::string(row.reason);
  parts.message = detail.empty() ? std::string(row.text)
                                 : absl::StrCat(row.text, ": ", detail);
  parts.metadata.emplace_back("attempts", "0");
  if (!tenant.empty()) parts.metadata.emplace_back("tenant", tenant);
  if (row.retry_later) {
    parts.retry_delay = std::max(retry_delay, absl::Milliseconds(1));
  }
  return BuildStatus(std::move(parts));
}

}  // namespace usergateway
