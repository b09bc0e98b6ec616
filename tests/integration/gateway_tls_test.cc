// The gateway serving gRPC over TLS (--tls_cert/--tls_key) and mutual TLS
// (--tls_client_ca), as callers see it:
//   - TLS: a caller that trusts the CA gets the user; a plain-text caller and
//     a caller trusting another CA get UNAVAILABLE and never reach the
//     upstream;
//   - mTLS: only a caller presenting a client certificate of the client CA
//     gets through;
//   - rotation: certificate, key and client CA swapped under a running
//     gateway as the kubelet swaps a Secret volume; a call in flight
//     finishes, and new connections get the new files within the reload
//     interval;
//   - start-up: bad TLS files fail with InvalidArgument naming the flag.
#include <grpcpp/grpcpp.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/ingress/server.h"
#include "gtest/gtest.h"
#include "tests/emulator/embedded_users.h"
#include "tests/emulator/emulator.h"
#include "tests/emulator/fault.h"
#include "tests/emulator/test_certificates.h"
#include "tests/integration/test_env.h"
#include "usergateway/v1/user_profile.grpc.pb.h"

namespace usergateway {
namespace testing {
namespace {

using ::usergateway::v1::UserProfileGateway;

// How a test caller connects: plain text, or TLS trusting `root_ca` and,
// for mTLS, presenting `cert` with `key`. Paths of PEM files.
struct Caller {
  bool tls = true;
  std::string root_ca;
  std::string cert;  // empty: no client certificate
  std::string key;
};

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> CredentialsFor(
    const Caller& caller) {
  if (!caller.tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  absl::StatusOr<std::string> root = ReadFile(caller.root_ca);
  if (!root.ok()) return root.status();
  options.pem_root_certs = *root;
  if (!caller.cert.empty()) {
    absl::StatusOr<std::string> cert = ReadFile(caller.cert);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile(caller.key);
    if (!key.ok()) return key.status();
    options.pem_cert_chain = *cert;
    options.pem_private_key = *key;
  }
  return grpc::SslCredentials(options);
}

// A channel with a subchannel pool of its own, so that it opens a new
// connection (and handshake) instead of sharing another channel's.
absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(
    const std::string& target, const Caller& caller) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      CredentialsFor(caller);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, *credentials, args);
}

// One UpdateUserProfile call for Ada on a new connection. A failed handshake
// ends the call at once (no wait-for-ready) with UNAVAILABLE.
CallResult CallOnNewConnection(const std::string& target,
                               const Caller& caller,
                               absl::string_view first_name = "Ada") {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      NewChannel(target, caller);
  if (!channel.ok()) {
    return CallResult{grpc::Status(grpc::StatusCode::INTERNAL,
                                   std::string(channel.status().message())),
                      {}, absl::ZeroDuration()};
  }
  std::unique_ptr<UserProfileGateway::Stub> stub =
      UserProfileGateway::NewStub(*channel);
  CallOptions options;
  options.timeout = absl::Seconds(10);
  return Call(*stub, MakeRequest(kAdaUserId, first_name), options);
}

// A directory laid out as the kubelet mounts a Secret volume: the files
// live in a directory of their own, `..data` links to it, and each file name
// links to `..data/<name>`. Swap() writes a new directory, renames a new
// `..data` link over the old one (all files change in one atomic step), and
// removes the old directory, as the kubelet's AtomicWriter does.
class SecretVolume {
 public:
  // Creates `dir` holding `files` (name -> contents).
  static absl::StatusOr<SecretVolume> Create(
      const std::string& dir, const std::map<std::string, std::string>& files) {
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Errno("mkdir", dir);
    }
    SecretVolume volume(dir);
    absl::Status status = volume.Swap(files);
    if (!status.ok()) return status;
    for (const auto& [name, contents] : files) {
      const std::string link = volume.Path(name);
      if (symlink(absl::StrCat("..data/", name).c_str(), link.c_str()) != 0) {
        return Errno("symlink", link);
      }
    }
    return volume;
  }

  // The path a process reads, e.g. <dir>/tls.crt.
  std::string Path(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }

