#include "gateway/response/response_parser.h"

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::usergateway::v1::User;

// A realistic 200 body with every documented field set, plus fields the
// contract does not list (some null) that a Django-backed API adds.
constexpr absl::string_view kFullBody = R"json({
  "id": 4211,
  "username": "ada.lovelace",
  "email": "ada@example.com",
  "first_name": "Ada",
  "last_name": "Lovelace",
  "full_name": "Ada Lovelace",
  "is_staff": false,
  "is_superuser": false,
  "is_active": true,
  "date_joined": "2023-01-15T09:30:00Z",
  "groups": [],
  "user_permissions": null,
  "profile": {
    "id": 9001,
    "enterprise_user_id": "5d0b6e7a-8f0c-4c1e-9a55-2f3b1d9c7e10",
    "authn_user_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "authn_connection_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "authz_role_id": "a3bb189e-8bf9-4888-9912-ace4e6543002",
    "role": "Enterprise Admin",
    "enterprise": "e3b0c442-98fc-4c14-9afb-f4c8996fb924",
    "is_customer": true,
    "is_endpoint_creator": false,
    "created_on": "2023-01-15T09:30:00.123456Z",
    "updated_on": "2024-06-01T12:00:00Z",
    "setup_wizard_complete": true,
    "default_password_changed": true,
    "is_developer": false,
    "can_factory_reset": true,
    "preferences": {"theme": "dark", "columns": ["name", "status"]},
    "deleted_on": null,
    "groups": [
      {
        "id": "b1946ac9-2492-4d34-8c64-6a5e3d1f0c11",
        "name": "All devices",
        "path": "All devices",
        "device_count": 1200,
        "parent": null
      },
      {
        "id": "591785b7-94a4-4e0a-a1d5-0e7c2c8a3b22",
        "name": "Kiosks \"Lobby\"",
        "path": "All devices/Kiosks \"Lobby\"",
        "device_count": 0,
        "children": [{"id": "x"}]
      }
    ]
  },
  "emm": {
    "id": 17,
    "user": 4211,
    "account_identifier": "emm-acct-0001",
    "account_type": "GOOGLE_MANAGED_ACCOUNT",
    "display_name": "Ada (EMM)",
    "google_user_id": "113245678901234567890",
    "google_enterprise": 31,
    "is_active": true,
    "created_on": "2023-01-15T09:31:00Z",
    "updated_on": "2024-05-30T08:00:00Z",
    "authentication_token": {
      "id": 77,
      "token": "emm-secret-token-value",
      "is_active": true,
      "updated_on": "2024-05-30T08:00:01Z",
      "expires_on": null
    }
  },
  "last_login": "2024-06-01T11:59:58Z",
  "token": "user-secret-token-value",
  "has_emm": true,
  "is_email_verified": true
})json";

constexpr absl::string_view kFullUser = R"pb(
  id: 4211
  username: "ada.lovelace"
  email: "ada@example.com"
  first_name: "Ada"
  last_name: "Lovelace"
  full_name: "Ada Lovelace"
  is_staff: false
  is_superuser: false
  is_active: true
  profile {
    id: 9001
    enterprise_user_id: "5d0b6e7a-8f0c-4c1e-9a55-2f3b1d9c7e10"
    authn_user_id: "0f8fad5b-d9cb-469f-a165-70867728950e"
    authn_connection_id: "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    authz_role_id: "a3bb189e-8bf9-4888-9912-ace4e6543002"
    role: "Enterprise Admin"
    role_enum: ROLE_ENTERPRISE_ADMIN
    enterprise: "e3b0c442-98fc-4c14-9afb-f4c8996fb924"
    is_customer: true
    is_endpoint_creator: false
    created_on: "2023-01-15T09:30:00.123456Z"
    updated_on: "2024-06-01T12:00:00Z"
    setup_wizard_complete: true
    default_password_changed: true
    is_developer: false
    can_factory_reset: true
    groups {
      id: "b1946ac9-2492-4d34-8c64-6a5e3d1f0c11"
      name: "All devices"
      path: "All devices"
      device_count: 1200
    }
    groups {
      id: "591785b7-94a4-4e0a-a1d5-0e7c2c8a3b22"
      name: "Kiosks \"Lobby\""
      path: "All devices/Kiosks \"Lobby\""
      device_count: 0
    }
  }
  emm {
    id: 17
    user: 4211
    account_identifier: "emm-acct-0001"
    account_type: "GOOGLE_MANAGED_ACCOUNT"
    display_name: "Ada (EMM)"
    google_user_id: "113245678901234567890"
    google_enterprise: 31
    is_active: true
    created_on: "2023-01-15T09:31:00Z"
    updated_on: "2024-05-30T08:00:00Z"
    authentication_token {
      id: 77
      token: "emm-secret-token-value"
      is_active: true
      updated_on: "2024-05-30T08:00:01Z"
    }
  }
  last_login: "2024-06-01T11:59:58Z"
  token: "user-secret-token-value"
  emm_enabled: true
  is_email_verified: true
)pb";

