#include "gateway/ingress/caller_identity.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace usergateway {
namespace {

TEST(CallerIdentityTest, NoAuthContextMeansNoIdentity) {
  EXPECT_TRUE(CallerIdentities(nullptr).empty());
}

TEST(CallerIdentityTest, AllowedWhenAnyIdentityIsListedExactly) {
  const std::vector<std::string> ids = {"spiffe://example.org/ns/crm/sa/sync",
                                        "sync.example.org"};
  EXPECT_TRUE(IsCallerAllowed(ids, {"sync.example.org"}));
  EXPECT_TRUE(IsCallerAllowed(ids, {"x", "spiffe://example.org/ns/crm/sa/sync"}));
  // Exact, case-sensitive, no prefixes.
  EXPECT_FALSE(IsCallerAllowed(ids, {"SYNC.example.org"}));
  EXPECT_FALSE(IsCallerAllowed(ids, {"spiffe://example.org/ns/crm"}));
  EXPECT_FALSE(IsCallerAllowed({}, {"sync.example.org"}));
}

}  // namespace
}  // namespace usergateway
