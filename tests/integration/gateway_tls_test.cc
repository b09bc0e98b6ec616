// The gateway serving gRPC over TLS (--tls_cert/--tls_key): a caller that
// trusts the CA gets the user; a plain-text caller and a caller trusting
// another CA get no answer from the service.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gateway/ingress/server.h"
#include "gtest/gtest.h"
#include "tests/emulator/embedded_users.h"
#include "tests/emulator/emulator.h"
#include "tests/emulator/test_certificates.h"
#include "tests/integration/test_env.h"
#include "usergateway/v1/user_profile.grpc.pb.h"

namespace usergateway {
namespace testing {
namespace {

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

    auto certificates =
        GenerateTestCertificates(absl::StrCat(TestTmpDir(), "/grpc-tls"));
    ASSERT_TRUE(certificates.ok()) << certificates.status();
    certificates_ = *certificates;
    auto ca = ReadFile(certificates_.ca_cert_path);
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_pem_ = *ca;

    Config config = DefaultGatewayConfig(emulator_->base_url());
    config.tls_cert_file = certificates_.server_cert_path;
    config.tls_key_file = certificates_.server_key_path;
    auto gateway = GatewayServer::Start(config);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    target_ = absl::StrCat("127.0.0.1:", gateway_->port());
  }

  grpc::Status CallWith(std::shared_ptr<grpc::ChannelCredentials> credentials,
                        usergateway::v1::UpdateUserProfileResponse* response) {
    auto stub = usergateway::v1::UserProfileGateway::NewStub(
        grpc::CreateChannel(target_, credentials));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    return stub->UpdateUserProfile(&context, MakeRequest(kAdaUserId, "Ada"),
                                   response);
  }

  std::unique_ptr<Emulator> emulator_;
  TestCertificates certificates_;
  std::string ca_pem_;
  std::unique_ptr<GatewayServer> gateway_;
  std::string target_;
};

TEST_F(GatewayTlsTest, CallerTrustingTheCaGetsTheUser) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem_;
  usergateway::v1::UpdateUserProfileResponse response;
  grpc::Status status = CallWith(grpc::SslCredentials(options), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().profile().authn_user_id(), kAdaUserId);
  EXPECT_EQ(response.user().first_name(), "Ada");
}

TEST_F(GatewayTlsTest, PlainTextCallerIsRefused) {
  usergateway::v1::UpdateUserProfileResponse response;
  grpc::Status status =
      CallWith(grpc::InsecureChannelCredentials(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_TRUE(emulator_->Requests().empty());
}

TEST_F(GatewayTlsTest, CallerTrustingAnotherCaIsRefused) {
  auto other =
      GenerateTestCertificates(absl::StrCat(TestTmpDir(), "/other-ca"));
  ASSERT_TRUE(other.ok()) << other.status();
  auto other_ca = ReadFile(other->ca_cert_path);
  ASSERT_TRUE(other_ca.ok());
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = *other_ca;
  usergateway::v1::UpdateUserProfileResponse response;
  grpc::Status status = CallWith(grpc::SslCredentials(options), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_TRUE(emulator_->Requests().empty());
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