User UserFromText(absl::string_view text) {
  User user;
  EXPECT_TRUE(
      google::protobuf::TextFormat::ParseFromString(std::string(text), &user))
      << text;
  return user;
}

// Compares field presence too: an unset optional differs from a zero one.
std::string Diff(const User& expected, const User& actual) {
  google::protobuf::util::MessageDifferencer differencer;
  std::string diff;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, actual)) return "";
  return diff;
}

// Every singular field of `message` and its sub-messages is set and every
// repeated field is non-empty; appends the paths of those that are not.
void CollectUnsetFields(const google::protobuf::Message& message,
                        const std::string& prefix,
                        std::vector<std::string>* unset) {
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  const google::protobuf::Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    const std::string path = prefix + field->name();
    if (field->is_repeated()) {
      const int size = reflection->FieldSize(message, field);
      if (size == 0) unset->push_back(path);
      if (field->cpp_type() ==
          google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
        for (int j = 0; j < size; ++j) {
          CollectUnsetFields(
              reflection->GetRepeatedMessage(message, field, j),
              absl::StrCat(path, "[", j, "]."), unset);
        }
      }
    } else if (field->has_presence()) {
      if (!reflection->HasField(message, field)) {
        unset->push_back(path);
      } else if (field->cpp_type() ==
                 google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
        CollectUnsetFields(reflection->GetMessage(message, field),
                           path + ".", unset);
      }
    }
    // role_enum has no presence; its value is checked by the diff.
  }
}

TEST(ResponseParserTest, FullBodySetsEveryField) {
  ResponseParser parser;
  User user;
  ASSERT_TRUE(parser.ParseUser(std::string(kFullBody), &user).ok());

  const User expected = UserFromText(kFullUser);
  std::vector<std::string> unset;
  CollectUnsetFields(expected, "", &unset);
  EXPECT_THAT(unset, ::testing::IsEmpty())
      << "the fixture must cover every field of User";
  EXPECT_EQ(Diff(expected, user), "");

  // Spot checks a reader would make by hand.
  EXPECT_EQ(user.id(), 4211);
  EXPECT_TRUE(user.has_is_staff());
  EXPECT_FALSE(user.is_staff());
  EXPECT_TRUE(user.emm_enabled());
  ASSERT_EQ(user.profile().groups_size(), 2);
  EXPECT_EQ(user.profile().groups(1).name(), "Kiosks \"Lobby\"");
  EXPECT_TRUE(user.profile().groups(1).has_device_count());
  EXPECT_EQ(user.profile().groups(1).device_count(), 0);
  EXPECT_EQ(user.emm().authentication_token().token(),
            "emm-secret-token-value");
  EXPECT_EQ(user.profile().role_enum(), usergateway::v1::ROLE_ENTERPRISE_ADMIN);
}

