#include "gateway/common/json_escape.h"

#include "gateway/common/json_escape_cases.h"

#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

class AppendJsonStringTest : public ::testing::TestWithParam<JsonCase> {};

TEST_P(AppendJsonStringTest, EscapesExactly) {
  const JsonCase& c = GetParam();
  std::string out = "prefix:";
  AppendJsonString(c.text, &out);
  EXPECT_EQ(out, "prefix:" + c.literal);
}

INSTANTIATE_TEST_SUITE_P(
    Table, AppendJsonStringTest,
    ::testing::ValuesIn(JsonEscapeCases()),
    [](const ::testing::TestParamInfo<JsonCase>& info) {
      return info.param.name;
    });

TEST(AppendJsonStringTest, PrintableAsciiIsVerbatimExceptQuoteAndBackslash) {
  for (int c = 0x20; c < 0x7F; ++c) {
    std::string out;
    AppendJsonString(std::string(1, char(c)), &out);
    if (c == '"') {
      EXPECT_EQ(out, R"("\"")");
    } else if (c == '\\') {
      EXPECT_EQ(out, R"("\\")");
    } else {
      EXPECT_EQ(out, absl::StrCat("\"", std::string(1, char(c)), "\""));
    }
  }
}

// That the escaped text also decodes back, control characters and invalid
// UTF-8 included, is tested through the request body it is used for, in
// gateway/request/request_translator_test.cc.

}  // namespace
}  // namespace usergateway
