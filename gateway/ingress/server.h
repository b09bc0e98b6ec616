// Wires the gateway together: the metrics registry and the gateway's
// metrics, API key source, upstream client, the UpdateUserProfile service,
// gRPC health and reflection, and (with --admin_listen) the admin HTTP
// server (/metrics, /healthz, /readyz); and shuts it down gracefully. Used
// by main() and, in-process, by the integration tests.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<GatewayServer>> server =
//       GatewayServer::Start(config);
//   ...  // serve until SIGTERM; (*server)->admin_port() is scraped
//   (*server)->Drain();  // NOT_SERVING, delay, finish in-flight calls
#ifndef USERGATEWAY_GATEWAY_INGRESS_SERVER_H_
#define USERGATEWAY_GATEWAY_INGRESS_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/statusor.h"
#include "gateway/ingress/admin_server.h"
#include "gateway/ingress/config.h"
#include "gateway/ingress/user_profile_service.h"
#include "gateway/observability/gateway_metrics.h"
#include "gateway/observability/metrics.h"
#include "gateway/request/api_key_source.h"
#include "gateway/tenancy/tenant_directory.h"
#include "gateway/upstream/curl_upstream_client.h"

namespace usergateway {

// The service name health checks and reflection report.
inline constexpr char kServiceName[] = "usergateway.v1.UserProfileGateway";
// The version usergateway_build_info reports.
inline constexpr char kGatewayVersion[] = "0.1.0";

// Owns everything it starts; the metrics registry outlives the rest. Start
// and Drain from one thread; the rest is thread-safe.
class GatewayServer {
 public:
  // Starts serving on config.listen. Fails with kInvalidArgument for a bad
  // key file, tenants file (or a tenant's key file) or TLS files (unreadable, no PEM certificate or key, a key that
  // is not the certificate's; the message names the flag) or a bad
  // config.admin_listen, kUnavailable when the gRPC or admin port cannot be
  // bound, kInternal when config.admin_port_file cannot be written, or the
  // upstream client's error. With TLS, the certificate, key and client CA
  // are re-read every config.tls_reload_interval and used for new
  // connections.
  //
  // With config.admin_listen, the admin server is bound and answering
  // before the gRPC server starts (/readyz 503 "starting" until the gRPC
  // server serves, then 200), and its port is written to
  // config.admin_port_file (atomically: a sibling file renamed over it)
  // when that is set. Each scrape first brings
  // usergateway_call_log_dropped_total up to the call log's own count; API
  // key reloads are counted as they happen.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(
      const Config& config);

  // Drains (if not done yet) and stops.
  ~GatewayServer();

  // The bound gRPC port (useful with port 0).
  int port() const { return port_; }

  // The bound admin port; 0 without config.admin_listen.
  int admin_port() const { return admin_ == nullptr ? 0 : admin_->port(); }

  // The gateway's metrics (what /metrics exposes), for the components it
  // wires and for tests.
  GatewayMetrics& metrics() { return *metrics_; }
  const metrics::Registry& registry() const { return *registry_; }

  // Graceful stop: health NOT_SERVING, /readyz 503 "draining" and
  // usergateway_draining 1; keep serving for drain_delay; then
  // answer new calls UNAVAILABLE (GATEWAY_DRAINING, RetryInfo) and give
  // in-flight ones drain_grace to finish; the rest get the same answer
  // (their upstream transfers aborted). Then gRPC stops accepting calls.
  // Blocks until stopped. The admin server answers until destruction, so
  // that the last scrape sees the drain's calls.
  void Drain();

  // Upstream client counters (connections, transfers, retries).
  CurlUpstreamStats UpstreamStats() const { return upstream_->Stats(); }
  // Upstream event-loop threads running (see --upstream_loops).
  size_t upstream_loops() const { return upstream_->loop_count(); }

 private:
  GatewayServer() = default;

  Config config_;
  // First: everything below records into them, and they go last.
  std::unique_ptr<metrics::Registry> registry_;
  std::unique_ptr<GatewayMetrics> metrics_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<ApiKeySource> api_key_;    // null with tenants_ only
  std::unique_ptr<TenantDirectory> tenants_;  // with --tenants_file
  std::unique_ptr<CurlUpstreamClient> upstream_;
  std::unique_ptr<UserProfileService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool drained_ = false;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_INGRESS_SERVER_H_
