// Compares a usergateway.v1.User the gateway returned with the user object
// in the emulator's fixture (testdata/users.json), field by field, so that
// a test checks every field the upstream sent without restating the
// fixture's values.
//
// The comparison walks the fixture's JSON (simdjson on-demand) and finds
// each key's proto field by name, or by JSON name (`has_emm` is
// `emm_enabled`): a JSON string, integer or boolean must be set and equal;
// `null` must leave the field unset (has_*() false) or the list empty; an
// object must be a set sub-message that matches recursively; an array of
// objects a repeated field of the same length whose elements match. A
// proto field set in the response that the fixture does not have is a
// mismatch too, except `profile.role_enum`, which the JSON cannot hold
// (check it separately).
//
// Example:
//
//   EXPECT_TRUE(UserMatchesFixture(fixture_json, kAdaUserId,
//                                  {{"first_name", "Augusta"},
//                                   {"full_name", "Augusta Lovelace"}},
//                                  response.user()));
#ifndef USERGATEWAY_TESTS_INTEGRATION_FIXTURE_MATCHER_H_
#define USERGATEWAY_TESTS_INTEGRATION_FIXTURE_MATCHER_H_

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {
namespace testing {

// Returns success when `user` matches the fixture user whose
// profile.authn_user_id is `user_id`, after replacing the values of the
// top-level string fields named in `overrides` (e.g. the first_name the
// call set and the full_name the emulator recomputed). Returns a failure
// listing every mismatch by path (e.g. "emm.authentication_token.id:
// expected 9001, got unset"), or naming the problem when the fixture does
// not parse or has no such user.
::testing::AssertionResult UserMatchesFixture(
    absl::string_view fixture_json, absl::string_view user_id,
    const std::map<std::string, std::string>& overrides,
    const usergateway::v1::User& user);

}  // namespace testing
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_INTEGRATION_FIXTURE_MATCHER_H_
