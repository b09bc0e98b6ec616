// The gRPC service: UpdateUserProfile on the callback API.
//
// The handler validates the request, builds the upstream PUT, hands it to the
// UpstreamClient and returns at once; the upstream completion parses the
// body and finishes the call. No gRPC thread ever waits for the network.
#ifndef USERGATEWAY_GATEWAY_INGRESS_USER_PROFILE_SERVICE_H_
#define USERGATEWAY_GATEWAY_INGRESS_USER_PROFILE_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "gateway/common/clock.h"
#include "gateway/ingress/call_log.h"
#include "gateway/request/api_key_source.h"
#include "gateway/request/request_translator.h"
#include "gateway/request/request_validator.h"
#include "gateway/upstream/upstream_client.h"
#include "usergateway/v1/user_profile.grpc.pb.h"

namespace usergateway {

struct ServiceOptions {
  TranslatorConfig translator;
  RequestLimits limits;
  // One call log entry per call, to `log_sink` (empty: WriteCallLog, one
  // JSON line on stderr).
  bool log_calls = true;
  CallLogSink log_sink;
};

// Thread-safe. Does not own `upstream`, `api_key` or `clock`; they must
// outlive the gRPC server that serves this service. `clock` times the call
// log's start and latency. Each call's request and response
// live on one protobuf arena (see ArenaMessageAllocator in the .cc), so
// that the parsed User costs a few block allocations instead of one per
// string and sub-message.
class UserProfileService final
    : public usergateway::v1::UserProfileGateway::CallbackService {
 public:
  UserProfileService(ServiceOptions options, UpstreamClient* upstream,
                     ApiKeySource* api_key, const Clock& clock = RealClock());
  ~UserProfileService() override;

  // Finishes each call exactly once: OK and the user; INVALID_ARGUMENT
  // (+BadRequest, INVALID_REQUEST) for bad input, without an upstream call;
  // INTERNAL (GATEWAY_INTERNAL) when the API key cannot be sent, without an
  // upstream call; INTERNAL (UPSTREAM_MALFORMED_RESPONSE) for a 2xx that
  // does not parse; else error_mapper.h's mapping of the upstream outcome
  // (including refusals such as GATEWAY_OVERLOADED and a cancelled call's
  // CALLER_CANCELLED).
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
  const Clock& clock_;
};

// The canonical upper-case name of a gRPC code, e.g. "NOT_FOUND".
absl::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_INGRESS_USER_PROFILE_SERVICE_H_
