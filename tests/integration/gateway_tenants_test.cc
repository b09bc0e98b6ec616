// Several enterprises through one gateway (--tenants_file), as callers and
// the upstreams see it: two tenants on two emulators with different keys,
// an unknown enterprise, a tenants file reloaded under load, callers
// refused by a tenant's allowed_callers (mTLS), the per-tenant rate gate
// after a 429 Retry-After, and the circuit breaker. Real time here, kept
// short; the guard's own logic is tested on simulated time in
// gateway/tenancy/tenant_guard_test.cc.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/ingress/server.h"
#include "gmock/gmock.h"
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

using ::testing::HasSubstr;
using ::testing::Not;
using ::usergateway::v1::UserProfileGateway;

constexpr char kAcmeKey[] = "acme-tenant-key-0f3a9c51d2";
constexpr char kGlobexKey[] = "globex-tenant-key-7be1048aa6";
constexpr char kGlobexEnterprise[] = "ent-globex";

// One tenant of the file.
struct TenantEntry {
  std::string name;
  std::string enterprise_id;
  std::string base_url;
  std::string key_file;
  std::string extra;  // more JSON members, comma-led
};

std::string TenantsJson(const std::vector<TenantEntry>& tenants) {
  std::vector<std::string> entries;
  for (const TenantEntry& t : tenants) {
    entries.push_back(absl::StrCat(
        R"({"name": ")", t.name, R"(", "enterprise_id": ")", t.enterprise_id,
        R"(", "base_url": ")", t.base_url, R"(", "api_key_file": ")",
        t.key_file, "\"", t.extra, "}"));
  }
  return absl::StrCat(R"({"tenants": [)", absl::StrJoin(entries, ", "), "]}");
}

// Two emulators, each accepting only its tenant's key, key files, a
// tenants file and a gateway serving both tenants.
class TenantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(TestTmpDir(), "/",
                        ::testing::UnitTest::GetInstance()
                            ->current_test_info()
                            ->name());
    ASSERT_EQ(system(absl::StrCat("mkdir -p '", dir_, "'").c_str()), 0);
    acme_ = StartEmulator(kAcmeKey);
    globex_ = StartEmulator(kGlobexKey);
    ASSERT_NE(acme_, nullptr);
    ASSERT_NE(globex_, nullptr);
    ASSERT_TRUE(WriteFileAtomically(acme_key_file(), kAcmeKey).ok());
    ASSERT_TRUE(
        WriteFileAtomically(globex_key_file(), absl::StrCat(kGlobexKey, "\n"))
            .ok());
  }

  std::unique_ptr<Emulator> StartEmulator(const std::string& key) {
    EmulatorOptions options;
    options.api_keys = {key};
    absl::StatusOr<std::unique_ptr<Emulator>> emulator =
        Emulator::Start(options);
    EXPECT_TRUE(emulator.ok()) << emulator.status();
    return emulator.ok() ? *std::move(emulator) : nullptr;
  }

  std::string acme_key_file() const { return dir_ + "/acme.key"; }
  std::string globex_key_file() const { return dir_ + "/globex.key"; }
  std::string tenants_file() const { return dir_ + "/tenants.json"; }

  TenantEntry Acme(std::string extra = "") const {
    return {"acme", kEnterpriseId, acme_->base_url(), acme_key_file(),
            std::move(extra)};
  }
  TenantEntry Globex(std::string extra = "") const {
    return {"globex", kGlobexEnterprise, globex_->base_url(),
            globex_key_file(), std::move(extra)};
  }

  void WriteTenants(const std::vector<TenantEntry>& tenants) {
    ASSERT_TRUE(
        WriteFileAtomically(tenants_file(), TenantsJson(tenants)).ok());
  }

  // Starts the gateway with the tenants file (no single upstream or key),
  // adjusted by `configure`, and a channel to it.
  void StartGateway(const std::function<void(Config*)>& configure = nullptr,
                    std::shared_ptr<grpc::ChannelCredentials> credentials =
                        grpc::InsecureChannelCredentials()) {
    config_ = DefaultGatewayConfig("");
    config_.api_key_env_value.clear();
    config_.tenants_file = tenants_file();
    config_.tenants_reload_interval = absl::Milliseconds(50);
    if (configure) configure(&config_);
    absl::StatusOr<std::unique_ptr<GatewayServer>> gateway =
        GatewayServer::Start(config_);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    grpc::ChannelArguments args;
    if (!config_.tls_cert_file.empty()) {
      args.SetSslTargetNameOverride("localhost");
    }
    channel_ = grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", gateway_->port()), credentials, args);
    ASSERT_TRUE(channel_->WaitForConnected(
        absl::ToChronoTime(absl::Now() + absl::Seconds(10))));
    stub_ = UserProfileGateway::NewStub(channel_);
  }

  CallResult CallTenant(absl::string_view enterprise_id,
                        absl::Duration timeout = absl::Seconds(10)) {
    CallOptions options;
    options.timeout = timeout;
    return Call(*stub_, MakeRequest(kAdaUserId, "Ada", enterprise_id),
                options);
  }

  std::string dir_;
  std::unique_ptr<Emulator> acme_;
  std::unique_ptr<Emulator> globex_;
  Config config_;
  std::unique_ptr<GatewayServer> gateway_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<UserProfileGateway::Stub> stub_;
};

