// The matcher the success tests rely on must notice every kind of
// difference, or those tests could not fail.
#include "tests/integration/fixture_matcher.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace testing {
namespace {

using ::testing::HasSubstr;

constexpr char kFixture[] = R"([
  {"id": 1, "first_name": "Other", "profile": {"authn_user_id": "u-other"}},
  {"id": 10000000000000001, "first_name": "Ada", "last_name": null,
   "is_active": true, "has_emm": false, "emm": null,
   "profile": {"authn_user_id": "u-1", "role": "Auditor",
               "groups": [{"id": "g-1", "device_count": 3}]}}
])";

usergateway::v1::User MatchingUser() {
  usergateway::v1::User user;
  user.set_id(10000000000000001);
  user.set_first_name("Ada");
  user.set_is_active(true);
  user.set_emm_enabled(false);
  usergateway::v1::Profile* profile = user.mutable_profile();
  profile->set_authn_user_id("u-1");
  profile->set_role("Auditor");
  profile->set_role_enum(usergateway::v1::ROLE_UNSPECIFIED);
  usergateway::v1::Group* group = profile->add_groups();
  group->set_id("g-1");
  group->set_device_count(3);
  return user;
}

TEST(FixtureMatcherTest, AcceptsTheSameUser) {
  EXPECT_TRUE(UserMatchesFixture(kFixture, "u-1", {}, MatchingUser()));
}

TEST(FixtureMatcherTest, AppliesOverrides) {
  usergateway::v1::User user = MatchingUser();
  user.set_first_name("Augusta");
  EXPECT_FALSE(UserMatchesFixture(kFixture, "u-1", {}, user));
  EXPECT_TRUE(UserMatchesFixture(kFixture, "u-1", {{"first_name", "Augusta"}},
                                 user));
}

struct MutationCase {
  const char* name;
  void (*mutate)(usergateway::v1::User*);
  const char* path_in_message;
};

class FixtureMatcherMutationTest
    : public ::testing::TestWithParam<MutationCase> {};

TEST_P(FixtureMatcherMutationTest, ReportsTheDifferenceByPath) {
  usergateway::v1::User user = MatchingUser();
  GetParam().mutate(&user);
  ::testing::AssertionResult result =
      UserMatchesFixture(kFixture, "u-1", {}, user);
  EXPECT_FALSE(result);
  EXPECT_THAT(result.message(), HasSubstr(GetParam().path_in_message));
}

INSTANTIATE_TEST_SUITE_P(
    Mutations, FixtureMatcherMutationTest,
    ::testing::Values(
        MutationCase{"BigIntegerOffByOne",
                     [](usergateway::v1::User* u) {
                       u->set_id(10000000000000000);
                     },
                     "id: expected 10000000000000001"},
        MutationCase{"MissingString",
                     [](usergateway::v1::User* u) { u->clear_first_name(); },
                     "first_name: expected \"Ada\", got unset"},
        MutationCase{"NullSetToEmpty",
                     [](usergateway::v1::User* u) { u->set_last_name(""); },
                     "last_name: expected unset"},
        MutationCase{"NullMessageSet",
                     [](usergateway::v1::User* u) { u->mutable_emm(); },
                     "emm: expected unset"},
        MutationCase{"FalseBoolUnset",
                     [](usergateway::v1::User* u) { u->clear_emm_enabled(); },
                     "has_emm: expected false, got unset"},
        MutationCase{"BoolFlipped",
                     [](usergateway::v1::User* u) { u->set_is_active(false); },
                     "is_active: expected true, got false"},
        MutationCase{"NestedInGroup",
                     [](usergateway::v1::User* u) {
                       usergateway::v1::Profile* p = u->mutable_profile();
                       p->mutable_groups(0)->set_device_count(4);
                     },
                     "profile.groups[0].device_count: expected 3, got 4"},
        MutationCase{"ExtraGroup",
                     [](usergateway::v1::User* u) {
                       u->mutable_profile()->add_groups();
                     },
                     "profile.groups: expected 1 elements, got 2"},
        MutationCase{"FieldNotInFixture",
                     [](usergateway::v1::User* u) { u->set_token("t"); },
                     "token: set, but absent from the fixture"}),
    [](const ::testing::TestParamInfo<MutationCase>& info) {
      return std::string(info.param.name);
    });

TEST(FixtureMatcherTest, UnknownUserIsAFailure) {
  ::testing::AssertionResult result =
      UserMatchesFixture(kFixture, "u-missing", {}, MatchingUser());
  EXPECT_FALSE(result);
  EXPECT_THAT(result.message(), HasSubstr("no user"));
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
