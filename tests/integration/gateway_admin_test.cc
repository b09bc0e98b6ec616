// The admin listener of a real gateway (GatewayServer in-process, against
// the upstream emulator): /metrics counts the calls it answered by code and
// reason, the gRPC port serves no HTTP admin routes (nor the admin port
// gRPC), /readyz follows the drain, API key reloads are counted, and the
// admin port is reported in --admin_port_file and refused when taken.
#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>  // NOLINT(build/c++11)
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/test_env.h"

namespace usergateway {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kUnknownUserId[] = "00000000-0000-4000-8000-00000000ad01";
constexpr char kOkSeries[] = "usergateway_calls_total{code=\"OK\",reason=\"\"}";
constexpr char kNotFoundSeries[] =
    "usergateway_calls_total{code=\"NOT_FOUND\",reason=\"UPSTREAM_NOT_FOUND\"}";

std::unique_ptr<TestEnv> StartEnv(
    const std::function<void(Config*)>& configure = nullptr) {
  TestEnvOptions options;
  options.configure = [configure](Config* config) {
    config->admin_listen = "127.0.0.1:0";
    if (configure) configure(config);
  };
  absl::StatusOr<std::unique_ptr<TestEnv>> env =
      TestEnv::Start(std::move(options));
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? *std::move(env) : nullptr;
}

struct HttpReply {
  bool ok = false;  // a response came
  int status = 0;
  std::string body;
  std::string content_type;
  std::string error;  // when !ok
};

HttpReply HttpGet(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  HttpReply reply;
  httplib::Result res = client.Get(path);
  if (!res) {
    reply.error = httplib::to_string(res.error());
    return reply;
  }
  reply.ok = true;
  reply.status = res->status;
  reply.body = res->body;
  reply.content_type = res->get_header_value("Content-Type");
  return reply;
}

// The samples of a text exposition: "name{labels}" -> value. Comments and
// blank lines are skipped; a line that does not parse fails the test.
std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos ||
        !absl::SimpleAtod(line.substr(space + 1), &value)) {
      ADD_FAILURE() << "unparsable sample line: " << line;
      continue;
    }
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

// Scrapes /metrics; returns the samples (empty when the scrape failed).
std::map<std::string, double> Scrape(int admin_port) {
  HttpReply reply = HttpGet(admin_port, "/metrics");
  if (!reply.ok || reply.status != 200) return {};
  return ParseSamples(reply.body);
}

double SampleOr(const std::map<std::string, double>& samples,
                const std::string& series, double missing = -1) {
  auto it = samples.find(series);
  return it == samples.end() ? missing : it->second;
}

TEST(GatewayAdminTest, ListensOnItsOwnPort) {
  std::unique_ptr<TestEnv> env = StartEnv();
  ASSERT_NE(env, nullptr);
  EXPECT_GT(env->gateway().admin_port(), 0);
  EXPECT_NE(env->gateway().admin_port(), env->gateway().port());
  HttpReply healthz = HttpGet(env->gateway().admin_port(), "/healthz");
  ASSERT_TRUE(healthz.ok) << healthz.error;
  EXPECT_EQ(healthz.status, 200);
  EXPECT_EQ(healthz.body, "ok\n");
  HttpReply readyz = HttpGet(env->gateway().admin_port(), "/readyz");
  ASSERT_TRUE(readyz.ok) << readyz.error;
  EXPECT_EQ(readyz.status, 200);
  EXPECT_EQ(readyz.body, "ready\n");
}

TEST(GatewayAdminTest, NoAdminServerWithoutTheFlag) {
  absl::StatusOr<std::unique_ptr<TestEnv>> env = TestEnv::Start();
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ((*env)->gateway().admin_port(), 0);
}

