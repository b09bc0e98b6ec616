#include "gateway/upstream/retry_budget.h"

#include <atomic>
#include <thread>  // NOLINT(build/c++11)
#include <vector>

#include "gtest/gtest.h"

namespace usergateway {
namespace {

TEST(RetryBudgetTest, StartsFullWithBurst) {
  RetryBudget budget(0.0, 3);
  EXPECT_TRUE(budget.TryConsume());
  EXPECT_TRUE(budget.TryConsume());
  EXPECT_TRUE(budget.TryConsume());
  EXPECT_FALSE(budget.TryConsume());
  budget.OnCall();  // ratio 0 never refills
  EXPECT_FALSE(budget.TryConsume());
}

TEST(RetryBudgetTest, FiveCallsAtTwentyPercentEarnOneRetry) {
  RetryBudget budget(0.2, 10);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(budget.TryConsume());
  ASSERT_FALSE(budget.TryConsume());
  for (int i = 0; i < 4; ++i) budget.OnCall();
  EXPECT_FALSE(budget.TryConsume());
  budget.OnCall();
  EXPECT_TRUE(budget.TryConsume());
  EXPECT_FALSE(budget.TryConsume());
}

TEST(RetryBudgetTest, SharedByThreadsLosesNoTokens) {
  // The upstream client's loops share one budget.
  RetryBudget budget(0.2, 1e6);
  while (budget.TryConsume()) {
  }
  constexpr int kThreads = 4;
  constexpr int kCallsEach = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCallsEach; ++i) budget.OnCall();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_DOUBLE_EQ(budget.tokens(), kThreads * kCallsEach * 0.2);
  std::atomic<int> granted{0};
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCallsEach; ++i) {
        if (budget.TryConsume()) granted.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(granted.load(), kThreads * kCallsEach / 5);
  EXPECT_DOUBLE_EQ(budget.tokens(), 0.0);
}

TEST(RetryBudgetTest, NeverHoldsMoreThanBurst) {
  RetryBudget budget(0.5, 2);
  for (int i = 0; i < 100; ++i) budget.OnCall();
  EXPECT_DOUBLE_EQ(budget.tokens(), 2.0);
}

TEST(RetryBudgetTest, RetriesDuringAnOutageStayNearTheRatio) {
  // Every call fails and wants three retries; the budget lets through at
  // most ratio * calls + burst of them.
  RetryBudget budget(0.2, 10);
  int retries = 0;
  for (int call = 0; call < 1000; ++call) {
    budget.OnCall();
    for (int attempt = 1; attempt < 4; ++attempt) {
      if (!budget.TryConsume()) break;
      ++retries;
    }
  }
  EXPECT_LE(retries, 210);
  EXPECT_GE(retries, 200);
}

}  // namespace
}  // namespace usergateway
