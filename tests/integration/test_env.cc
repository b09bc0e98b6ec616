#include "tests/integration/test_env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/response/error_mapper.h"

namespace usergateway {
namespace testing {
namespace {

absl::Status ErrnoStatus(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

std::string TestTmpDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && dir[0] != '\0' ? dir : "/tmp";
}

absl::StatusOr<std::string> FixturePath() {
  const char* path = std::getenv("USERS_FIXTURE");
  if (path == nullptr || path[0] == '\0') {
    return absl::NotFoundError("USERS_FIXTURE is not set");
  }
  return std::string(path);
}

absl::StatusOr<std::string> ReadFixtureJson() {
  absl::StatusOr<std::string> path = FixturePath();
  if (!path.ok()) return std::string(EmbeddedUsersJson());
  return ReadFile(*path);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents) {
  const std::string temporary = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return ErrnoStatus(absl::StrCat("rename to ", path));
  }
  return absl::OkStatus();
}

Config DefaultGatewayConfig(const std::string& base_url) {
  Config config;
  config.listen = "127.0.0.1:0";
  config.api_key_env_value = kDefaultApiKey;
  config.drain_delay = absl::ZeroDuration();
  config.drain_grace = absl::Seconds(1);
  config.log_calls = false;
  config.translator.base_url = base_url;
  config.upstream.allow_insecure_http = true;
  config.upstream.backoff_base = absl::Milliseconds(2);
  config.upstream.backoff_max = absl::Milliseconds(20);
  return config;
}

std::string UpstreamFrontName(UpstreamFront front) {
  switch (front) {
    case UpstreamFront::kNone:
      return "Http1";
    case UpstreamFront::kNginxH2:
      return "H2Tls";
    case UpstreamFront::kNginxHttp1Tls:
      return "Http1Tls";
  }
  return "Unknown";
}

absl::StatusOr<std::unique_ptr<TestEnv>> TestEnv::Start(
    TestEnvOptions options) {
  const bool fronted = options.upstream_front != UpstreamFront::kNone;
  if (fronted && options.emulator_tls) {
    return absl::InvalidArgumentError(
        "emulator_tls with a front: the emulator behind nginx serves http");
  }
  std::unique_ptr<TestEnv> env(new TestEnv());
  // A directory per env: two envs in one test get two unrelated CAs and
  // two nginx work directories.
  static std::atomic<int> counter{0};
  const std::string suffix = absl::StrCat(getpid(), "-", ++counter);

  if (options.emulator.users_json.empty() &&
      options.emulator.users_path.empty()) {
    absl::StatusOr<std::string> fixture = FixturePath();
    if (fixture.ok()) options.emulator.users_path = *fixture;
  }
  if (options.emulator_tls || fronted) {
    absl::StatusOr<TestCertificates> certs = GenerateTestCertificates(
        absl::StrCat(TestTmpDir(), "/certs-", suffix));
    if (!certs.ok()) return certs.status();
    env->certificates_ = *certs;
  }
  if (options.emulator_tls) {
    options.emulator.tls_cert_path = env->certificates_->server_cert_path;
    options.emulator.tls_key_path = env->certificates_->server_key_path;
  }
  absl::StatusOr<std::unique_ptr<Emulator>> emulator =
      Emulator::Start(options.emulator);
  if (!emulator.ok()) return emulator.status();
  env->emulator_ = *std::move(emulator);

  if (fronted) {
    NginxFrontOptions front = options.front;
    front.upstream_origin = env->emulator_->origin();
    front.tls_cert_path = env->certificates_->server_cert_path;
    front.tls_key_path = env->certificates_->server_key_path;
    front.mode = options.upstream_front == UpstreamFront::kNginxH2
                     ? NginxFrontOptions::Mode::kH2
                     : NginxFrontOptions::Mode::kHttp1Only;
    if (front.work_dir.empty()) {
      front.work_dir = absl::StrCat(TestTmpDir(), "/nginx-", suffix);
    }
    absl::StatusOr<std::unique_ptr<NginxFront>> started =
        NginxFront::Start(std::move(front));
    if (!started.ok()) return started.status();
    env->front_ = *std::move(started);
  }

  std::string base_url = options.upstream_base_url;
  if (base_url.empty()) {
    base_url = fronted ? absl::StrCat(env->front_->origin(),
                                      options.emulator.path_prefix)
                       : env->emulator_->base_url();
  }
  env->config_ = DefaultGatewayConfig(base_url);
  if (options.emulator_tls || fronted) {
    env->config_.upstream.allow_insecure_http = false;
    if (options.trust_emulator_ca) {
      env->config_.upstream.ca_bundle = env->certificates_->ca_cert_path;
    }
  }
  if (fronted) env->config_.upstream.http2 = true;
  if (options.configure) options.configure(&env->config_);

  absl::StatusOr<std::unique_ptr<GatewayServer>> gateway =
      GatewayServer::Start(env->config_);
  if (!gateway.ok()) return gateway.status();
  env->gateway_ = *std::move(gateway);

  env->channel_ = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", env->gateway_->port()),
      grpc::InsecureChannelCredentials());
  if (!env->channel_->WaitForConnected(
          absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
    return absl::UnavailableError("the gRPC channel did not connect");
  }
  env->stub_ = usergateway::v1::UserProfileGateway::NewStub(env->channel_);
  return env;
}

TestEnv::~TestEnv() {
  stub_.reset();
  channel_.reset();
  gateway_.reset();
  front_.reset();
  emulator_.reset();
}

usergateway::v1::UpdateUserProfileRequest MakeRequest(
    absl::string_view user_id, absl::string_view first_name,
    absl::string_view enterprise_id) {
  usergateway::v1::UpdateUserProfileRequest request;
  request.set_enterprise_id(std::string(enterprise_id));
  request.set_user_id(std::string(user_id));
  request.set_first_name(std::string(first_name));
  return request;
}

CallResult Call(usergateway::v1::UserProfileGateway::Stub& stub,
                const usergateway::v1::UpdateUserProfileRequest& request,
                const CallOptions& options) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  for (const auto& [key, value] : options.metadata) {
    context.AddMetadata(key, value);
  }
  CallResult result;
  const absl::Time start = absl::Now();
  result.status = stub.UpdateUserProfile(&context, request, &result.response);
  result.elapsed = absl::Now() - start;
  return result;
}

AsyncCall::AsyncCall(usergateway::v1::UserProfileGateway::Stub& stub,
                     usergateway::v1::UpdateUserProfileRequest request,
                     absl::Duration timeout)
    : request_(std::move(request)), start_(absl::Now()) {
  context_.set_deadline(absl::ToChronoTime(start_ + timeout));
  stub.async()->UpdateUserProfile(
      &context_, &request_, &response_, [this](grpc::Status status) {
        std::lock_guard<std::mutex> lock(mu_);
        status_ = std::move(status);
        elapsed_ = absl::Now() - start_;
        done_ = true;
        cv_.notify_all();
      });
}

AsyncCall::~AsyncCall() {
  context_.TryCancel();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return done_; });
}

