#include "gateway/upstream/response_budget.h"

#include <thread>  // NOLINT(build/c++11)
#include <vector>

#include "gtest/gtest.h"

namespace usergateway {
namespace upstream_internal {
namespace {

TEST(ResponseBudgetTest, RefusesWhatWouldPassTheLimitAndTakesBackReleases) {
  ResponseBudget budget(100);
  EXPECT_TRUE(budget.TryReserve(60));
  EXPECT_FALSE(budget.TryReserve(41));  // 101 > 100
  EXPECT_EQ(budget.used(), 60u);        // a refusal reserves nothing
  EXPECT_TRUE(budget.TryReserve(40));   // exactly the limit
  EXPECT_FALSE(budget.TryReserve(1));
  budget.Release(60);
  EXPECT_TRUE(budget.TryReserve(60));
  EXPECT_EQ(budget.used(), 100u);
}

TEST(ResponseBudgetTest, AHugeRequestDoesNotOverflow) {
  ResponseBudget budget(100);
  EXPECT_TRUE(budget.TryReserve(10));
  EXPECT_FALSE(budget.TryReserve(static_cast<size_t>(-1)));
  EXPECT_FALSE(budget.TryReserve(static_cast<size_t>(-1) - 5));
  EXPECT_EQ(budget.used(), 10u);
}

TEST(ResponseBudgetTest, ZeroLimitIsUnlimitedButCounted) {
  ResponseBudget budget(0);
  EXPECT_TRUE(budget.TryReserve(size_t{1} << 40));
  EXPECT_EQ(budget.used(), size_t{1} << 40);
}

TEST(ResponseBudgetTest, ConcurrentReservationsNeverPassTheLimit) {
  constexpr size_t kLimit = 1000;
  ResponseBudget budget(kLimit);
  std::vector<std::thread> threads;
  std::vector<size_t> granted(4, 0);
  for (size_t t = 0; t < granted.size(); ++t) {
    threads.emplace_back([&budget, &granted, t] {
      for (int i = 0; i < 10000; ++i) {
        if (budget.TryReserve(7)) granted[t] += 7;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  size_t total = 0;
  for (size_t g : granted) total += g;
  EXPECT_EQ(total, budget.used());
  EXPECT_LE(total, kLimit);
  EXPECT_GT(total, kLimit - 7);  // it filled up, to within one request
}

}  // namespace
}  // namespace upstream_internal
}  // namespace usergateway
