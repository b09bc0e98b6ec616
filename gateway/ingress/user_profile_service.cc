#include "gateway/ingress/user_profile_service.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "google/protobuf/arena.h"
#include "gateway/ingress/caller_identity.h"
#include "gateway/observability/gateway_metrics.h"
#include "gateway/response/error_mapper.h"
#include "gateway/response/response_parser.h"
#include "gateway/tenancy/tenant_guard.h"
#include "gateway/tenancy/tenant_ticket.h"
#include "gateway/upstream/attempt_observer.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace usergateway {
namespace {

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

// Only the metadata the translator may use is copied out of the call.
CallerMetadata ForwardableMetadata(const grpc::CallbackServerContext& context,
                                   const TranslatorConfig& config) {
  CallerMetadata metadata;
  for (const auto& [key, value] : context.client_metadata()) {
    absl::string_view k(key.data(), key.size());
    if (!IsMetadataKeyOfInterest(k, config)) continue;
    metadata.emplace_back(std::string(k),
                          std::string(value.data(), value.size()));
  }
  return metadata;
}

// The metadata key, on the call and in ErrorInfo, that carries the id.
constexpr char kRequestIdMetadataKey[] = "x-request-id";
constexpr char kRequestIdErrorInfoKey[] = "request_id";

// Returns error `status` with ErrorInfo.metadata["request_id"] set to
// `request_id`, and sets `*reason` to its ErrorInfo.reason. Every status
// the error mapper makes has an ErrorInfo; one without (or with details
// that do not decode) is returned as it is, `*reason` empty. The id is
// either the caller's (1 to 128 visible ASCII characters, checked by
// RequestIdOf) or a UUID: safe to put on the wire as is.
grpc::Status WithRequestId(const grpc::Status& status,
                           const std::string& request_id,
                           std::string* reason) {
  reason->clear();
  google::rpc::Status details;
  if (!DecodeStatusDetails(status, &details)) return status;
  for (google::protobuf::Any& any : *details.mutable_details()) {
    google::rpc::ErrorInfo info;
    if (!any.UnpackTo(&info)) continue;
    *reason = info.reason();
    (*info.mutable_metadata())[kRequestIdErrorInfoKey] = request_id;
    any.PackFrom(info);
    return grpc::Status(status.error_code(), status.error_message(),
                        details.SerializeAsString());
  }
  return status;
}

}  // namespace

// One call in flight. Deletes itself when gRPC calls OnDone *and* the
// handler has returned (whichever is last), so that an inline upstream
// completion cannot free it under the handler's feet.
class UserProfileService::Call final : public grpc::ServerUnaryReactor {
 public:
  Call(const UserProfileService* service, grpc::CallbackServerContext* context,
       const usergateway::v1::UpdateUserProfileRequest* request,
       usergateway::v1::UpdateUserProfileResponse* response)
      : service_(service),
        context_(context),
        request_(request),
        response_(response),
        start_(service->clock_.Now()) {}

  // Runs on the gRPC thread that received the call.
  void Begin() {
    CallerMetadata metadata =
        ForwardableMetadata(*context_, service_->options_.translator);
    // First, so that every outcome below can quote it. Initial metadata
    // goes out with Finish at the latest, which nothing can call yet.
    request_id_ = RequestIdOf(metadata);
    context_->AddInitialMetadata(kRequestIdMetadataKey, request_id_);
    if (GatewayMetrics* m = service_->options_.metrics; m != nullptr) {
      m->calls_in_flight().Add(1);
    }
    std::vector<FieldViolation> violations =
        ValidateRequest(*request_, service_->options_.limits);
    if (!violations.empty()) {
      Complete(InvalidRequestStatus(violations), UpstreamResult());
      Unref();
      return;
    }
    const TranslatorConfig* translator = &service_->options_.translator;
    std::shared_ptr<AttemptObserver> ticket;
    if (TenantDirectory* tenants = service_->options_.tenants;
        tenants != nullptr) {
      if (!AdmitTenant(tenants, &ticket)) {
        Unref();
        return;
      }
      api_key_ = tenant_->api_key->Get();
      translator = &tenant_->translator;
    } else {
      api_key_ = service_->api_key_->Get();
    }
    absl::StatusOr<UpstreamRequest> upstream_request = BuildUpstreamRequest(
        *request_, *translator, *api_key_, metadata, request_id_,
        DeadlineOf(*context_));
    if (!upstream_request.ok()) {
      UpstreamResult failed;
      failed.error = TransportError::kInternal;
      failed.error_detail = std::string(upstream_request.status().message());
      Complete(MapUpstreamFailure(failed, Secrets()), failed);
      Unref();
      return;
    }
    upstream_request->attempt_observer = std::move(ticket);
    std::shared_ptr<UpstreamCall> call = service_->upstream_->Start(
        *std::move(upstream_request),
        [this](UpstreamResult result) { OnUpstreamDone(std::move(result)); });
    {
      absl::MutexLock lock(&mu_);
      call_ = std::move(call);
      if (cancelled_) call_->Cancel();
    }
    Unref();
  }

