#include "gateway/response/status_details.h"

#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

TEST(DecodeStatusDetailsTest, RejectsStatusesNotMadeHere) {
  google::rpc::Status out;
  EXPECT_FALSE(DecodeStatusDetails(grpc::Status::OK, &out));
  EXPECT_FALSE(DecodeStatusDetails(
      grpc::Status(grpc::StatusCode::INTERNAL, "x"), &out));
  EXPECT_FALSE(DecodeStatusDetails(
      grpc::Status(grpc::StatusCode::INTERNAL, "x", "\xFF\xFF\xFF"), &out));
  google::rpc::Status other;
  other.set_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_FALSE(DecodeStatusDetails(
      grpc::Status(grpc::StatusCode::INTERNAL, "x", other.SerializeAsString()),
      &out));
}

}  // namespace
}  // namespace usergateway
