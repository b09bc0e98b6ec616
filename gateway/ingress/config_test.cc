#include "gateway/ingress/config.h"

#include <cstdio>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

using ::testing::HasSubstr;

class Env {
 public:
  using Vars = std::map<std::string, std::string>;
  explicit Env(Vars vars)
      : vars_(std::move(vars)) {}
  GetEnvFunction Fn() const {
    return [this](const char* name) -> const char* {
      auto it = vars_.find(name);
      return it == vars_.end() ? nullptr : it->second.c_str();
    };
  }

 private:
  std::map<std::string, std::string> vars_;
};

const std::vector<std::string> kMinimal = {
    "--upstream_base_url=https://acme-api.esper.cloud/api"};

TEST(ConfigTest, DefaultsWithKeyFromEnvironment) {
  Env env(Env::Vars{{"GATEWAY_API_KEY", "k"}});
  absl::StatusOr<Config> c = ParseConfig(kMinimal, env.Fn());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "0.0.0.0:50051");
  EXPECT_EQ(c->translator.base_url, "https://acme-api.esper.cloud/api");
  EXPECT_EQ(c->translator.path_template, "/authn2/v0/user/{user_id}");
  EXPECT_EQ(c->api_key_env_value, "k");
  EXPECT_EQ(c->upstream.max_attempts, 4);
  EXPECT_EQ(c->limits.max_first_name_chars, 150u);
  EXPECT_FALSE(c->upstream.allow_insecure_http);
}

TEST(ConfigTest, FlagsBeatEnvironment) {
  Env env(Env::Vars{{"GATEWAY_API_KEY", "k"},
           {"GATEWAY_MAX_ATTEMPTS", "2"},
           {"GATEWAY_LISTEN", "127.0.0.1:1"}});
  absl::StatusOr<Config> c = ParseConfig(
      {"--upstream_base_url", "https://h/api", "--max_attempts=3"}, env.Fn());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->upstream.max_attempts, 3);
  EXPECT_EQ(c->listen, "127.0.0.1:1");
}

TEST(ConfigTest, ParsesEveryKind) {
  Env env(Env::Vars{{"GATEWAY_API_KEY", "k"}});
  absl::StatusOr<Config> c = ParseConfig(
      {"--upstream_base_url=http://127.0.0.1:8/api", "--allow_insecure_http",
       "--connect_timeout_ms=250", "--retry_budget_ratio=0.5",
       "--forward_metadata=X-Tenant, x-b", "--log_calls=false",
       "--upstream_loops=3",
       "--path_template=/authn2/v0/tenant/{enterprise_id}/user/{user_id}"},
      env.Fn());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->upstream.allow_insecure_http);
  EXPECT_EQ(c->upstream.connect_timeout, absl::Milliseconds(250));
  EXPECT_DOUBLE_EQ(c->upstream.retry_budget_ratio, 0.5);
  EXPECT_EQ(c->upstream.loops, 3u);
  EXPECT_THAT(c->translator.forward_metadata,
              ::testing::ElementsAre("x-tenant", "x-b"));
  EXPECT_FALSE(c->log_calls);
}

struct BadCase {
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string message;
};

// Parses `bad`, expects kInvalidArgument with `bad.message` in the
// message, and returns the message.
std::string ExpectRejected(const BadCase& bad) {
  Env env(bad.env);
  absl::StatusOr<Config> c = ParseConfig(bad.args, env.Fn());
  EXPECT_FALSE(c.ok()) << bad.message;
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(bad.message));
  return std::string(c.status().message());
}

// Found by //tests/fuzz:config_fuzzer: every message quotes input
// C-escaped, so that a value cannot put a line break or a terminal escape
// into the one line the gateway prints before exiting.
TEST(ConfigTest, MessagesEscapeControlCharactersOfEveryValue) {
  const std::map<std::string, std::string> key = {{"GATEWAY_API_KEY", "k"}};
  const std::vector<BadCase> cases = {
      {{"pos\x07itional"}, key, "unexpected argument 'pos\\x07itional'"},
      {{"--no\rpe=1"}, key, "unknown flag --no\\rpe"},
      {{"--upstream_base_url=https://h", "--ca_bundle=/none/\x1b[2J\n"},
       key,
       "--ca_bundle: cannot read file /none/\\x1b[2J\\n"},
      {{"--upstream_base_url=https://h", "--listen=a\nb:9090",
        "--admin_listen=c\x1b:9090"},
       key,
       "--admin_listen (c\\x1b:9090) must not use the port of --listen "
       "(a\\nb:9090)"},
  };
  for (const BadCase& bad : cases) {
    const std::string message = ExpectRejected(bad);
    for (char ch : message) {
      EXPECT_GE(static_cast<unsigned char>(ch), 0x20) << message;
      EXPECT_NE(ch, '\x7f') << message;
    }
  }
}