TEST(GatewayAdminTest, MetricsCountCallsByCodeAndReason) {
  std::unique_ptr<TestEnv> env = StartEnv();
  ASSERT_NE(env, nullptr);
  const int admin_port = env->gateway().admin_port();
  HttpReply first = HttpGet(admin_port, "/metrics");
  ASSERT_TRUE(first.ok) << first.error;
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(first.body, HasSubstr("# TYPE usergateway_calls_total counter"));
  EXPECT_THAT(first.body,
              HasSubstr("usergateway_build_info{version=\"0.1.0\"} 1\n"));

  constexpr int kOk = 3;
  constexpr int kNotFound = 2;
  for (int i = 0; i < kOk; ++i) {
    CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Ada"));
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  }
  for (int i = 0; i < kNotFound; ++i) {
    CallResult r = Call(env->stub(), MakeRequest(kUnknownUserId, "Nobody"));
    ASSERT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND)
        << r.status.error_message();
  }

  // A call may be counted just after its answer left: wait for the counts
  // rather than read them once.
  std::map<std::string, double> samples;
  const bool counted = PollUntil(
      [&] {
        samples = Scrape(admin_port);
        return SampleOr(samples, kOkSeries) == kOk &&
               SampleOr(samples, kNotFoundSeries) == kNotFound &&
               SampleOr(samples, "usergateway_calls_in_flight") == 0;
      },
      absl::Seconds(10));
  EXPECT_TRUE(counted) << kOkSeries << " = " << SampleOr(samples, kOkSeries)
                       << ", " << kNotFoundSeries << " = "
                       << SampleOr(samples, kNotFoundSeries)
                       << "; the scrape:\n"
                       << HttpGet(admin_port, "/metrics").body;
  EXPECT_EQ(SampleOr(samples, "usergateway_call_duration_seconds_count"),
            kOk + kNotFound);
  EXPECT_EQ(
      SampleOr(samples,
               "usergateway_call_duration_seconds_bucket{le=\"+Inf\"}"),
      kOk + kNotFound);
  EXPECT_GT(SampleOr(samples, "usergateway_call_duration_seconds_sum"), 0);
  EXPECT_EQ(SampleOr(samples, "usergateway_draining"), 0);
  EXPECT_EQ(SampleOr(samples, "usergateway_calls_in_flight"), 0);
  // No other code or reason was counted.
  double calls = 0;
  for (const auto& [series, value] : samples) {
    if (series.rfind("usergateway_calls_total{", 0) == 0) calls += value;
  }
  EXPECT_EQ(calls, kOk + kNotFound);
}

TEST(GatewayAdminTest, GrpcPortServesNoMetricsAndAdminPortNoGrpc) {
  std::unique_ptr<TestEnv> env = StartEnv();
  ASSERT_NE(env, nullptr);
  // HTTP/1.1 to the gRPC port: gRPC answers no such request (it closes the
  // connection, or answers with an error), and never with the exposition.
  HttpReply reply = HttpGet(env->gateway().port(), "/metrics");
  if (reply.ok) {
    EXPECT_NE(reply.status, 200);
    EXPECT_THAT(reply.body, Not(HasSubstr("usergateway_")));
  }
  // gRPC to the admin port: no health answer.
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", env->gateway().admin_port()),
      grpc::InsecureChannelCredentials());
  std::unique_ptr<usergateway::v1::UserProfileGateway::Stub> stub =
      usergateway::v1::UserProfileGateway::NewStub(channel);
  CallOptions options;
  options.timeout = absl::Seconds(3);
  CallResult r = Call(*stub, MakeRequest(kAdaUserId, "Ada"), options);
  EXPECT_FALSE(r.status.ok());
}

