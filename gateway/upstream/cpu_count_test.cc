#include "gateway/upstream/cpu_count.h"

#include <sched.h>

#include <optional>

#include "gtest/gtest.h"

namespace usergateway {
namespace {

TEST(CpusFromCgroupCpuMaxTest, QuotaRoundsUp) {
  EXPECT_EQ(CpusFromCgroupCpuMax("150000 100000\n"), 2u);
  EXPECT_EQ(CpusFromCgroupCpuMax("200000 100000"), 2u);
  EXPECT_EQ(CpusFromCgroupCpuMax("50000 100000"), 1u);  // half a CPU: 1
  EXPECT_EQ(CpusFromCgroupCpuMax("400000 100000"), 4u);
}

TEST(CpusFromCgroupCpuMaxTest, NoLimitOrGarbageIsNullopt) {
  EXPECT_EQ(CpusFromCgroupCpuMax("max 100000\n"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupCpuMax(""), std::nullopt);
  EXPECT_EQ(CpusFromCgroupCpuMax("100000"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupCpuMax("0 100000"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupCpuMax("100000 0"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupCpuMax("-5 100000"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupCpuMax("1 2 3"), std::nullopt);
}

TEST(AvailableCpusTest, AtLeastOneAndNoMoreThanTheAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  const size_t cpus = AvailableCpus();
  EXPECT_GE(cpus, 1u);
  EXPECT_LE(cpus, static_cast<size_t>(CPU_COUNT(&set)));
}

}  // namespace
}  // namespace usergateway
