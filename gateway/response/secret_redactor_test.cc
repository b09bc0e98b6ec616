#include "gateway/response/secret_redactor.h"

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

constexpr char kKey[] = "sk_live_0123456789abcdefXYZ";  // 27 bytes

struct RedactCase {
  std::string name;
  std::vector<std::string> secrets;
  std::string text;
  std::string want;
};

std::ostream& operator<<(std::ostream& os, const RedactCase& c) {
  return os << c.name;
}

class RedactTest : public testing::TestWithParam<RedactCase> {};

TEST_P(RedactTest, Redacts) {
  const RedactCase& c = GetParam();
  EXPECT_EQ(SecretRedactor(c.secrets).Redact(c.text), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RedactTest,
    testing::Values(
        RedactCase{"no_secrets", {}, "Invalid token sk_live_0123456789",
                   "Invalid token sk_live_0123456789"},
        RedactCase{"empty_secret_ignored", {""}, "anything at all",
                   "anything at all"},
        RedactCase{"whole_key", {kKey},
                   absl::StrCat("Invalid token ", kKey),
                   "Invalid token [REDACTED]"},
        RedactCase{"key_twice", {kKey},
                   absl::StrCat(kKey, " and ", kKey),
                   "[REDACTED] and [REDACTED]"},
        RedactCase{"key_back_to_back", {kKey}, absl::StrCat(kKey, kKey),
                   "[REDACTED]"},
        RedactCase{"quoted_and_punctuated", {kKey},
                   absl::StrCat("token '", kKey, "', (\"", kKey, "\"); <", kKey,
                                ">[", kKey, "]{", kKey, "}`", kKey, "`:"),
                   "token '[REDACTED]', (\"[REDACTED]\"); <[REDACTED]>"
                   "[[REDACTED]]{[REDACTED]}`[REDACTED]`:"},
        RedactCase{"truncated_prefix", {kKey},
                   "Invalid token sk_live_0123...",
                   "Invalid token [REDACTED]..."},
        RedactCase{"middle_piece", {kKey}, "saw '0123456789abc' here",
                   "saw '[REDACTED]' here"},
        RedactCase{"suffix_piece_of_eight", {kKey}, "tail: bcdefXYZ",
                   "tail: [REDACTED]"},
        RedactCase{"exactly_eight_bytes", {kKey}, "x 456789ab y",
                   "x [REDACTED] y"},
        RedactCase{"seven_bytes_kept", {kKey}, "x sk_live y 4567890",
                   "x sk_live y 4567890"},
        RedactCase{"glued_to_other_text", {kKey},
                   "token=sk_live_0123456789ab&x=1", "token=[REDACTED]&x=1"},
        RedactCase{"case_differs_kept", {kKey}, "Bad SK_LIVE_0123 ABCDEFXYZ",
                   "Bad SK_LIVE_0123 ABCDEFXYZ"},
        RedactCase{"short_secret_exact_only", {"abc"}, "xabcx abc",
                   "x[REDACTED]x [REDACTED]"},
        RedactCase{"two_secrets", {"first-secret-value", kKey},
                   absl::StrCat("a=first-secret-value b=", kKey),
                   "a=[REDACTED] b=[REDACTED]"},
        RedactCase{"ordinary_text_kept", {kKey},
                   "first_name: Ensure this field has no more than 150 "
                   "characters.",
                   "first_name: Ensure this field has no more than 150 "
                   "characters."}),
    [](const testing::TestParamInfo<RedactCase>& info) {
      return info.param.name;
    });

TEST(SecretRedactorTest, EmptyWithoutSecrets) {
  EXPECT_TRUE(SecretRedactor().empty());
  EXPECT_TRUE(SecretRedactor({""}).empty());
  EXPECT_FALSE(SecretRedactor({kKey}).empty());
}

TEST(SecretRedactorTest, EveryPieceOfEightOrMoreIsRedacted) {
  const std::string key = kKey;
  const SecretRedactor redactor({key});
  for (size_t start = 0; start < key.size(); ++start) {
    for (size_t len = kMinSecretFragmentBytes; start + len <= key.size();
         ++len) {
      const std::string piece = key.substr(start, len);
      EXPECT_EQ(redactor.Redact(absl::StrCat("<", piece, ">")),
                "<[REDACTED]>")
          << piece;
    }
  }
}

TEST(SecretRedactorTest, HugeTextRedactedThroughout) {
  std::string text(1 << 20, 'x');
  text.replace(10, sizeof(kKey) - 1, kKey);
  text.replace(text.size() - 40, 12, std::string(kKey).substr(0, 12));
  const std::string got = SecretRedactor({kKey}).Redact(text);
  EXPECT_EQ(got.find("0123"), std::string::npos);
  EXPECT_EQ(got.substr(10, 10), "[REDACTED]");
  EXPECT_NE(got.find("[REDACTED]", 20), std::string::npos);
}

}  // namespace
}  // namespace usergateway
