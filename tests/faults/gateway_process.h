// The built gateway binary (//gateway:usergateway) as a child process, as
// production runs it: started with flags on 127.0.0.1:0, its port read from
// --port_file, its stderr (the call log) captured in a file, stopped with
// SIGTERM. For tests that must see the real binary's behaviour end to end.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<GatewayProcess>> gateway =
//       GatewayProcess::Start({"--upstream_base_url=http://127.0.0.1:8080",
//                              "--allow_insecure_http"});
//   ASSERT_TRUE(gateway.ok()) << gateway.status();
//   auto stub = UserProfileGateway::NewStub((*gateway)->channel());
//   ... calls ...
//   std::vector<CallLogLine> log = (*gateway)->CallLog();
//
// Owned by the test; the destructor stops the process (SIGTERM, then SIGKILL
// after 10 s). Not thread-safe except CallLog().
#ifndef USERGATEWAY_TESTS_FAULTS_GATEWAY_PROCESS_H_
#define USERGATEWAY_TESTS_FAULTS_GATEWAY_PROCESS_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace usergateway {
namespace testing {

// The path of the gateway binary in the test's runfiles
// ($TEST_SRCDIR/$TEST_WORKSPACE/gateway/usergateway).
std::string GatewayBinaryPath();

// The fields of one call log line the tests read.
struct CallLogLine {
  std::string request_id;
  std::string grpc_code;
  std::string reason;  // "" for OK
  int attempts = -1;
};

class GatewayProcess {
 public:
  // Starts the binary with `flags` plus --listen=127.0.0.1:0, --port_file
  // and --log_calls=true, and the API key `api_key` in GATEWAY_API_KEY.
  // Waits (up to 20 s) for the port file and a connected channel. Returns
  // Unavailable with the process's stderr when it exits or never listens.
  static absl::StatusOr<std::unique_ptr<GatewayProcess>> Start(
      const std::vector<std::string>& flags,
      const std::string& api_key = "fault-matrix-key");

  ~GatewayProcess();
  GatewayProcess(const GatewayProcess&) = delete;
  GatewayProcess& operator=(const GatewayProcess&) = delete;

  int port() const { return port_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // The process is still running.
  bool Running();
  // Everything the process wrote to stderr so far.
  std::string Stderr() const;
  // The call log lines written so far, oldest first.
  std::vector<CallLogLine> CallLog() const;
  // Waits until the call log has at least `count` lines; false on timeout.
  bool WaitForCallLog(size_t count, absl::Duration timeout) const;

 private:
  GatewayProcess(pid_t pid, std::string stderr_path)
      : pid_(pid), stderr_path_(std::move(stderr_path)) {}

  pid_t pid_;
  const std::string stderr_path_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace testing
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_FAULTS_GATEWAY_PROCESS_H_
