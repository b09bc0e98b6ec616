#include "gateway/tenancy/tenants_file.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

using ::testing::HasSubstr;

constexpr char kGood[] = R"({
  "tenants": [
    {
      "name": "acme",
      "enterprise_id": "ent-acme",
      "base_url": "https://acme-api.esper.cloud/api",
      "api_key_file": "/keys/acme",
      "allowed_callers": ["spiffe://example.org/crm", "crm.example.org"],
      "limits": {"requests_per_second": 2.5, "burst": 5,
                 "breaker_failures": 3, "breaker_cooldown_ms": 1500}
    },
    {
      "name": "globex",
      "enterprise_id": "ent-globex",
      "base_url": "https://globex-api.esper.cloud/api",
      "api_key_file": "/keys/globex"
    }
  ]
})";

TenantsFileRules Rules() {
  TenantsFileRules rules;
  rules.mtls = true;
  rules.max_id_bytes = 64;
  return rules;
}

TEST(TenantsFileTest, ParsesEveryField) {
  absl::StatusOr<std::vector<TenantSpec>> specs =
      ParseTenantsFile(kGood, Rules());
  ASSERT_TRUE(specs.ok()) << specs.status();
  ASSERT_EQ(specs->size(), 2u);
  const TenantSpec& acme = (*specs)[0];
  EXPECT_EQ(acme.name, "acme");
  EXPECT_EQ(acme.enterprise_id, "ent-acme");
  EXPECT_EQ(acme.base_url, "https://acme-api.esper.cloud/api");
  EXPECT_EQ(acme.api_key_file, "/keys/acme");
  EXPECT_THAT(acme.allowed_callers,
              ::testing::ElementsAre("spiffe://example.org/crm",
                                     "crm.example.org"));
  EXPECT_EQ(acme.limits.requests_per_second, 2.5);
  EXPECT_EQ(acme.limits.burst, 5);
  EXPECT_EQ(acme.limits.breaker_failures, 3);
  EXPECT_EQ(acme.limits.breaker_cooldown, absl::Milliseconds(1500));
  const TenantSpec& globex = (*specs)[1];
  EXPECT_TRUE(globex.allowed_callers.empty());
  EXPECT_EQ(globex.limits, TenantLimits());
}

TEST(TenantsFileTest, EmptyListIsValid) {
  absl::StatusOr<std::vector<TenantSpec>> specs =
      ParseTenantsFile(R"({"tenants": []})", Rules());
  ASSERT_TRUE(specs.ok()) << specs.status();
  EXPECT_TRUE(specs->empty());
}

// One tenant entry with `fields` spliced in (JSON members, comma-led).
std::string One(const std::string& fields) {
  return absl::StrCat(R"({"tenants": [{"name": "acme")", fields, "}]}");
}
constexpr char kRest[] =
    R"(, "enterprise_id": "e1", "base_url": "https://a.example/api",
       "api_key_file": "/k")";

struct BadCase {
  std::string text;
  std::string message;  // a substring of the error
};

