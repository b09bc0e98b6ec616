// Checks that the benchmark's baseline does the same work as ResponseParser:
// identical protos for every fixture user and for the edge cases of the
// decoding rules, and errors where ResponseParser has errors.
#include "tests/benchmarks/nlohmann_user_parser.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/response/response_parser.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/emulator/embedded_users.h"
#include "tests/emulator/json_tree.h"
#include "usergateway/v1/user_profile.pb.h"

namespace usergateway {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::usergateway::v1::User;

// Each fixture user as the emulator sends it: one element of the array,
// serialized compactly.
std::vector<std::string> FixtureBodies() {
  absl::StatusOr<testing::JsonValue> users =
      testing::ParseJson(testing::EmbeddedUsersJson());
  EXPECT_TRUE(users.ok()) << users.status();
  std::vector<std::string> bodies;
  if (!users.ok()) return bodies;
  for (const testing::JsonValue& user : users->items()) {
    bodies.push_back(user.Serialize());
  }
  return bodies;
}

// Empty when the messages are equal, else the differences.
std::string Differences(const User& expected, const User& actual) {
  std::string report;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&report);
  if (differencer.Compare(expected, actual)) return "";
  return report.empty() ? "(messages differ)" : report;
}

TEST(NlohmannUserParserTest, MatchesResponseParserOnEveryFixtureUser) {
  const std::vector<std::string> bodies = FixtureBodies();
  ASSERT_GE(bodies.size(), 4u);
  ResponseParser simdjson_parser;
  for (size_t i = 0; i < bodies.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "fixture user " << i);
    User expected;
    User actual;
    ASSERT_TRUE(simdjson_parser.ParseUser(bodies[i], &expected).ok());
    const absl::Status status = NlohmannParseUser(bodies[i], &actual);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_TRUE(MessageDifferencer::Equals(expected, actual))
        << Differences(expected, actual);
  }
}

// The benchmark parses the first user because it is the fullest; this keeps
// that true, and keeps the comparison above from passing on empty protos.
TEST(NlohmannUserParserTest, FirstFixtureUserFillsEveryMessage) {
  const std::vector<std::string> bodies = FixtureBodies();
  ASSERT_FALSE(bodies.empty());
  User user;
  ASSERT_TRUE(NlohmannParseUser(bodies[0], &user).ok());
  EXPECT_EQ(user.id(), 101);
  EXPECT_EQ(user.first_name(), "Ada");
  EXPECT_EQ(user.profile().role_enum(), v1::ROLE_ENTERPRISE_ADMIN);
  ASSERT_EQ(user.profile().groups_size(), 2);
  EXPECT_EQ(user.profile().groups(1).name(), "Kiosks \"Lobby\"");
  EXPECT_EQ(user.profile().groups(0).device_count(), 1284);
  EXPECT_EQ(user.emm().google_enterprise(), 10000000000000001);
  EXPECT_EQ(user.emm().authentication_token().token(),
            testing::kAdaEmmToken);
  EXPECT_TRUE(user.emm_enabled());
}

TEST(NlohmannUserParserTest, ClearsAReusedUser) {
  const std::vector<std::string> bodies = FixtureBodies();
  ASSERT_GE(bodies.size(), 2u);
  User reused;
  ASSERT_TRUE(NlohmannParseUser(bodies[0], &reused).ok());
  ASSERT_TRUE(NlohmannParseUser(bodies[1], &reused).ok());
  User fresh;
  ASSERT_TRUE(ResponseParser().ParseUser(bodies[1], &fresh).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(fresh, reused))
      << Differences(fresh, reused);
}

struct EdgeCase {
  const char* name;
  const char* body;
  bool ok;  // whether both parsers accept it
};

class NlohmannUserParserEdgeTest : public ::testing::TestWithParam<EdgeCase> {
};

