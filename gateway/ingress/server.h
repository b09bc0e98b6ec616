// Wires the gateway together: API key source, upstream client, the
// UpdateUserProfile service, gRPC health and reflection; and shuts it down
// gracefully. Used by main() and, in-process, by the integration tests.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<GatewayServer>> server =
//       GatewayServer::Start(config);
//   ...  // serve until SIGTERM
//   (*server)->Drain();  // NOT_SERVING, delay, finish in-flight calls
#ifndef USERGATEWAY_GATEWAY_INGRESS_SERVER_H_
#define USERGATEWAY_GATEWAY_INGRESS_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/statusor.h"
#include "gateway/request/api_key_source.h"
#include "gateway/ingress/config.h"
#include "gateway/upstream/curl_upstream_client.h"
#include "gateway/ingress/user_profile_service.h"

namespace usergateway {

// The service name health checks and reflection report.
inline constexpr char kServiceName[] = "usergateway.v1.UserProfileGateway";

// Owns everything it starts. Start/Drain from one thread; the rest is
// thread-safe.
class GatewayServer {
 public:
  // Starts serving on config.listen. Fails with kInvalidArgument for a bad
  // key file or TLS files (unreadable, no PEM certificate or key, a key that
  // is not the certificate's; the message names the flag), kUnavailable
  // when the port cannot be bound, or the upstream client's error. With
  // TLS, the certificate, key and client CA are re-read every
  // config.tls_reload_interval and used for new connections.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(
      const Config& config);

  // Drains (if not done yet) and stops.
  ~GatewayServer();

  // The bound gRPC port (useful with port 0).
  int port() const { return port_; }

  // Graceful stop: health NOT_SERVING; keep serving for drain_delay; then
  // answer new calls UNAVAILABLE (GATEWAY_DRAINING, RetryInfo) and give
  // in-flight ones drain_grace to finish; the rest get the same answer
  // (their upstream transfers aborted). Then gRPC stops accepting calls.
  // Blocks until stopped.
  void Drain();

  // Upstream client counters (connections, transfers, retries).
  CurlUpstreamStats UpstreamStats() const { return upstream_->Stats(); }
  // Upstream event-loop threads running (see --upstream_loops).
  size_t upstream_loops() const { return upstream_->loop_count(); }

 private:
  GatewayServer() = default;

  Config config_;
  std::unique_ptr<ApiKeySource> api_key_;
  std::unique_ptr<CurlUpstreamClient> upstream_;
  std::unique_ptr<UserProfileService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool drained_ = false;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_INGRESS_SERVER_H_