TEST(ResponseParserTest, StringViewOverloadCopiesAndParses) {
  ResponseParser parser;
  User user;
  // The view ends before bytes that would break the document if read.
  const std::string buffer = absl::StrCat(kFullBody, "}}garbage");
  const absl::string_view view(buffer.data(), kFullBody.size());
  ASSERT_TRUE(parser.ParseUser(view, &user).ok());
  EXPECT_EQ(Diff(UserFromText(kFullUser), user), "");
}

TEST(ResponseParserTest, ParsesInPlaceWhenCapacityHasPadding) {
  std::string body;
  body.reserve(kFullBody.size() + simdjson::SIMDJSON_PADDING);
  body.assign(kFullBody.data(), kFullBody.size());
  ASSERT_GE(body.capacity(), body.size() + simdjson::SIMDJSON_PADDING);
  const std::string before = body;

  ResponseParser parser;
  User user;
  ASSERT_TRUE(parser.ParseUser(body, &user).ok());
  EXPECT_EQ(Diff(UserFromText(kFullUser), user), "");
  EXPECT_EQ(body, before) << "parsing in place must not modify the body";
}

TEST(ResponseParserTest, ParsesWhenCapacityLacksPadding) {
  std::string body(kFullBody);
  body.shrink_to_fit();
  ASSERT_LT(body.capacity(), body.size() + simdjson::SIMDJSON_PADDING);

  ResponseParser parser;
  User user;
  ASSERT_TRUE(parser.ParseUser(body, &user).ok());
  EXPECT_EQ(Diff(UserFromText(kFullUser), user), "");
}

TEST(ResponseParserTest, ReusesParserAndClearsUser) {
  ResponseParser parser;
  User user;
  ASSERT_TRUE(parser.ParseUser(std::string(kFullBody), &user).ok());
  EXPECT_EQ(Diff(UserFromText(kFullUser), user), "");

  // Same parser, same output message: nothing of the first call remains.
  ASSERT_TRUE(
      parser.ParseUser(std::string(R"({"id": 5, "first_name": "Bo"})"), &user)
          .ok());
  EXPECT_EQ(Diff(UserFromText(R"pb(id: 5 first_name: "Bo")pb"), user), "");

  // An error in between leaves the parser usable, and the output cleared.
  EXPECT_FALSE(parser.ParseUser(std::string(R"({"id": "x"})"), &user).ok());
  EXPECT_EQ(Diff(User(), user), "");

  ASSERT_TRUE(parser.ParseUser(std::string(kFullBody), &user).ok());
  EXPECT_EQ(Diff(UserFromText(kFullUser), user), "");
}

struct GoodCase {
  std::string name;
  std::string body;
  std::string expected;  // text format of the User
};

void PrintTo(const GoodCase& c, std::ostream* os) { *os << c.name; }

class ParsesGoodBodyTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ParsesGoodBodyTest, MatchesExpectedUser) {
  ResponseParser parser;
  User user;
  const absl::Status status = parser.ParseUser(GetParam().body, &user);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Diff(UserFromText(GetParam().expected), user), "");
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, ParsesGoodBodyTest,
    ::testing::ValuesIn(std::vector<GoodCase>{
        // --- null means unset ---
        {"TypicalUserWithoutEmm",
         R"({"id": 12, "username": "bo", "first_name": "Bo",
             "last_name": null, "last_login": null, "emm": null,
             "has_emm": false,
             "profile": {"id": 3, "authz_role_id": null, "role": "Viewer",
                         "groups": []}})",
         R"pb(id: 12 username: "bo" first_name: "Bo" emm_enabled: false
              profile { id: 3 role: "Viewer" role_enum: ROLE_VIEWER })pb"},
        {"EmmWithNullToken",
         R"({"emm": {"id": 1, "authentication_token": null}})",
         R"pb(emm { id: 1 })pb"},
        {"NullProfile", R"({"profile": null, "id": 1})", R"pb(id: 1)pb"},
        {"NullGroups", R"({"profile": {"groups": null}})", R"pb(profile {})pb"},
        {"EveryFieldNull",
         R"({"id": null, "username": null, "email": null, "first_name": null,
             "last_name": null, "full_name": null, "is_staff": null,
             "is_superuser": null, "is_active": null, "last_login": null,
             "token": null, "has_emm": null, "is_email_verified": null,
             "profile": {"id": null, "enterprise_user_id": null,
               "authn_user_id": null, "authn_connection_id": null,
               "authz_role_id": null, "role": null, "enterprise": null,
               "is_customer": null, "is_endpoint_creator": null,
               "created_on": null, "updated_on": null,
               "setup_wizard_complete": null,
               "default_password_changed": null, "is_developer": null,
               "can_factory_reset": null,
               "groups": [{"id": null, "name": null, "path": null,
                           "device_count": null}]},
             "emm": {"id": null, "user": null, "account_identifier": null,
               "account_type": null, "display_name": null,
               "google_user_id": null, "google_enterprise": null,
               "is_active": null, "created_on": null, "updated_on": null,
               "authentication_token": {"id": null, "token": null,
                 "is_active": null, "updated_on": null}}})",
         R"pb(profile { groups {} }
              emm { authentication_token {} })pb"},
        // --- missing fields stay unset ---
        {"EmptyObject", "{}", ""},
        {"EmptyProfile", R"({"profile": {}})", R"pb(profile {})pb"},
        {"EmptyEmmAndToken", R"({"emm": {"authentication_token": {}}})",
         R"pb(emm { authentication_token {} })pb"},
        {"OnlyToken", R"({"token": "t"})", R"pb(token: "t")pb"},
        // --- unknown fields are ignored at every depth ---
        {"UnknownScalars",
         R"({"a": 1, "b": "x", "c": true, "d": null, "e": -1.5e3, "id": 2})",
         R"pb(id: 2)pb"},
        {"UnknownNestedValuesWithKnownNames",
         R"({"extra": {"id": "not-an-int", "profile": [1, {"id": {}}]},
             "list": [[], [[{"token": 5}]], {"a": null}],
             "profile": {"meta": {"groups": "x"}, "id": 4,
               "groups": [{"extra": [1, 2], "id": "g", "more": {"path": 1}}]},
             "emm": {"nested": {"token": 5}, "authentication_token":
               {"scopes": ["a", "b"], "id": 9}},
             "id": 3})",
         R"pb(id: 3
              profile { id: 4 groups { id: "g" } }
              emm { authentication_token { id: 9 } })pb"},
        {"DeeplyNestedUnknown",
         absl::StrCat(R"({"x": )", std::string(2000, '['),
                      std::string(2000, ']'), R"(, "id": 1})"),
         R"pb(id: 1)pb"},
        // --- integers ---
        {"NegativeAndExtremeIntegers",
         R"({"id": -9223372036854775808, "profile": {"id": 9223372036854775807,
             "groups": [{"device_count": -1}, {"device_count": -0}]}})",
         R"pb(id: -9223372036854775808
              profile {
                id: 9223372036854775807
                groups { device_count: -1 }
                groups { device_count: 0 }
              })pb"},
        // --- strings are unescaped in full ---
        {"UnicodeEscape", R"({"first_name": "Ren\u00e9e"})",
         "first_name: \"Ren\xc3\xa9" "e\""},
        {"SurrogatePair", R"({"first_name": "\ud83d\ude00!"})",
         "first_name: \"\xf0\x9f\x98\x80!\""},
        {"RawUtf8PassesThrough", "{\"last_name\": \"M\xc3\xbcller\"}",
         "last_name: \"M\xc3\xbcller\""},
        {"SimpleEscapes",
         R"({"full_name": "q\" b\\ s\/ \b\f\n\r\t"})",
         R"pb(full_name: "q\" b\\ s/ \b\f\n\r\t")pb"},
        {"EscapedNul", R"({"username": "a\u0000b"})",
         R"pb(username: "a\000b")pb"},
        {"EscapedKeyMatches", R"({"first\u005fname": "Ada"})",
         R"pb(first_name: "Ada")pb"},
        // --- duplicate keys: the last occurrence wins, entirely ---
        {"DuplicateScalarLastWins", R"({"id": 1, "id": 2})", R"pb(id: 2)pb"},
        {"DuplicateNullUnsets", R"({"last_name": "A", "last_name": null})",
         ""},
        {"DuplicateMessageReplacesNotMerges",
         R"({"profile": {"id": 1, "role": "Viewer"},
             "profile": {"enterprise": "e"}})",
         R"pb(profile { enterprise: "e" })pb"},
        {"DuplicateMessageThenNull", R"({"emm": {"id": 1}, "emm": null})",
         ""},
        {"DuplicateGroupsReplace",
         R"({"profile": {"groups": [{"id": "a"}, {"id": "b"}],
                         "groups": [{"id": "c"}]}})",
         R"pb(profile { groups { id: "c" } })pb"},
        {"DuplicateRoleThenNull",
         R"({"profile": {"role": "Viewer", "role": null}})",
         R"pb(profile {})pb"},
        // --- whitespace around the document is fine ---
        {"SurroundingWhitespace", " \r\n\t{\"id\": 1}\n\t \r\n",
         R"pb(id: 1)pb"},
    }),
    [](const ::testing::TestParamInfo<GoodCase>& info) {
      return info.param.name;
    });