TEST_P(NlohmannUserParserEdgeTest, AgreesWithResponseParser) {
  const EdgeCase& edge = GetParam();
  const std::string body = edge.body;
  // Pre-filled, so that an error must clear them.
  User expected;
  User actual;
  expected.set_id(1);
  actual.set_id(1);
  const absl::Status expected_status =
      ResponseParser().ParseUser(body, &expected);
  const absl::Status actual_status = NlohmannParseUser(body, &actual);
  ASSERT_EQ(expected_status.ok(), edge.ok) << expected_status;
  ASSERT_EQ(actual_status.ok(), edge.ok) << actual_status;
  if (!edge.ok) {
    EXPECT_EQ(actual_status.code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(MessageDifferencer::Equals(expected, actual))
      << Differences(expected, actual);
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, NlohmannUserParserEdgeTest,
    ::testing::Values(
        EdgeCase{"EmptyObject", "{}", true},
        EdgeCase{"TopLevelNulls",
                 R"({"id":null,"username":null,"is_staff":null,)"
                 R"("profile":null,"emm":null,"token":null})",
                 true},
        EdgeCase{"NestedNulls",
                 R"({"profile":{"id":null,"role":null,"groups":null},)"
                 R"("emm":{"user":null,"authentication_token":null}})",
                 true},
        EdgeCase{"EmptyProfileAndGroups", R"({"profile":{"groups":[]}})",
                 true},
        EdgeCase{"UnknownRoleKeepsText", R"({"profile":{"role":"Auditor"}})",
                 true},
        EdgeCase{"EmptyGroupObject", R"({"profile":{"groups":[{}]}})", true},
        EdgeCase{"DuplicateKeyLastWins",
                 R"({"first_name":"A","first_name":"B"})", true},
        EdgeCase{"DuplicateKeyLaterNullUnsets",
                 R"({"first_name":"A","first_name":null})", true},
        EdgeCase{"DuplicateMessageReplacesNotMerges",
                 R"({"profile":{"id":1},"profile":{"role":"Viewer"}})", true},
        EdgeCase{"UnknownKeysAnyDepth",
                 R"({"x":{"y":[1,{"z":null}]},"id":5,)"
                 R"("profile":{"extra":[true],"groups":[{"n":1,"id":"g"}]}})",
                 true},
        EdgeCase{"Escapes",
                 R"({"first_name":"\u00e9\ud83d\ude00 \"q\" \\ \n\/"})", true},
        EdgeCase{"NonAsciiUtf8", "{\"last_name\":\"Z\xc3\xb6\xe2\x82\xac\"}",
                 true},
        EdgeCase{"Int64Max", R"({"id":9223372036854775807})", true},
        EdgeCase{"Int64Min", R"({"emm":{"id":-9223372036854775808}})", true},
        EdgeCase{"SurroundingWhitespace", " \n{\"id\":3}\t\r\n", true},
        EdgeCase{"Empty", "", false},
        EdgeCase{"Blank", "  \n", false},
        EdgeCase{"TopLevelArray", "[]", false},
        EdgeCase{"TopLevelString", R"("user")", false},
        EdgeCase{"TrailingContent", R"({"id":1} {})", false},
        EdgeCase{"Truncated", R"({"id":1,"profile":{)", false},
        EdgeCase{"IdIsString", R"({"id":"101"})", false},
        EdgeCase{"IdWithFraction", R"({"id":1.0})", false},
        EdgeCase{"IdWithExponent", R"({"id":1e2})", false},
        EdgeCase{"IdAboveInt64", R"({"id":9223372036854775808})", false},
        EdgeCase{"IdBelowInt64", R"({"id":-9223372036854775809})", false},
        EdgeCase{"BoolIsNumber", R"({"is_staff":1})", false},
        EdgeCase{"StringIsBool", R"({"email":true})", false},
        EdgeCase{"ProfileIsArray", R"({"profile":[]})", false},
        EdgeCase{"GroupsIsObject", R"({"profile":{"groups":{}}})", false},
        EdgeCase{"NullGroupElement", R"({"profile":{"groups":[null]}})",
                 false},
        EdgeCase{"DeviceCountIsString",
                 R"({"profile":{"groups":[{"device_count":"1"}]}})", false},
        EdgeCase{"TokenIsString",
                 R"({"emm":{"authentication_token":"secret"}})", false},
        EdgeCase{"UnpairedSurrogate", R"({"first_name":"\ud800"})", false},
        EdgeCase{"InvalidLiteral", R"({"is_active":tru})", false},
        EdgeCase{"InvalidUtf8", "{\"first_name\":\"\xff\"}", false}),
    [](const ::testing::TestParamInfo<EdgeCase>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace usergateway
