#include "gateway/request/request_translator.h"

#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/common/json_escape.h"
#include "gateway/common/json_escape_cases.h"
#include "gateway/upstream/upstream_types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace usergateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::usergateway::v1::UpdateUserProfileRequest;

constexpr char kUuid[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr char kBaseUrl[] = "https://acme-api.esper.cloud/api";
constexpr char kApiKey[] = "fixture-key";
constexpr char kTraceparent[] =
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
constexpr char kUuidV4Regex[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

UpdateUserProfileRequest MakeRequest(std::string user_id,
                                     std::string first_name = "Ada",
                                     std::string enterprise_id = "ent-1") {
  UpdateUserProfileRequest request;
  request.set_enterprise_id(std::move(enterprise_id));
  request.set_user_id(std::move(user_id));
  request.set_first_name(std::move(first_name));
  return request;
}

TranslatorConfig MakeConfig() {
  TranslatorConfig config;
  config.base_url = kBaseUrl;
  return config;
}

// Builds as the service does: the request id drawn from the same metadata.
UpstreamRequest Build(const UpdateUserProfileRequest& request,
                      const TranslatorConfig& config,
                      const CallerMetadata& metadata = {}) {
  absl::StatusOr<UpstreamRequest> built =
      BuildUpstreamRequest(request, config, kApiKey, metadata,
                           RequestIdOf(metadata), absl::InfiniteFuture());
  EXPECT_TRUE(built.ok()) << built.status();
  return built.ok() ? *std::move(built) : UpstreamRequest();
}

// The headers as "Name: value" lines, in order, for readable assertions.
std::vector<std::string> HeaderLines(const UpstreamRequest& request) {
  std::vector<std::string> lines;
  for (const Header& header : request.headers) {
    lines.push_back(absl::StrCat(header.name, ": ", header.value));
  }
  return lines;
}

// Parses `body` with simdjson (on-demand, no exceptions) and returns the one
// member's decoded value; any other shape is an error.
absl::StatusOr<std::string> DecodeFirstName(const std::string& body) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(body);
  simdjson::ondemand::document doc;
  simdjson::error_code error = parser.iterate(json).get(doc);
  if (error) return absl::InternalError(simdjson::error_message(error));
  simdjson::ondemand::object object;
  error = doc.get_object().get(object);
  if (error) return absl::InternalError(simdjson::error_message(error));
  int members = 0;
  std::string value;
  for (auto member_result : object) {
    simdjson::ondemand::field member;
    error = std::move(member_result).get(member);
    if (error) return absl::InternalError(simdjson::error_message(error));
    std::string_view key;
    error = member.unescaped_key().get(key);
    if (error) return absl::InternalError(simdjson::error_message(error));
    if (key != "first_name") {
      return absl::InternalError(
          absl::StrCat("unexpected key ", std::string(key)));
    }
    std::string_view text;
    error = member.value().get_string().get(text);
    if (error) return absl::InternalError(simdjson::error_message(error));
    value.assign(text.data(), text.size());
    ++members;
  }
  if (members != 1) {
    return absl::InternalError(absl::StrCat(members, " members"));
  }
  return value;
}

// ---------------------------------------------------------------------------
// Percent-encoding and URLs.

struct EncodeCase {
  std::string name;
  std::string user_id;
  std::string encoded;
};

// Names the case in failure messages (gtest would print raw bytes).
void PrintTo(const EncodeCase& c, std::ostream* os) { *os << c.name; }

class UserIdEncodingTest : public ::testing::TestWithParam<EncodeCase> {};

TEST_P(UserIdEncodingTest, EncodesOneSegment) {
  const EncodeCase& c = GetParam();
  EXPECT_EQ(PercentEncodePathSegment(c.user_id), c.encoded);
  EXPECT_EQ(Build(MakeRequest(c.user_id), MakeConfig()).url,
            absl::StrCat(kBaseUrl, "/authn2/v0/user/", c.encoded));
}

INSTANTIATE_TEST_SUITE_P(
    Table, UserIdEncodingTest,
    ::testing::Values(
        EncodeCase{"Uuid", kUuid, kUuid},
        EncodeCase{"Unreserved", "AZaz09-._~", "AZaz09-._~"},
        EncodeCase{"Slash", "a/b", "a%2Fb"},
        EncodeCase{"Question", "a?b", "a%3Fb"},
        EncodeCase{"Hash", "a#b", "a%23b"},
        EncodeCase{"Percent", "a%2Fb", "a%252Fb"},
        EncodeCase{"Space", "a b", "a%20b"},
        EncodeCase{"DotsInside", "a..b", "a..b"},
        EncodeCase{"DotDotSlash", "../admin", "..%2Fadmin"},
        EncodeCase{"SubDelims", "a+b;c=d&e@f:g", "a%2Bb%3Bc%3Dd%26e%40f%3Ag"},
        EncodeCase{"Eacute", "\xC3\xA9", "%C3%A9"},
        EncodeCase{"Emoji", "\xF0\x9F\x98\x80", "%F0%9F%98%80"},
        EncodeCase{"Braces", "{user_id}", "%7Buser_id%7D"}),
    [](const ::testing::TestParamInfo<EncodeCase>& info) {
      return info.param.name;
    });

TEST(BuildUpstreamRequestTest, BaseUrlWithOrWithoutTrailingSlash) {
  for (const char* base :
       {"https://acme-api.esper.cloud/api", "https://acme-api.esper.cloud/api/",
        "https://acme-api.esper.cloud/api//"}) {
    TranslatorConfig config = MakeConfig();
    config.base_url = base;
    EXPECT_EQ(Build(MakeRequest("user-1"), config).url,
              "https://acme-api.esper.cloud/api/authn2/v0/user/user-1")
        << base;
  }
}

TEST(BuildUpstreamRequestTest, PathTemplateWithEnterpriseId) {
  TranslatorConfig config = MakeConfig();
  config.path_template = "/authn2/v0/tenant/{enterprise_id}/user/{user_id}";
  EXPECT_EQ(Build(MakeRequest("u/1", "Ada", "ent 9/x"), config).url,
            "https://acme-api.esper.cloud/api/authn2/v0/tenant/ent%209%2Fx/"
            "user/u%2F1");
}

// A "." or ".." that reached the translator (ValidateRequest refuses it
// first) is never sent: libcurl, proxies and servers would resolve it, and
// "/tenant/../user/u" is another route.
TEST(BuildUpstreamRequestTest, NeverBuildsADotSegment) {
  TranslatorConfig config = MakeConfig();
  config.path_template = "/authn2/v0/tenant/{enterprise_id}/user/{user_id}";
  for (const auto& [enterprise_id, user_id, placeholder] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"..", "u", "{enterprise_id}"},
           {".", "u", "{enterprise_id}"},
           {"e", "..", "{user_id}"},
           {"e", ".", "{user_id}"}}) {
    const absl::StatusOr<UpstreamRequest> put = BuildUpstreamRequest(
        MakeRequest(user_id, "Ada", enterprise_id), config, kApiKey, {},
        kUuid, absl::InfiniteFuture());
    ASSERT_FALSE(put.ok()) << put->url;
    EXPECT_EQ(put.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(put.status().message(), HasSubstr(placeholder));
  }
}