TEST(ConfigTest, RejectsBadSettingsWithClearMessages) {
  const std::map<std::string, std::string> key = {{"GATEWAY_API_KEY", "k"}};
  const std::vector<BadCase> cases = {
      {{}, key, "--upstream_base_url (GATEWAY_UPSTREAM_BASE_URL) is required"},
      {{"--upstream_base_url=http://h/api"}, key, "--allow_insecure_http"},
      {{"--upstream_base_url=ftp://h"}, key, "must start with https://"},
      {{"--upstream_base_url=https://h/api?x=1"}, key, "no query"},
      {kMinimal, {}, "no API key"},
      {{"--upstream_base_url=https://h", "--api_key_file=/nonexistent/key"},
       {},
       "--api_key_file: cannot read file /nonexistent/key"},
      {{"--upstream_base_url=https://h", "--max_attempts=0"},
       key,
       "--max_attempts=0: must be between 1 and 10"},
      {{"--upstream_base_url=https://h", "--connect_timeout_ms=abc"},
       key,
       "expected an integer"},
      {{"--upstream_base_url=https://h", "--nope=1"}, key, "unknown flag --nope"},
      {{"--upstream_base_url=https://h", "--path_template=/x/{id}"},
       key,
       "--path_template"},
      {{"--upstream_base_url=https://h", "--tls_cert=/etc/hostname"},
       key,
       "--tls_cert and --tls_key go together"},
      {{"--upstream_base_url=https://h", "--retry_budget_ratio=2"},
       key,
       "between 0 and 1"},
      {{"--upstream_base_url=https://h", "--backoff_base_ms=500",
        "--backoff_max_ms=100"},
       key,
       "--backoff_max_ms"},
      {{"--upstream_base_url=https://h", "--log_calls=maybe"},
       key,
       "expected true or false"},
      {{"--upstream_base_url=https://h", "stray"}, key, "unexpected argument"},
      {{"--upstream_base_url=https://h", "--upstream_loops=65"},
       key,
       "--upstream_loops=65: must be between 0 and 64"},
      {{"--upstream_base_url=https://h"},
       {{"GATEWAY_API_KEY", "k"}, {"GATEWAY_MAX_IN_FLIGHT", "-1"}},
       "GATEWAY_MAX_IN_FLIGHT=-1"},
  };
  for (const BadCase& bad : cases) ExpectRejected(bad);
}

// ---------------------------------------------------------------------------
// Bool flags: a bare --name means true; an empty value never does.

struct BoolFlagCase {
  std::string flag;
  std::string env;
  bool default_value;
  bool Config::*top_level;             // one of these two is set
  bool CurlUpstreamOptions::*upstream;
};

bool Read(const Config& c, const BoolFlagCase& f) {
  return f.top_level != nullptr ? c.*f.top_level : c.upstream.*f.upstream;
}

// Every bool flag the gateway has.
const BoolFlagCase kBoolFlags[] = {
    {"allow_insecure_http", "GATEWAY_ALLOW_INSECURE_HTTP", false, nullptr,
     &CurlUpstreamOptions::allow_insecure_http},
    {"upstream_http2", "GATEWAY_UPSTREAM_HTTP2", true, nullptr,
     &CurlUpstreamOptions::http2},
    {"log_calls", "GATEWAY_LOG_CALLS", true, &Config::log_calls, nullptr},
};

TEST(ConfigTest, BoolFlagsStandAloneOrTakeAValue) {
  for (const BoolFlagCase& f : kBoolFlags) {
    const Env::Vars key = {{"GATEWAY_API_KEY", "k"}};
    struct Way {
      std::vector<std::string> args;
      Env::Vars env;
      bool want;
    };
    const std::vector<Way> ways = {
        {{}, {}, f.default_value},
        {{"--" + f.flag}, {}, true},
        {{"--" + f.flag + "=true"}, {}, true},
        {{"--" + f.flag + "=TRUE"}, {}, true},
        {{"--" + f.flag + "=1"}, {}, true},
        {{"--" + f.flag + "=yes"}, {}, true},
        {{"--" + f.flag + "=false"}, {}, false},
        {{"--" + f.flag + "=0"}, {}, false},
        {{"--" + f.flag + "=No"}, {}, false},
        {{}, {{f.env, "true"}}, true},
        {{}, {{f.env, "false"}}, false},
        {{}, {{f.env, "0"}}, false},
        // The command line wins over the environment.
        {{"--" + f.flag}, {{f.env, "false"}}, true},
        {{"--" + f.flag + "=false"}, {{f.env, "true"}}, false},
    };
    for (const Way& way : ways) {
      std::vector<std::string> args = {"--upstream_base_url=https://h/api"};
      args.insert(args.end(), way.args.begin(), way.args.end());
      Env::Vars vars = key;
      vars.insert(way.env.begin(), way.env.end());
      Env env(vars);
      absl::StatusOr<Config> c = ParseConfig(args, env.Fn());
      ASSERT_TRUE(c.ok()) << f.flag << ": " << c.status();
      EXPECT_EQ(Read(*c, f), way.want)
          << f.flag << " " << (way.args.empty() ? "" : way.args[0]);
    }
  }
}

