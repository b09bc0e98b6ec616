#include "gateway/tenancy/tenant_directory.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gateway/common/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace {

using ::testing::HasSubstr;

std::string TmpDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

// Writes through a renamed sibling, as a ConfigMap update swaps files.
void Write(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

std::string Entry(const std::string& name, const std::string& key_file,
                  const std::string& limits = "") {
  return absl::StrCat(R"({"name": ")", name, R"(", "enterprise_id": "ent-)",
                      name, R"(", "base_url": "https://)", name,
                      R"(-api.esper.cloud/api", "api_key_file": ")", key_file,
                      "\"", limits, "}");
}

class TenantDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string base =
        absl::StrCat(TmpDir(), "/", ::testing::UnitTest::GetInstance()
                                        ->current_test_info()
                                        ->name());
    path_ = base + "-tenants.json";
    acme_key_ = base + "-acme.key";
    globex_key_ = base + "-globex.key";
    Write(acme_key_, "acme-key-1\n");
    Write(globex_key_, "globex-key-1\n");
  }

  TenantDirectoryOptions Options() {
    TenantDirectoryOptions options;
    options.path = path_;
    options.reload_interval = absl::Seconds(1);
    options.translator.path_template = "/custom/{user_id}";
    options.on_reload = [this](bool ok) { (ok ? reload_ok_ : reload_failed_)++; };
    return options;
  }

  std::string path_, acme_key_, globex_key_;
  FakeClock clock_;
  int reload_ok_ = 0;
  int reload_failed_ = 0;
};

TEST_F(TenantDirectoryTest, LoadsTenantsWithTheirOwnUrlAndKey) {
  Write(path_, absl::StrCat(R"({"tenants": [)", Entry("acme", acme_key_), ",",
                            Entry("globex", globex_key_), "]}"));
  auto dir = TenantDirectory::Load(Options(), clock_);
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::shared_ptr<const TenantSet> set = (*dir)->Current();
  const Tenant* acme = set->Find("ent-acme");
  ASSERT_NE(acme, nullptr);
  EXPECT_EQ(acme->translator.base_url, "https://acme-api.esper.cloud/api");
  EXPECT_EQ(acme->translator.path_template, "/custom/{user_id}");
  EXPECT_EQ(*acme->api_key->Get(), "acme-key-1");
  EXPECT_EQ(*set->Find("ent-globex")->api_key->Get(), "globex-key-1");
  EXPECT_EQ(set->Find("ent-other"), nullptr);
  EXPECT_THAT(set->AllKeys(),
              ::testing::UnorderedElementsAre("acme-key-1", "globex-key-1"));
}

TEST_F(TenantDirectoryTest, BadFirstFileOrKeyFailsLoad) {
  Write(path_, R"({"tenants": [{"name": "x"}]})");
  auto dir = TenantDirectory::Load(Options(), clock_);
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.status().message(),
              HasSubstr(absl::StrCat("tenants file ", path_,
                                     ": tenant \"x\": enterprise_id")));
  Write(path_, absl::StrCat(R"({"tenants": [)",
                            Entry("acme", acme_key_ + ".missing"), "]}"));
  dir = TenantDirectory::Load(Options(), clock_);
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.status().message(),
              HasSubstr("tenant \"acme\": api_key_file: API key file"));
  EXPECT_FALSE(
      TenantDirectory::Load(
          [&] {
            TenantDirectoryOptions o = Options();
            o.path += ".none";
            return o;
          }(),
          clock_)
          .ok());
}