// ---------------------------------------------------------------------------
// The body.

// The body is AppendJsonString's literal for first_name inside
// {"first_name":...}; the cases are those of AppendJsonStringTest in
// gateway/common/json_escape_test.cc, checked here through the body the
// gateway really sends, and decoded back with simdjson.
class BuildUpstreamRequestBodyTest
    : public ::testing::TestWithParam<JsonCase> {};

TEST_P(BuildUpstreamRequestBodyTest, BodyIsExactAndRoundTrips) {
  const JsonCase& c = GetParam();
  const UpstreamRequest put = Build(MakeRequest("u", c.text), MakeConfig());
  EXPECT_EQ(put.body, absl::StrCat("{\"first_name\":", c.literal, "}"));
  const absl::StatusOr<std::string> decoded = DecodeFirstName(put.body);
  ASSERT_TRUE(decoded.ok()) << decoded.status() << " in " << put.body;
  EXPECT_EQ(*decoded, c.text);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BuildUpstreamRequestBodyTest,
    ::testing::ValuesIn(JsonEscapeCases()),
    [](const ::testing::TestParamInfo<JsonCase>& info) {
      return info.param.name;
    });

TEST(BuildUpstreamRequestBodyTest, EveryControlCharacter) {
  static const char* const kEscapes[0x20] = {
      R"(\u0000)", R"(\u0001)", R"(\u0002)", R"(\u0003)", R"(\u0004)",
      R"(\u0005)", R"(\u0006)", R"(\u0007)", R"(\b)",     R"(\t)",
      R"(\n)",     R"(\u000b)", R"(\f)",     R"(\r)",     R"(\u000e)",
      R"(\u000f)", R"(\u0010)", R"(\u0011)", R"(\u0012)", R"(\u0013)",
      R"(\u0014)", R"(\u0015)", R"(\u0016)", R"(\u0017)", R"(\u0018)",
      R"(\u0019)", R"(\u001a)", R"(\u001b)", R"(\u001c)", R"(\u001d)",
      R"(\u001e)", R"(\u001f)",
  };
  std::string all;
  std::string all_escaped = "\"";
  for (int c = 0; c < 0x20; ++c) {
    const std::string text = absl::StrCat("x", std::string(1, char(c)), "y");
    std::string out;
    AppendJsonString(text, &out);
    EXPECT_EQ(out, absl::StrCat("\"x", kEscapes[c], "y\"")) << c;

    const UpstreamRequest put = Build(MakeRequest("u", text), MakeConfig());
    const absl::StatusOr<std::string> decoded = DecodeFirstName(put.body);
    ASSERT_TRUE(decoded.ok()) << decoded.status() << " for " << c;
    EXPECT_EQ(*decoded, text) << c;

    all.push_back(static_cast<char>(c));
    all_escaped.append(kEscapes[c]);
  }
  std::string out;
  AppendJsonString(all, &out);
  EXPECT_EQ(out, all_escaped + "\"");
}