TEST(ConfigTest, EmptyBoolIsAnErrorNamingFlagAndVariable) {
  for (const BoolFlagCase& f : kBoolFlags) {
    const std::vector<std::pair<std::vector<std::string>, Env::Vars>> ways = {
        {{"--" + f.flag + "="}, {{"GATEWAY_API_KEY", "k"}}},
        {{}, {{"GATEWAY_API_KEY", "k"}, {f.env, ""}}},
    };
    for (const auto& [extra, vars] : ways) {
      std::vector<std::string> args = {"--upstream_base_url=https://h/api"};
      args.insert(args.end(), extra.begin(), extra.end());
      Env env(vars);
      absl::StatusOr<Config> c = ParseConfig(args, env.Fn());
      ASSERT_FALSE(c.ok()) << f.flag << " read an empty value as "
                           << Read(*c, f);
      EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
      const std::string message(c.status().message());
      EXPECT_THAT(message, HasSubstr("--" + f.flag)) << message;
      EXPECT_THAT(message, HasSubstr(f.env)) << message;
      EXPECT_THAT(message, HasSubstr("empty value")) << message;
    }
  }
}

TEST(ConfigTest, EmptyInsecureHttpFromTheEnvironmentDoesNotAllowHttp) {
  Env env(Env::Vars{{"GATEWAY_API_KEY", "k"},
                    {"GATEWAY_ALLOW_INSECURE_HTTP", ""}});
  absl::StatusOr<Config> c =
      ParseConfig({"--upstream_base_url=http://127.0.0.1:8/api"}, env.Fn());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(std::string(c.status().message()),
            "GATEWAY_ALLOW_INSECURE_HTTP= (--allow_insecure_http): empty "
            "value; --allow_insecure_http (GATEWAY_ALLOW_INSECURE_HTTP) takes "
            "true or false, or is left unset for the default (a bare "
            "--allow_insecure_http on the command line means true)");
}

// A bare bool flag does not swallow the next argument.
TEST(ConfigTest, BareBoolFlagLeavesTheNextArgument) {
  Env env(Env::Vars{{"GATEWAY_API_KEY", "k"}});
  absl::StatusOr<Config> c =
      ParseConfig({"--allow_insecure_http", "--upstream_base_url",
                   "http://127.0.0.1:8/api", "--log_calls"},
                  env.Fn());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->upstream.allow_insecure_http);
  EXPECT_EQ(c->translator.base_url, "http://127.0.0.1:8/api");
  EXPECT_TRUE(c->log_calls);
}

// ---------------------------------------------------------------------------
// Settings that would otherwise fail every call.

struct SettingCase {
  std::string name;
  std::vector<std::string> args;
  Env::Vars env;
  std::string message;  // empty when valid
};

void PrintTo(const SettingCase& c, std::ostream* os) { *os << c.name; }

class SettingTest : public ::testing::TestWithParam<SettingCase> {};

TEST_P(SettingTest, ValidatedAtStart) {
  const SettingCase& s = GetParam();
  std::vector<std::string> args = {"--upstream_base_url=https://h/api"};
  args.insert(args.end(), s.args.begin(), s.args.end());
  Env::Vars vars = {{"GATEWAY_API_KEY", "k"}};
  vars.insert(s.env.begin(), s.env.end());
  Env env(vars);
  absl::StatusOr<Config> c = ParseConfig(args, env.Fn());
  if (s.message.empty()) {
    EXPECT_TRUE(c.ok()) << c.status();
  } else {
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(c.status().message()), HasSubstr(s.message));
  }
}

