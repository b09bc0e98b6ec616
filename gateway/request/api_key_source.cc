#include "gateway/request/api_key_source.h"

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gateway/common/file_util.h"
#include "gateway/common/log_line.h"

namespace usergateway {
namespace {

std::string FileLabel(absl::string_view path) {
  return absl::StrCat("API key file ", path);
}

}  // namespace

std::string TrimKey(const std::string& raw) {
  return std::string(absl::StripAsciiWhitespace(raw));
}

absl::StatusOr<std::string> CheckApiKey(absl::string_view raw,
                                        absl::string_view source) {
  const absl::string_view key = absl::StripAsciiWhitespace(raw);
  if (key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": the key is empty (after trimming surrounding whitespace)"));
  }
  bool control = false, space = false, del = false, non_ascii = false;
  for (unsigned char c : key) {
    if (c < 0x20) control = true;
    if (c == 0x20) space = true;
    if (c == 0x7F) del = true;
    if (c > 0x7F) non_ascii = true;
  }
  if (control || space || del || non_ascii) {
    // Which kinds of byte, never where: the message must say nothing of
    // the key itself.
    std::vector<absl::string_view> kinds;
    if (control) kinds.push_back("a control character (0x00..0x1F)");
    if (space) kinds.push_back("a space");
    if (del) kinds.push_back("DEL (0x7F)");
    if (non_ascii) kinds.push_back("a non-ASCII byte (0x80..0xFF)");
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": the key contains ", absl::StrJoin(kinds, ", "),
        "; a key must be visible ASCII (0x21..0x7E) once surrounding "
        "whitespace is trimmed"));
  }
  return std::string(key);
}

ApiKeySource::ApiKeySource(std::string path, absl::Duration reload_interval,
                           const Clock& clock)
    : path_(std::move(path)), reload_interval_(reload_interval), clock_(clock) {}

absl::StatusOr<std::unique_ptr<ApiKeySource>> ApiKeySource::FromFile(
    std::string path, absl::Duration reload_interval, const Clock& clock) {
  std::unique_ptr<ApiKeySource> source(
      new ApiKeySource(std::move(path), reload_interval, clock));
  absl::MutexLock lock(&source->mu_);
  if (absl::Status s = source->Refresh(); !s.ok()) return s;
  source->next_check_ = source->clock_.Now() + source->reload_interval_;
  return source;
}

absl::StatusOr<std::unique_ptr<ApiKeySource>> ApiKeySource::FromValue(
    std::string key, absl::string_view source_name) {
  absl::StatusOr<std::string> checked = CheckApiKey(key, source_name);
  if (!checked.ok()) return checked.status();
  std::unique_ptr<ApiKeySource> source(
      new ApiKeySource("", absl::InfiniteDuration(), RealClock()));
  absl::MutexLock lock(&source->mu_);
  source->key_ = std::make_shared<const std::string>(*std::move(checked));
  source->next_check_ = absl::InfiniteFuture();
  return source;
}

std::shared_ptr<const std::string> ApiKeySource::Get() {
  absl::MutexLock lock(&mu_);
  if (!path_.empty()) {
    absl::Time now = clock_.Now();
    if (now >= next_check_) {
      next_check_ = now + reload_interval_;
      const bool was_unreadable = unreadable_;
      const bool had_refused = has_refused_;
      const FileIdentity refused_before = refused_;
      const std::shared_ptr<const std::string> before = key_;
      if (absl::Status s = Refresh(); !s.ok()) {
        // One line per problem: a version refused once, or a spell of
        // unreadability, is not reported again at every look.
        const bool new_problem =
            unreadable_ ? !was_unreadable
                        : !(had_refused && refused_before == refused_);
        if (new_problem) {
          WriteLogLine("warning",
                  absl::StrCat(s.message(), "; keeping the last key"));
          if (observer_) observer_(false);
        }
      } else if (key_ != before) {
        ++reloads_;
        WriteLogLine("info", absl::StrCat("API key reloaded from ", path_));
        if (observer_) observer_(true);
      }
    }
  }
  return key_;
}

void ApiKeySource::SetReloadObserver(std::function<void(bool)> observer) {
  absl::MutexLock lock(&mu_);
  observer_ = std::move(observer);
}

int ApiKeySource::reloads() const {
  absl::MutexLock lock(&mu_);
  return reloads_;
}

absl::Status ApiKeySource::Refresh() {
  const std::optional<FileIdentity> identity = StatFileIdentity(path_);
  if (!identity.has_value()) {
    unreadable_ = true;
    return absl::InvalidArgumentError(
        absl::StrCat(FileLabel(path_), " is unreadable"));
  }
  const FileIdentity& seen = *identity;
  if (key_ != nullptr && seen == loaded_) {
    unreadable_ = false;
    return absl::OkStatus();
  }
  if (has_refused_ && seen == refused_) {
    unreadable_ = false;
    return absl::InvalidArgumentError("this version of the file was refused");
  }
  // A read error is not remembered like a bad key: it may pass (a
  // permission fixed) without the file's identity changing.
  std::optional<std::string> raw = ReadFileToString(path_);
  if (!raw.has_value()) {
    unreadable_ = true;
    return absl::InvalidArgumentError(
        absl::StrCat(FileLabel(path_), " is unreadable"));
  }
  unreadable_ = false;
  absl::StatusOr<std::string> key = CheckApiKey(*raw, FileLabel(path_));
  if (!key.ok()) {
    refused_ = seen;
    has_refused_ = true;
    return key.status();
  }
  loaded_ = seen;
  has_refused_ = false;
  if (key_ == nullptr || *key_ != *key) {
    key_ = std::make_shared<const std::string>(*std::move(key));
  }
  return absl::OkStatus();
}

}  // namespace usergateway
