// The tenants of --tenants_file as one immutable snapshot (TenantSet),
// replaced as a whole when the file changes, so that a call sees one
// consistent set from start to end while others see the next one.
//
// The file is looked at again at most once per reload interval, on the
// calling thread (one stat(2); a read and parse only when it changed), as
// ApiKeySource does with a key file. A new version that does not parse,
// breaks a rule (tenants_file.h) or names a key file that cannot be read
// or holds no valid key is refused: the last good set stays, and one
// warning line (JSON on stderr) says why, once per file version. A tenant
// whose name is still in the new file keeps its ApiKeySource (when
// api_key_file is unchanged) and its TenantGuard (when its limits are):
// a reload neither resets a closed gate or an open breaker nor re-reads
// keys for nothing. Calls in flight keep the Tenant they started with.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<TenantDirectory>> dir =
//       TenantDirectory::Load(options, clock);
//   std::shared_ptr<const TenantSet> set = (*dir)->Current();
//   const Tenant* t = set->Find(request.enterprise_id());
//   if (t == nullptr) ... GATEWAY_UNKNOWN_TENANT
//
// Thread-safe. Owned by the server; outlives the service.
#ifndef USERGATEWAY_GATEWAY_TENANCY_TENANT_DIRECTORY_H_
#define USERGATEWAY_GATEWAY_TENANCY_TENANT_DIRECTORY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/common/clock.h"
#include "gateway/common/file_util.h"
#include "gateway/request/api_key_source.h"
#include "gateway/request/request_translator.h"
#include "gateway/tenancy/tenant_guard.h"
#include "gateway/tenancy/tenants_file.h"

namespace usergateway {

// One tenant, ready to serve. Immutable but for what its parts guard.
struct Tenant {
  TenantSpec spec;
  // The gateway's translator settings with this tenant's base_url.
  TranslatorConfig translator;
  std::shared_ptr<ApiKeySource> api_key;
  std::shared_ptr<TenantGuard> guard;
};

// One version of the tenants file. Immutable; thread-safe.
class TenantSet {
 public:
  explicit TenantSet(std::vector<std::shared_ptr<const Tenant>> tenants);
  // The tenant serving `enterprise_id`, or null.
  const Tenant* Find(absl::string_view enterprise_id) const;
  const std::vector<std::shared_ptr<const Tenant>>& tenants() const {
    return tenants_;
  }
  // The current key of every tenant, for redaction: an upstream may quote
  // any of them.
  std::vector<std::string> AllKeys() const;

 private:
  std::vector<std::shared_ptr<const Tenant>> tenants_;
  absl::flat_hash_map<std::string, const Tenant*> by_enterprise_;
};

struct TenantDirectoryOptions {
  std::string path;
  absl::Duration reload_interval = absl::Seconds(1);
  // For each tenant's ApiKeySource.
  absl::Duration key_reload_interval = absl::Seconds(1);
  TenantsFileRules rules;
  // The translator settings every tenant starts from (path template,
  // user agent, forwarded metadata); base_url is the tenant's.
  TranslatorConfig translator;
  // Called after each look at a changed file: true when a new set was
  // loaded, false when it was refused (once per version). May be empty.
  std::function<void(bool ok)> on_reload;
  // Called on each breaker transition of any tenant (under that guard's
  // lock: keep it cheap), and once with kClosed -> kClosed for each new
  // guard (a new tenant, or new limits). May be empty.
  std::function<void(const std::string& tenant, BreakerState from,
                     BreakerState to)>
      on_breaker;
  // Set as each new ApiKeySource's reload observer. May be empty.
  std::function<void(bool ok)> on_key_reload;
};

class TenantDirectory {
 public:
  // Reads the file and every tenant's key file. Fails with
  // kInvalidArgument ("tenants file <path>: ..." naming the tenant and
  // field, or the key file's problem) when the first version is not good.
  static absl::StatusOr<std::unique_ptr<TenantDirectory>> Load(
      TenantDirectoryOptions options, const Clock& clock = RealClock());

  // The current set, after looking at the file if the interval is over.
  std::shared_ptr<const TenantSet> Current();

  // New sets loaded after the first.
  int reloads() const;

 private:
  TenantDirectory(TenantDirectoryOptions options, const Clock& clock);
  // Builds a set from the file's current text, reusing what `previous`
  // has for unchanged tenants. Logs nothing.
  absl::StatusOr<std::shared_ptr<const TenantSet>> Build(
      const std::string& text, const TenantSet* previous) const;
  void Check() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const TenantDirectoryOptions options_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const TenantSet> current_ ABSL_GUARDED_BY(mu_);
  absl::Time next_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  FileIdentity seen_ ABSL_GUARDED_BY(mu_);  // last version looked at
  bool unreadable_ ABSL_GUARDED_BY(mu_) = false;
  int reloads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_TENANCY_TENANT_DIRECTORY_H_