INSTANTIATE_TEST_SUITE_P(
    UserAgent, SettingTest,
    ::testing::Values(
        SettingCase{"Spaces", {"--user_agent=acme-gw/2.0 (ops team)"}, {}, ""},
        SettingCase{"Bytes256", {"--user_agent=" + std::string(256, 'u')}, {},
                    ""},
        SettingCase{"Bytes257", {"--user_agent=" + std::string(257, 'u')}, {},
                    "--user_agent=" + std::string(257, 'u') +
                        ": must be at most 256 bytes"},
        SettingCase{"Empty", {"--user_agent="}, {},
                    "--user_agent=: must not be empty"},
        SettingCase{"EmptyFromEnvironment", {}, {{"GATEWAY_USER_AGENT", ""}},
                    "GATEWAY_USER_AGENT= (--user_agent): must not be empty"},
        SettingCase{"CrLf", {"--user_agent=ua\r\nX-Evil: 1"}, {},
                    "--user_agent=ua\\r\\nX-Evil: 1: must be printable "
                    "ASCII"},
        SettingCase{"Tab", {}, {{"GATEWAY_USER_AGENT", "ua\tx"}},
                    "(--user_agent): must be printable ASCII"},
        SettingCase{"NonAscii", {"--user_agent=ua\xC3\xA9"}, {},
                    "--user_agent=ua\\xc3\\xa9: must be printable ASCII"},
        SettingCase{"Del", {"--user_agent=ua\x7F"}, {},
                    "must be printable ASCII"},
        SettingCase{"LeadingSpace", {"--user_agent= ua"}, {},
                    "--user_agent= ua: must not start or end with a space"},
        SettingCase{"TrailingSpace", {"--user_agent=ua "}, {},
                    "must not start or end with a space"}),
    [](const ::testing::TestParamInfo<SettingCase>& info) {
      return info.param.name;
    });

INSTANTIATE_TEST_SUITE_P(
    ForwardMetadata, SettingTest,
    ::testing::Values(
        SettingCase{"Valid", {"--forward_metadata=x-tenant,x_b.c-1,cookie"},
                    {}, ""},
        SettingCase{"EmptyList", {"--forward_metadata="}, {}, ""},
        SettingCase{"Host", {"--forward_metadata=x-tenant,Host"}, {},
                    "--forward_metadata=x-tenant,Host: entry \"host\" is a "
                    "hop-by-hop or framing header"},
        SettingCase{"Authorization", {"--forward_metadata=authorization"}, {},
                    "entry \"authorization\" is set by the gateway itself"},
        SettingCase{"RequestId", {"--forward_metadata=x-request-id"}, {},
                    "entry \"x-request-id\" is set by the gateway itself"},
        SettingCase{"UserAgent", {"--forward_metadata=user-agent"}, {},
                    "entry \"user-agent\" is set by the gateway itself"},
        SettingCase{"ContentType", {"--forward_metadata=content-type"}, {},
                    "entry \"content-type\" is set by the gateway"},
        SettingCase{"ContentLength", {"--forward_metadata=content-length"}, {},
                    "entry \"content-length\" is a hop-by-hop"},
        SettingCase{"TransferEncoding",
                    {"--forward_metadata=transfer-encoding"}, {},
                    "entry \"transfer-encoding\" is a hop-by-hop"},
        SettingCase{"Connection", {"--forward_metadata=connection"}, {},
                    "entry \"connection\" is a hop-by-hop"},
        SettingCase{"KeepAlive", {"--forward_metadata=keep-alive"}, {},
                    "entry \"keep-alive\" is a hop-by-hop"},
        SettingCase{"Te", {"--forward_metadata=te"}, {},
                    "entry \"te\" is a hop-by-hop"},
        SettingCase{"Upgrade", {"--forward_metadata=upgrade"}, {},
                    "entry \"upgrade\" is a hop-by-hop"},
        SettingCase{"Expect", {"--forward_metadata=expect"}, {},
                    "entry \"expect\" would change how"},
        SettingCase{"Proxy", {"--forward_metadata=proxy-authorization"}, {},
                    "entry \"proxy-authorization\" is a proxy header"},
        SettingCase{"Grpc", {"--forward_metadata=grpc-timeout"}, {},
                    "entry \"grpc-timeout\" is reserved by gRPC"},
        SettingCase{"Binary", {"--forward_metadata=x-trace-bin"}, {},
                    "entry \"x-trace-bin\" is binary metadata"},
        SettingCase{"PseudoHeader", {"--forward_metadata=:authority"}, {},
                    "entry \":authority\" is a pseudo-header"},
        SettingCase{"NotAKey", {"--forward_metadata=x-a b"}, {},
                    "entry \"x-a b\" is not a gRPC metadata key"},
        SettingCase{"NotAKeyFromEnvironment", {},
                    {{"GATEWAY_FORWARD_METADATA", "x-ok,x/no"}},
                    "GATEWAY_FORWARD_METADATA=x-ok,x/no (--forward_metadata): "
                    "entry \"x/no\" is not a gRPC metadata key"}),
    [](const ::testing::TestParamInfo<SettingCase>& info) {
      return info.param.name;
    });

