// The wire form of every error status the gateway makes: a grpc::Status
// whose error_details() is a serialized google.rpc.Status with the same
// code and message, holding
//   - google.rpc.ErrorInfo, always: a reason, domain kErrorDomain, and
//     string metadata;
//   - google.rpc.BadRequest, when asked for, with one field violation each;
//   - google.rpc.RetryInfo, when a retry delay is given (its milliseconds
//     are also put in the ErrorInfo metadata as "retry_after_ms").
// Which reason, metadata and message go with which outcome is the error
// mapper's business (error_mapper.h); this file only encodes and decodes.
//
// Example:
//
//   StatusParts parts;
//   parts.code = grpc::StatusCode::INVALID_ARGUMENT;
//   parts.reason = "INVALID_REQUEST";
//   parts.message = "invalid request: user_id: is required";
//   parts.metadata.emplace_back("attempts", "0");
//   parts.bad_request = true;
//   parts.violations = {{"user_id", "is required"}};
//   grpc::Status status = BuildStatus(std::move(parts));
//
//   google::rpc::Status details;
//   if (DecodeStatusDetails(status, &details)) ...
//
// Stateless free functions; thread-safe.
#ifndef USERGATEWAY_GATEWAY_RESPONSE_STATUS_DETAILS_H_
#define USERGATEWAY_GATEWAY_RESPONSE_STATUS_DETAILS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/common/field_violation.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"

namespace usergateway {

// ErrorInfo.domain of every status this gateway makes.
inline constexpr absl::string_view kErrorDomain = "usergateway.v1";

// The longest BadRequest field path: BuildStatus cuts longer ones (an
// upstream envelope may name fields of any length).
inline constexpr size_t kMaxFieldPathBytes = 128;

// The RetryInfo delay for gateway overload/draining when none is known.
inline constexpr absl::Duration kDefaultOverloadRetryDelay = absl::Seconds(1);

// Everything a status is built from. The message and the violations may be
// raw (upstream or caller text): BuildStatus sanitizes them, but redacts
// nothing (secrets are the mapper's business, before it fills these in).
// The reason and the metadata go on the wire as given, so they must be the
// gateway's own text (constants, numbers, enum names), or input text the
// caller has already sanitized, redacted and bounded.
struct StatusParts {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string reason;   // ErrorInfo.reason, e.g. "UPSTREAM_NOT_FOUND"
  std::string message;  // raw; sanitized (SanitizeMessage) when built
  // ErrorInfo.metadata entries; a later entry with the same key wins.
  std::vector<std::pair<std::string, std::string>> metadata;
  // BadRequest violations, raw: a field is cut to kMaxFieldPathBytes and a
  // description to kMaxMessageBytes, both sanitized, when built.
  std::vector<FieldViolation> violations;
  bool bad_request = false;  // attach BadRequest (even with no violations)
  // Attach RetryInfo with this delay, clamped to [0, 24h].
  std::optional<absl::Duration> retry_delay;
};

// Builds the status described by `parts`: grpc::Status(code, sanitized
// message, serialized google.rpc.Status). The details are, in order,
// ErrorInfo, then BadRequest if `bad_request`, then RetryInfo if
// `retry_delay` is set.
grpc::Status BuildStatus(StatusParts parts);

// Decodes the details of a status made here. Returns false, leaving `*out`
// untouched, when `status` has no details, they do not parse, or their code
// differs from the status's code.
bool DecodeStatusDetails(const grpc::Status& status, google::rpc::Status* out);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_RESPONSE_STATUS_DETAILS_H_
