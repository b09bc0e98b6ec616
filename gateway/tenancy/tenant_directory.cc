#include "gateway/tenancy/tenant_directory.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gateway/common/file_util.h"
#include "gateway/common/log_line.h"

namespace usergateway {

TenantSet::TenantSet(std::vector<std::shared_ptr<const Tenant>> tenants)
    : tenants_(std::move(tenants)) {
  for (const auto& t : tenants_) by_enterprise_[t->spec.enterprise_id] = t.get();
}

const Tenant* TenantSet::Find(absl::string_view enterprise_id) const {
  auto it = by_enterprise_.find(enterprise_id);
  return it == by_enterprise_.end() ? nullptr : it->second;
}

std::vector<std::string> TenantSet::AllKeys() const {
  std::vector<std::string> keys;
  keys.reserve(tenants_.size());
  for (const auto& t : tenants_) keys.push_back(*t->api_key->Get());
  return keys;
}

TenantDirectory::TenantDirectory(TenantDirectoryOptions options,
                                 const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

absl::StatusOr<std::unique_ptr<TenantDirectory>> TenantDirectory::Load(
    TenantDirectoryOptions options, const Clock& clock) {
  std::unique_ptr<TenantDirectory> dir(
      new TenantDirectory(std::move(options), clock));
  const std::string label =
      absl::StrCat("tenants file ", dir->options_.path);
  const std::optional<FileIdentity> seen =
      StatFileIdentity(dir->options_.path);
  std::optional<std::string> text = ReadFileToString(dir->options_.path);
  if (!text.has_value() || !seen.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(label, " is unreadable"));
  }
  absl::StatusOr<std::shared_ptr<const TenantSet>> set =
      dir->Build(*text, nullptr);
  if (!set.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": ", set.status().message()));
  }
  absl::MutexLock lock(&dir->mu_);
  dir->current_ = *std::move(set);
  dir->seen_ = *seen;
  dir->next_check_ = clock.Now() + dir->options_.reload_interval;
  return dir;
}

absl::StatusOr<std::shared_ptr<const TenantSet>> TenantDirectory::Build(
    const std::string& text, const TenantSet* previous) const {
  absl::StatusOr<std::vector<TenantSpec>> specs =
      ParseTenantsFile(text, options_.rules);
  if (!specs.ok()) return specs.status();
  absl::flat_hash_map<std::string, const Tenant*> old;
  if (previous != nullptr) {
    for (const auto& t : previous->tenants()) old[t->spec.name] = t.get();
  }
  std::vector<std::shared_ptr<const Tenant>> tenants;
  for (TenantSpec& spec : *specs) {
    auto tenant = std::make_shared<Tenant>();
    auto it = old.find(spec.name);
    const Tenant* before = it == old.end() ? nullptr : it->second;
    if (before != nullptr && before->spec.api_key_file == spec.api_key_file) {
      tenant->api_key = before->api_key;
    } else {
      absl::StatusOr<std::unique_ptr<ApiKeySource>> key =
          ApiKeySource::FromFile(spec.api_key_file,
                                 options_.key_reload_interval, clock_);
      if (!key.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "tenant \"", spec.name, "\": api_key_file: ",
            key.status().message()));
      }
      tenant->api_key = *std::move(key);
      if (options_.on_key_reload) {
        tenant->api_key->SetReloadObserver(options_.on_key_reload);
      }
    }
    if (before != nullptr && before->spec.limits == spec.limits) {
      tenant->guard = before->guard;
    } else {
      TenantGuard::BreakerObserver observer;
      if (options_.on_breaker) {
        observer = [name = spec.name, cb = options_.on_breaker](
                       BreakerState from, BreakerState to) {
          cb(name, from, to);
        };
      }
      tenant->guard = std::make_shared<TenantGuard>(
          spec.limits, clock_.Now(), std::move(observer));
      // A new guard starts closed: said once, so that its gauge exists.
      if (options_.on_breaker) {
        options_.on_breaker(spec.name, BreakerState::kClosed,
                            BreakerState::kClosed);
      }
    }
    tenant->translator = options_.translator;
    tenant->translator.base_url = spec.base_url;
    tenant->spec = std::move(spec);
    tenants.push_back(std::move(tenant));
  }
  return std::make_shared<const TenantSet>(std::move(tenants));
}

void TenantDirectory::Check() {
  const std::string label = absl::StrCat("tenants file ", options_.path);
  const std::optional<FileIdentity> now_seen =
      StatFileIdentity(options_.path);
  if (!now_seen.has_value()) {
    if (!unreadable_) {
      unreadable_ = true;
      WriteLogLine("warning", absl::StrCat(label, " is unreadable; keeping "
                                                  "the last good tenants"));
      if (options_.on_reload) options_.on_reload(false);
    }
    return;
  }
  unreadable_ = false;
  if (*now_seen == seen_) return;
  std::optional<std::string> text = ReadFileToString(options_.path);
  if (!text.has_value()) return;  // looked at again next time
  seen_ = *now_seen;
  absl::StatusOr<std::shared_ptr<const TenantSet>> set =
      Build(*text, current_.get());
  if (!set.ok()) {
    WriteLogLine("warning",
                 absl::StrCat(label, ": ", set.status().message(),
                              "; keeping the last good tenants"));
    if (options_.on_reload) options_.on_reload(false);
    return;
  }
  current_ = *std::move(set);
  ++reloads_;
  WriteLogLine("info", absl::StrCat(label, " reloaded: ",
                                    current_->tenants().size(), " tenants"));
  if (options_.on_reload) options_.on_reload(true);
}

std::shared_ptr<const TenantSet> TenantDirectory::Current() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  if (now >= next_check_) {
    next_check_ = now + options_.reload_interval;
    Check();
  }
  return current_;
}

int TenantDirectory::reloads() const {
  absl::MutexLock lock(&mu_);
  return reloads_;
}

}  // namespace usergateway