INSTANTIATE_TEST_SUITE_P(
    NewUpstreamFlags, SettingTest,
    ::testing::Values(
        SettingCase{"HeaderBytesMin", {"--max_response_header_bytes=1024"}, {},
                    ""},
        SettingCase{"HeaderBytesMax", {"--max_response_header_bytes=1048576"},
                    {}, ""},
        SettingCase{"HeaderBytesTooSmall",
                    {"--max_response_header_bytes=1023"}, {},
                    "--max_response_header_bytes=1023: must be between 1024 "
                    "and 1048576"},
        SettingCase{"HeaderBytesTooLarge", {},
                    {{"GATEWAY_MAX_RESPONSE_HEADER_BYTES", "1048577"}},
                    "GATEWAY_MAX_RESPONSE_HEADER_BYTES=1048577 "
                    "(--max_response_header_bytes): must be between 1024 and "
                    "1048576"},
        SettingCase{"HeaderBytesNotANumber",
                    {"--max_response_header_bytes=60k"}, {},
                    "--max_response_header_bytes=60k: expected an integer"},
        SettingCase{"BudgetUnlimited", {"--response_buffer_budget_bytes=0"},
                    {}, ""},
        SettingCase{"BudgetEqualToLargestResponse",
                    {"--response_buffer_budget_bytes=1048576"}, {}, ""},
        SettingCase{"BudgetBelowLargestResponse",
                    {"--response_buffer_budget_bytes=1048575"}, {},
                    "--response_buffer_budget_bytes (1048575) must be 0 "
                    "(unlimited) or at least --max_response_bytes (1048576): "
                    "a response of the largest size accepted could never fit"},
        SettingCase{"BudgetBelowRaisedLargestResponse",
                    {"--max_response_bytes=4194304",
                     "--response_buffer_budget_bytes=2097152"},
                    {}, "at least --max_response_bytes (4194304)"},
        SettingCase{"BudgetFollowsLoweredLargestResponse", {},
                    {{"GATEWAY_MAX_RESPONSE_BYTES", "1024"},
                     {"GATEWAY_RESPONSE_BUFFER_BUDGET_BYTES", "1024"}},
                    ""},
        SettingCase{"BudgetNegative", {"--response_buffer_budget_bytes=-1"}, {},
                    "--response_buffer_budget_bytes=-1: must be between 0"},
        SettingCase{"AttemptTimeoutMax", {"--attempt_timeout_ms=600000"}, {},
                    ""},
        SettingCase{"AttemptTimeoutTooLarge", {"--attempt_timeout_ms=600001"},
                    {},
                    "--attempt_timeout_ms=600001: must be between 0 and "
                    "600000"},
        SettingCase{"AttemptTimeoutNegative", {},
                    {{"GATEWAY_ATTEMPT_TIMEOUT_MS", "-1"}},
                    "GATEWAY_ATTEMPT_TIMEOUT_MS=-1 (--attempt_timeout_ms): "
                    "must be between 0 and 600000"},
        SettingCase{"ConnectionAgeOff", {"--upstream_max_connection_age_ms=0"},
                    {}, ""},
        SettingCase{"ConnectionAgeNegative",
                    {"--upstream_max_connection_age_ms=-5"}, {},
                    "--upstream_max_connection_age_ms=-5: must be between 0 "
                    "and 86400000"}),
    [](const ::testing::TestParamInfo<SettingCase>& info) {
      return info.param.name;
    });

INSTANTIATE_TEST_SUITE_P(
    PathTemplate, SettingTest,
    ::testing::Values(
        SettingCase{"EnterpriseId",
                    {"--path_template=/t/{enterprise_id}/u/{user_id}"}, {},
                    ""},
        SettingCase{"DotDot", {"--path_template=/a/../u/{user_id}"}, {},
                    "--path_template: path template has a \".\" or \"..\" "
                    "segment"},
        SettingCase{"EncodedDot", {},
                    {{"GATEWAY_PATH_TEMPLATE", "/a/%2e/u/{user_id}"}},
                    "--path_template: path template has a \".\" or \"..\" "
                    "segment"}),
    [](const ::testing::TestParamInfo<SettingCase>& info) {
      return info.param.name;
    });

INSTANTIATE_TEST_SUITE_P(
    TlsReload, SettingTest,
    ::testing::Values(
        SettingCase{"Min", {"--tls_reload_ms=1000"}, {}, ""},
        SettingCase{"Max", {}, {{"GATEWAY_TLS_RELOAD_MS", "86400000"}}, ""},
        SettingCase{"Zero", {"--tls_reload_ms=0"}, {},
                    "--tls_reload_ms=0: must be between 1000 and 86400000"},
        SettingCase{"TooLarge", {"--tls_reload_ms=86401000"}, {},
                    "--tls_reload_ms=86401000: must be between 1000 and "
                    "86400000"},
        SettingCase{"NotWholeSeconds", {"--tls_reload_ms=1500"}, {},
                    "--tls_reload_ms=1500: must be a multiple of 1000 (whole "
                    "seconds)"},
        SettingCase{"NotWholeSecondsFromEnvironment", {},
                    {{"GATEWAY_TLS_RELOAD_MS", "2001"}},
                    "GATEWAY_TLS_RELOAD_MS=2001 (--tls_reload_ms): must be a "
                    "multiple of 1000"},
        SettingCase{"NotANumber", {"--tls_reload_ms=10s"}, {},
                    "--tls_reload_ms=10s: expected an integer"}),
    [](const ::testing::TestParamInfo<SettingCase>& info) {
      return info.param.name;
    });

