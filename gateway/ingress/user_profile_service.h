// The gRPC service: UpdateUserProfile on the callback API.
//
// The handler validates the request, builds the upstream PUT, hands it to the
// UpstreamClient and returns at once; the upstream completion parses the
// body and finishes the call. No gRPC thread ever waits for the network,
// nor for the call log (a CallLogWriter writes it from a thread of its own).
//
// Every call has a request id, drawn when it arrives (RequestIdOf in
// request_translator.h: the caller's x-request-id when sane, else a new
// UUIDv4), before anything can refuse it. The same id is the upstream's
// X-Request-Id, the call log line's "request_id", the initial metadata
// "x-request-id" the caller receives on every call, and, on every error,
// ErrorInfo.metadata["request_id"] in the status details.
#ifndef USERGATEWAY_GATEWAY_INGRESS_USER_PROFILE_SERVICE_H_
#define USERGATEWAY_GATEWAY_INGRESS_USER_PROFILE_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>

#include "gateway/common/clock.h"
#include "gateway/ingress/call_log.h"
#include "gateway/request/api_key_source.h"
#include "gateway/request/request_translator.h"
#include "gateway/request/request_validator.h"
#include "gateway/tenancy/tenant_directory.h"
#include "gateway/upstream/upstream_client.h"
#include "usergateway/v1/user_profile.grpc.pb.h"

namespace usergateway {

class GatewayMetrics;  // gateway/observability/gateway_metrics.h

struct ServiceOptions {
  TranslatorConfig translator;
  RequestLimits limits;
  // One call log entry per call (when `log_calls`), to `log_sink`; when
  // that is empty, to a CallLogWriter on stderr that the service owns
  // (call_log_writer()), holding up to `log_capacity` entries.
  bool log_calls = true;
  CallLogSink log_sink;
  size_t log_capacity = kDefaultCallLogCapacity;
  // Where calls are counted (usergateway_calls_total, _in_flight,
  // _call_duration_seconds); null counts nothing. Must outlive the service.
  GatewayMetrics* metrics = nullptr;
  // With --tenants_file: each call goes to its enterprise_id's tenant
  // (base URL, key, allowed callers, guard); `translator.base_url` and the
  // service's ApiKeySource are not used. Null: one upstream, one key.
  // Must outlive the service.
  TenantDirectory* tenants = nullptr;
};

// Thread-safe. Does not own `upstream`, `api_key` or `clock`; they must
// outlive the gRPC server that serves this service. `api_key` may be null
// with options.tenants. `clock` times the call
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
  // upstream call; with tenants, before any upstream call: an
  // enterprise_id of no tenant FAILED_PRECONDITION (GATEWAY_UNKNOWN_TENANT),
  // a caller not in the tenant's allowed_callers PERMISSION_DENIED
  // (GATEWAY_CALLER_NOT_ALLOWED), and the tenant guard's refusals
  // (tenant_guard.h; RetryInfo); INTERNAL (UPSTREAM_MALFORMED_RESPONSE) for
  // a 2xx that
  // does not parse; else error_mapper.h's mapping of the upstream outcome
  // (including refusals such as GATEWAY_OVERLOADED and a cancelled call's
  // CALLER_CANCELLED). Whatever the outcome, the call's request id (see
  // above) goes out as initial metadata x-request-id; an error also has it
  // as ErrorInfo.metadata["request_id"].
  grpc::ServerUnaryReactor* UpdateUserProfile(
      grpc::CallbackServerContext* context,
      const usergateway::v1::UpdateUserProfileRequest* request,
      usergateway::v1::UpdateUserProfileResponse* response) override;

  // The writer of the default call log (stderr), whose dropped() counts
  // the lines the call log lost (for usergateway_call_log_dropped_total);
  // nullptr when `log_sink` is set or `log_calls` is false. Valid for the
  // service's life.
  const CallLogWriter* call_log_writer() const { return log_writer_.get(); }

 private:
  class Call;
  class ArenaMessageAllocator;

  const ServiceOptions options_;
  std::unique_ptr<ArenaMessageAllocator> allocator_;
  UpstreamClient* const upstream_;
  ApiKeySource* const api_key_;
  const Clock& clock_;
  // Destroyed first: it writes what is still queued while the rest of the
  // service is intact. Calls must be over by then (gRPC's Shutdown).
  const std::unique_ptr<CallLogWriter> log_writer_;
};

// The canonical upper-case name of a gRPC code, e.g. "NOT_FOUND".
absl::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_INGRESS_USER_PROFILE_SERVICE_H_
