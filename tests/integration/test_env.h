// The integration tests' world: the real upstream emulator and the real
// gateway (GatewayServer, in-process) on loopback, with a gRPC stub talking
// to the gateway over a real channel, plus helpers to make calls and read
// the google.rpc.Status details of their errors. Optionally a real nginx
// (NginxFront) sits between the gateway and the emulator and speaks h2 (or
// HTTP/1.1) over TLS to the gateway.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<TestEnv>> env = TestEnv::Start();
//   ASSERT_TRUE(env.ok()) << env.status();
//   CallResult r = Call((*env)->stub(), MakeRequest(kAdaUserId, "Ada"));
//   EXPECT_TRUE(r.status.ok());
//   EXPECT_EQ((*env)->emulator().Requests().size(), 1);
//
//   TestEnvOptions h2;
//   h2.upstream_front = UpstreamFront::kNginxH2;  // gateway -h2/TLS-> nginx
//   env = TestEnv::Start(h2);                     //   -HTTP/1.1-> emulator
//   ... (*env)->front()->AccessLog() ...
//
// Every port is bound to 0. Each test starts its own TestEnv so that
// emulator state (users, faults, recorded requests) and gateway state
// (connections, retry budget) never leak between tests.
#ifndef USERGATEWAY_TESTS_INTEGRATION_TEST_ENV_H_
#define USERGATEWAY_TESTS_INTEGRATION_TEST_ENV_H_

#include <grpcpp/grpcpp.h>

#include <condition_variable>  // NOLINT(build/c++11)
#include <functional>
#include <memory>
#include <mutex>  // NOLINT(build/c++11)
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/ingress/config.h"
#include "gateway/ingress/server.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tests/emulator/emulator.h"
#include "tests/emulator/embedded_users.h"
#include "tests/emulator/nginx_front.h"
#include "tests/emulator/test_certificates.h"
#include "usergateway/v1/user_profile.grpc.pb.h"

namespace usergateway {
namespace testing {

// $TEST_TMPDIR, or "/tmp" outside Bazel.
std::string TestTmpDir();

// The fixture file the BUILD rule names in $USERS_FIXTURE (a runfiles path
// relative to the test's working directory). Returns NotFound when the
// variable is unset.
absl::StatusOr<std::string> FixturePath();

// Returns the fixture's text: the file of FixturePath(), else the copy
// compiled into the emulator (EmbeddedUsersJson()).
absl::StatusOr<std::string> ReadFixtureJson();

// Whole-file helpers. WriteFileAtomically writes a sibling temporary file
// and renames it over `path`, as a Kubernetes Secret update swaps files, so
// that a reader never sees a half-written key.
absl::StatusOr<std::string> ReadFile(const std::string& path);
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents);

// What stands between the gateway and the emulator.
enum class UpstreamFront {
  // Nothing: the gateway calls the emulator itself (http://, or https://
  // with emulator_tls), over HTTP/1.1.
  kNone,
  // nginx over TLS offering h2 (NginxFront kH2): the gateway speaks h2.
  kNginxH2,
  // nginx over TLS offering http/1.1 only (NginxFront kHttp1Only): an
  // https upstream that declines h2.
  kNginxHttp1Tls,
};

// "Http1", "H2Tls", "Http1Tls": for test names.
std::string UpstreamFrontName(UpstreamFront front);

// How to start a TestEnv.
struct TestEnvOptions {
  // The emulator's options; users_path defaults to FixturePath().
  EmulatorOptions emulator;
  // Serve the emulator over HTTPS with freshly generated certificates.
  // Only without a front (behind one the emulator serves plain http).
  bool emulator_tls = false;
  // With TLS (emulator_tls, or any front): give the gateway the generated
  // CA (ca_bundle).
  bool trust_emulator_ca = true;
  // With a front, the emulator serves http on loopback behind nginx, nginx
  // serves TLS with freshly generated certificates, and the gateway gets
  // base URL front()->origin() + the emulator's path prefix,
  // allow_insecure_http off and upstream.http2 on (before `configure`).
  UpstreamFront upstream_front = UpstreamFront::kNone;
  // The front's other settings (keepalive_requests,
  // http2_max_concurrent_streams, ...). Start fills in upstream_origin,
  // the certificate paths, mode and (when empty) work_dir.
  NginxFrontOptions front;
  // When non-empty, the gateway's upstream base URL instead of the
  // emulator's (e.g. a RawHttpServer's base_url()); the emulator still
  // starts, so emulator() stays valid. Applied before `configure`.
  std::string upstream_base_url;
  // Adjusts the gateway config after the defaults of DefaultGatewayConfig
  // are filled in (e.g. a key file, a path template, limits).
  std::function<void(Config*)> configure;
};

// A running emulator (+ front) + gateway + channel. Owned by the test;
// destroying it stops the gateway (cancelling calls in flight), then the
// front, then the emulator.
// Accessors are thread-safe in the sense of the objects they return.
class TestEnv {
 public:
  // Starts everything and waits (up to 10 s) until the channel is
  // connected. Returns InvalidArgument for emulator_tls with a front, else
  // the first start-up error (emulator, certificates, front, gateway, or
  // Unavailable when the channel does not connect).
  static absl::StatusOr<std::unique_ptr<TestEnv>> Start(
      TestEnvOptions options = TestEnvOptions());