INSTANTIATE_TEST_SUITE_P(
    AdminListen, SettingTest,
    ::testing::Values(
        SettingCase{"Loopback", {"--admin_listen=127.0.0.1:9090"}, {}, ""},
        SettingCase{"PortZero", {"--admin_listen=127.0.0.1:0"}, {}, ""},
        // Two port-0 listeners get two different free ports.
        SettingCase{"PortZeroBesidePortZeroListen",
                    {"--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0"},
                    {}, ""},
        SettingCase{"Ipv6", {"--admin_listen=[::1]:9090"}, {}, ""},
        SettingCase{"HostName", {"--admin_listen=localhost:9090"}, {}, ""},
        SettingCase{"EmptyIsOff", {"--admin_listen="}, {}, ""},
        SettingCase{"FromEnvironment", {},
                    {{"GATEWAY_ADMIN_LISTEN", "0.0.0.0:9090"}}, ""},
        SettingCase{"UnixListen",
                    {"--listen=unix:/tmp/usergateway.sock",
                     "--admin_listen=127.0.0.1:9090"},
                    {}, ""},
        SettingCase{"NoPort", {"--admin_listen=127.0.0.1"}, {},
                    "--admin_listen=127.0.0.1: expected host:port"},
        SettingCase{"NoHost", {"--admin_listen=:9090"}, {},
                    "--admin_listen=:9090: expected host:port"},
        SettingCase{"EmptyPort", {"--admin_listen=127.0.0.1:"}, {},
                    "--admin_listen=127.0.0.1:: expected host:port"},
        SettingCase{"PortTooLarge", {"--admin_listen=127.0.0.1:65536"}, {},
                    "--admin_listen=127.0.0.1:65536: expected host:port"},
        SettingCase{"PortNegative", {"--admin_listen=127.0.0.1:-1"}, {},
                    "--admin_listen=127.0.0.1:-1: expected host:port"},
        SettingCase{"PortNotANumber", {"--admin_listen=127.0.0.1:http"}, {},
                    "--admin_listen=127.0.0.1:http: expected host:port"},
        SettingCase{"Ipv6WithoutBrackets", {"--admin_listen=::1:9090"}, {},
                    "an IPv6 address goes in brackets"},
        SettingCase{"BadFromEnvironment", {},
                    {{"GATEWAY_ADMIN_LISTEN", "nope"}},
                    "GATEWAY_ADMIN_LISTEN=nope (--admin_listen): expected "
                    "host:port"},
        SettingCase{"SameAsListen",
                    {"--listen=0.0.0.0:50051",
                     "--admin_listen=0.0.0.0:50051"},
                    {},
                    "--admin_listen (0.0.0.0:50051) must not use the port of "
                    "--listen (0.0.0.0:50051)"},
        SettingCase{"SamePortAsDefaultListen",
                    {"--admin_listen=127.0.0.1:50051"}, {},
                    "--admin_listen (127.0.0.1:50051) must not use the port "
                    "of --listen (0.0.0.0:50051)"},
        SettingCase{"SamePortFromEnvironment", {},
                    {{"GATEWAY_LISTEN", "127.0.0.1:7000"},
                     {"GATEWAY_ADMIN_LISTEN", "[::1]:7000"}},
                    "--admin_listen ([::1]:7000) must not use the port of "
                    "--listen (127.0.0.1:7000)"},
        SettingCase{"PortFile",
                    {"--admin_listen=127.0.0.1:0",
                     "--admin_port_file=/tmp/admin.port"},
                    {}, ""},
        SettingCase{"PortFileWithoutListener",
                    {"--admin_port_file=/tmp/admin.port"}, {},
                    "--admin_port_file needs --admin_listen "
                    "(GATEWAY_ADMIN_LISTEN)"}),
    [](const ::testing::TestParamInfo<SettingCase>& info) {
      return info.param.name;
    });

