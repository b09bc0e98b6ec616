#include "gateway/ingress/admin_server.h"

#include <sys/socket.h>

#include <chrono>  // NOLINT(build/c++11)
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/common/socket_scan.h"
#include "httplib.h"

namespace usergateway {
namespace {

constexpr char kTextPlain[] = "text/plain; charset=utf-8";
constexpr char kAllowed[] = "GET, HEAD";

// The paths the server answers; every other one is 404.
bool IsKnownPath(absl::string_view path) {
  return path == "/metrics" || path == "/healthz" || path == "/readyz";
}

void Reply(httplib::Response& res, int status, absl::string_view text) {
  res.status = status;
  res.set_content(absl::StrCat(text, "\n"), kTextPlain);
}

// Shuts down the reading side of every connected TCP socket of this process
// whose local port is `port`: the connections this server accepted.
// cpp-httplib (0.11) does not hand out its accepted sockets, and a worker
// waiting on an idle keep-alive connection only notices stop() when that
// connection's keep-alive timeout ends; the end of input wakes it now. A
// response being written still goes out whole (the sending side stays
// open). The worker still owns and closes the descriptor. The listening
// socket has no peer and is skipped.
void ShutdownAcceptedSockets(int port) {
  ForEachConnectedSocket([port](int fd, int local_port, int) {
    if (local_port == port) shutdown(fd, SHUT_RD);
  });
}

}  // namespace

AdminServer::AdminServer(AdminServerOptions options,
                         const metrics::Registry* registry)
    : options_(std::move(options)), registry_(registry) {}

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(
    AdminServerOptions options, const metrics::Registry* registry) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "admin port ", options.port, " is not between 0 and 65535"));
  }
  if (options.threads < 1) {
    return absl::InvalidArgumentError("admin server needs at least 1 thread");
  }
  std::unique_ptr<AdminServer> self =
      absl::WrapUnique(new AdminServer(std::move(options), registry));
  self->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *self->server_;
  const int threads = self->options_.threads;
  // cpp-httplib takes ownership of the queue this returns.
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
  server.set_tcp_nodelay(true);
  // Nothing here reads a body; a client that sends one anyway may not make
  // the server buffer much of it.
  server.set_payload_max_length(64 * 1024);
  // cpp-httplib's default socket options add SO_REUSEPORT, with which a
  // second listener of the same user may bind the same address and port and
  // get half of its connections. Keep SO_REUSEADDR only (a restart may
  // rebind while old connections are in TIME_WAIT).
  server.set_socket_options([](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  self->AddRoutes();

  const AdminServerOptions& opts = self->options_;
  int port = opts.port;
  if (port == 0) {
    port = server.bind_to_any_port(opts.host);
  } else if (!server.bind_to_port(opts.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", opts.host, ":", opts.port,
        " for the admin server (address in use, not local, or not "
        "resolvable)"));
  }
  self->port_ = port;
  AdminServer* raw = self.get();
  self->thread_ = std::thread([raw] {
    raw->server_->listen_after_bind();
    std::lock_guard<std::mutex> lock(raw->mu_);
    raw->listen_done_ = true;
    raw->cv_.notify_all();
  });
  return self;
}

void AdminServer::AddRoutes() {
  httplib::Server& server = *server_;
  // Handlers are tried in the order added; the last GET one catches the
  // rest. cpp-httplib answers HEAD with the GET handler, without the body.
  server.Get("/metrics", [this](const httplib::Request&,
                                httplib::Response& res) {
    if (options_.before_scrape) options_.before_scrape();
    res.status = 200;
    res.body = registry_->Expose();
    res.set_header("Content-Type",
                   std::string(metrics::kExpositionContentType));
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, "ok");
  });
  server.Get("/readyz", [this](const httplib::Request&,
                               httplib::Response& res) {
    switch (readiness_.load()) {
      case Readiness::kServing:
        Reply(res, 200, "ready");
        return;
      case Readiness::kStarting:
        Reply(res, 503, "starting");
        return;
      case Readiness::kDraining:
        Reply(res, 503, "draining");
        return;
    }
  });
  server.Get(".*", [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 404, "not found");
  });
  const auto other_method = [](const httplib::Request& req,
                               httplib::Response& res) {
    if (IsKnownPath(req.path)) {
      res.set_header("Allow", kAllowed);
      Reply(res, 405, "method not allowed");
    } else {
      Reply(res, 404, "not found");
    }
  };
  server.Post(".*", other_method);
  server.Put(".*", other_method);
  server.Patch(".*", other_method);
  server.Delete(".*", other_method);
  server.Options(".*", other_method);
}

AdminServer::~AdminServer() { Stop(); }

void AdminServer::SetServing() {
  Readiness expected = Readiness::kStarting;
  readiness_.compare_exchange_strong(expected, Readiness::kServing);
}

void AdminServer::SetDraining() { readiness_.store(Readiness::kDraining); }

void AdminServer::Stop() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      cv_.wait(lock, [this] { return stopped_; });
      return;
    }
    stopping_ = true;
  }
  if (thread_.joinable()) {
    // Repeated because cpp-httplib's stop() does nothing until its accept
    // loop has started, and a connection may be accepted while the sockets
    // are scanned. The accept loop then joins the workers, which finish the
    // request they are answering.
    for (;;) {
      server_->stop();
      ShutdownAcceptedSockets(port_);
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(20),
                       [this] { return listen_done_; })) {
        break;
      }
    }
    thread_.join();
  }
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  cv_.notify_all();
}

}  // namespace usergateway