struct RoleCase {
  std::string text;
  usergateway::v1::Role role;
};

void PrintTo(const RoleCase& c, std::ostream* os) {
  *os << '"' << c.text << '"';
}

class RoleTest : public ::testing::TestWithParam<RoleCase> {};

TEST_P(RoleTest, MapsTextAndKeepsRawText) {
  EXPECT_EQ(ResponseParser::RoleFromText(GetParam().text), GetParam().role);

  ResponseParser parser;
  User user;
  const std::string body = absl::StrCat(R"({"profile": {"role": ")",
                                        GetParam().text, R"("}})");
  ASSERT_TRUE(parser.ParseUser(body, &user).ok());
  EXPECT_TRUE(user.profile().has_role());
  EXPECT_EQ(user.profile().role(), GetParam().text);
  EXPECT_EQ(user.profile().role_enum(), GetParam().role);
}

INSTANTIATE_TEST_SUITE_P(
    Roles, RoleTest,
    ::testing::ValuesIn(std::vector<RoleCase>{
        {"Shoonya Admin", usergateway::v1::ROLE_SHOONYA_ADMIN},
        {"Enterprise Admin", usergateway::v1::ROLE_ENTERPRISE_ADMIN},
        {"Enterprise User", usergateway::v1::ROLE_ENTERPRISE_USER},
        {"Viewer", usergateway::v1::ROLE_VIEWER},
        {"Group Admin", usergateway::v1::ROLE_GROUP_ADMIN},
        {"Group Viewer", usergateway::v1::ROLE_GROUP_VIEWER},
        // Unknown or differently spelled text: kept raw, enum unspecified.
        {"Fleet Manager", usergateway::v1::ROLE_UNSPECIFIED},
        {"viewer", usergateway::v1::ROLE_UNSPECIFIED},
        {"Viewer ", usergateway::v1::ROLE_UNSPECIFIED},
        {"", usergateway::v1::ROLE_UNSPECIFIED},
    }));

TEST(ResponseParserTest, AbsentRoleIsUnspecified) {
  ResponseParser parser;
  User user;
  ASSERT_TRUE(parser.ParseUser(std::string(R"({"profile": {}})"), &user).ok());
  EXPECT_FALSE(user.profile().has_role());
  EXPECT_EQ(user.profile().role_enum(), usergateway::v1::ROLE_UNSPECIFIED);
}

enum class Match { kExact, kPrefix };

