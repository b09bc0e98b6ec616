#include "gateway/ingress/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/common/file_util.h"

namespace usergateway {
namespace {

// After the drain grace: how long the loops get to deliver the
// GATEWAY_DRAINING answers, and gRPC to flush them before it cancels.
constexpr absl::Duration kAbortWait = absl::Seconds(2);
constexpr absl::Duration kShutdownFlush = absl::Seconds(1);

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::optional<std::string> bytes = ReadFileToString(path);
  if (!bytes.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }
  return *std::move(bytes);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const Config& config) {
  if (config.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      config.tls_client_ca_file.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  absl::StatusOr<std::string> cert = ReadFile(config.tls_cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(config.tls_key_file);
  if (!key.ok()) return key.status();
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!config.tls_client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFile(config.tls_client_ca_file);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    const Config& config) {
  std::unique_ptr<GatewayServer> self(new GatewayServer());
  self->config_ = config;

  absl::StatusOr<std::unique_ptr<ApiKeySource>> key =
      config.api_key_file.empty()
          ? ApiKeySource::FromValue(config.api_key_env_value)
          : ApiKeySource::FromFile(config.api_key_file,
                                   config.api_key_reload_interval);
  if (!key.ok()) return key.status();
  self->api_key_ = *std::move(key);

  absl::StatusOr<std::unique_ptr<CurlUpstreamClient>> upstream =
      CurlUpstreamClient::Create(config.upstream);
  if (!upstream.ok()) return upstream.status();
  self->upstream_ = *std::move(upstream);

  ServiceOptions service_options;
  service_options.translator = config.translator;
  service_options.limits = config.limits;
  service_options.log_calls = config.log_calls;
  self->service_ = std::make_unique<UserProfileService>(
      service_options, self->upstream_.get(), self->api_key_.get());

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      Credentials(config);
  if (!credentials.ok()) return credentials.status();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, *credentials, &self->port_);
  builder.RegisterService(self->service_.get());
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_MS,
      static_cast<int>(std::min<int64_t>(
          absl::ToInt64Milliseconds(config.max_connection_age), INT32_MAX)));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
      static_cast<int>(std::min<int64_t>(
          absl::ToInt64Milliseconds(config.max_connection_age_grace),
          INT32_MAX)));
  self->server_ = builder.BuildAndStart();
  if (self->server_ == nullptr || self->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen));
  }
  grpc::HealthCheckServiceInterface* health =
      self->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(kServiceName, true);
  return self;
}

void GatewayServer::Drain() {
  if (drained_) return;
  drained_ = true;
  // Health first, so that probes and load balancers stop sending calls;
  // calls that still arrive during the delay are served.
  server_->GetHealthCheckService()->SetServingStatus(false);
  absl::SleepFor(config_.drain_delay);
  // From here the gateway answers new calls itself, UNAVAILABLE with
  // GATEWAY_DRAINING and RetryInfo (the upstream client refuses them), so
  // that callers learn why and retry elsewhere; gRPC still accepts them.
  upstream_->Drain();
  if (!upstream_->WaitIdle(absl::Now() + config_.drain_grace)) {
    // Grace is over: the gateway, not gRPC, ends what is left, with the
    // same answer, and aborts the upstream transfers.
    upstream_->AbortInFlight(
        "the gateway's drain grace period ended before the upstream "
        "answered");
    upstream_->WaitIdle(absl::Now() + kAbortWait);
  }
  // Only now does gRPC stop accepting calls; the short deadline lets the
  // answers just given reach their callers.
  server_->Shutdown(absl::ToChronoTime(absl::Now() + kShutdownFlush));
  server_->Wait();
}

GatewayServer::~GatewayServer() {
  if (server_ != nullptr && !drained_) {
    drained_ = true;
    server_->Shutdown(absl::ToChronoTime(absl::Now()));
    server_->Wait();
  }
  // The upstream client stops its loop (remaining calls report CANCELLED)
  // before the service and key source it calls into go away.
  upstream_.reset();
}

}  // namespace usergateway