  void OnCancel() override {
    std::shared_ptr<UpstreamCall> call;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      call = call_;
    }
    if (call != nullptr) call->Cancel();
  }

  void OnDone() override { Unref(); }

 private:
  // Runs on the upstream client's loop thread (or inline in Start).
  void OnUpstreamDone(UpstreamResult result) {
    if (result.error == TransportError::kNone && result.http_status >= 200 &&
        result.http_status < 300) {
      // One parser per loop thread, reused across calls.
      thread_local ResponseParser parser;
      absl::Status parsed =
          parser.ParseUser(result.body, response_->mutable_user());
      if (parsed.ok()) {
        Complete(grpc::Status::OK, result);
      } else {
        response_->Clear();
        Complete(MalformedResponseStatus(result, parsed.message(), Secrets()),
                 result);
      }
      return;
    }
    Complete(MapUpstreamFailure(result, Secrets()), result);
  }

  // Finds the call's tenant and lets its guard admit the first attempt.
  // Returns true with tenant_ set and `*ticket` the call's pass for its
  // retries; else completes the call (no upstream attempt) and returns
  // false.
  bool AdmitTenant(TenantDirectory* tenants,
                   std::shared_ptr<AttemptObserver>* ticket) {
    tenants_ = tenants->Current();
    tenant_ = tenants_->Find(request_->enterprise_id());
    if (tenant_ == nullptr) {
      RefuseForTenant(TenantRefusal::kUnknownTenant,
                      "add it to --tenants_file to serve it",
                      absl::ZeroDuration());
      return false;
    }
    const std::vector<std::string>& allowed = tenant_->spec.allowed_callers;
    if (!allowed.empty() &&
        !IsCallerAllowed(CallerIdentities(context_->auth_context()),
                         allowed)) {
      RefuseForTenant(TenantRefusal::kCallerNotAllowed,
                      "no identity of the client certificate (SAN URI or "
                      "DNS name) is in the tenant's allowed_callers",
                      absl::ZeroDuration());
      return false;
    }
    TenantGuard::Admission admission =
        tenant_->guard->Admit(service_->clock_.Now());
    if (!admission.admitted) {
      RefuseForTenant(admission.refusal, admission.detail,
                      admission.retry_after);
      return false;
    }
    *ticket = std::make_shared<TenantTicket>(tenant_->guard, admission.probe);
    return true;
  }

  void RefuseForTenant(TenantRefusal refusal, absl::string_view detail,
                       absl::Duration retry_after) {
    const std::string name = tenant_ == nullptr ? "" : tenant_->spec.name;
    if (GatewayMetrics* m = service_->options_.metrics;
        m != nullptr && !name.empty()) {
      m->TenantRefusal(name, LookupTenantRefusal(refusal).reason).Inc();
    }
    Complete(TenantRefusalStatus(refusal, name, detail, retry_after),
             UpstreamResult());
  }

  // What the error mapper must keep out of a status: the key this call
  // sent and, with tenants, every tenant's key, which the upstream may
  // echo back. None before Begin reads them.
  std::vector<std::string> Secrets() const {
    std::vector<std::string> secrets;
    if (tenants_ != nullptr) secrets = tenants_->AllKeys();
    if (api_key_ != nullptr) secrets.push_back(*api_key_);
    return secrets;
  }

  // The only place that calls Finish: exactly once per call. Adds the
  // request id to every error's ErrorInfo.
  void Complete(const grpc::Status& status, const UpstreamResult& result) {
    std::string reason;
    const grpc::Status sent =
        status.ok() ? status : WithRequestId(status, request_id_, &reason);
    if (GatewayMetrics* m = service_->options_.metrics; m != nullptr) {
      m->Call(GrpcCodeName(status.error_code()), reason).Inc();
      m->call_duration().Observe(
          absl::ToDoubleSeconds(service_->clock_.Now() - start_));
      m->calls_in_flight().Add(-1);
    }
    if (service_->options_.log_calls) {
      CallLogEntry entry;
      entry.start = start_;
      entry.request_id = request_id_;
      entry.user_id = request_->user_id();
      entry.grpc_code = std::string(GrpcCodeName(status.error_code()));
      entry.reason = std::move(reason);
      entry.http_status = result.http_status;
      entry.attempts = result.attempts;
      entry.latency = service_->clock_.Now() - start_;
      entry.upstream_latency = result.upstream_latency;
      if (service_->options_.log_sink) {
        service_->options_.log_sink(entry);
      } else if (service_->log_writer_ != nullptr) {
        service_->log_writer_->Submit(std::move(entry));
      }
    }
    Finish(sent);
  }

  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  const UserProfileService* const service_;
  grpc::CallbackServerContext* const context_;
  const usergateway::v1::UpdateUserProfileRequest* const request_;
  usergateway::v1::UpdateUserProfileResponse* const response_;
  const absl::Time start_;
  // Set first thing in Begin, read-only after.
  std::string request_id_;
  // With tenants: the set the call started with (kept alive for it) and
  // the call's tenant in it; set in Begin, read-only after.
  std::shared_ptr<const TenantSet> tenants_;
  const Tenant* tenant_ = nullptr;
  // The API key this call sends; set in Begin before the upstream call
  // starts (so before OnUpstreamDone can run), read-only after.
  std::shared_ptr<const std::string> api_key_;
  // Held by the handler until it returns and by gRPC until OnDone.
  std::atomic<int> refs_{2};
  absl::Mutex mu_;
  std::shared_ptr<UpstreamCall> call_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