// A fault replying `status` (with `retry_after` seconds when not empty),
// the upstream not handling the request, for the next `times` requests.
Fault StatusFault(int status, std::string retry_after = "", int times = 1) {
  Fault fault;
  fault.action = Fault::Action::kStatus;
  fault.status = status;
  fault.retry_after = std::move(retry_after);
  fault.times = times;
  return fault;
}

void ExpectReason(const grpc::Status& status, grpc::StatusCode code,
                  const std::string& reason) {
  EXPECT_EQ(status.error_code(), code) << status.error_message();
  ErrorDetails details = DecodeDetails(status);
  ASSERT_TRUE(details.decoded);
  ASSERT_TRUE(details.error_info.has_value());
  EXPECT_EQ(details.error_info->reason(), reason);
}

TEST_F(TenantsTest, EachCallReachesItsTenantsUpstreamWithItsKey) {
  WriteTenants({Acme(), Globex()});
  StartGateway();
  CallResult a = CallTenant(kEnterpriseId);
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_EQ(a.response.user().first_name(), "Ada");
  CallResult b = CallTenant(kGlobexEnterprise);
  ASSERT_TRUE(b.status.ok()) << b.status.error_message();

  std::vector<RecordedRequest> at_acme = acme_->Requests();
  std::vector<RecordedRequest> at_globex = globex_->Requests();
  ASSERT_EQ(at_acme.size(), 1u);
  ASSERT_EQ(at_globex.size(), 1u);
  EXPECT_EQ(at_acme[0].HeaderValue("Authorization"),
            absl::StrCat("Bearer ", kAcmeKey));
  EXPECT_EQ(at_globex[0].HeaderValue("Authorization"),
            absl::StrCat("Bearer ", kGlobexKey));
  EXPECT_EQ(at_acme[0].path, absl::StrCat("/api/authn2/v0/user/", kAdaUserId));
}

TEST_F(TenantsTest, OneEmulatorServesTwoTenantsThroughOneGateway) {
  // The vendor's per-tenant hosts, as one emulator with a key per tenant.
  EmulatorOptions options;
  options.tenants = {{"acme", kAcmeKey}, {"globex", kGlobexKey}};
  absl::StatusOr<std::unique_ptr<Emulator>> vendor = Emulator::Start(options);
  ASSERT_TRUE(vendor.ok()) << vendor.status();
  WriteTenants({{"acme", kEnterpriseId, (*vendor)->TenantBaseUrl("acme"),
                 acme_key_file(), ""},
                {"globex", kGlobexEnterprise,
                 (*vendor)->TenantBaseUrl("globex"), globex_key_file(), ""}});
  StartGateway();
  EXPECT_TRUE(CallTenant(kGlobexEnterprise).status.ok());
  EXPECT_TRUE(CallTenant(kEnterpriseId).status.ok());
  std::vector<RecordedRequest> received = (*vendor)->Requests();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].path,
            absl::StrCat("/globex/api/authn2/v0/user/", kAdaUserId));
  EXPECT_EQ(received[0].HeaderValue("Authorization"),
            absl::StrCat("Bearer ", kGlobexKey));
  EXPECT_EQ(received[1].path,
            absl::StrCat("/acme/api/authn2/v0/user/", kAdaUserId));
  EXPECT_EQ(received[1].HeaderValue("Authorization"),
            absl::StrCat("Bearer ", kAcmeKey));
}