struct BadCase {
  std::string name;
  std::string body;
  std::string message;
  Match match = Match::kExact;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class RejectsBadBodyTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(RejectsBadBodyTest, ReturnsInvalidArgumentNamingProblem) {
  ResponseParser parser;
  User user;
  user.set_id(99);  // must be cleared
  const absl::Status status = parser.ParseUser(GetParam().body, &user);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  if (GetParam().match == Match::kExact) {
    EXPECT_EQ(status.message(), GetParam().message);
  } else {
    EXPECT_THAT(std::string(status.message()), StartsWith(GetParam().message));
  }
  EXPECT_EQ(Diff(User(), user), "") << "output must be cleared on error";
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, RejectsBadBodyTest,
    ::testing::ValuesIn(std::vector<BadCase>{
        // --- not a JSON object ---
        {"Empty", "", "body is empty"},
        {"WhitespaceOnly", " \n\t\r ", "body is blank (whitespace only)"},
        {"HtmlErrorPage",
         "<html><head><title>502 Bad Gateway</title></head>"
         "<body><h1>502 Bad Gateway</h1></body></html>",
         "body is not valid JSON: ", Match::kPrefix},
        {"PlainText", "upstream connect error", "body is not valid JSON: ",
         Match::kPrefix},
        {"TopLevelArray", R"([{"id": 1}])",
         "expected a JSON object at the top level, got an array"},
        {"TopLevelString", R"("hello")",
         "expected a JSON object at the top level, got a string"},
        {"TopLevelNumber", "42",
         "expected a JSON object at the top level, got a number"},
        {"TopLevelNull", "null",
         "expected a JSON object at the top level, got null"},
        {"InvalidUtf8", "{\"first_name\": \"\xff\xfe\"}",
         "body is not valid JSON: not valid UTF-8"},
        {"Truncated", R"({"id": 1, "profile": {"id": 2})",
         "body is not valid JSON: ", Match::kPrefix},
        {"UnclosedString", R"({"first_name": "Ada})",
         "body is not valid JSON: ", Match::kPrefix},
        {"MissingColon", R"({"id" 1})", "body is not valid JSON: ",
         Match::kPrefix},
        {"TrailingCommaTopLevel", R"({"id": 1,})", "body is not valid JSON: ",
         Match::kPrefix},
        {"TrailingCommaNested", R"({"profile": {"id": 1,}})",
         "profile: not valid JSON (", Match::kPrefix},
        // --- trailing content ---
        {"TrailingWord", R"({"id": 1} garbage)",
         "trailing content after the JSON document"},
        {"TrailingSecondDocument", R"({"id": 1} {"id": 2})",
         "trailing content after the JSON document"},
        {"TrailingBrace", R"({"id": 1}})",
         "trailing content after the JSON document"},
        {"TrailingBracket", R"({"id": 1}])",
         "trailing content after the JSON document"},
        {"TrailingNumber", "{\"id\": 1}\n5\n",
         "trailing content after the JSON document"},
        // --- wrong types at the top level ---
        {"TopIdString", R"({"id": "4211"})",
         "id: expected an integer, got a string"},
        {"TopIdBool", R"({"id": true})",
         "id: expected an integer, got a boolean"},
        {"TopIdFloat", R"({"id": 1.0})",
         "id: expected an integer, got a number with a fraction or exponent"},
        {"TopIdExponent", R"({"id": 1e2})",
         "id: expected an integer, got a number with a fraction or exponent"},
        {"TopIdOverflow", R"({"id": 9223372036854775808})",
         "id: integer out of range"},
        {"TopIdNegativeOverflow", R"({"id": -9223372036854775809})",
         "id: integer out of range"},
        {"TopIdHuge", R"({"id": 123456789012345678901234567890})",
         "id: integer out of range"},
        {"TopIdLeadingZero", R"({"id": 01})",
         "id: not valid JSON (invalid number)"},
        {"TopIdBareMinus", R"({"id": -})",
         "id: not valid JSON (invalid number)"},
        {"TopUsernameInteger", R"({"username": 42})",
         "username: expected a string, got a number"},
        {"TopLastNameObject", R"({"last_name": {}})",
         "last_name: expected a string, got an object"},
        {"TopIsStaffString", R"({"is_staff": "true"})",
         "is_staff: expected a boolean, got a string"},
        {"TopIsStaffInteger", R"({"is_staff": 1})",
         "is_staff: expected a boolean, got a number"},
        {"TopHasEmmString", R"({"has_emm": "false"})",
         "has_emm: expected a boolean, got a string"},
        {"TopBadLiteralTrue", R"({"is_active": tru})",
         "is_active: not valid JSON (invalid literal)"},
        {"TopBadLiteralNull", R"({"last_login": nul})",
         "last_login: not valid JSON (invalid literal)"},
        {"TopProfileArray", R"({"profile": []})",
         "profile: expected an object, got an array"},
        {"TopProfileString", R"({"profile": "none"})",
         "profile: expected an object, got a string"},
        {"TopEmmBool", R"({"emm": false})",
         "emm: expected an object, got a boolean"},
        // --- wrong types inside profile ---
        {"ProfileIdString", R"({"profile": {"id": "9001"}})",
         "profile.id: expected an integer, got a string"},
        {"ProfileRoleInteger", R"({"profile": {"role": 3}})",
         "profile.role: expected a string, got a number"},
        {"ProfileIsCustomerNumber", R"({"profile": {"is_customer": 0}})",
         "profile.is_customer: expected a boolean, got a number"},
        {"ProfileGroupsObject", R"({"profile": {"groups": {}}})",
         "profile.groups: expected an array, got an object"},
        {"ProfileGroupsString", R"({"profile": {"groups": "a,b"}})",
         "profile.groups: expected an array, got a string"},
        // --- wrong types inside groups[i] ---
        {"GroupDeviceCountString",
         R"({"profile": {"groups": [{}, {"device_count": "3"}]}})",
         "profile.groups[1].device_count: expected an integer, got a string"},
        {"GroupDeviceCountFloat",
         R"({"profile": {"groups": [{"device_count": 2.5}]}})",
         "profile.groups[0].device_count: expected an integer, got a number "
         "with a fraction or exponent"},
        {"GroupNameInteger",
         R"({"profile": {"groups": [{"name": "a"}, {}, {"name": 7}]}})",
         "profile.groups[2].name: expected a string, got a number"},
        {"GroupElementNull", R"({"profile": {"groups": [{}, null]}})",
         "profile.groups[1]: expected an object, got null"},
        {"GroupElementString", R"({"profile": {"groups": ["g1"]}})",
         "profile.groups[0]: expected an object, got a string"},
        // --- wrong types inside emm ---
        {"EmmUserString", R"({"emm": {"user": "4211"}})",
         "emm.user: expected an integer, got a string"},
        {"EmmGoogleEnterpriseOverflow",
         R"({"emm": {"google_enterprise": 18446744073709551615}})",
         "emm.google_enterprise: integer out of range"},
        {"EmmIsActiveNull", R"({"emm": {"is_active": nulL}})",
         "emm.is_active: not valid JSON (invalid literal)"},
        {"EmmAuthTokenArray", R"({"emm": {"authentication_token": []}})",
         "emm.authentication_token: expected an object, got an array"},
        // --- wrong types inside authentication_token ---
        {"AuthTokenIdString",
         R"({"emm": {"authentication_token": {"id": "77"}}})",
         "emm.authentication_token.id: expected an integer, got a string"},
        {"AuthTokenIsActiveString",
         R"({"emm": {"authentication_token": {"is_active": "yes"}}})",
         "emm.authentication_token.is_active: expected a boolean, got a "
         "string"},
        {"AuthTokenTokenNumber",
         R"({"emm": {"authentication_token": {"token": 123456}}})",
         "emm.authentication_token.token: expected a string, got a number"},
        // --- strings that do not decode ---
        {"LoneHighSurrogate", R"({"first_name": "\ud83d"})",
         "first_name: invalid string escape or unpaired UTF-16 surrogate"},
        {"LoneLowSurrogate", R"({"first_name": "\ude00"})",
         "first_name: invalid string escape or unpaired UTF-16 surrogate"},
        {"HighSurrogateThenLetter", R"({"first_name": "\ud83d\u0041"})",
         "first_name: invalid string escape or unpaired UTF-16 surrogate"},
        {"BadEscape", R"({"profile": {"groups": [{"path": "a\qb"}]}})",
         "profile.groups[0].path: invalid string escape or unpaired UTF-16 "
         "surrogate"},
        {"ShortUnicodeEscape", R"({"email": "\u00e"})",
         "email: invalid string escape or unpaired UTF-16 surrogate"},
    }),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      return info.param.name;
    });