  // Replaces every file with `files` (the same names) in one rename.
  absl::Status Swap(const std::map<std::string, std::string>& files) {
    const std::string version = absl::StrCat("..version_", ++versions_);
    const std::string version_dir = absl::StrCat(dir_, "/", version);
    if (mkdir(version_dir.c_str(), 0700) != 0) {
      return Errno("mkdir", version_dir);
    }
    for (const auto& [name, contents] : files) {
      absl::Status status =
          WriteFileAtomically(absl::StrCat(version_dir, "/", name), contents);
      if (!status.ok()) return status;
    }
    const std::string new_link = absl::StrCat(dir_, "/..data_tmp");
    const std::string link = absl::StrCat(dir_, "/..data");
    if (symlink(version.c_str(), new_link.c_str()) != 0) {
      return Errno("symlink", new_link);
    }
    if (std::rename(new_link.c_str(), link.c_str()) != 0) {
      return Errno("rename", link);
    }
    if (!current_dir_.empty()) {
      for (const auto& [name, contents] : files) {
        std::remove(absl::StrCat(current_dir_, "/", name).c_str());
      }
      rmdir(current_dir_.c_str());
    }
    current_dir_ = version_dir;
    return absl::OkStatus();
  }

 private:
  explicit SecretVolume(std::string dir) : dir_(std::move(dir)) {}

  static absl::Status Errno(absl::string_view what, const std::string& path) {
    return absl::InternalError(
        absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
  }

  std::string dir_;
  std::string current_dir_;
  int versions_ = 0;
};

// The three files of a Secret for the gateway, from one certificate set.
absl::StatusOr<std::map<std::string, std::string>> GatewaySecret(
    const TestCertificates& certs) {
  std::map<std::string, std::string> files;
  for (const auto& [name, path] : std::map<std::string, std::string>{
           {"tls.crt", certs.server_cert_path},
           {"tls.key", certs.server_key_path},
           {"ca.crt", certs.ca_cert_path}}) {
    absl::StatusOr<std::string> contents = ReadFile(path);
    if (!contents.ok()) return contents.status();
    files[name] = *contents;
  }
  return files;
}

class GatewayTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> fixture = FixturePath();
    ASSERT_TRUE(fixture.ok()) << fixture.status();
    EmulatorOptions emulator_options;
    emulator_options.users_path = *fixture;
    auto emulator = Emulator::Start(emulator_options);
    ASSERT_TRUE(emulator.ok()) << emulator.status();
    emulator_ = *std::move(emulator);

    // A directory per test, so that no test reads another's files.
    dir_ = absl::StrCat(
        TestTmpDir(), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto certificates = GenerateTestCertificates(dir_);
    ASSERT_TRUE(certificates.ok()) << certificates.status();
    certs_ = *certificates;
  }

  // The default test config with TLS from certs_ (mTLS with `client_ca`).
  Config TlsConfig(bool client_ca) const {
    Config config = DefaultGatewayConfig(emulator_->base_url());
    config.tls_cert_file = certs_.server_cert_path;
    config.tls_key_file = certs_.server_key_path;
    if (client_ca) config.tls_client_ca_file = certs_.ca_cert_path;
    return config;
  }

  void StartGateway(const Config& config) {
    auto gateway = GatewayServer::Start(config);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    target_ = absl::StrCat("127.0.0.1:", gateway_->port());
  }

