// Supplies the upstream API key, picking up a rotated key without a restart.
//
// Keys come from a file (a mounted Kubernetes Secret, which is replaced
// through a symlink swap) or, failing that, from a fixed value (the
// GATEWAY_API_KEY environment variable). The file is looked at again at most
// once per reload interval, on the calling thread; a look is one stat(2)
// and, only when the file changed, one read.
#ifndef USERGATEWAY_GATEWAY_REQUEST_API_KEY_SOURCE_H_
#define USERGATEWAY_GATEWAY_REQUEST_API_KEY_SOURCE_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/common/clock.h"

namespace usergateway {

// Thread-safe. Owned by the server; outlives the service that calls Get().
class ApiKeySource {
 public:
  // A key read from `path`, looked at again once per `reload_interval` of
  // `clock` (which must outlive the source). Fails with kInvalidArgument
  // when the file cannot be read or holds no key (the message names the
  // path, never the key).
  static absl::StatusOr<std::unique_ptr<ApiKeySource>> FromFile(
      std::string path, absl::Duration reload_interval,
      const Clock& clock = RealClock());
  // A fixed key. Fails with kInvalidArgument when it is empty.
  static absl::StatusOr<std::unique_ptr<ApiKeySource>> FromValue(
      std::string key);

  // Returns the current key. When the file changed since the last look, it
  // is re-read; if it is then unreadable or empty, the last good key is kept
  // (and a warning is logged once per change). Never fails after creation.
  std::shared_ptr<const std::string> Get();

  // How many times a changed key was loaded after the first (for tests and
  // logs).
  int reloads() const;

 private:
  ApiKeySource(std::string path, absl::Duration reload_interval,
               const Clock& clock);
  // Reads the file if its identity changed. Returns false if unreadable.
  bool MaybeReload(bool first) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const absl::Duration reload_interval_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const std::string> key_ ABSL_GUARDED_BY(mu_);
  absl::Time next_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Identity of the file last read: inode, size, mtime (ns).
  ino_t inode_ ABSL_GUARDED_BY(mu_) = 0;
  off_t size_ ABSL_GUARDED_BY(mu_) = -1;
  int64_t mtime_ns_ ABSL_GUARDED_BY(mu_) = 0;
  bool warned_ ABSL_GUARDED_BY(mu_) = false;
  int reloads_ ABSL_GUARDED_BY(mu_) = 0;
};

// Trims the whitespace (a trailing newline, typically) around a key read
// from a file. Exposed for tests.
std::string TrimKey(const std::string& raw);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_REQUEST_API_KEY_SOURCE_H_
