#include "gateway/request/header_policy.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace usergateway {
namespace {

constexpr absl::string_view kLowerHex = "0123456789abcdef";

// Longest caller-supplied header value forwarded; longer ones are dropped,
// not truncated (a truncated id or trace state would be wrong, not short).
constexpr size_t kMaxForwardedValueBytes = 4096;
constexpr size_t kMaxRequestIdBytes = 128;

// RFC 9110 tchar: what an HTTP header name may hold.
bool IsTokenChar(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '!' || c == '#' || c == '$' ||
         c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' ||
         c == '-' || c == '.' || c == '^' || c == '_' || c == '`' ||
         c == '|' || c == '~';
}

bool IsToken(absl::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// A header value safe to pass on: visible ASCII, SP and HTAB only. CR, LF
// and NUL would split or cut the header (request smuggling); other controls
// and non-ASCII bytes have no business in ids and trace context.
bool IsSafeHeaderValue(absl::string_view value) {
  if (value.size() > kMaxForwardedValueBytes) return false;
  for (unsigned char c : value) {
    if (c == '\t') continue;
    if (c < 0x20 || c >= 0x7F) return false;
  }
  return true;
}

// Why `key` (lower-case) must never reach the upstream, whatever the
// allow-list says, or empty when it may: gRPC's own and binary metadata,
// pseudo-headers, hop-by-hop and framing headers, and the headers the
// gateway sets itself (a caller must not be able to replace the gateway's
// credentials or content type).
absl::string_view NeverForwardedReason(absl::string_view key) {
  // Hop-by-hop and framing (RFC 9110 section 7.6.1, RFC 9113 8.2.2).
  static constexpr absl::string_view kFraming[] = {
      "connection", "keep-alive", "te", "trailer", "transfer-encoding",
      "upgrade", "host", "content-length", "http2-settings",
  };
  // Would change how libcurl encodes or decodes the exchange.
  static constexpr absl::string_view kEncoding[] = {
      "accept-encoding", "content-encoding", "expect",
  };
  // Set by the gateway itself.
  static constexpr absl::string_view kOwn[] = {
      "authorization", "content-type", "accept", "user-agent",
      "x-request-id", "traceparent", "tracestate",
  };
  if (absl::StartsWith(key, ":")) return "is a pseudo-header";
  if (absl::StartsWith(key, "grpc-")) return "is reserved by gRPC (grpc-*)";
  if (absl::EndsWith(key, "-bin")) {
    return "is binary metadata (-bin), which is not sent as a header";
  }
  if (absl::StartsWith(key, "proxy-")) {
    return "is a proxy header (proxy-*), meant for the next hop only";
  }
  for (absl::string_view exact : kFraming) {
    if (key == exact) return "is a hop-by-hop or framing header";
  }
  for (absl::string_view exact : kEncoding) {
    if (key == exact) {
      return "would change how the gateway's HTTP client frames or decodes "
             "the exchange";
    }
  }
  for (absl::string_view exact : kOwn) {
    if (key == exact) {
      return "is set by the gateway itself (x-request-id, traceparent and "
             "tracestate are forwarded without being listed)";
    }
  }
  return "";
}

bool IsNeverForwarded(absl::string_view key) {
  return !NeverForwardedReason(key).empty();
}

// What a gRPC metadata key may hold (lower-case, as gRPC delivers keys).
bool IsMetadataKeyChar(unsigned char c) {
  return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'z') || c == '-' ||
         c == '_' || c == '.';
}

bool IsAllowListed(absl::string_view key,
                   absl::Span<const std::string> allow_list) {
  for (const std::string& allowed : allow_list) {
    if (absl::EqualsIgnoreCase(key, allowed)) return true;
  }
  return false;
}

bool IsLowerHex(absl::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// W3C Trace Context, section "traceparent Header Field Values":
// version "-" trace-id "-" parent-id "-" trace-flags, lower-case hex;
// version ff, an all-zero trace-id and an all-zero parent-id are invalid;
// a future version may append "-..." after the 55 characters of version 00.
bool IsValidTraceparent(absl::string_view value) {
  constexpr size_t kLength = 55;
  if (value.size() < kLength) return false;
  const absl::string_view version = value.substr(0, 2);
  if (!IsLowerHex(version) || version == "ff") return false;
  if (version == "00" ? value.size() != kLength
                      : value.size() > kLength && value[kLength] != '-') {
    return false;
  }
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return false;
  const absl::string_view trace_id = value.substr(3, 32);
  const absl::string_view parent_id = value.substr(36, 16);
  const absl::string_view flags = value.substr(53, 2);
  if (!IsLowerHex(trace_id) || !IsLowerHex(parent_id) || !IsLowerHex(flags)) {
    return false;
  }
  return trace_id != std::string(32, '0') && parent_id != std::string(16, '0');
}

bool IsSaneRequestId(absl::string_view value) {
  if (value.empty() || value.size() > kMaxRequestIdBytes) return false;
  for (unsigned char c : value) {
    if (c < 0x21 || c > 0x7E) return false;
  }
  return true;
}

}  // namespace

bool IsMetadataKeyOfInterest(absl::string_view key,
                             absl::Span<const std::string> allow_list) {
  return key == "x-request-id" || key == "traceparent" ||
         key == "tracestate" ||
         (IsAllowListed(key, allow_list) && !IsNeverForwarded(key));
}

absl::Status ValidateForwardMetadataKey(absl::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("is empty");
  if (absl::string_view reason = NeverForwardedReason(key); !reason.empty()) {
    return absl::InvalidArgumentError(reason);
  }
  for (unsigned char c : key) {
    if (!IsMetadataKeyChar(c)) {
      return absl::InvalidArgumentError(
          "is not a gRPC metadata key: only lower-case letters, digits, "
          "'-', '_' and '.' are allowed");
    }
  }
  return absl::OkStatus();
}

std::string NewUuidV4(absl::BitGenRef bitgen) {
  unsigned char bytes[16];
  for (int half = 0; half < 2; ++half) {
    uint64_t bits = absl::Uniform<uint64_t>(bitgen);
    for (int k = 0; k < 8; ++k) {
      bytes[half * 8 + k] = static_cast<unsigned char>(bits >> (8 * k));
    }
  }
  bytes[6] = (bytes[6] & 0x0F) | 0x40;  // version 4
  bytes[8] = (bytes[8] & 0x3F) | 0x80;  // variant 10 (RFC 4122)
  std::string out;
  out.reserve(36);
  for (int k = 0; k < 16; ++k) {
    if (k == 4 || k == 6 || k == 8 || k == 10) out.push_back('-');
    out.push_back(kLowerHex[bytes[k] >> 4]);
    out.push_back(kLowerHex[bytes[k] & 0xF]);
  }
  return out;
}

ForwardedMetadata SelectForwardedMetadata(
    const CallerMetadata& metadata, absl::Span<const std::string> allow_list) {
  const std::string* request_id = nullptr;
  const std::string* traceparent = nullptr;
  std::vector<absl::string_view> tracestate;
  bool tracestate_ok = true;
  ForwardedMetadata out;
  for (const auto& [raw_key, value] : metadata) {
    const std::string key = absl::AsciiStrToLower(raw_key);
    if (key == "x-request-id") {
      if (request_id == nullptr) request_id = &value;
    } else if (key == "traceparent") {
      if (traceparent == nullptr) traceparent = &value;
    } else if (key == "tracestate") {
      if (IsSafeHeaderValue(value)) {
        tracestate.push_back(value);
      } else {
        tracestate_ok = false;
      }
    } else if (IsAllowListed(key, allow_list) && !IsNeverForwarded(key) &&
               IsToken(key) && IsSafeHeaderValue(value)) {
      out.allow_listed.push_back(Header{key, value});
    }
  }

  if (request_id != nullptr && IsSaneRequestId(*request_id)) {
    out.request_id = *request_id;
  } else {
    // Seeding a generator costs a getrandom(2) call and Randen's key
    // schedule: do it once per thread, not once per call.
    thread_local absl::BitGen bitgen;
    out.request_id = NewUuidV4(bitgen);
  }

  if (traceparent != nullptr && IsValidTraceparent(*traceparent)) {
    out.trace_context.push_back(Header{"traceparent", *traceparent});
    // A tracestate with a bad member is dropped whole rather than forwarded
    // in part: W3C lets a participant discard tracestate, never corrupt it.
    std::string joined = absl::StrJoin(tracestate, ",");
    if (!tracestate.empty() && tracestate_ok &&
        joined.size() <= kMaxForwardedValueBytes) {
      out.trace_context.push_back(Header{"tracestate", std::move(joined)});
    }
  }
  return out;
}

}  // namespace usergateway