// Puts each call's request and response on an arena whose first block is
// part of the holder, so that a typical call allocates once for the holder
// and the arena grows only for unusually large users.
class UserProfileService::ArenaMessageAllocator final
    : public grpc::MessageAllocator<
          usergateway::v1::UpdateUserProfileRequest,
          usergateway::v1::UpdateUserProfileResponse> {
 public:
  grpc::MessageHolder<usergateway::v1::UpdateUserProfileRequest,
                      usergateway::v1::UpdateUserProfileResponse>*
  AllocateMessages() override {
    return new Holder();
  }

 private:
  class Holder final
      : public grpc::MessageHolder<
            usergateway::v1::UpdateUserProfileRequest,
            usergateway::v1::UpdateUserProfileResponse> {
   public:
    Holder() : arena_(Options(initial_block_, sizeof(initial_block_))) {
      set_request(google::protobuf::Arena::CreateMessage<
                  usergateway::v1::UpdateUserProfileRequest>(&arena_));
      set_response(google::protobuf::Arena::CreateMessage<
                   usergateway::v1::UpdateUserProfileResponse>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block, size_t size) {
      google::protobuf::ArenaOptions options;
      options.initial_block = block;
      options.initial_block_size = size;
      // The user is parsed only when the upstream answers: one 4 KiB block
      // then holds a typical user, and none is held while the call waits.
      options.start_block_size = 4096;
      return options;
    }
    // Holds the request (and the arena's own bookkeeping) for the whole
    // call; kept small because it is paid by every call in flight.
    alignas(8) char initial_block_[1024];
    google::protobuf::Arena arena_;
  };
};

UserProfileService::UserProfileService(ServiceOptions options,
                                       UpstreamClient* upstream,
                                       ApiKeySource* api_key,
                                       const Clock& clock)
    : options_(std::move(options)),
      allocator_(std::make_unique<ArenaMessageAllocator>()),
      upstream_(upstream),
      api_key_(api_key),
      clock_(clock),
      log_writer_(options_.log_calls && !options_.log_sink
                      ? std::make_unique<CallLogWriter>(
                            STDERR_FILENO, options_.log_capacity, clock_)
                      : nullptr) {
  SetMessageAllocatorFor_UpdateUserProfile(allocator_.get());
}

UserProfileService::~UserProfileService() = default;

grpc::ServerUnaryReactor* UserProfileService::UpdateUserProfile(
    grpc::CallbackServerContext* context,
    const usergateway::v1::UpdateUserProfileRequest* request,
    usergateway::v1::UpdateUserProfileResponse* response) {
  auto* call = new Call(this, context, request, response);
  call->Begin();
  return call;
}

absl::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

}  // namespace usergateway
