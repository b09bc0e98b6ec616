// The gRPC service: UpdateUserProfile on the callback API.
//
// The handler validates the request, builds the upstream PUT, hands it to the
// UpstreamClient and returns at once; the upstream completion parses the
// body and finishes the call. No gRPC thread ever waits for the network.
#ifndef USERGATEWAY_GATEWAY_USER_PROFILE_SERVICE_H_
#define USERGATEWAY_GATEWAY_USER_PROFILE_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "gateway/api_key_source.h"
#include "gateway/request_translator.h"
#include "gateway/request_validator.h"
#include "gateway/upstream_client.h"
#include "usergateway/v1/user_profile.grpc.pb.h"

namespace usergateway {

struct ServiceOptions {
  TranslatorConfig translator;
  RequestLimits limits;
  bool log_calls = true;
};

// Thread-safe. Does not own `upstream` or `api_key`; both must outlive the
// gRPC server that serves this service. Each call's request and response
// live on one protobuf arena (see ArenaMessageAllocator in the .cc), so
// that the parsed User costs a few block allocations instead of one per
// string and sub-message.
class UserProfileService final
    : public usergateway::v1::UserProfileGateway::CallbackService {
 public:
  UserProfileService(ServiceOptions options, UpstreamClient* upstream,
                     ApiKeySource* api_key);
  ~UserProfileService() override;

  // Finishes with OK and the user, or with a status from error_mapper.h:
  // INVALID_ARGUMENT (+BadRequest) for bad input without any upstream call,
  // else the mapping of the upstream outcome.
  grpc::ServerUnaryReactor* UpdateUserProfile(
      grpc::CallbackServerContext* context,
      const usergateway::v1::UpdateUserProfileRequest* request,
      usergateway::v1::UpdateUserProfileResponse* response) override;

 private:
  class Call;
  class ArenaMessageAllocator;

  const ServiceOptions options_;
  std::unique_ptr<ArenaMessageAllocator> allocator_;
  UpstreamClient* const upstream_;
  ApiKeySource* const api_key_;
};

// The canonical upper-case name of a gRPC code, e.g. "NOT_FOUND".
absl::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_USER_PROFILE_SERVICE_H_