TEST_F(TenantDirectoryTest, ReloadAddsChangesAndRemovesTenantsKeepingState) {
  Write(path_, absl::StrCat(R"({"tenants": [)", Entry("acme", acme_key_),
                            "]}"));
  auto dir = TenantDirectory::Load(Options(), clock_);
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::shared_ptr<const TenantSet> first = (*dir)->Current();
  const Tenant* acme = first->Find("ent-acme");
  // acme's gate is closed; a reload must not open it.
  UpstreamResult limited;
  limited.http_status = 429;
  limited.retry_after = absl::Seconds(30);
  acme->guard->OnAttempt(limited, false, clock_.Now());

  Write(path_, absl::StrCat(R"({"tenants": [)", Entry("acme", acme_key_), ",",
                            Entry("globex", globex_key_), "]}"));
  // Not looked at before the interval is over.
  EXPECT_EQ((*dir)->Current(), first);
  clock_.Advance(absl::Seconds(1));
  std::shared_ptr<const TenantSet> second = (*dir)->Current();
  ASSERT_NE(second, first);
  EXPECT_EQ((*dir)->reloads(), 1);
  EXPECT_EQ(reload_ok_, 1);
  ASSERT_NE(second->Find("ent-globex"), nullptr);
  const Tenant* acme2 = second->Find("ent-acme");
  EXPECT_EQ(acme2->guard, acme->guard);
  EXPECT_EQ(acme2->api_key, acme->api_key);
  EXPECT_FALSE(acme2->guard->Admit(clock_.Now()).admitted);
  // The old set stays valid for calls that hold it.
  EXPECT_EQ(first->Find("ent-globex"), nullptr);

  // acme removed, globex's limits changed: a fresh guard.
  Write(path_, absl::StrCat(
                   R"({"tenants": [)",
                   Entry("globex", globex_key_,
                         R"(, "limits": {"breaker_failures": 1})"),
                   "]}"));
  clock_.Advance(absl::Seconds(1));
  std::shared_ptr<const TenantSet> third = (*dir)->Current();
  EXPECT_EQ(third->Find("ent-acme"), nullptr);
  ASSERT_NE(third->Find("ent-globex"), nullptr);
  EXPECT_NE(third->Find("ent-globex")->guard,
            second->Find("ent-globex")->guard);
  EXPECT_EQ(third->Find("ent-globex")->guard->limits().breaker_failures, 1);
  EXPECT_EQ((*dir)->reloads(), 2);
}

TEST_F(TenantDirectoryTest, BadNewFileKeepsTheLastGoodOne) {
  Write(path_, absl::StrCat(R"({"tenants": [)", Entry("acme", acme_key_),
                            "]}"));
  auto dir = TenantDirectory::Load(Options(), clock_);
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::shared_ptr<const TenantSet> good = (*dir)->Current();
  Write(path_, "{\"tenants\": [");  // cut short
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ((*dir)->Current(), good);
  EXPECT_EQ(reload_failed_, 1);
  // The same bad version is not reported again.
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ((*dir)->Current(), good);
  EXPECT_EQ(reload_failed_, 1);
  // A new tenant whose key file is missing: refused as a whole.
  Write(path_, absl::StrCat(R"({"tenants": [)", Entry("acme", acme_key_), ",",
                            Entry("globex", globex_key_ + ".missing"), "]}"));
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ((*dir)->Current(), good);
  EXPECT_EQ(reload_failed_, 2);
  // Removed file: the last good set stays.
  std::remove(path_.c_str());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ((*dir)->Current(), good);
  EXPECT_EQ(reload_failed_, 3);
  // A good file again is picked up.
  Write(path_, absl::StrCat(R"({"tenants": [)", Entry("globex", globex_key_),
                            "]}"));
  clock_.Advance(absl::Seconds(1));
  EXPECT_NE((*dir)->Current()->Find("ent-globex"), nullptr);
  EXPECT_EQ(reload_ok_, 1);
  EXPECT_EQ((*dir)->reloads(), 1);
}

TEST_F(TenantDirectoryTest, BreakerTransitionsAreReportedWithTheTenantName) {
  Write(path_, absl::StrCat(
                   R"({"tenants": [)",
                   Entry("acme", acme_key_,
                         R"(, "limits": {"breaker_failures": 1})"),
                   "]}"));
  std::vector<std::string> seen;
  TenantDirectoryOptions options = Options();
  options.on_breaker = [&](const std::string& tenant, BreakerState,
                           BreakerState to) {
    seen.push_back(absl::StrCat(tenant, ":", BreakerStateName(to)));
  };
  auto dir = TenantDirectory::Load(options, clock_);
  ASSERT_TRUE(dir.ok()) << dir.status();
  UpstreamResult failed;
  failed.error = TransportError::kConnect;
  (*dir)->Current()->Find("ent-acme")->guard->OnAttempt(failed, false,
                                                        clock_.Now());
  EXPECT_THAT(seen, ::testing::ElementsAre("acme:closed", "acme:open"));
}

}  // namespace
}  // namespace usergateway