  ~TestEnv();
  TestEnv(const TestEnv&) = delete;
  TestEnv& operator=(const TestEnv&) = delete;

  Emulator& emulator() { return *emulator_; }
  GatewayServer& gateway() { return *gateway_; }
  // The config the gateway was started with.
  const Config& config() const { return config_; }
  usergateway::v1::UserProfileGateway::Stub& stub() { return *stub_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // The generated TLS material (emulator_tls or a front only).
  const std::optional<TestCertificates>& certificates() const {
    return certificates_;
  }
  // The nginx in front of the emulator; nullptr for UpstreamFront::kNone.
  NginxFront* front() { return front_.get(); }

 private:
  TestEnv() = default;

  std::optional<TestCertificates> certificates_;
  std::unique_ptr<Emulator> emulator_;
  std::unique_ptr<NginxFront> front_;
  Config config_;
  std::unique_ptr<GatewayServer> gateway_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<usergateway::v1::UserProfileGateway::Stub> stub_;
};

// The gateway config the tests start from: listen on 127.0.0.1:0, upstream
// `base_url`, http:// allowed, the emulator's default key (as if from
// GATEWAY_API_KEY), no call log, no drain delay, and short (still jittered)
// retry backoff so that retry tests take milliseconds.
Config DefaultGatewayConfig(const std::string& base_url);

// A request for `user_id` in `enterprise_id` setting `first_name`.
usergateway::v1::UpdateUserProfileRequest MakeRequest(
    absl::string_view user_id, absl::string_view first_name,
    absl::string_view enterprise_id = kEnterpriseId);

// One blocking call's knobs and outcome.
struct CallOptions {
  absl::Duration timeout = absl::Seconds(10);
  // Sent as caller metadata (keys lower-case).
  std::vector<std::pair<std::string, std::string>> metadata;
};
struct CallResult {
  grpc::Status status;
  usergateway::v1::UpdateUserProfileResponse response;
  absl::Duration elapsed;
};

// Calls UpdateUserProfile and waits for the outcome.
CallResult Call(usergateway::v1::UserProfileGateway::Stub& stub,
                const usergateway::v1::UpdateUserProfileRequest& request,
                const CallOptions& options = CallOptions());

// One UpdateUserProfile call in flight on the callback API. Thread-safe.
// The destructor cancels the call if it is still running and waits for its
// completion, so that a test that returns early never leaves gRPC writing
// into freed memory.
class AsyncCall {
 public:
  // Starts the call at once, with a deadline `timeout` from now.
  AsyncCall(usergateway::v1::UserProfileGateway::Stub& stub,
            usergateway::v1::UpdateUserProfileRequest request,
            absl::Duration timeout);
  ~AsyncCall();
  AsyncCall(const AsyncCall&) = delete;
  AsyncCall& operator=(const AsyncCall&) = delete;

  // ClientContext::TryCancel.
  void Cancel();
  // Returns true once the call has finished, false if `timeout` passed
  // first.
  bool Wait(absl::Duration timeout);
  // Valid after Wait returned true.
  const grpc::Status& status() const { return status_; }
  const usergateway::v1::UpdateUserProfileResponse& response() const {
    return response_;
  }
  const usergateway::v1::UpdateUserProfileRequest& request() const {
    return request_;
  }
  // From the start to the completion callback.
  absl::Duration elapsed() const { return elapsed_; }

 private:
  grpc::ClientContext context_;
  const usergateway::v1::UpdateUserProfileRequest request_;
  usergateway::v1::UpdateUserProfileResponse response_;
  const absl::Time start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // guarded by mu_
  grpc::Status status_;
  absl::Duration elapsed_;
};

// The details of a gateway error, unpacked. `decoded` is false when
// DecodeStatusDetails refused them (absent, unparsable, or a code that
// differs from the status's).
struct ErrorDetails {
  bool decoded = false;
  google::rpc::Status status;
  std::optional<google::rpc::ErrorInfo> error_info;
  std::optional<google::rpc::BadRequest> bad_request;
  std::optional<google::rpc::RetryInfo> retry_info;
  // Details of any other type, or of a known type that failed to unpack.
  int other_details = 0;
};
ErrorDetails DecodeDetails(const grpc::Status& status);

// A loopback TCP port that is bound but not listening, held for the
// object's lifetime: connecting to it is refused at once, and no other
// process can take the port meanwhile (unlike bind-then-close).
class RefusingPort {
 public:
  static absl::StatusOr<std::unique_ptr<RefusingPort>> Create();
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  RefusingPort(int fd, int port) : fd_(fd), port_(port) {}
  int fd_;
  int port_;
};

// Polls `done` every millisecond until it returns true or `timeout` passes;
// returns its last value. For state that offers no notification (gateway
// counters); never a substitute for waiting on an event.
bool PollUntil(const std::function<bool()>& done, absl::Duration timeout);

}  // namespace testing
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_INTEGRATION_TEST_ENV_H_