// The validator refuses invalid UTF-8, but the escaper must still never
// produce invalid JSON: each bad byte becomes U+FFFD.
TEST(BuildUpstreamRequestBodyTest, InvalidUtf8BecomesReplacementCharacter) {
  const struct {
    std::string text;
    std::string decoded;
  } kCases[] = {
      {"a\xFF" "b", "a\xEF\xBF\xBD" "b"},
      {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},               // overlong '/'
      {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},  // surrogate
      {"\xE2\x82", "\xEF\xBF\xBD\xEF\xBF\xBD"},                 // truncated
      {"\xE2\x82\"", "\xEF\xBF\xBD\xEF\xBF\xBD\""},  // quote after a bad lead
  };
  for (const auto& c : kCases) {
    const UpstreamRequest put = Build(MakeRequest("u", c.text), MakeConfig());
    const absl::StatusOr<std::string> decoded = DecodeFirstName(put.body);
    ASSERT_TRUE(decoded.ok()) << decoded.status() << " in " << put.body;
    EXPECT_EQ(*decoded, c.decoded);
  }
}

TEST(BuildUpstreamRequestTest, LongestValidNameRoundTrips) {
  std::string name;
  for (int i = 0; i < 150; ++i) name.append("\xF0\x9F\x98\x80");
  const UpstreamRequest put = Build(MakeRequest("u", name), MakeConfig());
  const absl::StatusOr<std::string> decoded = DecodeFirstName(put.body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, name);
}

// ---------------------------------------------------------------------------
// Headers.

