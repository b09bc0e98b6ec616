#include "gateway/upstream/upstream_types.h"

namespace usergateway {

absl::string_view TransportErrorName(TransportError error) {
  switch (error) {
    case TransportError::kNone:
      return "NONE";
    case TransportError::kDns:
      return "DNS";
    case TransportError::kConnect:
      return "CONNECT";
    case TransportError::kConnectionReset:
      return "CONNECTION_RESET";
    case TransportError::kTlsHandshake:
      return "TLS_HANDSHAKE";
    case TransportError::kTlsUntrusted:
      return "TLS_UNTRUSTED";
    case TransportError::kTlsHostnameMismatch:
      return "TLS_HOSTNAME_MISMATCH";
    case TransportError::kTlsCertificateExpired:
      return "TLS_CERTIFICATE_EXPIRED";
    case TransportError::kHttp2:
      return "HTTP2";
    case TransportError::kProtocol:
      return "PROTOCOL";
    case TransportError::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case TransportError::kCancelled:
      return "CANCELLED";
    case TransportError::kResponseTooLarge:
      return "RESPONSE_TOO_LARGE";
    case TransportError::kResponseHeadersTooLarge:
      return "RESPONSE_HEADERS_TOO_LARGE";
    case TransportError::kAttemptTimeout:
      return "ATTEMPT_TIMEOUT";
    case TransportError::kResponseBudgetExhausted:
      return "RESPONSE_BUDGET_EXHAUSTED";
    case TransportError::kOverloaded:
      return "OVERLOADED";
    case TransportError::kDraining:
      return "DRAINING";
    case TransportError::kInternal:
      return "INTERNAL";
  }
  return "UNKNOWN";
}

}  // namespace usergateway