TEST(TenantsFileTest, EachMistakeNamesTheTenantAndTheField) {
  const BadCase cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "JSON object with a \"tenants\" array"},
      {R"({"tenant": []})", "tenant is not a known field"},
      {R"({"tenants": [7]})", "tenants[0]: must be an object"},
      {R"({"tenants": [{"enterprise_id": "e"}]})",
       "tenants[0]: name is required"},
      {R"({"tenants": [{"name": "Acme!"}]})", "tenants[0]: name must be"},
      {One(R"(, "base_url": "https://a.example/api", "api_key_file": "/k")"),
       "tenant \"acme\": enterprise_id is required"},
      {One(R"(, "enterprise_id": "e 1", "base_url": "https://a.example",
              "api_key_file": "/k")"),
       "tenant \"acme\": enterprise_id must be 1 to 64 bytes"},
      {One(R"(, "enterprise_id": "e1", "api_key_file": "/k")"),
       "tenant \"acme\": base_url is required"},
      {One(R"(, "enterprise_id": "e1", "base_url": "http://a.example/api",
              "api_key_file": "/k")"),
       "tenant \"acme\": base_url is http://"},
      {One(R"(, "enterprise_id": "e1", "base_url": "ftp://a",
              "api_key_file": "/k")"),
       "tenant \"acme\": base_url must start with https://"},
      {One(R"(, "enterprise_id": "e1", "base_url": "https://a.example/?q",
              "api_key_file": "/k")"),
       "tenant \"acme\": base_url must be a URL"},
      {One(R"(, "enterprise_id": "e1", "base_url": "https://a.example")"),
       "tenant \"acme\": api_key_file is required"},
      {One(absl::StrCat(kRest, R"(, "api_key": "secret")")),
       "tenants[0]: api_key is not a known field"},
      {One(absl::StrCat(kRest, R"(, "allowed_callers": "x")")),
       "tenant \"acme\": allowed_callers must be an array"},
      {One(absl::StrCat(kRest, R"(, "allowed_callers": [""])")),
       "tenant \"acme\": allowed_callers[0] must be"},
      {One(absl::StrCat(kRest, R"(, "limits": 5)")),
       "tenant \"acme\": limits must be an object"},
      {One(absl::StrCat(kRest, R"(, "limits": {"rps": 5})")),
       "tenant \"acme\": limits.rps is not a known limit"},
      {One(absl::StrCat(kRest, R"(, "limits": {"requests_per_second": 0})")),
       "tenant \"acme\": limits.requests_per_second must be a number"},
      {One(absl::StrCat(kRest, R"(, "limits": {"burst": 3})")),
       "tenant \"acme\": limits.burst needs limits.requests_per_second"},
      {One(absl::StrCat(
           kRest, R"(, "limits": {"requests_per_second": 1, "burst": 1.5})")),
       "tenant \"acme\": limits.burst must be an integer"},
      {One(absl::StrCat(kRest, R"(, "limits": {"breaker_failures": -1})")),
       "tenant \"acme\": limits.breaker_failures must be an integer"},
      {One(absl::StrCat(kRest, R"(, "limits": {"breaker_cooldown_ms": 0})")),
       "tenant \"acme\": limits.breaker_cooldown_ms must be an integer"},
      {R"({"tenants": [
          {"name": "a", "enterprise_id": "e1", "base_url": "https://a.x",
           "api_key_file": "/k"},
          {"name": "a", "enterprise_id": "e2", "base_url": "https://a.x",
           "api_key_file": "/k"}]})",
       "tenant \"a\": name is used by an earlier tenant"},
      {R"({"tenants": [
          {"name": "a", "enterprise_id": "e1", "base_url": "https://a.x",
           "api_key_file": "/k"},
          {"name": "b", "enterprise_id": "e1", "base_url": "https://a.x",
           "api_key_file": "/k"}]})",
       "tenant \"b\": enterprise_id is used by an earlier tenant"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<std::vector<TenantSpec>> specs =
        ParseTenantsFile(c.text, Rules());
    ASSERT_FALSE(specs.ok());
    EXPECT_EQ(specs.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(specs.status().message(), HasSubstr(c.message));
  }
}

TEST(TenantsFileTest, HttpBaseUrlNeedsAllowInsecureHttp) {
  TenantsFileRules rules = Rules();
  rules.allow_insecure_http = true;
  EXPECT_TRUE(ParseTenantsFile(
                  One(R"(, "enterprise_id": "e1",
                         "base_url": "http://127.0.0.1:1/api",
                         "api_key_file": "/k")"),
                  rules)
                  .ok());
}

TEST(TenantsFileTest, AllowedCallersNeedMutualTls) {
  TenantsFileRules rules = Rules();
  rules.mtls = false;
  absl::StatusOr<std::vector<TenantSpec>> specs = ParseTenantsFile(
      One(absl::StrCat(kRest, R"(, "allowed_callers": ["spiffe://x/y"])")),
      rules);
  ASSERT_FALSE(specs.ok());
  EXPECT_THAT(specs.status().message(),
              HasSubstr("tenant \"acme\": allowed_callers needs mutual TLS "
                        "(--tls_client_ca)"));
}

}  // namespace
}  // namespace usergateway
