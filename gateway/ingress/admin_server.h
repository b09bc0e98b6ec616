// The admin listener: a small plain-HTTP server, separate from the gRPC
// port, for what operators and Prometheus ask of a running gateway.
//
//   GET /metrics  200, registry.Expose() as kExpositionContentType (the
//                 Prometheus text format 0.0.4; gzip when the scraper
//                 accepts it)
//   GET /healthz  200 "ok" while the process runs (liveness)
//   GET /readyz   200 "ready" while serving; 503 "starting" before, and
//                 503 "draining" from the start of the drain on
//   anything else 404 "not found"
//
// HEAD is answered as GET without the body. Any other method gets 405 (with
// "Allow: GET, HEAD") on the three paths and 404 elsewhere. Bodies are
// text/plain and end with a newline.
//
// Example:
//
//   metrics::Registry registry;
//   AdminServerOptions options;
//   options.host = "127.0.0.1";
//   options.port = 0;  // a free port, see port()
//   absl::StatusOr<std::unique_ptr<AdminServer>> admin =
//       AdminServer::Start(options, &registry);
//   if (!admin.ok()) return admin.status();
//   (*admin)->SetServing();   // /readyz 200 once the gRPC server serves
//   ...
//   (*admin)->SetDraining();  // /readyz 503 from now on
//   (*admin)->Stop();         // or let the destructor do it
#ifndef USERGATEWAY_GATEWAY_INGRESS_ADMIN_SERVER_H_
#define USERGATEWAY_GATEWAY_INGRESS_ADMIN_SERVER_H_

#include <atomic>
#include <condition_variable>  // NOLINT(build/c++11)
#include <functional>
#include <memory>
#include <mutex>  // NOLINT(build/c++11)
#include <string>
#include <thread>  // NOLINT(build/c++11)

#include "absl/status/statusor.h"
#include "gateway/observability/metrics.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace usergateway {

struct AdminServerOptions {
  // Address to bind: an IPv4 or IPv6 literal (no brackets) or a host name.
  std::string host = "127.0.0.1";
  // 0 picks a free port (see AdminServer::port()).
  int port = 0;
  // Runs before each /metrics scrape writes the registry, e.g. to copy a
  // value that is only sampled into a gauge. May be empty. Called on the
  // admin server's threads, possibly concurrently for concurrent scrapes:
  // it must be thread-safe.
  std::function<void()> before_scrape;
  // Worker threads answering requests (connections beyond this wait).
  int threads = 2;
};

// What /readyz answers.
enum class Readiness {
  kStarting,  // 503 "starting"
  kServing,   // 200 "ready"
  kDraining,  // 503 "draining"
};

// Owns its HTTP server and the threads that run it; borrows the registry,
// which must outlive it. Thread-safe.
class AdminServer {
 public:
  // Binds options.host:options.port before it returns (so that port() is
  // final and the first scrape cannot be refused), then serves on its own
  // threads, /readyz answering "starting". Returns kInvalidArgument for a
  // port outside 0..65535 or threads < 1, kUnavailable when the address
  // cannot be bound (in use, not local, unresolvable). The socket is bound
  // without SO_REUSEPORT, so that it can never share a port with another
  // listener (such as the gRPC server, which sets it).
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(
      AdminServerOptions options, const metrics::Registry* registry);

  // Stop().
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // The bound port.
  int port() const { return port_; }

  // /readyz turns 200 "ready". No effect once draining: a drain is final.
  void SetServing();
  // /readyz turns 503 "draining", for good.
  void SetDraining();
  Readiness readiness() const { return readiness_.load(); }

  // Stops accepting, ends open connections (idle keep-alive ones included)
  // and joins the threads; requests being answered finish first. Returns
  // when stopped. Idempotent: a second call, from any thread, waits for the
  // first to finish.
  void Stop();

 private:
  AdminServer(AdminServerOptions options, const metrics::Registry* registry);
  void AddRoutes();

  const AdminServerOptions options_;
  const metrics::Registry* const registry_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::atomic<Readiness> readiness_{Readiness::kStarting};
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool listen_done_ = false;  // guarded by mu_: the listen loop returned
  bool stopping_ = false;     // guarded by mu_
  bool stopped_ = false;      // guarded by mu_
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_INGRESS_ADMIN_SERVER_H_