TEST(BuildUpstreamRequestTest, HeadersInOrderWithCallerRequestId) {
  const absl::Time deadline = absl::FromUnixSeconds(1700000000);
  const CallerMetadata metadata = {{"x-request-id", "req-42"}};
  absl::StatusOr<UpstreamRequest> put =
      BuildUpstreamRequest(MakeRequest("user-1"), MakeConfig(), kApiKey,
                           metadata, RequestIdOf(metadata), deadline);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->url, "https://acme-api.esper.cloud/api/authn2/v0/user/user-1");
  EXPECT_EQ(put->body, R"({"first_name":"Ada"})");
  EXPECT_THAT(HeaderLines(*put),
              ElementsAre("Authorization: Bearer fixture-key",
                          "Content-Type: application/json",
                          "Accept: application/json",
                          "User-Agent: usergateway/0.1.0",
                          "X-Request-Id: req-42"));
  EXPECT_EQ(put->request_id, "req-42");
  EXPECT_EQ(put->deadline, deadline);
}

TEST(BuildUpstreamRequestTest, UserAgentComesFromConfig) {
  TranslatorConfig config = MakeConfig();
  config.user_agent = "gw/9.9";
  EXPECT_EQ(Build(MakeRequest("u"), config).headers[3].value, "gw/9.9");
}

TEST(BuildUpstreamRequestTest, RequestIdGeneratedWhenAbsent) {
  const UpstreamRequest first = Build(MakeRequest("u"), MakeConfig());
  const UpstreamRequest second = Build(MakeRequest("u"), MakeConfig());
  EXPECT_THAT(first.request_id, MatchesRegex(kUuidV4Regex));
  EXPECT_THAT(HeaderLines(first).back(),
              absl::StrCat("X-Request-Id: ", first.request_id));
  EXPECT_NE(first.request_id, second.request_id);
}

struct RequestIdCase {
  std::string name;
  std::string value;
  bool forwarded;
};

// Names the case in failure messages (gtest would print raw bytes).
void PrintTo(const RequestIdCase& c, std::ostream* os) { *os << c.name; }

class RequestIdTest : public ::testing::TestWithParam<RequestIdCase> {};

TEST_P(RequestIdTest, ForwardedOnlyWhenSane) {
  const RequestIdCase& c = GetParam();
  const std::string id = RequestIdOf({{"x-request-id", c.value}});
  if (c.forwarded) {
    EXPECT_EQ(id, c.value);
  } else {
    EXPECT_THAT(id, MatchesRegex(kUuidV4Regex));
  }
  const UpstreamRequest put =
      Build(MakeRequest("u"), MakeConfig(), {{"x-request-id", c.value}});
  if (c.forwarded) {
    EXPECT_EQ(put.request_id, c.value);
  } else {
    EXPECT_THAT(put.request_id, MatchesRegex(kUuidV4Regex));
  }
  EXPECT_EQ(put.headers[4].name, "X-Request-Id");
  EXPECT_EQ(put.headers[4].value, put.request_id);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RequestIdTest,
    ::testing::Values(
        RequestIdCase{"Uuid", kUuid, true},
        RequestIdCase{"Punctuation", "a!~{}[]/:@", true},
        RequestIdCase{"Bytes128", std::string(128, 'r'), true},
        RequestIdCase{"Bytes129", std::string(129, 'r'), false},
        RequestIdCase{"Empty", "", false},
        RequestIdCase{"Space", "a b", false},
        RequestIdCase{"CrLf", "a\r\nX-Evil: 1", false},
        RequestIdCase{"Nul", std::string("a\0b", 3), false},
        RequestIdCase{"NonAscii", "r\xC3\xA9q", false}),
    [](const ::testing::TestParamInfo<RequestIdCase>& info) {
      return info.param.name;
    });

