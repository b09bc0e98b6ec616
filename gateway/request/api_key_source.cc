#include "gateway/request/api_key_source.h"

#include <sys/stat.h>

#include <cstdio>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gateway/common/file_util.h"
#include "gateway/common/json_escape.h"

namespace usergateway {
namespace {

// One JSON log line on stderr. Messages name the file, never the key.
void LogLine(absl::string_view level, absl::string_view message) {
  std::string line = "{\"level\":";
  AppendJsonString(level, &line);
  line += ",\"msg\":";
  AppendJsonString(message, &line);
  line += "}\n";
  std::fputs(line.c_str(), stderr);
}

}  // namespace

std::string TrimKey(const std::string& raw) {
  return std::string(absl::StripAsciiWhitespace(raw));
}

ApiKeySource::ApiKeySource(std::string path, absl::Duration reload_interval,
                           const Clock& clock)
    : path_(std::move(path)), reload_interval_(reload_interval), clock_(clock) {}

absl::StatusOr<std::unique_ptr<ApiKeySource>> ApiKeySource::FromFile(
    std::string path, absl::Duration reload_interval, const Clock& clock) {
  std::unique_ptr<ApiKeySource> source(
      new ApiKeySource(std::move(path), reload_interval, clock));
  absl::MutexLock lock(&source->mu_);
  if (!source->MaybeReload(/*first=*/true) || source->key_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "API key file ", source->path_, " cannot be read or is empty"));
  }
  source->next_check_ = source->clock_.Now() + source->reload_interval_;
  return source;
}

absl::StatusOr<std::unique_ptr<ApiKeySource>> ApiKeySource::FromValue(
    std::string key) {
  key = TrimKey(key);
  if (key.empty()) {
    return absl::InvalidArgumentError("the API key is empty");
  }
  std::unique_ptr<ApiKeySource> source(
      new ApiKeySource("", absl::InfiniteDuration(), RealClock()));
  absl::MutexLock lock(&source->mu_);
  source->key_ = std::make_shared<const std::string>(std::move(key));
  source->next_check_ = absl::InfiniteFuture();
  return source;
}

std::shared_ptr<const std::string> ApiKeySource::Get() {
  absl::MutexLock lock(&mu_);
  if (!path_.empty()) {
    absl::Time now = clock_.Now();
    if (now >= next_check_) {
      next_check_ = now + reload_interval_;
      MaybeReload(/*first=*/false);
    }
  }
  return key_;
}

int ApiKeySource::reloads() const {
  absl::MutexLock lock(&mu_);
  return reloads_;
}

bool ApiKeySource::MaybeReload(bool first) {
  struct stat st;
  if (stat(path_.c_str(), &st) != 0) {
    if (!warned_) {
      LogLine("warning", absl::StrCat("API key file ", path_,
                                      " is unreadable; keeping the last key"));
      warned_ = true;
    }
    return false;
  }
  int64_t mtime_ns =
      int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  if (!first && st.st_ino == inode_ && st.st_size == size_ &&
      mtime_ns == mtime_ns_) {
    return true;
  }
  std::optional<std::string> raw = ReadFileToString(path_);
  std::string key;
  if (raw.has_value()) key = TrimKey(*raw);
  if (key.empty()) {
    if (!warned_) {
      LogLine("warning",
              absl::StrCat("API key file ", path_,
                           " is unreadable or empty; keeping the last key"));
      warned_ = true;
    }
    return false;
  }
  inode_ = st.st_ino;
  size_ = st.st_size;
  mtime_ns_ = mtime_ns;
  warned_ = false;
  if (key_ == nullptr || *key_ != key) {
    if (!first) {
      ++reloads_;
      LogLine("info", absl::StrCat("API key reloaded from ", path_));
    }
    key_ = std::make_shared<const std::string>(std::move(key));
  }
  return true;
}

}  // namespace usergateway
