// usergateway: serves usergateway.v1.UserProfileGateway until SIGTERM or
// SIGINT, then drains and exits 0. Run with --help for every flag.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gateway/ingress/config.h"
#include "gateway/ingress/server.h"

namespace {

// Writes the port where a test or script waits for it, atomically.
bool WritePortFile(const std::string& path, int port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken synchronously by this thread (sigwait below); block
  // them before any other thread starts so that they all inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Debian's abseil is built with absl::Mutex deadlock detection on, which
  // records every lock in a global graph: measured at several percent of the
  // gateway's CPU (gRPC's own mutexes are absl::Mutex too). Lock order is
  // checked by the tests under TSan instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<usergateway::Config> config =
      usergateway::ParseConfig(args, &getenv);
  if (!config.ok()) {
    if (absl::IsCancelled(config.status())) {
      std::fputs(usergateway::Usage().c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "usergateway: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }

  absl::StatusOr<std::unique_ptr<usergateway::GatewayServer>> server =
      usergateway::GatewayServer::Start(*config);
  if (!server.ok()) {
    std::fprintf(stderr, "usergateway: %s\n",
                 std::string(server.status().message()).c_str());
    // A bad setting found while starting (the API key, TLS files) is a
    // configuration error like those of ParseConfig; anything else (the
    // port cannot be bound) is not.
    return absl::IsInvalidArgument(server.status()) ? 2 : 1;
  }
  int port = (*server)->port();
  if (!config->port_file.empty() && !WritePortFile(config->port_file, port)) {
    std::fprintf(stderr, "usergateway: cannot write --port_file %s\n",
                 config->port_file.c_str());
    return 1;
  }
  std::printf("usergateway listening on port %d, upstream %s (%zu upstream "
              "loops)\n",
              port,
              config->tenants_file.empty()
                  ? config->translator.base_url.c_str()
                  : ("per tenant, " + config->tenants_file).c_str(),
              (*server)->upstream_loops());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr,
               "{\"level\":\"info\",\"msg\":\"signal %d: draining (delay "
               "%lld ms, grace %lld ms)\"}\n",
               signal_number,
               static_cast<long long>(
                   absl::ToInt64Milliseconds(config->drain_delay)),
               static_cast<long long>(
                   absl::ToInt64Milliseconds(config->drain_grace)));
  (*server)->Drain();
  server->reset();
  std::fprintf(stderr, "{\"level\":\"info\",\"msg\":\"stopped\"}\n");
  return 0;
}
