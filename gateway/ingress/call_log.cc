#include "gateway/ingress/call_log.h"

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gateway/common/json_escape.h"

namespace usergateway {
namespace {

// Bytes a write(2) to a pipe delivers whole, never interleaved with
// another writer's.
constexpr size_t kAtomicWriteBytes = PIPE_BUF;

std::string FormatTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string FormatDropReport(absl::Time now, uint64_t dropped) {
  std::string line = "{\"ts\":";
  AppendJsonString(FormatTimestamp(now), &line);
  absl::StrAppend(&line, ",\"level\":\"warn\",\"msg\":\"call log: ", dropped,
                  dropped == 1 ? " line" : " lines",
                  " dropped\",\"dropped\":", dropped, "}\n");
  return line;
}

// Writes all of `data`. Returns false when the descriptor refuses it; EINTR
// is retried, and EAGAIN (a non-blocking descriptor) waits until writable.
bool WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) return false;
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace

std::string FormatCallLog(const CallLogEntry& entry) {
  std::string line = "{\"ts\":";
  AppendJsonString(FormatTimestamp(entry.start), &line);
  line += ",\"request_id\":";
  AppendJsonString(entry.request_id, &line);
  line += ",\"user_id\":";
  AppendJsonString(entry.user_id, &line);
  line += ",\"grpc_code\":";
  AppendJsonString(entry.grpc_code, &line);
  if (!entry.reason.empty()) {
    line += ",\"reason\":";
    AppendJsonString(entry.reason, &line);
  }
  absl::StrAppend(&line, ",\"http_status\":", entry.http_status,
                  ",\"attempts\":", entry.attempts);
  absl::StrAppendFormat(&line, ",\"latency_ms\":%.3f,\"upstream_ms\":%.3f}\n",
                        absl::ToDoubleMilliseconds(entry.latency),
                        absl::ToDoubleMilliseconds(entry.upstream_latency));
  return line;
}

CallLogWriter::CallLogWriter(int fd, size_t capacity, const Clock& clock)
    : fd_(fd),
      capacity_(capacity == 0 ? 1 : capacity),
      clock_(clock),
      thread_([this] { Run(); }) {}

CallLogWriter::~CallLogWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void CallLogWriter::Submit(CallLogEntry entry) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    was_empty = queue_.empty();
    queue_.push_back(std::move(entry));
  }
  // The writer sleeps only on an empty queue.
  if (was_empty) cv_.notify_one();
}

void CallLogWriter::Run() {
  pthread_setname_np(pthread_self(), "call-log");
  std::vector<CallLogEntry> batch;
  std::string buffer;
  uint64_t lines = 0;
  for (;;) {
    uint64_t dropped_before_batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      });
      if (queue_.empty()) break;  // stopping, and everything is written
      batch.swap(queue_);
      // Submit counts a drop under the lock, and only while the queue is
      // full: these drops came after every entry of `batch`, and before
      // any entry queued from now on.
      dropped_before_batch = dropped_.load(std::memory_order_relaxed);
    }
    for (const CallLogEntry& entry : batch) {
      std::string line = FormatCallLog(entry);
      if (!buffer.empty() && buffer.size() + line.size() > kAtomicWriteBytes) {
        Flush(&buffer, &lines);
      }
      buffer += line;
      ++lines;
    }
    batch.clear();
    Flush(&buffer, &lines);
    if (dropped_before_batch > reported_) {
      buffer = FormatDropReport(clock_.Now(), dropped_before_batch - reported_);
      reported_ = dropped_before_batch;
      uint64_t report_lines = 0;  // a lost report is not a lost call
      Flush(&buffer, &report_lines);
    }
  }
  // Lines lost to failed writes of the last batch.
  const uint64_t dropped = dropped_.load(std::memory_order_relaxed);
  if (dropped > reported_) {
    buffer = FormatDropReport(clock_.Now(), dropped - reported_);
    reported_ = dropped;
    uint64_t report_lines = 0;
    Flush(&buffer, &report_lines);
  }
}

void CallLogWriter::Flush(std::string* buffer, uint64_t* lines) {
  if (!buffer->empty() && !WriteAll(fd_, *buffer)) {
    // A log must never take the gateway down: count the lines and go on.
    dropped_.fetch_add(*lines, std::memory_order_relaxed);
  }
  buffer->clear();
  *lines = 0;
}

}  // namespace usergateway
