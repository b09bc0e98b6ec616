#include "gateway/request_translator.h"
#include "gateway/utf8.h"

#include <cstdint>

#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace usergateway {
namespace {

constexpr absl::string_view kHex = "0123456789ABCDEF";
constexpr absl::string_view kLowerHex = "0123456789abcdef";
constexpr absl::string_view kUserIdPlaceholder = "user_id";
constexpr absl::string_view kEnterpriseIdPlaceholder = "enterprise_id";

// Longest caller-supplied header value forwarded; longer ones are dropped,
// not truncated (a truncated id or trace state would be wrong, not short).
constexpr size_t kMaxForwardedValueBytes = 4096;
constexpr size_t kMaxRequestIdBytes = 128;

bool IsUnreserved(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// RFC 3986 sub-delims, plus ':' and '@': with the unreserved set, the
// characters a path segment may hold literally.
bool IsPathChar(unsigned char c) {
  return IsUnreserved(c) || c == '!' || c == '$' || c == '&' || c == '\'' ||
         c == '(' || c == ')' || c == '*' || c == '+' || c == ',' ||
         c == ';' || c == '=' || c == ':' || c == '@';
}

// RFC 9110 tchar: what an HTTP header name may hold.
bool IsTokenChar(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '!' || c == '#' || c == '$' ||
         c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' ||
         c == '-' || c == '.' || c == '^' || c == '_' || c == '`' ||
         c == '|' || c == '~';
}


void AppendUnicodeEscape(char32_t c, std::string* out) {
  out->append("\\u");
  for (int shift = 12; shift >= 0; shift -= 4) {
    out->push_back(kLowerHex[(c >> shift) & 0xF]);
  }
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

bool IsToken(absl::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// Keys that must never reach the upstream, whatever the allow-list says:
// gRPC's own and binary metadata, pseudo-headers, hop-by-hop and framing
// headers, and the headers the gateway sets itself (a caller must not be able
// to replace the gateway's credentials or content type).
bool IsNeverForwarded(absl::string_view key) {
  static constexpr absl::string_view kExact[] = {
      // Hop-by-hop and framing (RFC 9110 section 7.6.1, RFC 9113 8.2.2).
      "connection", "keep-alive", "te", "trailer", "transfer-encoding",
      "upgrade", "host", "content-length", "http2-settings",
      // Would change how libcurl encodes or decodes the exchange.
      "accept-encoding", "content-encoding", "expect",
      // Set by the gateway itself.
      "authorization", "content-type", "accept", "user-agent",
      "x-request-id", "traceparent", "tracestate",
  };
  if (absl::StartsWith(key, "grpc-") || absl::StartsWith(key, "proxy-") ||
      absl::EndsWith(key, "-bin") || absl::StartsWith(key, ":")) {
    return true;
  }
  for (absl::string_view exact : kExact) {
    if (key == exact) return true;
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

// Substitutes the placeholders of `path_template`; an unknown placeholder
// (ValidatePathTemplate refuses those) is copied as it is.
std::string ExpandPath(absl::string_view path_template,
                       const usergateway::v1::UpdateUserProfileRequest& req) {
  std::string path;
  path.reserve(path_template.size() + req.user_id().size() * 3);
  size_t i = 0;
  while (i < path_template.size()) {
    const size_t open = path_template.find('{', i);
    if (open == absl::string_view::npos) break;
    const size_t close = path_template.find('}', open);
    if (close == absl::string_view::npos) break;
    path.append(path_template.data() + i, open - i);
    const absl::string_view name =
        path_template.substr(open + 1, close - open - 1);
    if (name == kUserIdPlaceholder) {
      path.append(PercentEncodePathSegment(req.user_id()));
    } else if (name == kEnterpriseIdPlaceholder) {
      path.append(PercentEncodePathSegment(req.enterprise_id()));
    } else {
      path.append(path_template.data() + open, close - open + 1);
    }
    i = close + 1;
  }
  path.append(path_template.data() + i, path_template.size() - i);
  return path;
}

bool IsAllowListed(absl::string_view key,
                   const std::vector<std::string>& allow_list) {
  for (const std::string& allowed : allow_list) {
    if (absl::EqualsIgnoreCase(key, allowed)) return true;
  }
  return false;
}

}  // namespace

bool IsMetadataKeyOfInterest(absl::string_view key,
                             const TranslatorConfig& config) {
  return key == "x-request-id" || key == "traceparent" ||
         key == "tracestate" ||
         (IsAllowListed(key, config.forward_metadata) &&
          !IsNeverForwarded(key));
}

absl::Status ValidatePathTemplate(absl::string_view path_template) {
  if (!absl::StartsWith(path_template, "/")) {
    return absl::InvalidArgumentError("path template must start with '/'");
  }
  bool has_user_id = false;
  for (size_t i = 0; i < path_template.size(); ++i) {
    const unsigned char c = path_template[i];
    if (c == '?' || c == '#') {
      return absl::InvalidArgumentError(
          "path template must not contain '?' or '#': it is a path only");
    }
    if (c == '{') {
      const size_t close = path_template.find_first_of("{}", i + 1);
      if (close == absl::string_view::npos || path_template[close] != '}') {
        return absl::InvalidArgumentError(
            "path template has a '{' without a matching '}'");
      }
      const absl::string_view name = path_template.substr(i + 1, close - i - 1);
      if (name == kUserIdPlaceholder) {
        has_user_id = true;
      } else if (name != kEnterpriseIdPlaceholder) {
        return absl::InvalidArgumentError(absl::StrCat(
            "path template has unknown placeholder {", name,
            "}; known ones are {user_id} and {enterprise_id}"));
      }
      i = close;
      continue;
    }
    if (c == '}') {
      return absl::InvalidArgumentError(
          "path template has a '}' without a matching '{'");
    }
    if (c == '%') {
      if (i + 2 >= path_template.size() ||
          !absl::ascii_isxdigit(path_template[i + 1]) ||
          !absl::ascii_isxdigit(path_template[i + 2])) {
        return absl::InvalidArgumentError(
            "path template has a '%' not followed by two hex digits");
      }
      i += 2;
      continue;
    }
    if (c != '/' && !IsPathChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "path template has a character not allowed in a URL path at "
          "offset ",
          i, " (percent-encode it)"));
    }
  }
  if (!has_user_id) {
    return absl::InvalidArgumentError(
        "path template must contain the {user_id} placeholder");
  }
  return absl::OkStatus();
}

std::string PercentEncodePathSegment(absl::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (unsigned char c : segment) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

void AppendJsonString(absl::string_view text, std::string* out) {
  out->reserve(out->size() + text.size() + 2);
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = text[i];
    if (c >= 0x80) {
      char32_t code_point = 0;
      const size_t length = DecodeUtf8(text, i, &code_point);
      if (length == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
        ++i;
      } else if (code_point == 0x2028 || code_point == 0x2029) {
        AppendUnicodeEscape(code_point, out);
        i += length;
      } else {
        out->append(text.data() + i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          AppendUnicodeEscape(c, out);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
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

absl::StatusOr<UpstreamRequest> BuildUpstreamRequest(
    const usergateway::v1::UpdateUserProfileRequest& request,
    const TranslatorConfig& config, absl::string_view api_key,
    const CallerMetadata& metadata, absl::Time deadline) {
  // The key itself must never reach a status message: it would travel to
  // the caller and into logs.
  if (api_key.empty()) {
    return absl::InvalidArgumentError("the upstream API key is empty");
  }
  for (unsigned char c : api_key) {
    if (c < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError(
          "the upstream API key contains a control character (a line break "
          "from the key file?)");
    }
  }

  UpstreamRequest out;
  absl::string_view base = config.base_url;
  while (absl::ConsumeSuffix(&base, "/")) {
  }
  out.url = absl::StrCat(base, ExpandPath(config.path_template, request));

  out.body.append("{\"first_name\":");
  AppendJsonString(request.first_name(), &out.body);
  out.body.push_back('}');

  const std::string* request_id = nullptr;
  const std::string* traceparent = nullptr;
  std::vector<absl::string_view> tracestate;
  bool tracestate_ok = true;
  std::vector<Header> extra;
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
    } else if (IsAllowListed(key, config.forward_metadata) &&
               !IsNeverForwarded(key) && IsToken(key) &&
               IsSafeHeaderValue(value)) {
      extra.push_back(Header{key, value});
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

  out.headers.reserve(7 + extra.size());
  out.headers.push_back(
      Header{"Authorization", absl::StrCat("Bearer ", api_key)});
  out.headers.push_back(Header{"Content-Type", "application/json"});
  out.headers.push_back(Header{"Accept", "application/json"});
  out.headers.push_back(Header{"User-Agent", config.user_agent});
  out.headers.push_back(Header{"X-Request-Id", out.request_id});
  if (traceparent != nullptr && IsValidTraceparent(*traceparent)) {
    out.headers.push_back(Header{"traceparent", *traceparent});
    // A tracestate with a bad member is dropped whole rather than forwarded
    // in part: W3C lets a participant discard tracestate, never corrupt it.
    std::string joined = absl::StrJoin(tracestate, ",");
    if (!tracestate.empty() && tracestate_ok &&
        joined.size() <= kMaxForwardedValueBytes) {
      out.headers.push_back(Header{"tracestate", std::move(joined)});
    }
  }
  for (Header& header : extra) out.headers.push_back(std::move(header));

  out.deadline = deadline;
  return out;
}

}  // namespace usergateway
