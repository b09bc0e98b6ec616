#include "gateway/request/header_policy.h"

#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

using ::testing::HasSubstr;
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

// ---------------------------------------------------------------------------
// The operator's allow-list.

struct AllowListCase {
  std::string key;
  std::string message_part;  // empty when valid
};

void PrintTo(const AllowListCase& c, std::ostream* os) {
  *os << absl::CHexEscape(c.key);
}

class ValidateForwardMetadataKeyTest
    : public ::testing::TestWithParam<AllowListCase> {};

TEST_P(ValidateForwardMetadataKeyTest, Validates) {
  const AllowListCase& c = GetParam();
  const absl::Status status = ValidateForwardMetadataKey(c.key);
  if (c.message_part.empty()) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr(c.message_part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateForwardMetadataKeyTest,
    ::testing::Values(
        AllowListCase{"x-tenant", ""}, AllowListCase{"x-b3-sampled", ""},
        AllowListCase{"x_under.score-1", ""}, AllowListCase{"cookie", ""},
        AllowListCase{"", "is empty"},
        AllowListCase{":authority", "pseudo-header"},
        AllowListCase{":path", "pseudo-header"},
        AllowListCase{"grpc-timeout", "reserved by gRPC"},
        AllowListCase{"grpc-encoding", "reserved by gRPC"},
        AllowListCase{"grpc-trace-bin", "reserved by gRPC"},
        AllowListCase{"x-trace-bin", "binary metadata"},
        AllowListCase{"proxy-authorization", "proxy header"},
        AllowListCase{"proxy-connection", "proxy header"},
        AllowListCase{"connection", "hop-by-hop or framing"},
        AllowListCase{"keep-alive", "hop-by-hop or framing"},
        AllowListCase{"te", "hop-by-hop or framing"},
        AllowListCase{"trailer", "hop-by-hop or framing"},
        AllowListCase{"transfer-encoding", "hop-by-hop or framing"},
        AllowListCase{"upgrade", "hop-by-hop or framing"},
        AllowListCase{"host", "hop-by-hop or framing"},
        AllowListCase{"content-length", "hop-by-hop or framing"},
        AllowListCase{"http2-settings", "hop-by-hop or framing"},
        AllowListCase{"expect", "frames or decodes"},
        AllowListCase{"accept-encoding", "frames or decodes"},
        AllowListCase{"content-encoding", "frames or decodes"},
        AllowListCase{"authorization", "set by the gateway"},
        AllowListCase{"content-type", "set by the gateway"},
        AllowListCase{"accept", "set by the gateway"},
        AllowListCase{"user-agent", "set by the gateway"},
        AllowListCase{"x-request-id", "set by the gateway"},
        AllowListCase{"traceparent", "set by the gateway"},
        AllowListCase{"tracestate", "set by the gateway"},
        AllowListCase{"X-Tenant", "not a gRPC metadata key"},
        AllowListCase{"x tenant", "not a gRPC metadata key"},
        AllowListCase{"x-tenant\r\n", "not a gRPC metadata key"},
        AllowListCase{"x:tenant", "not a gRPC metadata key"},
        AllowListCase{"x~tenant", "not a gRPC metadata key"},
        AllowListCase{"x-t\xC3\xA9", "not a gRPC metadata key"}));

// What the allow-list check accepts is forwarded; what it refuses never
// would be: the start-up check and the per-call policy agree.
TEST(ValidateForwardMetadataKeyTest, AgreesWithThePolicy) {
  for (const char* key :
       {"x-tenant", "cookie", "host", "grpc-timeout", "x-a-bin", ":path",
        "proxy-x", "authorization", "connection", "expect"}) {
    const std::vector<std::string> allow_list = {key};
    const ForwardedMetadata forwarded =
        SelectForwardedMetadata({{key, "v"}}, allow_list);
    EXPECT_EQ(ValidateForwardMetadataKey(key).ok(),
              forwarded.allow_listed.size() == 1)
        << key;
  }
}

}  // namespace
}  // namespace usergateway