// The token fields are secrets: whatever is wrong with a body that holds
// them, the message names paths, never values.
TEST(ResponseParserTest, ErrorMessagesNeverContainTokenValues) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // {body, a path the message must name}
      {R"({"token": 8675309, "username": "u"})", "token"},
      {R"({"username": "u", "token": ["s3cr3t-t0ken"]})", "token"},
      {R"({"token": {"value": "s3cr3t-t0ken"}})", "token"},
      {R"({"token": "s3cr3t-t0ken", "id": "x"})", "id"},
      {R"({"token": "s3cr3t-t0ken\q"})", "token"},
      {R"({"token": "s3cr3t-t0ken\ud800"})", "token"},
      {R"({"emm": {"authentication_token": {"token": 8675309}}})",
       "emm.authentication_token.token"},
      {R"({"emm": {"authentication_token": {"token": "s3cr3t-t0ken",
                                            "is_active": "s3cr3t-t0ken"}}})",
       "emm.authentication_token.is_active"},
      {R"({"emm": {"authentication_token": {"token": "s3cr3t-t0ken"}}} x)",
       "trailing content"},
  };
  ResponseParser parser;
  for (const auto& [body, path] : cases) {
    User user;
    const absl::Status status = parser.ParseUser(body, &user);
    ASSERT_FALSE(status.ok()) << body;
    const std::string message(status.message());
    EXPECT_THAT(message, HasSubstr(path)) << body;
    EXPECT_THAT(message, Not(HasSubstr("8675309"))) << body;
    EXPECT_THAT(message, Not(HasSubstr("s3cr3t"))) << body;
    EXPECT_FALSE(user.has_token());
    EXPECT_FALSE(user.has_emm());
  }
}

