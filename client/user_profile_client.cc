#include "client/user_profile_client.h"

#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace usergateway {

std::unique_ptr<UserProfileClient> UserProfileClient::Create(
    const std::string& target) {
  return Create(target, grpc::InsecureChannelCredentials());
}

std::unique_ptr<UserProfileClient> UserProfileClient::Create(
    const std::string& target,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  return std::unique_ptr<UserProfileClient>(new UserProfileClient(
      grpc::CreateCustomChannel(target, credentials, args)));
}

UserProfileClient::UserProfileClient(std::shared_ptr<grpc::Channel> channel)
    : stub_(usergateway::v1::UserProfileGateway::NewStub(channel)) {}

UpdateResult UserProfileClient::UpdateFirstName(
    const std::string& enterprise_id, const std::string& user_id,
    const std::string& first_name, absl::Duration timeout,
    const std::string& request_id) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!request_id.empty()) context.AddMetadata("x-request-id", request_id);
  usergateway::v1::UpdateUserProfileRequest request;
  request.set_enterprise_id(enterprise_id);
  request.set_user_id(user_id);
  request.set_first_name(first_name);
  usergateway::v1::UpdateUserProfileResponse response;
  grpc::Status status = stub_->UpdateUserProfile(&context, request, &response);
  UpdateResult result;
  if (status.ok()) {
    result.user = std::move(*response.mutable_user());
    return result;
  }
  result.user = absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                             status.error_message());
  result.error = DecodeGatewayError(status);
  return result;
}

GatewayError DecodeGatewayError(const grpc::Status& status) {
  GatewayError error;
  google::rpc::Status details;
  if (status.error_details().empty() ||
      !details.ParseFromString(status.error_details())) {
    return error;
  }
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad_request;
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&info)) {
      error.reason = info.reason();
      error.domain = info.domain();
      error.metadata.insert(info.metadata().begin(), info.metadata().end());
    } else if (any.UnpackTo(&bad_request)) {
      for (const auto& v : bad_request.field_violations()) {
        error.field_violations.emplace_back(v.field(), v.description());
      }
    } else if (any.UnpackTo(&retry)) {
      error.retry_delay = absl::Seconds(retry.retry_delay().seconds()) +
                          absl::Nanoseconds(retry.retry_delay().nanos());
    }
  }
  return error;
}

}  // namespace usergateway