TEST_F(TenantsTest, UnknownEnterpriseIsRefusedWithoutAnUpstreamCall) {
  WriteTenants({Acme(), Globex()});
  StartGateway();
  CallResult r = CallTenant("ent-nobody");
  ExpectReason(r.status, grpc::StatusCode::FAILED_PRECONDITION,
               "GATEWAY_UNKNOWN_TENANT");
  EXPECT_THAT(r.status.error_message(),
              HasSubstr("no tenant is configured for this enterprise_id"));
  ErrorDetails details = DecodeDetails(r.status);
  EXPECT_EQ(details.error_info->metadata().at("attempts"), "0");
  EXPECT_FALSE(details.error_info->metadata().at("request_id").empty());
  EXPECT_FALSE(details.retry_info.has_value());
  EXPECT_TRUE(acme_->Requests().empty());
  EXPECT_TRUE(globex_->Requests().empty());
}

TEST_F(TenantsTest, EveryTenantsKeyIsRedactedFromUpstreamText) {
  WriteTenants({Acme(), Globex()});
  StartGateway();
  // acme's upstream quotes globex's key (and its own, echo_key style).
  Fault leak = StatusFault(400);
  leak.body = absl::StrCat(R"({"message":"keys )", kGlobexKey, " and ",
                           kAcmeKey, R"( are wrong"})");
  acme_->PushFault(leak);
  CallResult r = CallTenant(kEnterpriseId);
  ASSERT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.status.error_message(), HasSubstr("[REDACTED]"));
  EXPECT_THAT(r.status.error_message(), Not(HasSubstr(kGlobexKey)));
  EXPECT_THAT(r.status.error_message(), Not(HasSubstr(kAcmeKey)));
  EXPECT_THAT(r.status.error_details(), Not(HasSubstr("tenant-key")));
}