// Every proper prefix of the full body is an incomplete document: each must
// be rejected, through both the copying and the in-place path, without a
// crash or a sanitizer report.
TEST(ResponseParserTest, EveryTruncatedPrefixIsRejected) {
  ResponseParser parser;
  User user;
  for (size_t length = 0; length < kFullBody.size(); ++length) {
    const absl::string_view prefix = kFullBody.substr(0, length);
    EXPECT_FALSE(parser.ParseUser(prefix, &user).ok()) << "length " << length;

    std::string padded;
    padded.reserve(length + simdjson::SIMDJSON_PADDING);
    padded.assign(prefix.data(), prefix.size());
    EXPECT_FALSE(parser.ParseUser(padded, &user).ok()) << "length " << length;
  }
  // The parser still works afterwards.
  ASSERT_TRUE(parser.ParseUser(std::string(kFullBody), &user).ok());
  EXPECT_EQ(Diff(UserFromText(kFullUser), user), "");
}

// Single-byte corruptions anywhere in the full body: any outcome but a crash
// (or a sanitizer report) is acceptable; an accepted body must still hold a
// consistent User (its role enum matches its raw role).
TEST(ResponseParserTest, CorruptedBytesDoNotCrash) {
  ResponseParser parser;
  User user;
  std::string replacements = "\"\\{}[],:0-.ntf \x80\xff";
  replacements.push_back('\0');
  int rejected = 0;
  for (size_t i = 0; i < kFullBody.size(); ++i) {
    for (char c : replacements) {
      std::string body(kFullBody);
      body[i] = c;
      if (parser.ParseUser(body, &user).ok()) {
        EXPECT_EQ(user.profile().role_enum(),
                  ResponseParser::RoleFromText(user.profile().role()));
      } else {
        ++rejected;
      }
    }
  }
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace usergateway