TEST(GatewayAdminTest, ReadyzTurns503WhileDraining) {
  // A drain delay long enough to look at /readyz while Drain() runs.
  std::unique_ptr<TestEnv> env = StartEnv(
      [](Config* config) { config->drain_delay = absl::Seconds(2); });
  ASSERT_NE(env, nullptr);
  const int admin_port = env->gateway().admin_port();
  HttpReply before = HttpGet(admin_port, "/readyz");
  ASSERT_TRUE(before.ok) << before.error;
  EXPECT_EQ(before.status, 200);
  EXPECT_EQ(before.body, "ready\n");

  std::atomic<bool> drained{false};
  std::thread drain([&] {
    env->gateway().Drain();
    drained = true;
  });
  HttpReply during;
  const bool not_ready = PollUntil(
      [&] {
        during = HttpGet(admin_port, "/readyz");
        return during.ok && during.status == 503;
      },
      absl::Seconds(10));
  const bool still_draining = !drained.load();
  std::map<std::string, double> samples = Scrape(admin_port);
  HttpReply healthz = HttpGet(admin_port, "/healthz");
  drain.join();

  EXPECT_TRUE(not_ready) << during.status << " " << during.body
                         << during.error;
  EXPECT_TRUE(still_draining) << "/readyz said 503 only after Drain returned";
  EXPECT_EQ(during.body, "draining\n");
  EXPECT_EQ(SampleOr(samples, "usergateway_draining"), 1);
  // Alive while draining: a liveness probe must not restart the pod.
  EXPECT_EQ(healthz.status, 200);
  // Drained: still not ready, still scrapable until the gateway goes.
  HttpReply after = HttpGet(admin_port, "/readyz");
  ASSERT_TRUE(after.ok) << after.error;
  EXPECT_EQ(after.status, 503);
  EXPECT_EQ(after.body, "draining\n");
  EXPECT_EQ(SampleOr(Scrape(admin_port), "usergateway_draining"), 1);
}

// The server wires the key source's reload observer to
// usergateway_api_key_reloads_total.
TEST(GatewayAdminTest, CountsApiKeyReloads) {
  const std::string key_file =
      absl::StrCat(TestTmpDir(), "/gateway_admin_test.key");
  ASSERT_TRUE(WriteFileAtomically(key_file, "first-key-1111\n").ok());
  TestEnvOptions options;
  options.emulator.api_keys = {"first-key-1111", "second-key-2222"};
  options.configure = [&key_file](Config* config) {
    config->admin_listen = "127.0.0.1:0";
    config->api_key_env_value.clear();
    config->api_key_file = key_file;
    config->api_key_reload_interval = absl::ZeroDuration();
  };
  absl::StatusOr<std::unique_ptr<TestEnv>> started =
      TestEnv::Start(std::move(options));
  ASSERT_TRUE(started.ok()) << started.status();
  TestEnv& env = **started;
  const int admin_port = env.gateway().admin_port();

  // A good rotation, then a key the source refuses (a control character):
  // it keeps the second key, so the last call still succeeds.
  ASSERT_TRUE(WriteFileAtomically(key_file, "second-key-2222\n").ok());
  EXPECT_TRUE(Call(env.stub(), MakeRequest(kAdaUserId, "Ada")).status.ok());
  ASSERT_TRUE(WriteFileAtomically(key_file, "bad\x01key\n").ok());
  EXPECT_TRUE(Call(env.stub(), MakeRequest(kAdaUserId, "Ada")).status.ok());

  std::map<std::string, double> samples = Scrape(admin_port);
  EXPECT_EQ(SampleOr(samples,
                     "usergateway_api_key_reloads_total{result=\"ok\"}"),
            1);
  EXPECT_EQ(SampleOr(samples,
                     "usergateway_api_key_reloads_total{result=\"failed\"}"),
            1);
}

TEST(GatewayAdminTest, WritesTheAdminPortFile) {
  const std::string path = TestTmpDir() + "/gateway_admin_test.admin.port";
  std::remove(path.c_str());
  std::unique_ptr<TestEnv> env =
      StartEnv([path](Config* config) { config->admin_port_file = path; });
  ASSERT_NE(env, nullptr);
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, absl::StrCat(env->gateway().admin_port(), "\n"));
}

TEST(GatewayAdminTest, StartFailsWhenTheAdminPortIsTaken) {
  std::unique_ptr<TestEnv> first = StartEnv();
  ASSERT_NE(first, nullptr);
  const std::string taken =
      absl::StrCat("127.0.0.1:", first->gateway().admin_port());
  TestEnvOptions options;
  options.configure = [taken](Config* config) {
    config->admin_listen = taken;
  };
  absl::StatusOr<std::unique_ptr<TestEnv>> second =
      TestEnv::Start(std::move(options));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable)
      << second.status();
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr("cannot listen on " + taken));
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