// The id is drawn once, when the call arrives (RequestIdOf); the
// translator sends that one, whatever the metadata says, so that what the
// caller and the log are told is what the upstream saw.
TEST(BuildUpstreamRequestTest, SendsTheRequestIdItIsGiven) {
  for (const CallerMetadata& metadata :
       {CallerMetadata{}, CallerMetadata{{"x-request-id", "caller-id"}}}) {
    absl::StatusOr<UpstreamRequest> put =
        BuildUpstreamRequest(MakeRequest("u"), MakeConfig(), kApiKey,
                             metadata, "drawn-id", absl::InfiniteFuture());
    ASSERT_TRUE(put.ok()) << put.status();
    EXPECT_EQ(put->request_id, "drawn-id");
    EXPECT_EQ(HeaderLines(*put)[4], "X-Request-Id: drawn-id");
  }
}

TEST(RequestIdOfTest, GeneratesAFreshUuidEachTime) {
  const std::string first = RequestIdOf({});
  const std::string second = RequestIdOf({{"traceparent", kTraceparent}});
  EXPECT_THAT(first, MatchesRegex(kUuidV4Regex));
  EXPECT_THAT(second, MatchesRegex(kUuidV4Regex));
  EXPECT_NE(first, second);
}

TEST(BuildUpstreamRequestTest, FirstRequestIdWins) {
  EXPECT_EQ(Build(MakeRequest("u"), MakeConfig(),
                  {{"x-request-id", "one"}, {"x-request-id", "two"}})
                .request_id,
            "one");
}

TEST(BuildUpstreamRequestTest, TraceContextForwarded) {
  const UpstreamRequest put =
      Build(MakeRequest("u"), MakeConfig(),
            {{"tracestate", "congo=t61rcWkgMzE"},
             {"x-request-id", "req-1"},
             {"traceparent", kTraceparent},
             {"tracestate", "rojo=00f067aa0ba902b7"}});
  EXPECT_THAT(HeaderLines(put),
              ElementsAre("Authorization: Bearer fixture-key",
                          "Content-Type: application/json",
                          "Accept: application/json",
                          "User-Agent: usergateway/0.1.0",
                          "X-Request-Id: req-1",
                          absl::StrCat("traceparent: ", kTraceparent),
                          "tracestate: "
                          "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"));
}

TEST(BuildUpstreamRequestTest, TraceparentWithoutTracestate) {
  const std::vector<std::string> lines = HeaderLines(Build(
      MakeRequest("u"), MakeConfig(), {{"traceparent", kTraceparent}}));
  ASSERT_EQ(lines.size(), 6);
  EXPECT_EQ(lines[5], absl::StrCat("traceparent: ", kTraceparent));
}

class BadTraceparentTest : public ::testing::TestWithParam<std::string> {};

