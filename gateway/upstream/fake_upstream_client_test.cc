#include "gateway/upstream/fake_upstream_client.h"

#include <optional>
#include <vector>

#include "gtest/gtest.h"

namespace usergateway {
namespace {

TEST(FakeUpstreamClientTest, InlineResultCompletesBeforeStartReturns) {
  FakeUpstreamClient fake;
  fake.SetResponder([](const UpstreamRequest& request) {
    return std::optional<UpstreamResult>(
        FakeUpstreamClient::HttpResult(200, request.body));
  });
  std::vector<UpstreamResult> results;
  UpstreamRequest request;
  request.body = "{}";
  fake.Start(request, [&](UpstreamResult r) { results.push_back(r); });
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].http_status, 200);
  EXPECT_EQ(results[0].body, "{}");
  EXPECT_TRUE(fake.completed(0));
}

TEST(FakeUpstreamClientTest, HeldCallCompletesOnceWhenTold) {
  FakeUpstreamClient fake;
  int calls = 0;
  UpstreamRequest request;
  request.url = "https://example.test/u";
  fake.Start(request, [&](UpstreamResult) { ++calls; });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(fake.started(), 1u);
  EXPECT_EQ(fake.request(0).url, "https://example.test/u");
  EXPECT_TRUE(fake.Complete(0, FakeUpstreamClient::HttpResult(404, "")));
  EXPECT_FALSE(fake.Complete(0, FakeUpstreamClient::HttpResult(200, "")));
  EXPECT_EQ(calls, 1);
}

TEST(FakeUpstreamClientTest, CancelCompletesAHeldCallWithCancelled) {
  FakeUpstreamClient fake;
  std::vector<UpstreamResult> results;
  std::shared_ptr<UpstreamCall> call = fake.Start(
      UpstreamRequest(), [&](UpstreamResult r) { results.push_back(r); });
  call->Cancel();
  call->Cancel();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].error, TransportError::kCancelled);
  EXPECT_TRUE(fake.cancelled(0));
  EXPECT_TRUE(fake.WaitForCancelled(0, absl::ZeroDuration()));
}

TEST(FakeUpstreamClientTest, HandlesOutliveTheFake) {
  std::shared_ptr<UpstreamCall> call;
  {
    FakeUpstreamClient fake;
    call = fake.Start(UpstreamRequest(), [](UpstreamResult) {});
  }
  call->Cancel();  // a no-op, not a crash
}

}  // namespace
}  // namespace usergateway
