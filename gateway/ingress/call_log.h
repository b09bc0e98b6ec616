// One structured JSON line per call, for operators: request id, user id,
// gRPC code, HTTP status, attempts, latency. Never the API key, the body or
// any token: CallLogEntry has no field that could hold them.
//
// The lines are written by a CallLogWriter, never by the thread that
// finishes a call (usually an upstream loop thread): that thread only queues
// the entry, and the writer's own thread formats and writes it. A stderr
// that is slow or stuck (a full pipe nobody reads) therefore never stalls a
// loop; when the queue is full, entries are dropped and counted, and the
// writer says so in the log itself once it has caught up:
//
//   {"ts":"2026-11-29T06:29:23.001Z","level":"warn",
//    "msg":"call log: 17 lines dropped","dropped":17}      (one line)
//
// Example:
//
//   CallLogWriter writer;             // stderr, kDefaultCallLogCapacity
//   writer.Submit(std::move(entry));  // queues, never waits for I/O
//   uint64_t lost = writer.dropped(); // e.g. for a metric, at scrape time
//   // ~CallLogWriter writes whatever is still queued, then joins.
#ifndef USERGATEWAY_GATEWAY_INGRESS_CALL_LOG_H_
#define USERGATEWAY_GATEWAY_INGRESS_CALL_LOG_H_

#include <unistd.h>

#include <atomic>
#include <condition_variable>  // NOLINT(build/c++11)
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>  // NOLINT(build/c++11)
#include <string>
#include <thread>  // NOLINT(build/c++11)
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/common/clock.h"

namespace usergateway {

struct CallLogEntry {
  absl::Time start;
  std::string request_id;
  std::string user_id;
  std::string grpc_code;  // e.g. "OK", "NOT_FOUND"
  std::string reason;     // ErrorInfo reason, empty on success
  int http_status = 0;    // 0 when no response was received
  int attempts = 0;
  absl::Duration latency;
  absl::Duration upstream_latency;
};

// Where a call's log entry goes: a CallLogWriter in production, a recorder
// in tests. Called once per call, on the thread that finishes it, so it
// must not block.
using CallLogSink = std::function<void(const CallLogEntry&)>;

// Formats `entry` as one JSON object followed by '\n'.
std::string FormatCallLog(const CallLogEntry& entry);

// How many entries a CallLogWriter holds by default.
inline constexpr size_t kDefaultCallLogCapacity = 8192;

// Writes call log lines to a file descriptor from a thread of its own.
//
// Submit only moves the entry into a bounded queue; the writer thread takes
// the whole queue at once, formats each entry (FormatCallLog) and writes the
// lines with write(2), several whole lines per write but never more than
// PIPE_BUF bytes (unless one line is longer), so that lines never interleave
// with other writers of the same pipe. At most `capacity` entries wait in
// the queue, plus the batch being written.
//
// Drops: an entry submitted while `capacity` entries wait is dropped, and
// so are the lines of a write(2) that fails (EBADF, EPIPE, ...; EINTR and
// EAGAIN are retried). Both count in dropped(). After writing the batch that
// was queued ahead of a drop, the writer adds one line
//   {"ts":...,"level":"warn","msg":"call log: N lines dropped","dropped":N}
// for the N entries dropped since its last such line.
//
// Owned by whoever makes it (UserProfileService makes one for its default
// sink). Thread-safe: Submit and dropped() from any thread.
class CallLogWriter {
 public:
  // Starts the writer thread, writing to `fd`, which is not owned and must
  // stay open until the destructor returns (stderr by default). `capacity`
  // is how many entries may wait; 0 counts as 1. `clock` stamps the "lines
  // dropped" lines and must outlive the writer.
  explicit CallLogWriter(int fd = STDERR_FILENO,
                         size_t capacity = kDefaultCallLogCapacity,
                         const Clock& clock = RealClock());

  // Writes every entry still queued, then a "lines dropped" line if any
  // drop is unreported, then joins the thread. This may wait on `fd` (a
  // full pipe) for as long as writing takes.
  ~CallLogWriter();

  CallLogWriter(const CallLogWriter&) = delete;
  CallLogWriter& operator=(const CallLogWriter&) = delete;

  // Queues `entry` and returns. Never waits for the writer thread or for
  // I/O: it takes a lock that anyone holds only to push onto or swap the
  // queue. When the queue is full, drops `entry` and counts it.
  void Submit(CallLogEntry entry);

  // Entries dropped so far (the queue was full, or their write failed).
  // Only ever grows; lock-free, for a metrics exporter to read at scrape
  // time.
  uint64_t dropped() const {
    return dropped_.load(std::memory_order_relaxed);
  }

 private:
  void Run();
  // Writes the lines in `buffer` (`lines` of them) in one write(2) (retried
  // until done); on failure counts them as dropped. Clears `buffer`.
  void Flush(std::string* buffer, uint64_t* lines);

  const int fd_;
  const size_t capacity_;
  const Clock& clock_;

  // std::mutex rather than absl::Mutex: the system's abseil is not built
  // with ThreadSanitizer, which then cannot see absl::Mutex's ordering (see
  // gateway/upstream/attempt_scheduler.h).
  std::mutex mu_;
  std::condition_variable cv_;  // the queue became non-empty, or stopping_
  std::vector<CallLogEntry> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> dropped_{0};
  // Drops already reported in the log; the writer thread's own.
  uint64_t reported_ = 0;

  std::thread thread_;  // last: starts after everything above is set up
};

}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_INGRESS_CALL_LOG_H_
