#include "tests/emulator/json_tree.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace testing {
namespace {

using ::testing::HasSubstr;

struct RoundTripCase {
  std::string name;
  std::string input;
  std::string serialized;
};

class RoundTripTest : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTripTest, SerializesCompactlyKeepingOrderAndNumberText) {
  absl::StatusOr<JsonValue> value = ParseJson(GetParam().input);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->Serialize(), GetParam().serialized);
}

INSTANTIATE_TEST_SUITE_P(
    Documents, RoundTripTest,
    ::testing::ValuesIn(std::vector<RoundTripCase>{
        {"EmptyObject", " { } ", "{}"},
        {"EmptyArray", "[]", "[]"},
        {"MemberOrderKept", R"({"b":1, "a":2})", R"({"b":1,"a":2})"},
        {"Scalars", R"([true,false,null,"s"])", R"([true,false,null,"s"])"},
        {"NumberTextKept", "[10000000000000001, -0.5e-3, 1E2]",
         "[10000000000000001,-0.5e-3,1E2]"},
        {"TopLevelNumber", " 42 ", "42"},
        {"TopLevelString", R"("x")", R"("x")"},
        {"Nested", R"({"a":[{"b":{"c":[]}}]})", R"({"a":[{"b":{"c":[]}}]})"},
        {"EscapesReencoded", R"(["\u0041\/\"\\\n"])", R"(["A/\"\\\n"])"},
        {"NonAsciiKeptAsUtf8", R"(["Zo\u00eb", "Zoë"])", R"(["Zoë","Zoë"])"},
        {"SurrogatePair", R"(["\ud83d\ude00"])", "[\"\xF0\x9F\x98\x80\"]"},
        {"DuplicateKeysKept", R"({"a":1,"a":2})", R"({"a":1,"a":2})"},
    }),
    [](const ::testing::TestParamInfo<RoundTripCase>& info) {
      return info.param.name;
    });

struct InvalidCase {
  std::string name;
  std::string input;
};

class InvalidJsonTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidJsonTest, IsInvalidArgument) {
  absl::StatusOr<JsonValue> value = ParseJson(GetParam().input);
  ASSERT_FALSE(value.ok()) << value->Serialize();
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(value.status().message(), HasSubstr("invalid JSON"));
}

INSTANTIATE_TEST_SUITE_P(
    Documents, InvalidJsonTest,
    ::testing::ValuesIn(std::vector<InvalidCase>{
        {"Empty", ""},
        {"Spaces", "   "},
        {"Text", "first_name=Ada"},
        {"Html", "<html></html>"},
        {"UnclosedObject", R"({"a":1)"},
        {"TrailingObject", R"({"a":1} {})"},
        {"TrailingGarbage", R"({"a":1} x)"},
        {"TrailingScalar", "1 2"},
        {"BadAtom", R"({"a":nul})"},
        {"BadNumber", "[01]"},
        {"SingleQuotes", "{'a':1}"},
        {"LoneSurrogate", R"(["\ud800"])"},
        {"RawControlInString", "[\"a\x01\"]"},
        {"InvalidUtf8", "[\"\xff\"]"},
        {"TooDeep", std::string(kMaxJsonDepth + 2, '[') +
                        std::string(kMaxJsonDepth + 2, ']')},
    }),
    [](const ::testing::TestParamInfo<InvalidCase>& info) {
      return info.param.name;
    });

TEST(JsonValueTest, NestingUpToTheLimitParses) {
  const std::string json = std::string(kMaxJsonDepth, '[') +
                           std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseJson(json).ok());
}

struct EscapeCase {
  std::string name;
  std::string value;
  std::string literal;
};

class EscapeTest : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(EscapeTest, WritesTheLiteralDrfWrites) {
  EXPECT_EQ(JsonString(GetParam().value), GetParam().literal);
  // And it parses back to the value (when the value is valid UTF-8).
  if (GetParam().name != "InvalidUtf8") {
    absl::StatusOr<JsonValue> parsed = ParseJson(GetParam().literal);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->text(), GetParam().value);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Strings, EscapeTest,
    ::testing::ValuesIn(std::vector<EscapeCase>{
        {"Plain", "Ada", R"("Ada")"},
        {"Quote", "a\"b", R"("a\"b")"},
        {"Backslash", "a\\b", R"("a\\b")"},
        {"ShortEscapes", "\b\f\n\r\t", R"("\b\f\n\r\t")"},
        {"OtherControls", std::string("\x00\x01\x1f", 3),
         R"("\u0000\u0001\u001f")"},
        {"SlashAndDelKept", "/\x7f", "\"/\x7f\""},
        {"LineSeparators", "\xE2\x80\xA8\xE2\x80\xA9", R"("\u2028\u2029")"},
        {"NonAscii", "Zo\xC3\xAB \xE6\x97\xA5 \xF0\x9F\x98\x80",
         "\"Zo\xC3\xAB \xE6\x97\xA5 \xF0\x9F\x98\x80\""},
        {"InvalidUtf8", "a\xff\xC3", R"("a\ufffd\ufffd")"},
    }),
    [](const ::testing::TestParamInfo<EscapeCase>& info) {
      return info.param.name;
    });

TEST(JsonValueTest, FindReturnsTheLastDuplicate) {
  absl::StatusOr<JsonValue> value = ParseJson(R"({"a":1,"b":2,"a":3})");
  ASSERT_TRUE(value.ok());
  ASSERT_NE(value->Find("a"), nullptr);
  EXPECT_EQ(value->Find("a")->text(), "3");
  EXPECT_EQ(value->Find("missing"), nullptr);
  EXPECT_EQ(JsonValue::String("x").Find("a"), nullptr);
}

TEST(JsonValueTest, SetReplacesOrAppends) {
  absl::StatusOr<JsonValue> value = ParseJson(R"({"a":1,"b":2})");
  ASSERT_TRUE(value.ok());
  value->Set("a", JsonValue::String("x"));
  value->Set("c", JsonValue::Null());
  EXPECT_EQ(value->Serialize(), R"({"a":"x","b":2,"c":null})");
}

TEST(JsonValueTest, PythonTypeNames) {
  EXPECT_EQ(ParseJson("[]")->PythonTypeName(), "list");
  EXPECT_EQ(ParseJson("{}")->PythonTypeName(), "dict");
  EXPECT_EQ(ParseJson("\"s\"")->PythonTypeName(), "str");
  EXPECT_EQ(ParseJson("1")->PythonTypeName(), "int");
  EXPECT_EQ(ParseJson("1.5")->PythonTypeName(), "float");
  EXPECT_EQ(ParseJson("true")->PythonTypeName(), "bool");
  EXPECT_EQ(ParseJson("null")->PythonTypeName(), "NoneType");
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