TEST_F(TenantsTest, ReloadAddsAndRemovesTenantsUnderLoad) {
  WriteTenants({Acme()});
  StartGateway([](Config* c) { c->admin_listen = "127.0.0.1:0"; });
  ExpectReason(CallTenant(kGlobexEnterprise).status,
               grpc::StatusCode::FAILED_PRECONDITION,
               "GATEWAY_UNKNOWN_TENANT");

  // Four callers keep both tenants busy throughout.
  std::atomic<bool> stop{false};
  std::atomic<int> acme_ok{0}, acme_other{0}, acme_unknown{0};
  std::atomic<int> globex_ok{0}, globex_unknown{0}, globex_other{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&, i] {
      const bool acme = i % 2 == 0;
      while (!stop.load()) {
        CallResult r = CallTenant(acme ? kEnterpriseId : kGlobexEnterprise);
        const bool unknown =
            r.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION;
        if (acme) {
          (r.status.ok() ? acme_ok : unknown ? acme_unknown : acme_other)++;
        } else {
          (r.status.ok() ? globex_ok
                         : unknown ? globex_unknown : globex_other)++;
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  WriteTenants({Acme(), Globex()});
  EXPECT_TRUE(PollUntil([&] { return globex_ok.load() >= 20; },
                        absl::Seconds(10)));
  // acme served throughout: not one of its calls failed.
  EXPECT_EQ(acme_unknown.load(), 0);
  const int acme_before_removal = acme_ok.load();
  EXPECT_GT(acme_before_removal, 0);
  WriteTenants({Globex()});
  EXPECT_TRUE(PollUntil([&] { return acme_unknown.load() >= 5; },
                        absl::Seconds(10)));
  stop = true;
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(acme_other.load(), 0);
  EXPECT_EQ(globex_other.load(), 0);
  EXPECT_EQ(gateway_->metrics().tenants_reload(true).Value(), 2u);
  EXPECT_EQ(gateway_->metrics().tenants_reload(false).Value(), 0u);
  std::cout << "reload under load: acme ok " << acme_ok << ", acme unknown "
            << "after removal " << acme_unknown << "; globex unknown before "
            << "adding " << globex_unknown << ", ok " << globex_ok << "\n";

  // A bad file keeps the last good tenants.
  ASSERT_TRUE(WriteFileAtomically(tenants_file(), "{\"tenants\": [").ok());
  // The file is looked at when calls arrive.
  EXPECT_TRUE(PollUntil(
      [&] {
        CallTenant(kGlobexEnterprise);
        return gateway_->metrics().tenants_reload(false).Value() == 1;
      },
      absl::Seconds(10)));
  EXPECT_TRUE(CallTenant(kGlobexEnterprise).status.ok());
}

TEST_F(TenantsTest, CallerNotInAllowedCallersIsPermissionDenied) {
  absl::StatusOr<TestCertificates> certs =
      GenerateTestCertificates(dir_ + "/certs");
  ASSERT_TRUE(certs.ok()) << certs.status();
  TenantEntry initech = {"initech", "ent-initech", globex_->base_url(),
                         globex_key_file(),
                         absl::StrCat(R"(, "allowed_callers": [")",
                                      kTestClientDnsName, R"("])")};
  WriteTenants({Acme(absl::StrCat(R"(, "allowed_callers": [")",
                                  kTestClientSpiffeId, R"("])")),
                Globex(R"(, "allowed_callers": ["spiffe://test/ns/other/sa/x"])"),
                initech});
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = *ReadFile(certs->ca_cert_path);
  tls.pem_cert_chain = *ReadFile(certs->client_cert_path);
  tls.pem_private_key = *ReadFile(certs->client_key_path);
  StartGateway(
      [&](Config* c) {
        c->tls_cert_file = certs->server_cert_path;
        c->tls_key_file = certs->server_key_path;
        c->tls_client_ca_file = certs->ca_cert_path;
      },
      grpc::SslCredentials(tls));
  // Allowed by its SPIFFE id (SAN URI) and by its DNS name.
  CallResult a = CallTenant(kEnterpriseId);
  EXPECT_TRUE(a.status.ok()) << a.status.error_message();
  CallResult i = CallTenant("ent-initech");
  EXPECT_TRUE(i.status.ok()) << i.status.error_message();
  // globex allows someone else only.
  CallResult g = CallTenant(kGlobexEnterprise);
  ExpectReason(g.status, grpc::StatusCode::PERMISSION_DENIED,
               "GATEWAY_CALLER_NOT_ALLOWED");
  EXPECT_EQ(DecodeDetails(g.status).error_info->metadata().at("tenant"),
            "globex");
  EXPECT_EQ(acme_->Requests().size(), 1u);
  EXPECT_EQ(globex_->Requests().size(), 1u);  // initech's call only
}

TEST_F(TenantsTest, AllowedCallersWithoutMutualTlsFailStartUp) {
  WriteTenants({Acme(R"(, "allowed_callers": ["spiffe://x/y"])")});
  Config config = DefaultGatewayConfig("");
  config.tenants_file = tenants_file();
  absl::StatusOr<std::unique_ptr<GatewayServer>> gateway =
      GatewayServer::Start(config);
  ASSERT_FALSE(gateway.ok());
  EXPECT_THAT(gateway.status().message(),
              HasSubstr("tenant \"acme\": allowed_callers needs mutual TLS"));
}

TEST_F(TenantsTest, After429RetryAfterNoPutReachesThatTenantForItsDuration) {
  WriteTenants({Acme(), Globex()});
  StartGateway();
  acme_->PushFault(StatusFault(429, "2"));
  const absl::Time start = absl::Now();
  // The first call is rate limited, waits Retry-After and then succeeds
  // as the gate's probe.
  AsyncCall first(*stub_, MakeRequest(kAdaUserId, "Ada", kEnterpriseId),
                  absl::Seconds(10));
  // Its retry is scheduled once the 429 went through the gate (the
  // emulator records the request before it answers).
  ASSERT_TRUE(PollUntil([&] { return gateway_->UpstreamStats().retries == 1; },
                        absl::Seconds(5)));
  int refused = 0;
  int globex_served = 0;
  while (absl::Now() - start < absl::Milliseconds(1500)) {
    CallResult r = CallTenant(kEnterpriseId);
    ExpectReason(r.status, grpc::StatusCode::RESOURCE_EXHAUSTED,
                 "GATEWAY_TENANT_RATE_LIMITED");
    ErrorDetails details = DecodeDetails(r.status);
    ASSERT_TRUE(details.retry_info.has_value());
    const absl::Duration delay =
        absl::Seconds(details.retry_info->retry_delay().seconds()) +
        absl::Nanoseconds(details.retry_info->retry_delay().nanos());
    EXPECT_GT(delay, absl::ZeroDuration());
    EXPECT_LE(delay, absl::Seconds(2));
    EXPECT_EQ(details.error_info->metadata().at("tenant"), "acme");
    EXPECT_LT(r.elapsed, absl::Milliseconds(500));  // at once
    ++refused;
    // The other tenant is unaffected.
    if (CallTenant(kGlobexEnterprise).status.ok()) ++globex_served;
    absl::SleepFor(absl::Milliseconds(100));
  }
  // Nothing but the first PUT reached acme's upstream in that time (the
  // first call's own retry is due 2 s after its 429).
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1900));
  EXPECT_EQ(acme_->Requests().size(), 1u);
  EXPECT_GE(refused, 5);
  EXPECT_EQ(globex_served, refused);
  ASSERT_TRUE(first.Wait(absl::Seconds(10)));
  EXPECT_TRUE(first.status().ok()) << first.status().error_message();
  EXPECT_GE(first.elapsed(), absl::Seconds(2));
  EXPECT_EQ(acme_->Requests().size(), 2u);
  // The probe succeeded: the gate is open for everyone.
  EXPECT_TRUE(CallTenant(kEnterpriseId).status.ok());
}

// Sends `calls` calls for acme, `spacing` apart, each with `deadline`, to
// an upstream that answers every PUT 429 Retry-After: 1; returns how many
// PUTs reached it once all calls ended; `*took` is how long that was.
size_t PutsForRateLimitedBurst(UserProfileGateway::Stub& stub,
                               Emulator& upstream, int calls,
                               absl::Duration spacing,
                               absl::Duration deadline, absl::Duration* took) {
  const absl::Time start = absl::Now();
  upstream.PushFault(StatusFault(429, "1", 100000));
  std::vector<std::unique_ptr<AsyncCall>> inflight;
  for (int i = 0; i < calls; ++i) {
    inflight.push_back(std::make_unique<AsyncCall>(
        stub, MakeRequest(kAdaUserId, "Ada", kEnterpriseId), deadline));
    absl::SleepFor(spacing);
  }
  for (auto& call : inflight) {
    EXPECT_TRUE(call->Wait(deadline + absl::Seconds(5)));
    // RESOURCE_EXHAUSTED (the upstream's 429 or the closed gate), or
    // UNAVAILABLE while the gate's probe runs; never OK.
    EXPECT_FALSE(call->status().ok());
  }
  *took = absl::Now() - start;
  return upstream.Requests().size();
}

TEST_F(TenantsTest, GateCutsThePutsARateLimitedUpstreamReceives) {
  constexpr int kCalls = 20;
  const absl::Duration spacing = absl::Milliseconds(50);
  const absl::Duration deadline = absl::Seconds(3);
  // Without the gate: the same upstream as the single upstream of a
  // gateway without a tenants file.
  size_t ungated = 0;
  {
    absl::StatusOr<std::unique_ptr<Emulator>> upstream = [] {
      EmulatorOptions options;
      return Emulator::Start(options);
    }();
    ASSERT_TRUE(upstream.ok());
    TestEnvOptions options;
    options.upstream_base_url = (*upstream)->base_url();
    absl::StatusOr<std::unique_ptr<TestEnv>> env = TestEnv::Start(options);
    ASSERT_TRUE(env.ok()) << env.status();
    absl::Duration took;
    ungated = PutsForRateLimitedBurst((*env)->stub(), **upstream, kCalls,
                                      spacing, deadline, &took);
  }
  WriteTenants({Acme(), Globex()});
  StartGateway();
  absl::Duration took;
  const size_t gated = PutsForRateLimitedBurst(*stub_, *acme_, kCalls,
                                               spacing, deadline, &took);
  std::cout << "PUTs reaching an upstream answering 429 Retry-After: 1, for "
            << kCalls << " calls 50 ms apart with 3 s deadlines: without the "
            << "gate " << ungated << ", with the gate " << gated << "\n";
  RecordProperty("puts_without_gate", static_cast<int>(ungated));
  RecordProperty("puts_with_gate", static_cast<int>(gated));
  EXPECT_GE(ungated, static_cast<size_t>(kCalls));
  EXPECT_LT(gated, ungated);
  // The first call's PUT, then at most one probe per Retry-After second
  // (3 when the burst takes its nominal 4 s).
  EXPECT_LE(gated, 1 + static_cast<size_t>(absl::ToInt64Seconds(took)));
}

TEST_F(TenantsTest, BreakerOpensFailsFastAndClosesAfterAProbe) {
  WriteTenants({Acme(), Globex(R"(, "limits": {"breaker_failures": 2,
                                              "breaker_cooldown_ms": 1000})")});
  StartGateway([](Config* c) { c->admin_listen = "127.0.0.1:0"; });
  metrics::Gauge& state = gateway_->metrics().TenantBreakerState("globex");
  EXPECT_EQ(state.Value(), 0);
  // 500 is not retried: one attempt per call.
  globex_->PushFault(StatusFault(500, "", 2));
  EXPECT_EQ(CallTenant(kGlobexEnterprise).status.error_code(),
            grpc::StatusCode::INTERNAL);
  EXPECT_EQ(CallTenant(kGlobexEnterprise).status.error_code(),
            grpc::StatusCode::INTERNAL);
  EXPECT_EQ(state.Value(), 1);  // open
  const absl::Time opened = absl::Now();
  CallResult fast = CallTenant(kGlobexEnterprise);
  ExpectReason(fast.status, grpc::StatusCode::UNAVAILABLE,
               "GATEWAY_CIRCUIT_OPEN");
  ErrorDetails details = DecodeDetails(fast.status);
  ASSERT_TRUE(details.retry_info.has_value());
  EXPECT_LE(details.retry_info->retry_delay().seconds(), 1);
  EXPECT_EQ(details.error_info->metadata().at("tenant"), "globex");
  EXPECT_LT(fast.elapsed, absl::Milliseconds(500));
  EXPECT_EQ(globex_->Requests().size(), 2u);
  // The other tenant is unaffected.
  EXPECT_TRUE(CallTenant(kEnterpriseId).status.ok());
  EXPECT_EQ(gateway_->metrics()
                .TenantRefusal("globex", "GATEWAY_CIRCUIT_OPEN")
                .Value(),
            1u);
  // After the cool-down, one probe goes through; it succeeds and closes.
  absl::SleepFor(opened + absl::Milliseconds(1100) - absl::Now());
  CallResult probe = CallTenant(kGlobexEnterprise);
  EXPECT_TRUE(probe.status.ok()) << probe.status.error_message();
  EXPECT_EQ(state.Value(), 0);
  EXPECT_TRUE(CallTenant(kGlobexEnterprise).status.ok());
  EXPECT_EQ(globex_->Requests().size(), 4u);
}

TEST_F(TenantsTest, RequestRateLimitRefusesFastWithRetryInfo) {
  WriteTenants({Acme(R"(, "limits": {"requests_per_second": 1,
                                      "burst": 2})"),
                Globex()});
  StartGateway();
  EXPECT_TRUE(CallTenant(kEnterpriseId).status.ok());
  EXPECT_TRUE(CallTenant(kEnterpriseId).status.ok());
  CallResult r = CallTenant(kEnterpriseId);
  ExpectReason(r.status, grpc::StatusCode::RESOURCE_EXHAUSTED,
               "GATEWAY_TENANT_QUOTA");
  ErrorDetails details = DecodeDetails(r.status);
  ASSERT_TRUE(details.retry_info.has_value());
  EXPECT_LE(details.retry_info->retry_delay().seconds(), 1);
  EXPECT_EQ(acme_->Requests().size(), 2u);
  EXPECT_TRUE(CallTenant(kGlobexEnterprise).status.ok());
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