  std::unique_ptr<Emulator> emulator_;
  std::string dir_;
  TestCertificates certs_;
  std::unique_ptr<GatewayServer> gateway_;
  std::string target_;
};

struct CallerCase {
  std::string name;
  Caller caller;
  grpc::StatusCode want;
};

// Runs each case on a new connection; checks its code, that a successful
// call returned Ada, and that only successful calls reached the upstream.
void ExpectOutcomes(const std::string& target, const Emulator& emulator,
                    const std::vector<CallerCase>& cases) {
  size_t ok_calls = 0;
  for (const CallerCase& c : cases) {
    SCOPED_TRACE(c.name);
    CallResult result = CallOnNewConnection(target, c.caller);
    EXPECT_EQ(result.status.error_code(), c.want)
        << result.status.error_message();
    if (c.want == grpc::StatusCode::OK && result.status.ok()) {
      ++ok_calls;
      EXPECT_EQ(result.response.user().profile().authn_user_id(), kAdaUserId);
      EXPECT_EQ(result.response.user().first_name(), "Ada");
    }
    EXPECT_EQ(emulator.Requests().size(), ok_calls)
        << "a refused caller reached the upstream";
  }
}

TEST_F(GatewayTlsTest, TlsServesCallersThatTrustTheCa) {
  StartGateway(TlsConfig(/*client_ca=*/false));
  ExpectOutcomes(
      target_, *emulator_,
      {
          {"trusts the CA", {true, certs_.ca_cert_path, "", ""},
           grpc::StatusCode::OK},
          // A client certificate is not asked for, and does no harm.
          {"trusts the CA, has a client certificate",
           {true, certs_.ca_cert_path, certs_.client_cert_path,
            certs_.client_key_path},
           grpc::StatusCode::OK},
          {"plain text", {false, "", "", ""}, grpc::StatusCode::UNAVAILABLE},
          {"trusts another CA", {true, certs_.foreign_ca_cert_path, "", ""},
           grpc::StatusCode::UNAVAILABLE},
      });
}

TEST_F(GatewayTlsTest, MutualTlsRequiresAClientCertificateOfTheClientCa) {
  StartGateway(TlsConfig(/*client_ca=*/true));
  ExpectOutcomes(
      target_, *emulator_,
      {
          {"client certificate of the CA",
           {true, certs_.ca_cert_path, certs_.client_cert_path,
            certs_.client_key_path},
           grpc::StatusCode::OK},
          {"no client certificate", {true, certs_.ca_cert_path, "", ""},
           grpc::StatusCode::UNAVAILABLE},
          {"client certificate of another CA",
           {true, certs_.ca_cert_path, certs_.foreign_client_cert_path,
            certs_.foreign_client_key_path},
           grpc::StatusCode::UNAVAILABLE},
          // The server's own certificate chains to the CA too, but is no
          // client certificate (extendedKeyUsage serverAuth only).
          {"server certificate as client certificate",
           {true, certs_.ca_cert_path, certs_.server_cert_path,
            certs_.server_key_path},
           grpc::StatusCode::UNAVAILABLE},
          {"plain text", {false, "", "", ""}, grpc::StatusCode::UNAVAILABLE},
      });
}

// Calls `attempt` every 50 ms until it returns true or `timeout` passes;
// returns its last result. There is no event to wait for: the gateway does
// not announce that it re-read its files, so the test can only try new
// connections. The pause keeps failed handshakes (each one logged) few.
bool RetryUntil(const std::function<bool()>& attempt, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!attempt()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

TEST_F(GatewayTlsTest, RotatedFilesServeNewConnectionsAndKeepCallsInFlight) {
  // Set A (the fixture's certs_) and set B: two CAs, each with its server and
  // client certificates. Mounted as a Secret volume: tls.crt, tls.key and
  // the client CA ca.crt.
  auto certs_b = GenerateTestCertificates(dir_ + "/b");
  ASSERT_TRUE(certs_b.ok()) << certs_b.status();
  auto secret_a = GatewaySecret(certs_);
  ASSERT_TRUE(secret_a.ok()) << secret_a.status();
  auto secret_b = GatewaySecret(*certs_b);
  ASSERT_TRUE(secret_b.ok()) << secret_b.status();
  auto volume = SecretVolume::Create(dir_ + "/secret", *secret_a);
  ASSERT_TRUE(volume.ok()) << volume.status();

  constexpr absl::Duration kReloadInterval = absl::Seconds(1);
  Config config = DefaultGatewayConfig(emulator_->base_url());
  config.tls_cert_file = volume->Path("tls.crt");
  config.tls_key_file = volume->Path("tls.key");
  config.tls_client_ca_file = volume->Path("ca.crt");
  config.tls_reload_interval = kReloadInterval;
  StartGateway(config);

  const Caller caller_a{true, certs_.ca_cert_path, certs_.client_cert_path,
                        certs_.client_key_path};
  const Caller caller_b{true, certs_b->ca_cert_path, certs_b->client_cert_path,
                        certs_b->client_key_path};
  // Trusts the new server certificate, presents a client certificate of the
  // old client CA.
  const Caller caller_b_with_old_client_cert{
      true, certs_b->ca_cert_path, certs_.client_cert_path,
      certs_.client_key_path};

  // Before the swap: A's callers only.
  CallResult before_a = CallOnNewConnection(target_, caller_a);
  ASSERT_TRUE(before_a.status.ok()) << before_a.status.error_message();
  CallResult before_b = CallOnNewConnection(target_, caller_b);
  ASSERT_EQ(before_b.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << before_b.status.error_message();

  // A call the upstream holds for kHold, on a connection made with set A,
  // in flight across the swap and the reload.
  constexpr absl::Duration kHold = absl::Seconds(6);
  Fault hold;
  hold.delay = kHold;
  emulator_->PushFault(hold);
  auto held_channel = NewChannel(target_, caller_a);
  ASSERT_TRUE(held_channel.ok()) << held_channel.status();
  std::unique_ptr<UserProfileGateway::Stub> held_stub =
      UserProfileGateway::NewStub(*held_channel);
  AsyncCall held(*held_stub, MakeRequest(kAdaUserId, "Held"),
                 absl::Seconds(60));
  ASSERT_TRUE(emulator_->WaitForRequests(2, absl::Seconds(10)))
      << "the held call did not reach the upstream";

  const absl::Time swapped = absl::Now();
  ASSERT_TRUE(volume->Swap(*secret_b).ok());

  // Within the interval (plus a generous margin for slow builds), a new
  // connection trusting only CA B and presenting B's client certificate
  // gets through.
  CallResult after_b;
  ASSERT_TRUE(RetryUntil(
      [&] {
        after_b = CallOnNewConnection(target_, caller_b);
        return after_b.status.ok();
      },
      kReloadInterval + absl::Seconds(20)))
      << "set B was not served: " << after_b.status.error_message();
  const bool held_in_flight_at_reload = !held.Wait(absl::ZeroDuration());
  const absl::Duration reload_seen_after = absl::Now() - swapped;
  EXPECT_EQ(after_b.response.user().profile().authn_user_id(), kAdaUserId);

  // New connections with A's trust or A's client certificate are refused.
  CallResult after_a = CallOnNewConnection(target_, caller_a);
  EXPECT_EQ(after_a.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << "the old server certificate is still served: "
      << after_a.status.error_message();
  CallResult old_client_cert =
      CallOnNewConnection(target_, caller_b_with_old_client_cert);
  EXPECT_EQ(old_client_cert.status.error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "the old client CA is still trusted: "
      << old_client_cert.status.error_message();

  // The call in flight finishes normally, and its connection (made with set
  // A) keeps serving calls.
  ASSERT_TRUE(held.Wait(absl::Seconds(30))) << "the held call did not end";
  EXPECT_TRUE(held.status().ok()) << held.status().error_message();
  EXPECT_EQ(held.response().user().first_name(), "Held");
  EXPECT_TRUE(held_in_flight_at_reload)
      << "the held call ended before the reload was seen ("
      << reload_seen_after << " after the swap); kHold is too short to show "
      << "anything";
  CallResult reused = Call(*held_stub, MakeRequest(kAdaUserId, "Reused"));
  EXPECT_TRUE(reused.status.ok()) << reused.status.error_message();
}

// An encrypted copy of the PEM key at `path` (passphrase "secret").
absl::StatusOr<std::string> EncryptedKey(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  std::unique_ptr<BIO, decltype(&BIO_free)> in(
      BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr),
      EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()),
                                                BIO_free);
  char passphrase[] = "secret";
  if (key == nullptr || out == nullptr ||
      PEM_write_bio_PKCS8PrivateKey(out.get(), key.get(), EVP_aes_256_cbc(),
                                    passphrase, 6, nullptr, nullptr) != 1) {
    return absl::InternalError("cannot encrypt the key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

TEST_F(GatewayTlsTest, BadTlsFilesFailStartWithTheFlagNamed) {
  auto encrypted = EncryptedKey(certs_.server_key_path);
  ASSERT_TRUE(encrypted.ok()) << encrypted.status();
  const std::string encrypted_path = dir_ + "/encrypted.key";
  ASSERT_TRUE(WriteFileAtomically(encrypted_path, *encrypted).ok());
  const std::string missing = dir_ + "/missing.pem";

  struct Case {
    std::string name;
    std::function<void(Config*)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"cert missing", [&](Config* c) { c->tls_cert_file = missing; },
       "--tls_cert: cannot read file " + missing},
      {"cert is a key",
       [&](Config* c) { c->tls_cert_file = certs_.server_key_path; },
       "--tls_cert: no PEM certificate in " + certs_.server_key_path},
      {"key missing", [&](Config* c) { c->tls_key_file = missing; },
       "--tls_key: cannot read file " + missing},
      {"key is a certificate",
       [&](Config* c) { c->tls_key_file = certs_.server_cert_path; },
       "--tls_key: no unencrypted PEM private key in " +
           certs_.server_cert_path},
      {"key encrypted", [&](Config* c) { c->tls_key_file = encrypted_path; },
       "--tls_key: no unencrypted PEM private key in " + encrypted_path},
      {"key of another certificate",
       [&](Config* c) { c->tls_key_file = certs_.client_key_path; },
       "--tls_key: " + certs_.client_key_path +
           " is not the key of the certificate in --tls_cert (" +
           certs_.server_cert_path + ")"},
      {"client CA missing",
       [&](Config* c) { c->tls_client_ca_file = missing; },
       "--tls_client_ca: cannot read file " + missing},
      {"client CA is a key",
       [&](Config* c) { c->tls_client_ca_file = certs_.client_key_path; },
       "--tls_client_ca: no PEM certificate in " + certs_.client_key_path},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Config config = TlsConfig(/*client_ca=*/true);
    c.change(&config);
    auto gateway = GatewayServer::Start(config);
    ASSERT_FALSE(gateway.ok());
    EXPECT_EQ(gateway.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(gateway.status().message(), c.message);
  }
  // The same files, unchanged, start.
  StartGateway(TlsConfig(/*client_ca=*/true));
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
