// Supplies the upstream API key, picking up a rotated key without a restart.
//
// Keys come from a file (a mounted Kubernetes Secret, which is replaced
// through a symlink swap) or, failing that, from a fixed value (the
// GATEWAY_API_KEY environment variable). The file is looked at again at most
// once per reload interval, on the calling thread; a look is one stat(2)
// and, only when the file changed, one read.
//
// What a key is (CheckApiKey): the text after trimming surrounding ASCII
// whitespace (a trailing newline in a Secret file is normal), non-empty and
// made only of visible ASCII, 0x21..0x7E. Anything else (a control
// character, a space inside, DEL, a non-ASCII byte) would corrupt the
// Authorization header or be refused by the upstream on every call, so it
// is refused at start-up, and ignored (the last good key kept) on reload.
// No message or log line ever holds the key, or any part of it.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<ApiKeySource>> source =
//       ApiKeySource::FromFile("/var/run/secrets/api-key", absl::Seconds(1));
//   if (!source.ok()) return source.status();  // names the file and problem
//   std::shared_ptr<const std::string> key = (*source)->Get();
#ifndef USERGATEWAY_GATEWAY_REQUEST_API_KEY_SOURCE_H_
#define USERGATEWAY_GATEWAY_REQUEST_API_KEY_SOURCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/common/clock.h"
#include "gateway/common/file_util.h"

namespace usergateway {

// Thread-safe. Owned by the server; outlives the service that calls Get().
class ApiKeySource {
 public:
  // A key read from `path`, looked at again once per `reload_interval` of
  // `clock` (which must outlive the source). Fails with kInvalidArgument
  // when the file cannot be read or its key fails CheckApiKey; the message
  // starts "API key file <path>" and says which, never the key.
  static absl::StatusOr<std::unique_ptr<ApiKeySource>> FromFile(
      std::string path, absl::Duration reload_interval,
      const Clock& clock = RealClock());
  // A fixed key (trimmed). Fails with kInvalidArgument when it fails
  // CheckApiKey; the message starts with `source`, the name of where the
  // value came from, and never holds the key.
  static absl::StatusOr<std::unique_ptr<ApiKeySource>> FromValue(
      std::string key, absl::string_view source = "GATEWAY_API_KEY");

  // Returns the current key. When the file changed since the last look, it
  // is re-read; if it is then unreadable or its key fails CheckApiKey, the
  // last good key is kept and one warning line (JSON, on stderr) says why:
  // one per change of the file, or per spell of unreadability. A later good
  // key is picked up at the next look. Never fails after creation.
  std::shared_ptr<const std::string> Get();

  // How many times a changed key was loaded after the first (for tests and
  // logs).
  int reloads() const;

  // Called (under the source's lock: keep it cheap, e.g. a counter) after
  // each look at a changed file: true when a new key was loaded, false when
  // the change was refused or the file became unreadable (each problem
  // once, as the warning line). For metrics.
  void SetReloadObserver(std::function<void(bool ok)> observer);

 private:
  ApiKeySource(std::string path, absl::Duration reload_interval,
               const Clock& clock);
  // Looks at the file and, if this version of it was not seen yet, reads
  // and checks it. Returns OK when key_ is this version's key, else why not
  // (key_ unchanged). Logs nothing.
  absl::Status Refresh() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const absl::Duration reload_interval_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const std::string> key_ ABSL_GUARDED_BY(mu_);
  absl::Time next_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // The file version key_ came from.
  FileIdentity loaded_ ABSL_GUARDED_BY(mu_);
  // A version read and refused: not read again, not warned about again.
  FileIdentity refused_ ABSL_GUARDED_BY(mu_);
  bool has_refused_ ABSL_GUARDED_BY(mu_) = false;
  // The file could not be stat'ed or read at the last look (warned once).
  bool unreadable_ ABSL_GUARDED_BY(mu_) = false;
  int reloads_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void(bool)> observer_ ABSL_GUARDED_BY(mu_);
};

// Trims the whitespace (a trailing newline, typically) around a key read
// from a file. Exposed for tests.
std::string TrimKey(const std::string& raw);

// Returns TrimKey(raw) when that is a usable key: non-empty, and every byte
// visible ASCII (0x21..0x7E). Otherwise kInvalidArgument, with a message
// "<source>: the key is empty" or "<source>: the key contains <what>" (a
// control character, a space, DEL, a non-ASCII byte; every kind present),
// never the key itself. `source` names where it came from, e.g.
// "API key file /etc/key" or "GATEWAY_API_KEY".
absl::StatusOr<std::string> CheckApiKey(absl::string_view raw,
                                        absl::string_view source);

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_REQUEST_API_KEY_SOURCE_H_
