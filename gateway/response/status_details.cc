#include "gateway/response/status_details.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gateway/common/field_violation.h"
#include "gateway/response/message_sanitizer.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"

namespace usergateway {
namespace {

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  absl::Duration rem;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &rem);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::IDivDuration(rem, absl::Nanoseconds(1), &rem)));
}

}  // namespace

grpc::Status BuildStatus(StatusParts parts) {
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
    metadata["retry_after_ms"] =
        absl::StrCat(absl::ToInt64Milliseconds(*delay));
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
