// A concurrency stress test of the upstream client's real libcurl loops
// (CurlUpstreamClient) against the upstream emulator over loopback: calls
// started from several threads at once with a mix of faults (successes,
// 404, 503 and resets on every attempt, slow answers, deadlines passing),
// cancels racing with completions, metric scrapes and Stats() reads from
// another thread, short connection lifetimes, then a drain or an abort that
// races with new calls. Each call's callback must run exactly once with
// the outcome its fault implies.
//
// It asserts outcomes, but its main use is under ThreadSanitizer
// (scripts/tsan.sh): it drives every cross-thread path of the loops (Start
// and Cancel from caller threads, callbacks on loop threads, the metric
// registry, Drain/AbortInFlight) so that TSan can see their ordering. Real
// time, with generous margins.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/observability/gateway_metrics.h"
#include "gateway/observability/metrics.h"
#include "gateway/upstream/curl_upstream_client.h"
#include "gateway/upstream/upstream_types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/emulator/emulator.h"

namespace usergateway {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;

constexpr char kApiKey[] = "stress-test-key-41c7e0";
// Ada Lovelace in tests/emulator/testdata/users.json.
constexpr char kUserId[] = "3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d";
constexpr int kMaxAttempts = 3;

// What one call is asked to do, by its index.
enum class Kind {
  kOk,            // no fault
  kOkCancelled,   // no fault; cancelled at once, racing with the answer
  kSlow,          // answered after 30 ms
  kNotFound,      // 404, not retried
  kUnavailable,   // 503 on every attempt
  kReset,         // the connection reset on every attempt
  kDeadline,      // answered after 2 s; the deadline is 150 ms
  kCancelled,     // answered after 2 s; cancelled after a few ms
};
constexpr Kind kKinds[] = {Kind::kOk,        Kind::kOkCancelled, Kind::kSlow,
                           Kind::kNotFound,  Kind::kUnavailable, Kind::kReset,
                           Kind::kDeadline,  Kind::kCancelled,   Kind::kOk};

std::string FaultOf(Kind kind) {
  switch (kind) {
    case Kind::kSlow:
      return "delay_ms=30";
    case Kind::kNotFound:
      return "status=404";
    case Kind::kUnavailable:
      return "status=503";
    case Kind::kReset:
      return "action=reset";
    case Kind::kDeadline:
    case Kind::kCancelled:
      return "delay_ms=2000";
    default:
      return "delay_ms=0";
  }
}

// Each call's outcome, written once by its callback (on a loop thread, or
// inline for a refusal) and read by the test thread after all are done.
struct Slot {
  std::atomic<int> callbacks{0};
  Kind kind = Kind::kOk;
  UpstreamResult result;
};

// Counts finished calls; lets the test thread wait for all of them.
// std::mutex, not absl::Mutex, so that ThreadSanitizer sees the ordering.
class Countdown {
 public:
  void Done() {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    cv_.notify_all();
  }
  bool WaitFor(int n, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                        [&] { return done_ >= n; });
  }
  int done() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int done_ ABSL_GUARDED_BY(mu_) = 0;
};

class UpstreamStressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::EmulatorOptions emulator_options;
    emulator_options.api_keys = {kApiKey};
    emulator_options.threads = 128;
    absl::StatusOr<std::unique_ptr<testing::Emulator>> emulator =
        testing::Emulator::Start(emulator_options);
    ASSERT_TRUE(emulator.ok()) << emulator.status();
    emulator_ = std::move(*emulator);

    CurlUpstreamOptions options;
    options.allow_insecure_http = true;
    options.loops = 2;
    options.max_attempts = kMaxAttempts;
    options.backoff_base = absl::Milliseconds(1);
    options.backoff_max = absl::Milliseconds(5);
    // Every retry the policy wants is made: the outcomes stay exact.
    options.retry_budget_ratio = 1000;
    options.retry_budget_burst = 100000;
    // Connections are replaced while calls run (whole seconds).
    options.max_connection_age = absl::Seconds(1);
    options.metrics = &metrics_.upstream;
    absl::StatusOr<std::unique_ptr<CurlUpstreamClient>> client =
        CurlUpstreamClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  void TearDown() override {
    client_.reset();  // before the emulator: calls end while it still runs
    emulator_.reset();
  }

  UpstreamRequest MakeRequest(Kind kind, int index) {
    UpstreamRequest request;
    request.url =
        absl::StrCat(emulator_->base_url(), "/authn2/v0/user/", kUserId);
    request.body = absl::StrCat(R"({"first_name":"Ada )", index, R"("})");
    const std::string id = absl::StrCat("stress-", index);
    request.headers = {
        {"Authorization", absl::StrCat("Bearer ", kApiKey)},
        {"Content-Type", "application/json"},
        {"Accept", "application/json"},
        {"X-Request-Id", id},
        {"X-Emulator-Fault", FaultOf(kind)},
    };
    request.request_id = id;
    request.deadline =
        absl::Now() + (kind == Kind::kDeadline ? absl::Milliseconds(150)
                                               : absl::Seconds(60));
    return request;
  }

  // Starts `slot`'s call; its callback records the result and counts down.
  std::shared_ptr<UpstreamCall> StartCall(Slot* slot, int index,
                                          Countdown* countdown) {
    return client_->Start(MakeRequest(slot->kind, index),
                          [slot, countdown](UpstreamResult result) {
                            // Exactly once: a second run would be caught
                            // here and by the count below.
                            if (slot->callbacks.fetch_add(1) == 0) {
                              slot->result = std::move(result);
                            }
                            countdown->Done();
                          });
  }

  // Scrapes the metrics and reads Stats() until `stop`, as the admin
  // server and the drain do while calls run.
  std::thread StartScraper(const std::atomic<bool>* stop,
                           std::atomic<int>* scrapes) {
    return std::thread([this, stop, scrapes] {
      while (!stop->load()) {
        std::string text = registry_.Expose();
        EXPECT_THAT(text, HasSubstr("usergateway_upstream_attempts_total"));
        client_->Stats();
        scrapes->fetch_add(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
  }

  metrics::Registry registry_;
  GatewayMetrics metrics_{&registry_, "stress"};
  std::unique_ptr<testing::Emulator> emulator_;
  std::unique_ptr<CurlUpstreamClient> client_;
};

TEST_F(UpstreamStressTest, ManyThreadsWithFaultsCancelsAndScrapes) {
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 72;  // 8 rounds of the 9 kinds
  constexpr int kCalls = kThreads * kCallsPerThread;
  // Each caller keeps at most this many calls of its own in flight, so that
  // the emulator's threads (one per connection) are never all taken.
  constexpr int kWindow = 12;
  std::vector<Slot> slots(kCalls);
  Countdown countdown;
  std::atomic<bool> stop_scraper{false};
  std::atomic<int> scrapes{0};
  std::thread scraper = StartScraper(&stop_scraper, &scrapes);

  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        const int index = t * kCallsPerThread + i;
        Slot& slot = slots[index];
        slot.kind = kKinds[index % (sizeof(kKinds) / sizeof(kKinds[0]))];
        // Wait for room in this caller's window (its earlier calls).
        const absl::Time give_up = absl::Now() + absl::Seconds(60);
        while (absl::Now() < give_up) {
          int running = 0;
          for (int j = t * kCallsPerThread; j < index; ++j) {
            running += slots[j].callbacks.load() == 0;
          }
          if (running < kWindow) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        std::shared_ptr<UpstreamCall> call =
            StartCall(&slot, index, &countdown);
        if (slot.kind == Kind::kOkCancelled) {
          call->Cancel();
        } else if (slot.kind == Kind::kCancelled) {
          std::this_thread::sleep_for(std::chrono::milliseconds(index % 7));
          call->Cancel();
          call->Cancel();  // a second cancel is a no-op
        }
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  ASSERT_TRUE(countdown.WaitFor(kCalls, absl::Seconds(120)))
      << countdown.done() << " of " << kCalls << " calls ended";
  EXPECT_TRUE(client_->WaitIdle(absl::Now() + absl::Seconds(30)));
  stop_scraper = true;
  scraper.join();
  EXPECT_GT(scrapes.load(), 0);

  int retried_attempts = 0;
  for (int i = 0; i < kCalls; ++i) {
    const Slot& slot = slots[i];
    ASSERT_EQ(slot.callbacks.load(), 1) << "call " << i;
    const UpstreamResult& r = slot.result;
    SCOPED_TRACE(absl::StrCat("call ", i, " kind ", static_cast<int>(slot.kind),
                              ": ", r.error_detail));
    switch (slot.kind) {
      case Kind::kOk:
      case Kind::kSlow:
        EXPECT_EQ(r.error, TransportError::kNone);
        EXPECT_EQ(r.http_status, 200);
        EXPECT_THAT(r.body,
                    HasSubstr(absl::StrCat(R"("first_name":"Ada )", i, "\"")));
        break;
      case Kind::kOkCancelled:
        // Either the cancel or the answer came first; nothing else.
        EXPECT_THAT(r.error,
                    AnyOf(Eq(TransportError::kNone),
                          Eq(TransportError::kCancelled)));
        if (r.error == TransportError::kNone) {
          EXPECT_EQ(r.http_status, 200);
        }
        break;
      case Kind::kNotFound:
        EXPECT_EQ(r.error, TransportError::kNone);
        EXPECT_EQ(r.http_status, 404);
        EXPECT_EQ(r.attempts, 1);
        break;
      case Kind::kUnavailable:
        EXPECT_EQ(r.error, TransportError::kNone);
        EXPECT_EQ(r.http_status, 503);
        EXPECT_EQ(r.attempts, kMaxAttempts);
        retried_attempts += r.attempts - 1;
        break;
      case Kind::kReset:
        EXPECT_EQ(r.error, TransportError::kConnectionReset);
        EXPECT_EQ(r.attempts, kMaxAttempts);
        retried_attempts += r.attempts - 1;
        break;
      case Kind::kDeadline:
        EXPECT_EQ(r.error, TransportError::kDeadlineExceeded);
        break;
      case Kind::kCancelled:
        EXPECT_EQ(r.error, TransportError::kCancelled);
        break;
    }
  }
  // The counters the scraper read while the calls ran add up at the end.
  EXPECT_GE(metrics_.upstream.retries->Value(),
            static_cast<uint64_t>(retried_attempts));
  EXPECT_EQ(client_->Stats().in_flight, 0u);
}

TEST_F(UpstreamStressTest, AbortInFlightRacingWithNewCallsEndsEachOnce) {
  constexpr int kThreads = 3;
  constexpr int kCallsPerThread = 40;
  constexpr int kCalls = kThreads * kCallsPerThread;
  std::vector<Slot> slots(kCalls);
  Countdown countdown;
  std::atomic<int> started{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        const int index = t * kCallsPerThread + i;
        // Held calls, so that the abort finds some in flight.
        slots[index].kind = Kind::kCancelled;
        StartCall(&slots[index], index, &countdown);
        started.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  // Abort half way through the starts, from another thread.
  while (started.load() < kCalls / 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  client_->AbortInFlight("stress test abort");
  for (std::thread& caller : callers) caller.join();
  ASSERT_TRUE(countdown.WaitFor(kCalls, absl::Seconds(60)))
      << countdown.done() << " of " << kCalls << " calls ended";
  EXPECT_TRUE(client_->WaitIdle(absl::Now() + absl::Seconds(30)));
  int drained = 0;
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_EQ(slots[i].callbacks.load(), 1) << "call " << i;
    // Held for 2 s: nothing can have been answered before the abort.
    EXPECT_EQ(slots[i].result.error, TransportError::kDraining)
        << "call " << i << ": " << slots[i].result.error_detail;
    drained += slots[i].result.error == TransportError::kDraining;
  }
  EXPECT_EQ(drained, kCalls);
}

}  // namespace
}  // namespace usergateway
