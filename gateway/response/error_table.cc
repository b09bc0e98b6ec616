#include "gateway/response/error_table.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/upstream/upstream_types.h"
#include "grpcpp/support/status.h"

namespace usergateway {
namespace {

using Code = grpc::StatusCode;

struct HttpEntry {
  int http_status;
  HttpErrorRow row;
};

constexpr HttpEntry kHttpTable[] = {
    {400, {Code::INVALID_ARGUMENT, "UPSTREAM_INVALID_ARGUMENT", "Bad Request",
           false}},
    {422, {Code::INVALID_ARGUMENT, "UPSTREAM_INVALID_ARGUMENT",
           "Unprocessable Entity", false}},
    {401, {Code::UNAUTHENTICATED, "UPSTREAM_UNAUTHENTICATED", "Unauthorized",
           false}},
    {403, {Code::PERMISSION_DENIED, "UPSTREAM_PERMISSION_DENIED", "Forbidden",
           false}},
    {404, {Code::NOT_FOUND, "UPSTREAM_NOT_FOUND", "Not Found", false}},
    {408, {Code::UNAVAILABLE, "UPSTREAM_REQUEST_TIMEOUT", "Request Timeout",
           false}},
    {409, {Code::ABORTED, "UPSTREAM_CONFLICT", "Conflict", false}},
    {412, {Code::FAILED_PRECONDITION, "UPSTREAM_PRECONDITION_FAILED",
           "Precondition Failed", false}},
    {429, {Code::RESOURCE_EXHAUSTED, "UPSTREAM_RATE_LIMITED",
           "Too Many Requests", true}},
    {499, {Code::CANCELLED, "UPSTREAM_CLIENT_CLOSED_REQUEST",
           "Client Closed Request", false}},
    {500, {Code::INTERNAL, "UPSTREAM_INTERNAL_ERROR", "Internal Server Error",
           false}},
    {501, {Code::UNIMPLEMENTED, "UPSTREAM_NOT_IMPLEMENTED", "Not Implemented",
           false}},
    {502, {Code::UNAVAILABLE, "UPSTREAM_UNAVAILABLE", "Bad Gateway", true}},
    {503, {Code::UNAVAILABLE, "UPSTREAM_UNAVAILABLE", "Service Unavailable",
           true}},
    {504, {Code::DEADLINE_EXCEEDED, "UPSTREAM_GATEWAY_TIMEOUT",
           "Gateway Timeout", false}},
};

// The gateway never follows redirects: they would carry the API key.
constexpr HttpErrorRow kRedirectRow = {
    Code::UNKNOWN, "UPSTREAM_UNEXPECTED_STATUS", "redirects are not followed",
    false};

constexpr HttpErrorRow kUnexpectedStatusRow = {
    Code::UNKNOWN, "UPSTREAM_UNEXPECTED_STATUS", "", false};

struct TransportEntry {
  TransportError error;
  TransportErrorRow row;
};

constexpr TransportEntry kTransportTable[] = {
    {TransportError::kDns,
     {Code::UNAVAILABLE, "UPSTREAM_DNS_FAILURE",
      "could not resolve the upstream host", false}},
    {TransportError::kConnect,
     {Code::UNAVAILABLE, "UPSTREAM_CONNECT_FAILURE",
      "could not connect to the upstream", false}},
    {TransportError::kConnectionReset,
     {Code::UNAVAILABLE, "UPSTREAM_CONNECTION_RESET",
      "upstream connection was reset", false}},
    {TransportError::kTlsHandshake,
     {Code::UNAVAILABLE, "UPSTREAM_TLS_HANDSHAKE_FAILURE",
      "TLS handshake with the upstream failed", false}},
    {TransportError::kTlsUntrusted,
     {Code::UNAVAILABLE, "UPSTREAM_TLS_UNTRUSTED",
      "upstream TLS certificate is not trusted", false}},
    {TransportError::kTlsHostnameMismatch,
     {Code::UNAVAILABLE, "UPSTREAM_TLS_HOSTNAME_MISMATCH",
      "upstream TLS certificate does not match the upstream host name",
      false}},
    {TransportError::kTlsCertificateExpired,
     {Code::UNAVAILABLE, "UPSTREAM_TLS_CERTIFICATE_EXPIRED",
      "upstream TLS certificate has expired", false}},
    {TransportError::kHttp2,
     {Code::UNAVAILABLE, "UPSTREAM_HTTP2_ERROR",
      "HTTP/2 error talking to the upstream", false}},
    {TransportError::kProtocol,
     {Code::UNAVAILABLE, "UPSTREAM_PROTOCOL_ERROR",
      "malformed HTTP response from the upstream", false}},
    {TransportError::kDeadlineExceeded,
     {Code::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED",
      "deadline exceeded before the upstream responded", false}},
    {TransportError::kCancelled,
     {Code::CANCELLED, "CALLER_CANCELLED",
      "the call was cancelled by the caller", false}},
    {TransportError::kResponseTooLarge,
     {Code::INTERNAL, "UPSTREAM_RESPONSE_TOO_LARGE",
      "upstream response body exceeds the gateway's size limit", false}},
    {TransportError::kResponseHeadersTooLarge,
     {Code::INTERNAL, "UPSTREAM_RESPONSE_HEADERS_TOO_LARGE",
      "upstream response headers exceed the gateway's size limit", false}},
    {TransportError::kAttemptTimeout,
     {Code::UNAVAILABLE, "UPSTREAM_ATTEMPT_TIMEOUT",
      "upstream did not answer within the per-attempt timeout", false}},
    {TransportError::kResponseBudgetExhausted,
     {Code::UNAVAILABLE, "GATEWAY_RESPONSE_BUDGET_EXHAUSTED",
      "gateway holds too many upstream responses in memory; retry later",
      true}},
    {TransportError::kOverloaded,
     {Code::UNAVAILABLE, "GATEWAY_OVERLOADED",
      "gateway is overloaded; retry later", true}},
    {TransportError::kDraining,
     {Code::UNAVAILABLE, "GATEWAY_DRAINING",
      "gateway is shutting down; retry on another instance", true}},
    {TransportError::kInternal,
     {Code::INTERNAL, "GATEWAY_INTERNAL", "gateway internal error", false}},
};

// kNone, or a value added to TransportError without a row here.
constexpr TransportErrorRow kGatewayInternalRow = {
    Code::INTERNAL, "GATEWAY_INTERNAL", "gateway internal error", false};

struct TenantRefusalEntry {
  TenantRefusal refusal;
  TenantRefusalRow row;
};

constexpr TenantRefusalEntry kTenantRefusalTable[] = {
    {TenantRefusal::kUnknownTenant,
     {Code::FAILED_PRECONDITION, "GATEWAY_UNKNOWN_TENANT",
      "no tenant is configured for this enterprise_id", false}},
    {TenantRefusal::kCallerNotAllowed,
     {Code::PERMISSION_DENIED, "GATEWAY_CALLER_NOT_ALLOWED",
      "this caller may not use the tenant", false}},
    {TenantRefusal::kGateRateLimited,
     {Code::RESOURCE_EXHAUSTED, "GATEWAY_TENANT_RATE_LIMITED",
      "the tenant's upstream asked the gateway to slow down (HTTP 429 "
      "Retry-After); retry later",
      true}},
    {TenantRefusal::kGateUnavailable,
     {Code::UNAVAILABLE, "GATEWAY_TENANT_UNAVAILABLE",
      "the tenant's upstream is unavailable (HTTP 503 Retry-After); retry "
      "later",
      true}},
    {TenantRefusal::kRequestRate,
     {Code::RESOURCE_EXHAUSTED, "GATEWAY_TENANT_QUOTA",
      "the tenant's request rate limit is reached; retry later", true}},
    {TenantRefusal::kCircuitOpen,
     {Code::UNAVAILABLE, "GATEWAY_CIRCUIT_OPEN",
      "the tenant's upstream keeps failing (circuit breaker open); retry "
      "later",
      true}},
    {TenantRefusal::kProbeInFlight,
     {Code::UNAVAILABLE, "GATEWAY_TENANT_PROBING",
      "the gateway is probing the tenant's upstream before letting calls "
      "through again; retry shortly",
      true}},
};

}  // namespace

HttpErrorRow LookupHttpStatus(int http_status) {
  for (const HttpEntry& entry : kHttpTable) {
    if (entry.http_status == http_status) return entry.row;
  }
  if (http_status >= 300 && http_status < 400) return kRedirectRow;
  return kUnexpectedStatusRow;
}

std::string GenericHttpText(int http_status) {
  const absl::string_view phrase = LookupHttpStatus(http_status).phrase;
  if (phrase.empty()) {
    return absl::StrCat("upstream returned HTTP ", http_status);
  }
  return absl::StrCat("upstream returned HTTP ", http_status, " (", phrase,
                      ")");
}

TransportErrorRow LookupTransportError(TransportError error) {
  for (const TransportEntry& entry : kTransportTable) {
    if (entry.error == error) return entry.row;
  }
  return kGatewayInternalRow;
}

TenantRefusalRow LookupTenantRefusal(TenantRefusal refusal) {
  for (const TenantRefusalEntry& entry : kTenantRefusalTable) {
    if (entry.refusal == refusal) return entry.row;
  }
  return kTenantRefusalTable[0].row;  // unreachable: every value has a row
}

}  // namespace usergateway