void AsyncCall::Cancel() { context_.TryCancel(); }

bool AsyncCall::Wait(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_until(lock, absl::ToChronoTime(absl::Now() + timeout),
                        [this] { return done_; });
}

ErrorDetails DecodeDetails(const grpc::Status& status) {
  ErrorDetails out;
  out.decoded = DecodeStatusDetails(status, &out.status);
  if (!out.decoded) return out;
  for (const google::protobuf::Any& any : out.status.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) {
      google::rpc::ErrorInfo info;
      if (any.UnpackTo(&info) && !out.error_info.has_value()) {
        out.error_info = std::move(info);
        continue;
      }
    } else if (any.Is<google::rpc::BadRequest>()) {
      google::rpc::BadRequest bad_request;
      if (any.UnpackTo(&bad_request) && !out.bad_request.has_value()) {
        out.bad_request = std::move(bad_request);
        continue;
      }
    } else if (any.Is<google::rpc::RetryInfo>()) {
      google::rpc::RetryInfo retry_info;
      if (any.UnpackTo(&retry_info) && !out.retry_info.has_value()) {
        out.retry_info = std::move(retry_info);
        continue;
      }
    }
    ++out.other_details;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<RefusingPort>> RefusingPort::Create() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    absl::Status status = ErrnoStatus("bind");
    close(fd);
    return status;
  }
  // No listen(): a SYN to a bound, non-listening port is answered by RST.
  return std::unique_ptr<RefusingPort>(
      new RefusingPort(fd, ntohs(address.sin_port)));
}

RefusingPort::~RefusingPort() { close(fd_); }

bool PollUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return done();
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

}  // namespace testing
}  // namespace usergateway