TEST(ConfigTest, AdminListenerOffByDefault) {
  Env env(Env::Vars{{"GATEWAY_API_KEY", "k"}});
  absl::StatusOr<Config> defaults = ParseConfig(kMinimal, env.Fn());
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->admin_listen, "");
  EXPECT_EQ(defaults->admin_port_file, "");
  EXPECT_EQ(Config().admin_listen, "");
  const std::string usage = Usage();
  EXPECT_THAT(usage,
              HasSubstr("--admin_listen (GATEWAY_ADMIN_LISTEN, default: "
                        "(off))"));
  EXPECT_THAT(usage, HasSubstr("--admin_port_file (GATEWAY_ADMIN_PORT_FILE"));

  Env from_env(Env::Vars{{"GATEWAY_API_KEY", "k"},
                         {"GATEWAY_ADMIN_LISTEN", "0.0.0.0:9090"},
                         {"GATEWAY_ADMIN_PORT_FILE", "/tmp/env.port"}});
  absl::StatusOr<Config> c = ParseConfig(
      {"--upstream_base_url=https://h/api", "--admin_listen", "[::1]:0"},
      from_env.Fn());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->admin_listen, "[::1]:0");  // the flag beats the environment
  EXPECT_EQ(c->admin_port_file, "/tmp/env.port");
}

struct SplitCase {
  std::string address;
  bool ok;
  std::string host;
  int port;
};

TEST(SplitHostPortTest, SplitsOrRefuses) {
  const SplitCase cases[] = {
      {"127.0.0.1:9090", true, "127.0.0.1", 9090},
      {"0.0.0.0:0", true, "0.0.0.0", 0},
      {"localhost:65535", true, "localhost", 65535},
      {"[::]:9090", true, "::", 9090},
      {"[::1]:1", true, "::1", 1},
      {"[fe80::1%eth0]:80", true, "fe80::1%eth0", 80},
      {"host:007", true, "host", 7},
      {"", false, "", 0},
      {"host", false, "", 0},
      {"host:", false, "", 0},
      {":80", false, "", 0},
      {"[]:80", false, "", 0},
      {"[::1:80", false, "", 0},
      {"::1:80", false, "", 0},
      {"[::1]]:80", false, "", 0},
      {"host:65536", false, "", 0},
      {"host:123456", false, "", 0},
      {"host:+80", false, "", 0},
      {"host:-1", false, "", 0},
      {"host:8 0", false, "", 0},
      {"unix:/tmp/gw.sock", false, "", 0},
  };
  for (const SplitCase& c : cases) {
    absl::StatusOr<HostPort> got = SplitHostPort(c.address);
    if (!c.ok) {
      EXPECT_FALSE(got.ok()) << c.address << " -> " << got->host << " "
                             << got->port;
      if (!got.ok()) {
        EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_THAT(std::string(got.status().message()),
                    HasSubstr("expected host:port"));
      }
      continue;
    }
    ASSERT_TRUE(got.ok()) << c.address << ": " << got.status();
    EXPECT_EQ(got->host, c.host) << c.address;
    EXPECT_EQ(got->port, c.port) << c.address;
  }
}

TEST(ConfigTest, TlsReloadIntervalDefaultAndValue) {
  Env defaults_env(Env::Vars{{"GATEWAY_API_KEY", "k"}});
  absl::StatusOr<Config> defaults = ParseConfig(kMinimal, defaults_env.Fn());
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->tls_reload_interval, absl::Seconds(10));
  EXPECT_EQ(Config().tls_reload_interval, absl::Seconds(10));
  EXPECT_THAT(Usage(), HasSubstr("--tls_reload_ms (GATEWAY_TLS_RELOAD_MS, "
                                 "default: 10000)"));

  Env env(Env::Vars{{"GATEWAY_API_KEY", "k"},
                    {"GATEWAY_TLS_RELOAD_MS", "5000"}});
  absl::StatusOr<Config> from_env = ParseConfig(kMinimal, env.Fn());
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->tls_reload_interval, absl::Seconds(5));
  absl::StatusOr<Config> from_flag = ParseConfig(
      {"--upstream_base_url=https://h/api", "--tls_reload_ms", "3000"},
      env.Fn());
  ASSERT_TRUE(from_flag.ok()) << from_flag.status();
  EXPECT_EQ(from_flag->tls_reload_interval, absl::Seconds(3));
}

