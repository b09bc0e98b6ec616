#include "gateway/request/header_policy.h"

#include <set>
#include <string>

#include "absl/random/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

using ::testing::MatchesRegex;

constexpr char kUuidV4Regex[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

// The policy as a whole (which metadata reaches the upstream, in what order,
// as which headers) is tested through BuildUpstreamRequest in
// request_translator_test.cc.

TEST(NewUuidV4Test, VersionAndVariantBits) {
  absl::BitGen bitgen;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewUuidV4(bitgen);
    ASSERT_THAT(id, MatchesRegex(kUuidV4Regex));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000);
}

}  // namespace
}  // namespace usergateway