// W3C Trace Context: an invalid traceparent is dropped, and tracestate with
// it.
TEST_P(BadTraceparentTest, DropsTraceContext) {
  const UpstreamRequest put = Build(
      MakeRequest("u"), MakeConfig(),
      {{"traceparent", GetParam()}, {"tracestate", "congo=t61rcWkgMzE"}});
  EXPECT_EQ(put.headers.size(), 5);
  for (const std::string& line : HeaderLines(put)) {
    EXPECT_THAT(line, Not(HasSubstr("trace")));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadTraceparentTest,
    ::testing::Values(
        "", "garbage",
        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",  // upper
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
        "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nX: 1"));

TEST(BuildUpstreamRequestTest, FutureTraceparentVersionAccepted) {
  const std::string future =
      "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-ever";
  const std::vector<std::string> lines = HeaderLines(
      Build(MakeRequest("u"), MakeConfig(), {{"traceparent", future}}));
  ASSERT_EQ(lines.size(), 6);
  EXPECT_EQ(lines[5], "traceparent: " + future);
}

TEST(BuildUpstreamRequestTest, TracestateWithCrLfDroppedWhole) {
  const std::vector<std::string> lines =
      HeaderLines(Build(MakeRequest("u"), MakeConfig(),
                        {{"traceparent", kTraceparent},
                         {"tracestate", "a=1"},
                         {"tracestate", "b=2\r\nX-Evil: 1"}}));
  ASSERT_EQ(lines.size(), 6);
  EXPECT_EQ(lines[5], absl::StrCat("traceparent: ", kTraceparent));
}

TEST(BuildUpstreamRequestTest, AllowListedKeysForwardedInCallerOrder) {
  TranslatorConfig config = MakeConfig();
  config.forward_metadata = {"x-tenant", "x-b3-sampled"};
  const std::vector<std::string> lines =
      HeaderLines(Build(MakeRequest("u"), config,
                        {{"x-b3-sampled", "1"},
                         {"x-not-listed", "no"},
                         {"x-tenant", "acme"},
                         {"X-Tenant", "second"}}));
  ASSERT_EQ(lines.size(), 8);
  EXPECT_EQ(lines[5], "x-b3-sampled: 1");
  EXPECT_EQ(lines[6], "x-tenant: acme");
  EXPECT_EQ(lines[7], "x-tenant: second");
}

TEST(BuildUpstreamRequestTest, NothingForwardedWithoutAllowList) {
  const UpstreamRequest put =
      Build(MakeRequest("u"), MakeConfig(),
            {{"x-tenant", "acme"}, {"cookie", "a=b"}, {"forwarded", "x"}});
  EXPECT_EQ(put.headers.size(), 5);
}

// Keys that must never reach the upstream even when an operator allow-lists
// them by mistake.
TEST(BuildUpstreamRequestTest, UnsafeKeysNeverForwarded) {
  const std::vector<std::string> unsafe = {
      "grpc-timeout",     "grpc-encoding",   "grpc-accept-encoding",
      "foo-bin",          "grpc-trace-bin",  "connection",
      "keep-alive",       "proxy-authorization", "proxy-connection",
      "te",               "trailer",         "transfer-encoding",
      "upgrade",          "host",            "content-length",
      "authorization",    "content-type",    "accept",
      "user-agent",       ":authority",      "accept-encoding",
      "expect",           "bad key",         "bad\r\nkey",
  };
  TranslatorConfig config = MakeConfig();
  config.forward_metadata = unsafe;
  CallerMetadata metadata;
  for (const std::string& key : unsafe) metadata.push_back({key, "evil"});
  const UpstreamRequest put = Build(MakeRequest("u"), config, metadata);
  EXPECT_THAT(HeaderLines(put),
              ElementsAre("Authorization: Bearer fixture-key",
                          "Content-Type: application/json",
                          "Accept: application/json",
                          "User-Agent: usergateway/0.1.0",
                          MatchesRegex(absl::StrCat("X-Request-Id: ",
                                                    kUuidV4Regex))));
}

TEST(BuildUpstreamRequestTest, UnsafeValuesDropped) {
  TranslatorConfig config = MakeConfig();
  config.forward_metadata = {"x-a", "x-b", "x-c", "x-d", "x-e", "x-ok"};
  const std::vector<std::string> lines =
      HeaderLines(Build(MakeRequest("u"), config,
                        {{"x-a", "v\r\nX-Evil: 1"},
                         {"x-b", "v\n"},
                         {"x-c", std::string("v\0w", 3)},
                         {"x-d", "v\xC3\xA9"},
                         {"x-e", std::string(4097, 'v')},
                         {"x-ok", "fine\tvalue"}}));
  ASSERT_EQ(lines.size(), 6);
  EXPECT_EQ(lines[5], "x-ok: fine\tvalue");
}

// ---------------------------------------------------------------------------
// The API key.

struct KeyCase {
  std::string name;
  std::string key;
};

// Names the case in failure messages (gtest would print raw bytes).
void PrintTo(const KeyCase& c, std::ostream* os) { *os << c.name; }

class BadApiKeyTest : public ::testing::TestWithParam<KeyCase> {};

TEST_P(BadApiKeyTest, RejectedWithoutLeakingTheKey) {
  const KeyCase& c = GetParam();
  const absl::StatusOr<UpstreamRequest> put =
      BuildUpstreamRequest(MakeRequest("u"), MakeConfig(), c.key, {}, kUuid,
                           absl::InfiniteFuture());
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(put.status().message(), HasSubstr("API key"));
  EXPECT_THAT(put.status().message(), Not(HasSubstr("sk-live")));
  EXPECT_THAT(put.status().ToString(), Not(HasSubstr("sk-live")));
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadApiKeyTest,
    ::testing::Values(KeyCase{"Empty", ""},
                      KeyCase{"TrailingNewline", "sk-live-abc123\n"},
                      KeyCase{"CrLfInjection", "sk-live-abc\r\nX-Evil: 1"},
                      KeyCase{"Nul", std::string("sk-live\0x", 9)},
                      KeyCase{"Del", "sk-live\x7F"},
                      KeyCase{"Space", "sk-live abc"},
                      KeyCase{"NonAscii", "sk-live\xC3\xA9"}),
    [](const ::testing::TestParamInfo<KeyCase>& info) {
      return info.param.name;
    });

// ---------------------------------------------------------------------------
// Which metadata keys the service copies out of the call.

TEST(IsMetadataKeyOfInterestTest, TracingIdsAndAllowListedKeysOnly) {
  TranslatorConfig config;
  config.forward_metadata = {"x-tenant", "authorization", "grpc-trace-bin"};
  for (const char* key : {"x-request-id", "traceparent", "tracestate",
                          "x-tenant"}) {
    EXPECT_TRUE(IsMetadataKeyOfInterest(key, config)) << key;
  }
  // Allow-listed or not, never: the gateway's own headers, gRPC's keys.
  for (const char* key : {"authorization", "grpc-trace-bin", "grpc-timeout",
                          "user-agent", "x-other", ":authority"}) {
    EXPECT_FALSE(IsMetadataKeyOfInterest(key, config)) << key;
  }
}

// ---------------------------------------------------------------------------
// The User-Agent.

struct UserAgentCase {
  std::string name;
  std::string user_agent;
  std::string message_part;  // empty when valid
};

void PrintTo(const UserAgentCase& c, std::ostream* os) { *os << c.name; }

class ValidateUserAgentTest : public ::testing::TestWithParam<UserAgentCase> {
};

TEST_P(ValidateUserAgentTest, Validates) {
  const UserAgentCase& c = GetParam();
  const absl::Status status = ValidateUserAgent(c.user_agent);
  if (c.message_part.empty()) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr(c.message_part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateUserAgentTest,
    ::testing::Values(
        UserAgentCase{"Default", TranslatorConfig().user_agent, ""},
        UserAgentCase{"WithSpacesAndComment",
                      "usergateway/0.1.0 (+https://example.com; ops)", ""},
        UserAgentCase{"OneByte", "u", ""},
        UserAgentCase{"Bytes256", std::string(256, 'a'), ""},
        UserAgentCase{"Bytes257", std::string(257, 'a'), "at most 256 bytes"},
        UserAgentCase{"Empty", "", "must not be empty"},
        UserAgentCase{"CrLf", "ua\r\nX-Evil: 1", "printable ASCII"},
        UserAgentCase{"Tab", "ua\tx", "printable ASCII"},
        UserAgentCase{"Nul", std::string("ua\0x", 4), "printable ASCII"},
        UserAgentCase{"Del", "ua\x7F", "printable ASCII"},
        UserAgentCase{"NonAscii", "ua\xC3\xA9", "printable ASCII"},
        UserAgentCase{"LeadingSpace", " ua", "start or end with a space"},
        UserAgentCase{"TrailingSpace", "ua ", "start or end with a space"},
        UserAgentCase{"OnlySpace", " ", "start or end with a space"}),
    [](const ::testing::TestParamInfo<UserAgentCase>& info) {
      return info.param.name;
    });

}  // namespace
}  // namespace usergateway
