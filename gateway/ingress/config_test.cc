#include "gateway/ingress/config.h"

#include <cstdio>
#include <map>
#include <string>

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
  for (const BadCase& bad : cases) {
    Env env(bad.env);
    absl::StatusOr<Config> c = ParseConfig(bad.args, env.Fn());
    ASSERT_FALSE(c.ok()) << bad.message;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(c.status().message()), HasSubstr(bad.message));
  }
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
        "--drain_grace_ms"}) {
    EXPECT_THAT(usage, HasSubstr(text));
  }
}

}  // namespace
}  // namespace usergateway
