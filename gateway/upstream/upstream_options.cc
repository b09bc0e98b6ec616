#include "gateway/upstream/upstream_options.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace usergateway {
namespace {

// The share of `total` that part `index` of `parts` gets, the remainder
// going to the first parts: the shares add up to `total`.
long SplitLimit(long total, size_t parts,  // NOLINT(runtime/int)
                size_t index) {
  const long n = static_cast<long>(parts);  // NOLINT(runtime/int)
  return total / n + (static_cast<long>(index) < total % n ? 1 : 0);  // NOLINT
}

}  // namespace

absl::Status ValidateUpstreamOptions(const CurlUpstreamOptions& options) {
  if (options.max_attempts < 1) {
    return absl::InvalidArgumentError("max_attempts must be at least 1");
  }
  if (options.max_in_flight < 1) {
    return absl::InvalidArgumentError("max_in_flight must be at least 1");
  }
  if (options.max_response_bytes < 1) {
    return absl::InvalidArgumentError("max_response_bytes must be positive");
  }
  if (options.max_response_header_bytes < 1) {
    return absl::InvalidArgumentError(
        "max_response_header_bytes must be positive");
  }
  if (options.response_buffer_budget_bytes != 0 &&
      options.response_buffer_budget_bytes < options.max_response_bytes) {
    return absl::InvalidArgumentError(
        "response_buffer_budget_bytes must be 0 (unlimited) or at least "
        "max_response_bytes: one response must fit");
  }
  if (options.attempt_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("attempt_timeout must not be negative");
  }
  if (options.max_connection_age < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "max_connection_age must not be negative");
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.timeout_cap <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "connect_timeout and timeout_cap must be positive");
  }
  if (options.deadline_margin < absl::ZeroDuration() ||
      options.backoff_base < absl::ZeroDuration() ||
      options.backoff_max < options.backoff_base) {
    return absl::InvalidArgumentError(
        "deadline_margin and backoff_base must not be negative, and "
        "backoff_max not below backoff_base");
  }
  if (!(options.retry_budget_ratio >= 0) ||
      !(options.retry_budget_burst >= 0)) {
    return absl::InvalidArgumentError(
        "retry_budget_ratio and retry_budget_burst must not be negative");
  }
  if (options.loops > kMaxLoops) {
    return absl::InvalidArgumentError(
        absl::StrCat("loops must be at most ", kMaxLoops));
  }
  if (options.max_host_connections < 0 || options.max_total_connections < 0) {
    return absl::InvalidArgumentError(
        "connection limits must not be negative");
  }
  if (!options.ca_bundle.empty()) {
    // Fail at start-up, not on the first call.
    std::FILE* file = std::fopen(options.ca_bundle.c_str(), "r");
    if (file == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read CA bundle ", options.ca_bundle));
    }
    std::fclose(file);
  }
  return absl::OkStatus();
}

long EffectiveMaxHostConnections(  // NOLINT(runtime/int): libcurl's type
    const CurlUpstreamOptions& options, absl::string_view url) {
  if (options.max_host_connections > 0) return options.max_host_connections;
  if (!options.http2 || !absl::StartsWithIgnoreCase(url, "https://")) {
    return 0;
  }
  // NOLINTNEXTLINE(runtime/int)
  return static_cast<long>(
      (options.max_in_flight + kStreamsPerConnection -
       1) /
      kStreamsPerConnection);
}

size_t IdleConnectionCacheSize(const CurlUpstreamOptions& options) {
  size_t size = options.max_in_flight;
  if (options.max_total_connections > 0) {
    size = std::min(size, static_cast<size_t>(options.max_total_connections));
  }
  return std::max<size_t>(size, 1);
}

size_t EffectiveLoopCount(const CurlUpstreamOptions& options,
                          size_t auto_loops) {
  size_t loops = options.loops;
  if (loops == 0) loops = std::min(auto_loops, kMaxAutoLoops);
  for (long limit :  // NOLINT(runtime/int)
       {options.max_host_connections, options.max_total_connections}) {
    if (limit > 0) loops = std::min(loops, static_cast<size_t>(limit));
  }
  return std::max<size_t>(loops, 1);
}

CurlUpstreamOptions LoopShare(const CurlUpstreamOptions& options,
                              size_t loops, size_t index) {
  CurlUpstreamOptions share = options;
  share.loops = 1;
  share.max_in_flight = (options.max_in_flight + loops - 1) / loops;
  if (options.max_host_connections > 0) {
    share.max_host_connections =
        SplitLimit(options.max_host_connections, loops, index);
  }
  if (options.max_total_connections > 0) {
    share.max_total_connections =
        SplitLimit(options.max_total_connections, loops, index);
  }
  return share;
}

}  // namespace usergateway
