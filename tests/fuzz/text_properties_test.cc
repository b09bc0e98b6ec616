#include "tests/fuzz/text_properties.h"

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace fuzz {
namespace {

using ::testing::ElementsAre;

// The fuzzers' properties are only as good as these checks: each must be
// able to say no.

TEST(IsValidUtf8Test, AcceptsWellFormedRejectsTheRest) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("Ada \xC3\xA9 \xE2\x80\xA6 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x80"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

TEST(HasControlCharacterTest, FindsEveryKind) {
  EXPECT_FALSE(HasControlCharacter("plain text, \xC3\xA9"));
  EXPECT_TRUE(HasControlCharacter(std::string("a\0b", 3)));
  EXPECT_TRUE(HasControlCharacter("a\nb"));
  EXPECT_TRUE(HasControlCharacter("a\x7F"));
  EXPECT_TRUE(HasControlCharacter("a\xC2\x85"));      // NEL, C1
  EXPECT_TRUE(HasControlCharacter("a\xE2\x80\xA8"));  // U+2028
}

TEST(FindSecretPieceTest, FindsPiecesOfEightBytesOrTheWholeShortSecret) {
  EXPECT_EQ(FindSecretPiece("token 'sk_live_01234'", "sk_live_0123456789"),
            "sk_live_");
  EXPECT_EQ(FindSecretPiece("...23456789", "sk_live_0123456789"), "23456789");
  EXPECT_EQ(FindSecretPiece("sk_live [REDACTED]", "sk_live_0123456789"),
            std::nullopt);
  EXPECT_EQ(FindSecretPiece("xabcx", "abc"), "abc");
}

TEST(SplitAtNulTest, SplitsLikeProcCmdline) {
  EXPECT_THAT(SplitAtNul(std::string("a\0b\0", 4)), ElementsAre("a", "b"));
  EXPECT_THAT(SplitAtNul(std::string("a\0\0b", 4)), ElementsAre("a", "", "b"));
  EXPECT_THAT(SplitAtNul(""), ElementsAre());
}

}  // namespace
}  // namespace fuzz
}  // namespace usergateway
