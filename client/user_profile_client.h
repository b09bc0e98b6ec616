// A small client library for callers of the gateway: one call with a
// deadline, the outcome as absl::StatusOr<User>, and the gateway's error
// details decoded so that callers can branch on the reason and honour the
// retry delay without parsing text.
//
// Example:
//
//   auto client = UserProfileClient::Create("usergateway:50051");
//   UpdateResult r = client->UpdateFirstName("ent-1", "3f1c...", "Ada",
//                                            absl::Seconds(2));
//   if (r.user.ok()) { ... r.user->first_name() ... }
//   else if (r.error.reason == "UPSTREAM_RATE_LIMITED") {
//     retry after r.error.retry_delay
//   }
#ifndef USERGATEWAY_CLIENT_USER_PROFILE_CLIENT_H_
#define USERGATEWAY_CLIENT_USER_PROFILE_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "usergateway/v1/user_profile.grpc.pb.h"

namespace usergateway {

// The gateway's google.rpc.Status details, decoded.
struct GatewayError {
  std::string reason;                          // ErrorInfo.reason
  std::string domain;                          // ErrorInfo.domain
  std::map<std::string, std::string> metadata;  // ErrorInfo.metadata
  // BadRequest violations as (field, description).
  std::vector<std::pair<std::string, std::string>> field_violations;
  std::optional<absl::Duration> retry_delay;   // RetryInfo
};

struct UpdateResult {
  // The user, or the gateway's status (code and message as received).
  absl::StatusOr<usergateway::v1::User> user;
  GatewayError error;  // empty on success
};

// Thread-safe; one per target, shared by all callers.
class UserProfileClient {
 public:
  // Plain-text channel to `target` (gRPC target syntax, e.g.
  // "dns:///usergateway.ns.svc:50051" for client-side round robin).
  static std::unique_ptr<UserProfileClient> Create(const std::string& target);
  // With the given channel credentials (TLS or mTLS).
  static std::unique_ptr<UserProfileClient> Create(
      const std::string& target,
      std::shared_ptr<grpc::ChannelCredentials> credentials);

  // One blocking UpdateUserProfile with `timeout` as the deadline. Returns
  // the user or the gateway's status with its details decoded.
  UpdateResult UpdateFirstName(const std::string& enterprise_id,
                               const std::string& user_id,
                               const std::string& first_name,
                               absl::Duration timeout,
                               const std::string& request_id = "");

 private:
  explicit UserProfileClient(std::shared_ptr<grpc::Channel> channel);
  std::unique_ptr<usergateway::v1::UserProfileGateway::Stub> stub_;
};

// Decodes the details of a status made by the gateway. Unknown detail types
// are ignored; a status without details gives an empty GatewayError.
GatewayError DecodeGatewayError(const grpc::Status& status);

}  // namespace usergateway

#endif  // USERGATEWAY_CLIENT_USER_PROFILE_CLIENT_H_
