// How calls use the network: the caller's deadline bounds the upstream
// call, a cancelled call aborts its transfer, a slow call does not hold up
// others, sequential calls share one keep-alive connection, and many
// concurrent calls each get their own user back.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_env.h"

namespace usergateway {
namespace testing {
namespace {

std::unique_ptr<TestEnv> StartEnv(TestEnvOptions options = TestEnvOptions()) {
  absl::StatusOr<std::unique_ptr<TestEnv>> env =
      TestEnv::Start(std::move(options));
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? *std::move(env) : nullptr;
}

bool UpstreamIdle(TestEnv& env, absl::Duration timeout) {
  return PollUntil(
      [&env] { return env.gateway().UpstreamStats().in_flight == 0; },
      timeout);
}

TEST(GatewayTransportTest, CallerDeadlineShorterThanUpstreamDelay) {
  std::unique_ptr<TestEnv> env = StartEnv();
  ASSERT_NE(env, nullptr);
  // Warm up, so that the measured call does not pay for connecting.
  ASSERT_TRUE(Call(env->stub(), MakeRequest(kAdaUserId, "Warm")).status.ok());
  Fault slow;
  slow.delay = absl::Seconds(3);
  env->emulator().PushFault(slow);
  CallOptions options;
  options.timeout = absl::Milliseconds(300);

  CallResult r = Call(env->stub(), MakeRequest(kAdaUserId, "Slow"), options);

  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << r.status.error_message();
  EXPECT_LT(r.elapsed, absl::Milliseconds(300 + 250));
  // The upstream transfer ended with the deadline; it does not linger
  // until the emulator's 3 s are up.
  EXPECT_TRUE(UpstreamIdle(*env, absl::Seconds(1)));
  // When the gateway's status won the race with the client's own timer, it
  // says why.
  if (!r.status.error_details().empty()) {
    const ErrorDetails details = DecodeDetails(r.status);
    ASSERT_TRUE(details.error_info.has_value());
    EXPECT_EQ(details.error_info->reason(), "DEADLINE_EXCEEDED");
  }
}

TEST(GatewayTransportTest, CancelledCallAbortsItsUpstreamTransfer) {
  std::unique_ptr<TestEnv> env = StartEnv();
  ASSERT_NE(env, nullptr);
  Fault slow;
  slow.delay = absl::Seconds(30);
  env->emulator().PushFault(slow);

  AsyncCall call(env->stub(), MakeRequest(kAdaUserId, "Cancelled"),
                 absl::Seconds(60));
  // The PUT reached the upstream (recorded on arrival, before the delay).
  ASSERT_TRUE(env->emulator().WaitForRequests(1, absl::Seconds(10)));
  ASSERT_EQ(env->gateway().UpstreamStats().in_flight, 1u);
  const absl::Time cancelled_at = absl::Now();
  call.Cancel();
  ASSERT_TRUE(call.Wait(absl::Seconds(10)));

  EXPECT_EQ(call.status().error_code(), grpc::StatusCode::CANCELLED);
  // The gateway gave up the transfer promptly, long before the emulator's
  // 30 s delay would have ended it.
  EXPECT_TRUE(UpstreamIdle(*env, absl::Seconds(2)));
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(3));
  EXPECT_EQ(env->gateway().UpstreamStats().retries, 0u);
  EXPECT_EQ(env->emulator().Requests().size(), 1u);
}

// A call that arrives while another waits for a slow upstream reply must
// not queue behind it: over HTTP/1.1 it needs a connection of its own.
class SlowCallDoesNotBlockTest : public ::testing::TestWithParam<bool> {};

TEST_P(SlowCallDoesNotBlockTest, ConcurrentCallIsServedAtOnce) {
  TestEnvOptions options;
  options.emulator_tls = GetParam();
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  Fault slow;
  slow.delay = absl::Seconds(3);
  env->emulator().PushFault(slow);

  AsyncCall slow_call(env->stub(), MakeRequest(kAdaUserId, "Slow"),
                      absl::Seconds(10));
  // The slow call's request is at the upstream: its connection is busy.
  ASSERT_TRUE(env->emulator().WaitForRequests(1, absl::Seconds(10)));
  CallOptions fast_options;
  fast_options.timeout = absl::Seconds(1);

  CallResult fast =
      Call(env->stub(), MakeRequest(kNadiaUserId, "Fast"), fast_options);

  EXPECT_TRUE(fast.status.ok())
      << fast.status.error_code() << " " << fast.status.error_message()
      << " after " << fast.elapsed;
  EXPECT_LT(fast.elapsed, absl::Seconds(1));
  ASSERT_TRUE(slow_call.Wait(absl::Seconds(10)));
  EXPECT_TRUE(slow_call.status().ok()) << slow_call.status().error_message();
  EXPECT_GE(slow_call.elapsed(), absl::Seconds(3));
  EXPECT_EQ(env->emulator().Requests().size(), 2u);
  EXPECT_EQ(env->emulator().ConnectionCount(), 2);
}

INSTANTIATE_TEST_SUITE_P(Upstream, SlowCallDoesNotBlockTest,
                         ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Https" : "Http";
                         });

TEST(GatewayTransportTest, SequentialCallsReuseOneConnection) {
  std::unique_ptr<TestEnv> env = StartEnv();
  ASSERT_NE(env, nullptr);

  for (int i = 0; i < 100; ++i) {
    CallResult r =
        Call(env->stub(), MakeRequest(kAdaUserId, absl::StrCat("Ada", i)));
    ASSERT_TRUE(r.status.ok()) << i << ": " << r.status.error_message();
    ASSERT_EQ(r.response.user().first_name(), absl::StrCat("Ada", i));
  }

  EXPECT_EQ(env->emulator().Requests().size(), 100u);
  EXPECT_EQ(env->emulator().ConnectionCount(), 1);
  EXPECT_EQ(env->gateway().UpstreamStats().connections_opened, 1u);
  EXPECT_EQ(env->gateway().UpstreamStats().transfers, 100u);
}

TEST(GatewayTransportTest, ConcurrentCallsEachGetTheirOwnUser) {
  constexpr int kCalls = 200;
  // Calls start in waves no larger than the emulator's listen backlog
  // (cpp-httplib 0.11 listens with a backlog of 5): a burst of 200 connects
  // overflows it, and the kernel's SYN retries then stall connections for
  // seconds. Each reply is held back long enough that all 200 calls are in
  // flight at once anyway, each on its own upstream connection.
  constexpr int kWave = 4;
  constexpr absl::Duration kHold = absl::Seconds(5);
  TestEnvOptions options;
  // HTTP/1.1 carries one call per connection, and cpp-httplib gives each
  // open connection a worker thread.
  options.emulator.threads = kCalls + 16;
  std::unique_ptr<TestEnv> env = StartEnv(options);
  ASSERT_NE(env, nullptr);
  // One call first, so that libcurl knows the upstream speaks HTTP/1.1
  // before the burst (SlowCallDoesNotBlockTest shows what happens before
  // it knows).
  ASSERT_TRUE(Call(env->stub(), MakeRequest(kAdaUserId, "Warm")).status.ok());
  env->emulator().ClearRequests();
  Fault hold;
  hold.delay = kHold;
  hold.times = kCalls;
  env->emulator().PushFault(hold);
  const std::vector<const char*> users = {kAdaUserId, kNadiaUserId,
                                          kZoeUserId, kLegacyUserId};
  const std::vector<const char*> enterprises = {
      kEnterpriseId, kEnterpriseId, kOtherEnterpriseId, kEnterpriseId};

  std::vector<std::unique_ptr<AsyncCall>> calls;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::make_unique<AsyncCall>(
        env->stub(),
        MakeRequest(users[i % users.size()], absl::StrCat("Name ", i),
                    enterprises[i % enterprises.size()]),
        absl::Seconds(30)));
    if ((i + 1) % kWave == 0 || i + 1 == kCalls) {
      ASSERT_TRUE(env->emulator().WaitForRequests(i + 1, absl::Seconds(10)))
          << "call " << i << " did not reach the upstream";
    }
  }
  const absl::Duration ramp = absl::Now() - start;
  const size_t in_flight = env->gateway().UpstreamStats().in_flight;
  const int connections = env->emulator().ConnectionCount();
  if (absl::Now() - start < kHold) {
    // No reply has been sent yet: every call is in flight at once.
    EXPECT_EQ(in_flight, static_cast<size_t>(kCalls));
    EXPECT_EQ(connections, kCalls);
  } else {
    ADD_FAILURE() << "starting the calls took " << ramp
                  << ", longer than the replies were held";
  }

  int failed = 0;
  for (int i = 0; i < kCalls; ++i) {
    AsyncCall& call = *calls[i];
    ASSERT_TRUE(call.Wait(absl::Seconds(60))) << "call " << i;
    if (!call.status().ok()) {
      // Only the first few, with their codes and messages.
      if (++failed <= 5) {
        ADD_FAILURE() << "call " << i << ": " << call.status().error_code()
                      << " " << call.status().error_message();
      }
      continue;
    }
    EXPECT_EQ(call.response().user().profile().authn_user_id(),
              call.request().user_id())
        << i;
    // The emulator updates and renders under one lock: each response shows
    // its own call's name.
    EXPECT_EQ(call.response().user().first_name(), call.request().first_name())
        << i;
  }
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(env->emulator().Requests().size(), static_cast<size_t>(kCalls));
  // A call stops counting just after its reply is sent.
  EXPECT_TRUE(UpstreamIdle(*env, absl::Seconds(5)));
  EXPECT_EQ(env->gateway().UpstreamStats().retries, 0u);
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