TEST(ConfigTest, NewUpstreamFlagsDefaultsAndValues) {
  Env defaults_env(Env::Vars{{"GATEWAY_API_KEY", "k"}});
  absl::StatusOr<Config> defaults = ParseConfig(kMinimal, defaults_env.Fn());
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->upstream.max_response_header_bytes, 61440u);
  EXPECT_EQ(defaults->upstream.response_buffer_budget_bytes, 268435456u);
  EXPECT_EQ(defaults->upstream.attempt_timeout, absl::ZeroDuration());
  // The defaults the help text states are the ones the options carry.
  const std::string usage = Usage();
  EXPECT_THAT(usage, HasSubstr("--max_response_header_bytes "
                               "(GATEWAY_MAX_RESPONSE_HEADER_BYTES, default: "
                               "61440)"));
  EXPECT_THAT(usage, HasSubstr("--response_buffer_budget_bytes "
                               "(GATEWAY_RESPONSE_BUFFER_BUDGET_BYTES, "
                               "default: 268435456)"));
  EXPECT_THAT(usage, HasSubstr("--attempt_timeout_ms "
                               "(GATEWAY_ATTEMPT_TIMEOUT_MS, default: 0)"));
  EXPECT_EQ(CurlUpstreamOptions().max_response_header_bytes, 61440u);
  EXPECT_EQ(CurlUpstreamOptions().response_buffer_budget_bytes, 268435456u);
  EXPECT_EQ(CurlUpstreamOptions().attempt_timeout, absl::ZeroDuration());
  EXPECT_EQ(defaults->upstream.max_connection_age, absl::Minutes(5));
  EXPECT_THAT(usage, HasSubstr("--upstream_max_connection_age_ms "
                               "(GATEWAY_UPSTREAM_MAX_CONNECTION_AGE_MS, "
                               "default: 300000)"));

  Env env(Env::Vars{{"GATEWAY_API_KEY", "k"},
                    {"GATEWAY_ATTEMPT_TIMEOUT_MS", "1500"}});
  absl::StatusOr<Config> c = ParseConfig(
      {"--upstream_base_url=https://h/api", "--max_response_header_bytes=8192",
       "--response_buffer_budget_bytes", "0"},
      env.Fn());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->upstream.max_response_header_bytes, 8192u);
  EXPECT_EQ(c->upstream.response_buffer_budget_bytes, 0u);
  EXPECT_EQ(c->upstream.attempt_timeout, absl::Milliseconds(1500));
}

TEST(ConfigTest, ForwardMetadataIsLowerCasedAndTrimmed) {
  Env env(Env::Vars{
      {"GATEWAY_API_KEY", "k"},
      {"GATEWAY_FORWARD_METADATA", " X-Tenant , ,x-b3-sampled,"}});
  absl::StatusOr<Config> c = ParseConfig(kMinimal, env.Fn());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->translator.forward_metadata,
              ::testing::ElementsAre("x-tenant", "x-b3-sampled"));
}

TEST(ConfigTest, KeyFromEnvironmentNeverAppearsInErrors) {
  Env env(Env::Vars{{"GATEWAY_API_KEY", "super-secret-key"}});
  absl::StatusOr<Config> c =
      ParseConfig({"--upstream_base_url=ftp://h"}, env.Fn());
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              ::testing::Not(HasSubstr("super-secret-key")));
}

TEST(ConfigTest, HelpListsEveryFlagAndVariable) {
  Env env(Env::Vars{});
  absl::StatusOr<Config> c = ParseConfig({"--help"}, env.Fn());
  EXPECT_TRUE(absl::IsCancelled(c.status()));
  std::string usage = Usage();
  for (const char* text :
       {"--listen", "GATEWAY_LISTEN", "--upstream_base_url", "--api_key_file",
        "GATEWAY_API_KEY", "--ca_bundle", "--allow_insecure_http",
        "--drain_grace_ms", "--max_response_header_bytes",
        "GATEWAY_MAX_RESPONSE_HEADER_BYTES", "--response_buffer_budget_bytes",
        "GATEWAY_RESPONSE_BUFFER_BUDGET_BYTES", "--attempt_timeout_ms",
        "GATEWAY_ATTEMPT_TIMEOUT_MS", "--admin_listen", "GATEWAY_ADMIN_LISTEN",
        "--admin_port_file", "GATEWAY_ADMIN_PORT_FILE"}) {
    EXPECT_THAT(usage, HasSubstr(text));
  }
}

TEST(ConfigTest, TenantsFileMakesBaseUrlAndKeyOptional) {
  Env env(Env::Vars{{"GATEWAY_TENANTS_RELOAD_MS", "250"}});
  // Any readable file passes here; its contents are the server's to check.
  absl::StatusOr<Config> c =
      ParseConfig({"--tenants_file=/etc/hostname"}, env.Fn());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tenants_file, "/etc/hostname");
  EXPECT_EQ(c->tenants_reload_interval, absl::Milliseconds(250));
  EXPECT_TRUE(c->translator.base_url.empty());
  EXPECT_TRUE(c->api_key_env_value.empty());
  // A base URL given anyway is still checked.
  c = ParseConfig({"--tenants_file=/etc/hostname", "--upstream_base_url=ftp://h"},
                  env.Fn());
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("must start with https://"));
  c = ParseConfig({"--tenants_file=/nonexistent/tenants.json"}, env.Fn());
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(),
              HasSubstr("--tenants_file: cannot read file"));
  EXPECT_THAT(Usage(), HasSubstr("--tenants_file"));
  EXPECT_THAT(Usage(), HasSubstr("GATEWAY_TENANTS_RELOAD_MS"));
}

}  // namespace
}  // namespace usergateway
