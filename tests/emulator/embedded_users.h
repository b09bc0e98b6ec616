// The emulator's user fixture (testdata/users.json), compiled into the
// binary by a genrule so that no test depends on its working directory, and
// the ids and secrets in it that tests refer to by name.
//
// The fixture holds every documented field of the 200 response:
//   kAdaUserId    every field set, two groups, emm with authentication_token,
//                 a quoted string and an integer above 2^53
//   kNadiaUserId  last_name, emm, last_login, profile.authz_role_id null;
//                 no groups
//   kZoeUserId    role "Auditor" (not in the documented enum), non-ASCII
//                 names, another enterprise (kOtherEnterpriseId)
//   kLegacyUserId an id that is not a UUID and needs percent-encoding
//                 ('|', '/', ' ', non-ASCII) in a URL path segment
// Every `token` value starts with "fixture-token-" so that tests can assert
// that no such text reaches a log line or an error.
#ifndef USERGATEWAY_TESTS_EMULATOR_EMBEDDED_USERS_H_
#define USERGATEWAY_TESTS_EMULATOR_EMBEDDED_USERS_H_

#include "absl/strings/string_view.h"

namespace usergateway {
namespace testing {

// The text of testdata/users.json, a JSON array of user objects.
absl::string_view EmbeddedUsersJson();

// profile.authn_user_id of the fixture users (the {user_id} of the URL).
inline constexpr char kAdaUserId[] = "3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d";
inline constexpr char kNadiaUserId[] = "b8e4d1f6-2a9c-4c37-8e15-7d0a3b6f9e42";
inline constexpr char kZoeUserId[] = "c05a7e93-4d2b-4f1e-a8c6-91b3e7d5f028";
inline constexpr char kLegacyUserId[] = "legacy|import/\xc3\xbc 1";

// profile.enterprise of Ada, Nadia and Legacy; and of Zoe.
inline constexpr char kEnterpriseId[] = "9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79";
inline constexpr char kOtherEnterpriseId[] =
    "e4b19c6d-8f27-4a53-9d0e-3c6a2f8b7d15";

// Secrets in the fixture: Ada's `token` and `emm.authentication_token.token`.
inline constexpr char kAdaToken[] = "fixture-token-user-ada-5f0c2e7a9b13";
inline constexpr char kAdaEmmToken[] = "fixture-token-emm-ada-8d41b6c2e970";
// The prefix every secret in the fixture starts with.
inline constexpr char kFixtureSecretPrefix[] = "fixture-token-";

}  // namespace testing
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_EMULATOR_EMBEDDED_USERS_H_
