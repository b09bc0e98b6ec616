#include "client/user_profile_client.h"

#include "gateway/response/error_mapper.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

using ::testing::Contains;
using ::testing::Pair;

// The client decodes exactly what the gateway's error mapper encodes.
TEST(DecodeGatewayErrorTest, ReadsErrorInfoAndRetryInfo) {
  UpstreamResult result;
  result.http_status = 429;
  result.attempts = 2;
  result.retry_after = absl::Seconds(3);
  result.body = R"({"status": 429, "message": "Rate limit exceeded"})";
  GatewayError error = DecodeGatewayError(MapUpstreamFailure(result));
  EXPECT_EQ(error.reason, "UPSTREAM_RATE_LIMITED");
  EXPECT_EQ(error.domain, "usergateway.v1");
  EXPECT_THAT(error.metadata, Contains(Pair("http_status", "429")));
  EXPECT_THAT(error.metadata, Contains(Pair("attempts", "2")));
  ASSERT_TRUE(error.retry_delay.has_value());
  EXPECT_EQ(*error.retry_delay, absl::Seconds(3));
}

TEST(DecodeGatewayErrorTest, ReadsBadRequest) {
  GatewayError error = DecodeGatewayError(
      InvalidRequestStatus({{"user_id", "is required"},
                            {"first_name", "is required"}}));
  EXPECT_EQ(error.reason, "INVALID_REQUEST");
  EXPECT_THAT(error.field_violations,
              ::testing::ElementsAre(Pair("user_id", "is required"),
                                     Pair("first_name", "is required")));
  EXPECT_FALSE(error.retry_delay.has_value());
}

TEST(DecodeGatewayErrorTest, StatusWithoutDetailsIsEmpty) {
  GatewayError error = DecodeGatewayError(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"));
  EXPECT_TRUE(error.reason.empty());
  EXPECT_TRUE(error.metadata.empty());
  GatewayError garbage = DecodeGatewayError(
      grpc::Status(grpc::StatusCode::UNKNOWN, "x", "\xff\xff not a proto"));
  EXPECT_TRUE(garbage.reason.empty());
}

TEST(UserProfileClientTest, UnreachableGatewayIsUnavailableWithinTheDeadline) {
  // Nothing listens on port 1 of loopback.
  auto client = UserProfileClient::Create("127.0.0.1:1");
  absl::Time start = absl::Now();
  UpdateResult r = client->UpdateFirstName("e", "u", "Ada",
                                           absl::Milliseconds(500));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_FALSE(r.user.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.user.status()) ||
              absl::IsDeadlineExceeded(r.user.status()))
      << r.user.status();
}

}  // namespace
}  // namespace usergateway
