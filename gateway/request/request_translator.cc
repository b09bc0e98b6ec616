#include "gateway/request/request_translator.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gateway/common/json_escape.h"
#include "gateway/request/header_policy.h"
#include "gateway/request/path_template.h"
#include "gateway/upstream/upstream_types.h"

namespace usergateway {

bool IsMetadataKeyOfInterest(absl::string_view key,
                             const TranslatorConfig& config) {
  return IsMetadataKeyOfInterest(key, config.forward_metadata);
}

absl::Status ValidateBaseUrl(absl::string_view url,
                             bool allow_insecure_http) {
  if (absl::StartsWith(url, "http://")) {
    if (!allow_insecure_http) {
      return absl::InvalidArgumentError(
          "is http://: the API key would travel in clear text; use https:// "
          "or pass --allow_insecure_http");
    }
  } else if (!absl::StartsWith(url, "https://")) {
    return absl::InvalidArgumentError(
        "must start with https:// (or http:// with --allow_insecure_http)");
  }
  if (url.size() <= 8 ||
      url.find_first_of(" \t\r\n?#") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "must be a URL with a host and no query, fragment or spaces");
  }
  return absl::OkStatus();
}

absl::Status ValidateUserAgent(absl::string_view user_agent) {
  if (user_agent.empty()) {
    return absl::InvalidArgumentError("must not be empty");
  }
  if (user_agent.size() > kMaxUserAgentBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("must be at most ", kMaxUserAgentBytes, " bytes"));
  }
  for (unsigned char c : user_agent) {
    if (c < 0x20 || c > 0x7E) {
      return absl::InvalidArgumentError(
          "must be printable ASCII (0x20..0x7E): no control characters, "
          "line breaks or non-ASCII bytes");
    }
  }
  if (user_agent.front() == ' ' || user_agent.back() == ' ') {
    return absl::InvalidArgumentError("must not start or end with a space");
  }
  return absl::OkStatus();
}

std::string RequestIdOf(const CallerMetadata& metadata) {
  // The rule is header_policy's; with no allow-list the selection costs one
  // pass over the few keys of interest the service copied out of the call.
  return SelectForwardedMetadata(metadata, /*allow_list=*/{}).request_id;
}

absl::StatusOr<UpstreamRequest> BuildUpstreamRequest(
    const usergateway::v1::UpdateUserProfileRequest& request,
    const TranslatorConfig& config, absl::string_view api_key,
    const CallerMetadata& metadata, absl::string_view request_id,
    absl::Time deadline) {
  // The key itself must never reach a status message: it would travel to
  // the caller and into logs. ApiKeySource refuses such keys already; this
  // is the last line before a header is built from one.
  if (api_key.empty()) {
    return absl::InvalidArgumentError("the upstream API key is empty");
  }
  for (unsigned char c : api_key) {
    if (c < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError(
          "the upstream API key contains a control character (a line break "
          "from the key file?)");
    }
    if (c == ' ' || c > 0x7F) {
      return absl::InvalidArgumentError(
          "the upstream API key contains a space or a non-ASCII byte");
    }
  }

  absl::StatusOr<std::string> path =
      ExpandPathTemplate(config.path_template, PathValuesOf(request));
  if (!path.ok()) return path.status();

  UpstreamRequest out;
  absl::string_view base = config.base_url;
  while (absl::ConsumeSuffix(&base, "/")) {
  }
  out.url = absl::StrCat(base, *path);

  out.body.append("{\"first_name\":");
  AppendJsonString(request.first_name(), &out.body);
  out.body.push_back('}');

  ForwardedMetadata forwarded =
      SelectForwardedMetadata(metadata, config.forward_metadata);
  // forwarded.request_id is ignored: the call's id was drawn when it
  // arrived (RequestIdOf), before anything could refuse it.
  out.request_id = std::string(request_id);

  // Five headers of the gateway's own, then up to two of trace context.
  out.headers.reserve(7 + forwarded.allow_listed.size());
  out.headers.push_back(
      Header{"Authorization", absl::StrCat("Bearer ", api_key)});
  out.headers.push_back(Header{"Content-Type", "application/json"});
  out.headers.push_back(Header{"Accept", "application/json"});
  out.headers.push_back(Header{"User-Agent", config.user_agent});
  out.headers.push_back(Header{"X-Request-Id", out.request_id});
  for (Header& header : forwarded.trace_context) {
    out.headers.push_back(std::move(header));
  }
  for (Header& header : forwarded.allow_listed) {
    out.headers.push_back(std::move(header));
  }

  out.deadline = deadline;
  return out;
}

}  // namespace usergateway
