#include "gateway/curl_upstream_client.h"

#include <errno.h>
#include <pthread.h>
#include <simdjson.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>  // NOLINT(build/c++11)
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>  // NOLINT(build/c++11)
#include <queue>
#include <string>
#include <thread>  // NOLINT(build/c++11): the loop threads
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/cpu_count.h"
#include "gateway/curl_handles.h"
#include "gateway/retry_after.h"
#include "gateway/retry_policy.h"

namespace usergateway {
namespace curl_upstream_internal {
namespace {

// The response parser reads the body in place; simdjson needs this many
// readable bytes past its end.
constexpr size_t kBodyPadding = simdjson::SIMDJSON_PADDING;

// Idle easy handles kept for reuse. Beyond this, handles freed by a burst are
// cleaned up rather than kept (each holds buffers of tens of KiB).
constexpr size_t kMaxIdleEasyHandles = 256;

// See CURLOPT_BUFFERSIZE below.
constexpr long kReceiveBufferBytes = 4096;  // NOLINT(runtime/int)

// See CURLOPT_UPLOAD_BUFFERSIZE below: libcurl's minimum.
constexpr long kUploadBufferBytes = 16 * 1024;  // NOLINT(runtime/int)

// Upper bound on one epoll_wait, so that the loop re-checks its state even
// if a wakeup were lost.
constexpr int kMaxPollMs = 1000;

// Socket events taken per epoll_wait; more simply wait for the next round.
constexpr int kMaxEvents = 256;

// libcurl's default CURLMOPT_MAX_CONCURRENT_STREAMS: the streams it opens
// per HTTP/2 connection.
constexpr size_t kStreamsPerConnection = 100;

constexpr absl::string_view kShutdownDetail = "gateway shutting down";
constexpr absl::string_view kCancelDetail = "cancelled by the caller";

enum class Phase {
  kQueued,        // accepted by Start, not yet seen by the loop
  kTransferring,  // an easy handle is in the multi handle
  kBackoff,       // waiting for a retry timer
  kDone,          // the callback has been (or is being) run
};

// One pooled easy handle with what must live as long as its transfer.
struct EasySlot {
  CurlEasy easy;
  CurlSlist headers;
  char errbuf[CURL_ERROR_SIZE];
};

// The state of one call, and the handle returned by Start. The atomics may
// be touched by any thread; every other field belongs to the loop thread
// once the call is queued (the Start() thread fills them in before).
class Call final : public UpstreamCall,
                   public std::enable_shared_from_this<Call> {
 public:
  Call(std::weak_ptr<Loop> loop, size_t max_body)
      : max_body(max_body), loop_(std::move(loop)) {}

  void Cancel() override;

  std::atomic<bool> finished{false};
  std::atomic<bool> cancel_requested{false};

  const size_t max_body;
  UpstreamRequest request;
  UpstreamCallback done;
  absl::Time deadline;  // the caller's, minus the margin, within the cap
  Phase phase = Phase::kQueued;
  UpstreamResult result;
  std::unique_ptr<EasySlot> slot;  // set while transferring
  absl::Time attempt_start;
  absl::Duration attempt_budget;
  bool connected = false;     // CURLOPT_PREREQFUNCTION ran this attempt
  bool body_cap_hit = false;  // the body cap refused data this attempt
  std::string retry_after_raw;

 private:
  const std::weak_ptr<Loop> loop_;
};

// The handle returned for refused calls: their callback already ran.
class FinishedCall final : public UpstreamCall {
 public:
  void Cancel() override {}
};

std::shared_ptr<UpstreamCall> FinishedCallHandle() {
  static const std::shared_ptr<UpstreamCall>* const handle =
      new std::shared_ptr<UpstreamCall>(std::make_shared<FinishedCall>());
  return *handle;
}

// CURLOPT_WRITEFUNCTION: appends to the attempt's body, up to the cap.
size_t OnBody(char* data, size_t size, size_t nmemb, void* userdata) {
  Call* call = static_cast<Call*>(userdata);
  const size_t n = size * nmemb;
  std::string& body = call->result.body;
  if (n > call->max_body - body.size()) {
    call->body_cap_hit = true;
    return 0;  // anything but n aborts the transfer with CURLE_WRITE_ERROR
  }
  const size_t needed = body.size() + n + kBodyPadding;
  if (body.capacity() < needed) {
    body.reserve(std::max(needed, body.capacity() * 2));
  }
  body.append(data, n);
  return n;
}

// CURLOPT_HEADERFUNCTION: called once per header line of every response
// (interim ones included), status line first.
size_t OnHeader(char* data, size_t size, size_t nitems, void* userdata) {
  Call* call = static_cast<Call*>(userdata);
  const size_t n = size * nitems;
  absl::string_view line(data, n);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new response (after a 1xx or a proxy's CONNECT reply): only the
    // final response's headers count.
    call->result.content_type.clear();
    call->retry_after_raw.clear();
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;
  const absl::string_view name = line.substr(0, colon);
  const absl::string_view value =
      absl::StripAsciiWhitespace(line.substr(colon + 1));
  if (absl::EqualsIgnoreCase(name, "content-type")) {
    call->result.content_type.assign(value.data(), value.size());
  } else if (absl::EqualsIgnoreCase(name, "retry-after")) {
    call->retry_after_raw.assign(value.data(), value.size());
  } else if (absl::EqualsIgnoreCase(name, "content-length")) {
    uint64_t length = 0;
    if (absl::SimpleAtoi(value, &length)) {
      if (length > call->max_body) {
        // Refuse before reading a byte of a body we would drop anyway.
        call->body_cap_hit = true;
        return 0;
      }
      call->result.body.reserve(static_cast<size_t>(length) + kBodyPadding);
    }
  }
  return n;
}

// CURLOPT_PREREQFUNCTION: the connection (TCP and TLS) is up or was reused;
// a timeout from now on is not a connect failure.
int OnConnected(void* clientp, char* /*primary_ip*/, char* /*local_ip*/,
                int /*primary_port*/, int /*local_port*/) {
  static_cast<Call*>(clientp)->connected = true;
  return CURL_PREREQFUNC_OK;
}

void EnsurePadding(std::string& body) {
  if (body.capacity() < body.size() + kBodyPadding) {
    body.reserve(body.size() + kBodyPadding);
  }
}

// Resets the outcome to a gateway-side error, keeping attempts and latency.
void SetError(UpstreamResult& result, TransportError error,
              absl::string_view detail) {
  result.error = error;
  result.error_detail.assign(detail.data(), detail.size());
  result.http_status = 0;
  result.body.clear();
  result.content_type.clear();
  result.retry_after.reset();
}

// Returns "" when the request may be sent, else a secret-free reason.
std::string CheckRequest(const UpstreamRequest& request,
                         bool allow_insecure_http) {
  const absl::string_view url = request.url;
  const bool https = absl::StartsWithIgnoreCase(url, "https://");
  const bool http = absl::StartsWithIgnoreCase(url, "http://");
  if (http && !allow_insecure_http) {
    return "refusing an http:// upstream URL: it would send the API key in "
           "clear text (set allow_insecure_http to permit it)";
  }
  if (!https && !http) return "upstream URL must start with https://";
  // A CR or LF would let a value inject headers (or a second request);
  // libcurl sends list entries verbatim.
  static constexpr absl::string_view kBadInName(":\r\n\0 \t", 6);
  static constexpr absl::string_view kBadInValue("\r\n\0", 3);
  for (const Header& header : request.headers) {
    if (header.name.empty() ||
        absl::string_view(header.name).find_first_of(kBadInName) !=
            absl::string_view::npos) {
      return "invalid upstream header name (empty, or with a colon, "
             "whitespace, CR, LF or NUL)";
    }
    if (absl::string_view(header.value).find_first_of(kBadInValue) !=
        absl::string_view::npos) {
      // The value may be a secret: name the header only.
      return absl::StrCat("upstream header \"", header.name,
                          "\" contains CR, LF or NUL");
    }
  }
  return "";
}

// Owns one file descriptor (the epoll instance or the wakeup eventfd) and
// closes it on destruction. Move-only; not thread-safe.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
};

// Returns the time until `due` for epoll_wait, rounded up (waking early
// would only spin until it is due) and capped at `cap_ms`.
int MillisUntil(absl::Time due, absl::Time now, int cap_ms) {
  if (due == absl::InfiniteFuture()) return cap_ms;
  const int64_t until_ns = absl::ToInt64Nanoseconds(due - now);
  if (until_ns <= 0) return 0;
  const int64_t until_ms = (until_ns + 999'999) / 1'000'000;
  return until_ms < cap_ms ? static_cast<int>(until_ms) : cap_ms;
}

struct Timer {
  absl::Time due;
  std::shared_ptr<Call> call;
};

struct TimerLater {
  bool operator()(const Timer& a, const Timer& b) const {
    return a.due > b.due;
  }
};

}  // namespace

// What the loops of one client share: the admission count behind
// max_in_flight and the retry budget. Thread-safe.
class Shared {
 public:
  explicit Shared(const CurlUpstreamOptions& options)
      : max_in_flight(options.max_in_flight),
        budget(options.retry_budget_ratio, options.retry_budget_burst) {}

  // Counts one more call in flight unless max_in_flight already are.
  bool TryAdmit() {
    size_t n = in_flight_.load(std::memory_order_relaxed);
    do {
      if (n >= max_in_flight) return false;
    } while (!in_flight_.compare_exchange_weak(n, n + 1,
                                               std::memory_order_relaxed));
    return true;
  }
  void Release() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

  const size_t max_in_flight;
  RetryBudget budget;

 private:
  std::atomic<size_t> in_flight_{0};
};

// The event loop: owns the multi handle, the pooled easy handles, retry
// timers and every call in flight. Public methods are thread-safe; the
// private ones run on the loop thread only.
//
// The loop is event-driven (curl_multi_socket_action): libcurl tells it
// which sockets to watch (OnSocket) and when its next timeout is due
// (OnTimer); the loop watches them with its own epoll instance, together
// with an eventfd that other threads write to after queueing a command.
// Each wakeup then costs work in proportion to the sockets that are ready,
// not to the number of transfers in flight, as curl_multi_perform would.
class Loop : public std::enable_shared_from_this<Loop> {
 public:
  // `options` is this loop's share of the client's (see LoopShare).
  Loop(const CurlUpstreamOptions& options, std::shared_ptr<Shared> shared,
       size_t index, CurlMulti multi, Fd epoll, Fd wakeup)
      : options_(options),
        shared_(std::move(shared)),
        index_(index),
        policy_(RetryPolicyOptions{options.max_attempts, options.backoff_base,
                                   options.backoff_max}),
        epoll_(std::move(epoll)),
        wakeup_(std::move(wakeup)),
        multi_(std::move(multi)) {}

  ~Loop() { Stop(); }

  // Registers the socket and timer callbacks. Returns the first error.
  CURLMcode InstallCallbacks() {
    CURLM* multi = multi_.get();
    CURLMcode rc = curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, OnSocket);
    if (rc == CURLM_OK) rc = curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    if (rc == CURLM_OK) {
      rc = curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, OnTimer);
    }
    if (rc == CURLM_OK) rc = curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    return rc;
  }

  void StartThread() {
    thread_ = std::thread([this] { Run(); });
    // Named for top -H, perf and gdb: "curl-loop-0", "curl-loop-1", ...
    // (at most 15 characters). Set here rather than in the thread, so that
    // it is in place when Create returns.
    const std::string name = absl::StrCat("curl-loop-", index_);
    pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
  }

  // Calls in flight on this loop, for the client's choice of loop. Relaxed:
  // a hint, exact only when the loop is idle.
  size_t load() const { return load_.load(std::memory_order_relaxed); }

  // Idempotent. Completes every call with kCancelled and joins the thread.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    Wake();
    if (thread_.joinable()) thread_.join();
  }

  std::shared_ptr<UpstreamCall> Start(UpstreamRequest request,
                                      UpstreamCallback done);
  void EnqueueCancel(std::shared_ptr<Call> call);

  void Drain() {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
  }

  bool WaitIdle(absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    auto idle = [this] { return in_flight_ == 0; };
    if (deadline == absl::InfiniteFuture()) {
      idle_cv_.wait(lock, idle);
      return true;
    }
    return idle_cv_.wait_until(lock, absl::ToChronoTime(deadline), idle);
  }

  CurlUpstreamStats Stats() const {
    CurlUpstreamStats stats;
    stats.connections_opened =
        connections_opened_.load(std::memory_order_relaxed);
    stats.transfers = transfers_.load(std::memory_order_relaxed);
    stats.retries = retries_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu_);
    stats.in_flight = in_flight_;
    return stats;
  }

 private:
  // CURLMOPT_SOCKETFUNCTION: libcurl wants `s` watched for `what`
  // (CURL_POLL_IN/OUT/INOUT) or no longer watched (CURL_POLL_REMOVE, sent
  // before libcurl closes a socket). `socketp` is non-null once the socket
  // is in the epoll set (curl_multi_assign). Returns 0; -1 tells libcurl
  // that the socket could not be watched (it fails those transfers).
  static int OnSocket(CURL* easy, curl_socket_t s, int what, void* userp,
                      void* socketp);
  // CURLMOPT_TIMERFUNCTION: libcurl's next timeout is due in `timeout_ms`
  // (-1: none). Only records it: calling back into libcurl from here would
  // recurse, so Run() acts on it. Returns 0.
  static int OnTimer(CURLM* multi, long timeout_ms,  // NOLINT(runtime/int)
                     void* userp);

  // Wakes the loop from any thread: one write to the eventfd.
  void Wake();
  // Reads the eventfd back to zero (loop thread).
  void ClearWake();

  void Run();
  // curl_multi_socket_action on `s` (or CURL_SOCKET_TIMEOUT) followed by
  // reaping the transfers it finished.
  void SocketAction(curl_socket_t s, int ev_bitmask);
  void StartAttempt(Call* call);
  void CancelCall(Call* call);
  void OnTransferDone(Call* call, CURLcode code);
  void FireTimers(absl::Time now);
  void ReadCompletions();
  int PollTimeoutMs(absl::Time now);
  void Shutdown(std::vector<std::shared_ptr<Call>>& queued);
  // Applies the automatic host connection limit on the first request; see
  // max_host_connections in the header.
  void DecideHostLimit(const UpstreamRequest& request);

  // Counts the attempt that ran on `call->slot`, detaches the easy handle
  // from the multi (aborting the transfer if it is still running) and
  // returns it to the pool.
  void EndAttempt(Call* call, absl::Time now);
  void FinishCancelled(Call* call, absl::string_view detail);
  // Runs the callback and forgets the call.
  void Complete(Call* call);

  std::unique_ptr<EasySlot> AcquireSlot();
  void ReleaseSlot(std::unique_ptr<EasySlot> slot);
  bool ConfigureNewEasy(EasySlot& slot);
  bool BuildHeaders(const UpstreamRequest& request, CurlSlist& headers);

  const CurlUpstreamOptions options_;
  const std::shared_ptr<Shared> shared_;
  const size_t index_;
  const RetryPolicy policy_;
  // Declared before the multi handle so that they outlive it: libcurl may
  // still report sockets while the handle is cleaned up.
  const Fd epoll_;
  const Fd wakeup_;  // an eventfd; nonzero means "look at the queues"
  // Declared before the pool so that it is destroyed after the easy handles.
  CurlMulti multi_;
  std::thread thread_;

  // std::mutex rather than absl::Mutex: the system's abseil is not built
  // with ThreadSanitizer, which then cannot see absl::Mutex's ordering and
  // would drown real reports in false ones; pthread mutexes it intercepts.
  // Held only for queue pushes/swaps and counter updates.
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;  // signalled when in_flight_ drops to 0
  std::vector<std::shared_ptr<Call>> start_queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Call>> cancel_queue_ ABSL_GUARDED_BY(mu_);
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<size_t> load_{0};  // in_flight_, readable without the lock
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<uint64_t> connections_opened_{0};
  std::atomic<uint64_t> transfers_{0};
  std::atomic<uint64_t> retries_{0};

  // Loop thread only.
  // When libcurl's timer is due: InfiniteFuture for none, InfinitePast for
  // "at once".
  absl::Time curl_due_ = absl::InfiniteFuture();
  bool host_limit_decided_ = false;
  absl::BitGen gen_;
  absl::flat_hash_map<Call*, std::shared_ptr<Call>> calls_;
  std::vector<std::unique_ptr<EasySlot>> idle_slots_;
  std::priority_queue<Timer, std::vector<Timer>, TimerLater> timers_;
  std::string header_line_;  // scratch for "Name: value"
};

void Call::Cancel() {
  if (finished.load(std::memory_order_acquire)) return;
  if (cancel_requested.exchange(true, std::memory_order_acq_rel)) return;
  std::shared_ptr<Loop> loop = loop_.lock();
  if (loop == nullptr) return;
  loop->EnqueueCancel(shared_from_this());
}

std::shared_ptr<UpstreamCall> Loop::Start(UpstreamRequest request,
                                          UpstreamCallback done) {
  const absl::Time now = absl::Now();
  auto call = std::make_shared<Call>(weak_from_this(),
                                     options_.max_response_bytes);
  call->deadline = std::min(request.deadline - options_.deadline_margin,
                            now + options_.timeout_cap);
  call->request = std::move(request);
  call->done = std::move(done);

  TransportError refusal = TransportError::kNone;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_ || stopping_) {
      refusal = TransportError::kDraining;
    } else if (!shared_->TryAdmit()) {
      refusal = TransportError::kOverloaded;
    } else {
      ++in_flight_;
      load_.fetch_add(1, std::memory_order_relaxed);
      // One wakeup per batch: the loop takes the whole queue when it wakes.
      wake = start_queue_.empty() && cancel_queue_.empty();
      start_queue_.push_back(call);
    }
  }
  if (refusal == TransportError::kNone) {
    // Safe outside the lock: the eventfd lives as long as this Loop.
    if (wake) Wake();
    return call;
  }
  UpstreamResult result;
  result.error = refusal;
  result.error_detail =
      refusal == TransportError::kDraining
          ? std::string("gateway is draining and accepts no new upstream calls")
          : absl::StrCat("too many upstream calls in flight (limit ",
                         shared_->max_in_flight, ")");
  UpstreamCallback callback = std::move(call->done);
  if (callback) callback(std::move(result));
  return FinishedCallHandle();
}

void Loop::EnqueueCancel(std::shared_ptr<Call> call) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // When stopping, the loop cancels everything itself.
    if (stopping_) return;
    wake = start_queue_.empty() && cancel_queue_.empty();
    cancel_queue_.push_back(std::move(call));
  }
  if (wake) Wake();
}

void Loop::Wake() {
  const uint64_t one = 1;
  // Fails only when the counter would overflow, i.e. a wakeup is pending
  // anyway; EINTR cannot happen on a non-blocking eventfd write.
  ssize_t n = write(wakeup_.get(), &one, sizeof(one));
  (void)n;
}

void Loop::ClearWake() {
  uint64_t count = 0;
  ssize_t n = read(wakeup_.get(), &count, sizeof(count));
  (void)n;  // EAGAIN: already zero
}

int Loop::OnSocket(CURL* /*easy*/, curl_socket_t s, int what, void* userp,
                   void* socketp) {
  Loop* loop = static_cast<Loop*>(userp);
  const int epoll_fd = loop->epoll_.get();
  if (what == CURL_POLL_REMOVE) {
    // libcurl forgets `socketp` itself. ENOENT/EBADF are fine: the socket
    // may never have been added, or already be gone from the set.
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, s, nullptr);
    return 0;
  }
  epoll_event event = {};
  if (what & CURL_POLL_IN) event.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) event.events |= EPOLLOUT;
  event.data.fd = s;
  // `socketp` says whether libcurl already had us add this socket; if the
  // kernel disagrees (a socket closed and its number reused behind
  // libcurl's back), fall back to the other operation.
  int op = socketp != nullptr ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  int rc = epoll_ctl(epoll_fd, op, s, &event);
  if (rc != 0 && op == EPOLL_CTL_MOD && errno == ENOENT) {
    op = EPOLL_CTL_ADD;
    rc = epoll_ctl(epoll_fd, op, s, &event);
  } else if (rc != 0 && op == EPOLL_CTL_ADD && errno == EEXIST) {
    op = EPOLL_CTL_MOD;
    rc = epoll_ctl(epoll_fd, op, s, &event);
  }
  if (rc != 0) return -1;
  if (socketp == nullptr) {
    // Any non-null marker: the loop keeps no per-socket state.
    curl_multi_assign(loop->multi_.get(), s, loop);
  }
  return 0;
}

int Loop::OnTimer(CURLM* /*multi*/, long timeout_ms,  // NOLINT(runtime/int)
                  void* userp) {
  Loop* loop = static_cast<Loop*>(userp);
  if (timeout_ms < 0) {
    loop->curl_due_ = absl::InfiniteFuture();
  } else if (timeout_ms == 0) {
    loop->curl_due_ = absl::InfinitePast();
  } else {
    loop->curl_due_ = absl::Now() + absl::Milliseconds(timeout_ms);
  }
  return 0;
}

void Loop::SocketAction(curl_socket_t s, int ev_bitmask) {
  int running = 0;
  curl_multi_socket_action(multi_.get(), s, ev_bitmask, &running);
  if (s == CURL_SOCKET_TIMEOUT) {
    // libcurl's timeouts have millisecond resolution and our clock is not
    // its clock: when we woke a little early nothing expired, and libcurl
    // does not report the unchanged timer again. Re-read it instead.
    long ms = -1;  // NOLINT(runtime/int): libcurl's type
    curl_multi_timeout(multi_.get(), &ms);
    OnTimer(multi_.get(), ms, this);
  }
  ReadCompletions();
}

void Loop::Run() {
  std::vector<std::shared_ptr<Call>> starts;
  std::vector<std::shared_ptr<Call>> cancels;
  std::array<epoll_event, kMaxEvents> events;
  while (true) {
    bool stop = false;
    {
      // Swapping keeps both vectors' capacity: no allocation once warm.
      std::lock_guard<std::mutex> lock(mu_);
      starts.swap(start_queue_);
      cancels.swap(cancel_queue_);
      stop = stopping_;
    }
    if (stop) {
      Shutdown(starts);
      return;
    }
    for (std::shared_ptr<Call>& call : starts) {
      Call* raw = call.get();
      calls_.emplace(raw, std::move(call));
      shared_->budget.OnCall();
      // curl_multi_add_handle sets libcurl's timer to "at once" (OnTimer),
      // which the socket_action below then serves.
      StartAttempt(raw);
    }
    starts.clear();
    for (std::shared_ptr<Call>& call : cancels) CancelCall(call.get());
    cancels.clear();

    FireTimers(absl::Now());
    if (curl_due_ <= absl::Now()) SocketAction(CURL_SOCKET_TIMEOUT, 0);

    const int n = epoll_wait(epoll_.get(), events.data(), kMaxEvents,
                             PollTimeoutMs(absl::Now()));
    // n < 0 is EINTR (anything else would be a bug): go round again.
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wakeup_.get()) {
        // Reset before the queues are read at the top of the loop, so that
        // a command queued after that read wakes us again.
        ClearWake();
        continue;
      }
      const uint32_t ready = events[i].events;
      int mask = 0;
      if (ready & (EPOLLIN | EPOLLHUP)) mask |= CURL_CSELECT_IN;
      if (ready & EPOLLOUT) mask |= CURL_CSELECT_OUT;
      if (ready & EPOLLERR) mask |= CURL_CSELECT_ERR;
      // A socket closed by an earlier action in this batch is unknown to
      // libcurl, which then ignores it.
      SocketAction(fd, mask);
    }
  }
}

int Loop::PollTimeoutMs(absl::Time now) {
  int timeout_ms = MillisUntil(curl_due_, now, kMaxPollMs);
  if (!timers_.empty()) {
    timeout_ms = MillisUntil(timers_.top().due, now, timeout_ms);
  }
  return timeout_ms;
}

void Loop::DecideHostLimit(const UpstreamRequest& request) {
  host_limit_decided_ = true;
  const long limit =  // NOLINT(runtime/int): libcurl's type
      EffectiveMaxHostConnections(options_, request.url);
  if (limit == 0) return;  // unlimited: libcurl's default, already set
  curl_multi_setopt(multi_.get(), CURLMOPT_MAX_HOST_CONNECTIONS, limit);
}

void Loop::FireTimers(absl::Time now) {
  while (!timers_.empty() && timers_.top().due <= now) {
    std::shared_ptr<Call> call = timers_.top().call;
    timers_.pop();
    // A call cancelled during its backoff is already done; skip it.
    if (call->phase == Phase::kBackoff) StartAttempt(call.get());
  }
}

void Loop::ReadCompletions() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    // `msg` dies with curl_multi_remove_handle; copy what we need first.
    CURL* easy = msg->easy_handle;
    const CURLcode code = msg->data.result;
    char* priv = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    OnTransferDone(reinterpret_cast<Call*>(priv), code);
  }
}

void Loop::StartAttempt(Call* call) {
  if (call->cancel_requested.load(std::memory_order_acquire)) {
    FinishCancelled(call, kCancelDetail);
    return;
  }
  const absl::Time now = absl::Now();
  const absl::Duration budget = call->deadline - now;
  if (budget <= absl::ZeroDuration()) {
    if (call->result.attempts == 0) {
      SetError(call->result, TransportError::kDeadlineExceeded,
               "deadline passed before the upstream request was sent");
    }
    // Otherwise the retry no longer fits: report the last attempt's outcome.
    Complete(call);
    return;
  }
  if (call->result.attempts == 0) {
    std::string problem =
        CheckRequest(call->request, options_.allow_insecure_http);
    if (!problem.empty()) {
      SetError(call->result, TransportError::kInternal, problem);
      Complete(call);
      return;
    }
    if (!host_limit_decided_) DecideHostLimit(call->request);
  }
  std::unique_ptr<EasySlot> slot = AcquireSlot();
  if (slot == nullptr) {
    SetError(call->result, TransportError::kInternal,
             "could not create a libcurl easy handle");
    Complete(call);
    return;
  }
  if (!BuildHeaders(call->request, slot->headers)) {
    ReleaseSlot(std::move(slot));
    SetError(call->result, TransportError::kInternal,
             "out of memory building upstream headers");
    Complete(call);
    return;
  }

  UpstreamResult& result = call->result;
  result.error = TransportError::kNone;
  result.error_detail.clear();
  result.http_status = 0;
  result.body.clear();  // keeps the capacity of an earlier attempt
  result.content_type.clear();
  result.retry_after.reset();
  call->retry_after_raw.clear();
  call->connected = false;
  call->body_cap_hit = false;
  slot->errbuf[0] = '\0';

  // CURLOPT_TIMEOUT_MS 0 would mean "no timeout": never pass less than 1.
  const int64_t timeout_ms =
      std::max<int64_t>(1, absl::ToInt64Milliseconds(budget));
  CURL* easy = slot->easy.get();
  CURLcode rc = curl_easy_setopt(easy, CURLOPT_URL, call->request.url.c_str());
  // HTTP/2 is only ever negotiated over TLS (ALPN). Over plain http://,
  // PIPEWAIT would hold every new call back until the first response shows
  // that the connection cannot multiplex: calls would queue behind a slow
  // one. So: h2 with PIPEWAIT for https://, HTTP/1.1 without it otherwise.
  const bool multiplex =
      options_.http2 &&
      absl::StartsWithIgnoreCase(call->request.url, "https://");
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
                          multiplex ? CURL_HTTP_VERSION_2TLS
                                    : CURL_HTTP_VERSION_1_1);
  }
  if (rc == CURLE_OK) {
    // With h2, wait for a connection that may multiplex rather than open
    // one connection per concurrent call while the first is handshaking.
    rc = curl_easy_setopt(easy, CURLOPT_PIPEWAIT, multiplex ? 1L : 0L);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                          static_cast<curl_off_t>(call->request.body.size()));
  }
  if (rc == CURLE_OK) {
    // Not copied: the body lives in `call` until the transfer is detached.
    rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->request.body.data());
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_HTTPHEADER, slot->headers.get());
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                          static_cast<long>(timeout_ms));  // NOLINT
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_PRIVATE, call);
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_WRITEDATA, call);
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_HEADERDATA, call);
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_PREREQDATA, call);
  if (rc != CURLE_OK) {
    slot->headers.Reset();
    ReleaseSlot(std::move(slot));
    SetError(result, TransportError::kInternal,
             absl::StrCat("could not set up the upstream transfer: ",
                          curl_easy_strerror(rc)));
    Complete(call);
    return;
  }
  const CURLMcode mrc = curl_multi_add_handle(multi_.get(), easy);
  if (mrc != CURLM_OK) {
    slot->headers.Reset();
    ReleaseSlot(std::move(slot));
    SetError(result, TransportError::kInternal,
             absl::StrCat("could not start the upstream transfer: ",
                          curl_multi_strerror(mrc)));
    Complete(call);
    return;
  }
  call->slot = std::move(slot);
  call->phase = Phase::kTransferring;
  call->attempt_start = now;
  call->attempt_budget = budget;
}

bool Loop::BuildHeaders(const UpstreamRequest& request, CurlSlist& headers) {
  headers.Reset();
  for (const Header& header : request.headers) {
    header_line_.assign(header.name);
    // "Name:" would tell libcurl to remove the header; "Name;" sends it
    // with an empty value.
    if (header.value.empty()) {
      header_line_.push_back(';');
    } else {
      header_line_.append(": ").append(header.value);
    }
    if (!headers.Append(header_line_.c_str())) return false;
  }
  // No "Expect: 100-continue": it costs a round trip (or a 1 s stall with
  // servers that ignore it) for a body of a few dozen bytes.
  return headers.Append("Expect:");
}

void Loop::EndAttempt(Call* call, absl::Time now) {
  std::unique_ptr<EasySlot> slot = std::move(call->slot);
  CURL* easy = slot->easy.get();
  long connects = 0;  // NOLINT(runtime/int): libcurl's type
  if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK &&
      connects > 0) {
    connections_opened_.fetch_add(static_cast<uint64_t>(connects),
                                  std::memory_order_relaxed);
  }
  transfers_.fetch_add(1, std::memory_order_relaxed);
  // Aborts a running transfer; libcurl closes its connection (HTTP/1.1)
  // or resets the stream (HTTP/2).
  curl_multi_remove_handle(multi_.get(), easy);
  slot->headers.Reset();
  ReleaseSlot(std::move(slot));
  call->result.attempts++;
  call->result.upstream_latency += now - call->attempt_start;
}

void Loop::OnTransferDone(Call* call, CURLcode code) {
  const absl::Time now = absl::Now();
  UpstreamResult& result = call->result;
  CURL* easy = call->slot->easy.get();
  long status = 0;  // NOLINT(runtime/int): libcurl's type
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  result.http_status = static_cast<int>(status);
  if (code != CURLE_OK) {
    const char* errbuf = call->slot->errbuf;
    result.error_detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
  }
  EndAttempt(call, now);

  if (!call->retry_after_raw.empty()) {
    result.retry_after = ParseRetryAfter(call->retry_after_raw, now);
  }
  if (code == CURLE_OK) {
    result.error = TransportError::kNone;
  } else {
    CurlFailure failure;
    failure.code = code;
    failure.connected = call->connected;
    // The attempt's timeout was the call's remaining budget; when that was
    // no longer than the connect timeout, any timeout is the deadline's.
    failure.deadline_reached =
        now >= call->deadline ||
        call->attempt_budget <= options_.connect_timeout;
    failure.body_cap_hit = call->body_cap_hit;
    result.error = ClassifyCurlFailure(failure);
    if (result.error == TransportError::kResponseTooLarge) {
      result.error_detail =
          absl::StrCat("upstream response body larger than ",
                       options_.max_response_bytes, " bytes");
    }
    // A partial body must not be mistaken for a response.
    result.body.clear();
  }
  EnsurePadding(result.body);

  std::optional<absl::Duration> wait =
      policy_.NextDelay(result, result.attempts, now, call->deadline, gen_);
  if (wait.has_value() &&
      !call->cancel_requested.load(std::memory_order_acquire) &&
      shared_->budget.TryConsume()) {
    retries_.fetch_add(1, std::memory_order_relaxed);
    call->phase = Phase::kBackoff;
    timers_.push(Timer{now + *wait, call->shared_from_this()});
    return;
  }
  Complete(call);
}

void Loop::CancelCall(Call* call) {
  switch (call->phase) {
    case Phase::kTransferring:
      EndAttempt(call, absl::Now());
      FinishCancelled(call, kCancelDetail);
      return;
    case Phase::kBackoff:
      // The timer stays in the heap and is skipped when it fires.
      FinishCancelled(call, kCancelDetail);
      return;
    case Phase::kQueued:  // StartAttempt saw the flag already
    case Phase::kDone:
      return;
  }
}

void Loop::FinishCancelled(Call* call, absl::string_view detail) {
  SetError(call->result, TransportError::kCancelled, detail);
  EnsurePadding(call->result.body);
  Complete(call);
}

void Loop::Complete(Call* call) {
  auto it = calls_.find(call);
  // Keeps the call alive through its callback even if the caller dropped
  // its handle.
  std::shared_ptr<Call> keep = std::move(it->second);
  calls_.erase(it);
  call->phase = Phase::kDone;
  call->finished.store(true, std::memory_order_release);
  UpstreamCallback done = std::move(call->done);
  UpstreamResult result = std::move(call->result);
  // The handle may outlive the call by a lot; free the request now.
  call->request = UpstreamRequest();
  // Free the call's slot before its callback runs: a caller that starts its
  // next call as soon as it sees this one's reply must find room, and the
  // same (now idle) loop with its warm connection.
  shared_->Release();
  load_.fetch_sub(1, std::memory_order_relaxed);
  if (done) done(std::move(result));
  // Whatever the callback captured dies here, before the call stops counting
  // as in flight (WaitIdle's promise).
  done = nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  if (--in_flight_ == 0) idle_cv_.notify_all();
}

void Loop::Shutdown(std::vector<std::shared_ptr<Call>>& queued) {
  for (std::shared_ptr<Call>& call : queued) {
    Call* raw = call.get();
    calls_.emplace(raw, std::move(call));
  }
  queued.clear();
  std::vector<std::shared_ptr<Call>> all;
  all.reserve(calls_.size());
  for (const auto& entry : calls_) all.push_back(entry.second);
  const absl::Time now = absl::Now();
  for (const std::shared_ptr<Call>& call : all) {
    if (call->phase == Phase::kTransferring) EndAttempt(call.get(), now);
    FinishCancelled(call.get(), kShutdownDetail);
  }
  timers_ = decltype(timers_)();
  // Easy handles are cleaned up on the thread that used them.
  idle_slots_.clear();
  // The multi handle may be cleaned up on another thread, once this one is
  // gone: nothing is left to watch or time by then.
  curl_multi_setopt(multi_.get(), CURLMOPT_SOCKETFUNCTION, nullptr);
  curl_multi_setopt(multi_.get(), CURLMOPT_TIMERFUNCTION, nullptr);
}

std::unique_ptr<EasySlot> Loop::AcquireSlot() {
  if (!idle_slots_.empty()) {
    std::unique_ptr<EasySlot> slot = std::move(idle_slots_.back());
    idle_slots_.pop_back();
    return slot;
  }
  auto slot = std::make_unique<EasySlot>();
  slot->easy = CurlEasy::Create();
  if (!slot->easy || !ConfigureNewEasy(*slot)) return nullptr;
  return slot;
}

void Loop::ReleaseSlot(std::unique_ptr<EasySlot> slot) {
  // Handles are reused without curl_easy_reset: the options set in
  // ConfigureNewEasy stay, and StartAttempt overwrites every per-call one.
  if (idle_slots_.size() < kMaxIdleEasyHandles) {
    idle_slots_.push_back(std::move(slot));
  }
}

bool Loop::ConfigureNewEasy(EasySlot& slot) {
  CURL* easy = slot.easy.get();
  const char* protocols = options_.allow_insecure_http ? "http,https" : "https";
  // NOLINTBEGIN(runtime/int): libcurl takes long options.
  CURLcode rc = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  // Redirects would carry the bearer token elsewhere: report them instead.
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, protocols);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (rc == CURLE_OK && !options_.ca_bundle.empty()) {
    rc = curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(
        easy, CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(std::max<int64_t>(
            1, absl::ToInt64Milliseconds(options_.connect_timeout))));
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  if (rc == CURLE_OK) {
    // libcurl's receive buffer is 16 KiB per easy handle, held for as long
    // as a call is in flight. A user object is ~2 KiB: 4 KiB buffers cut
    // the memory of 10,000 calls in flight by ~120 MB at the cost of an
    // extra recv(2) for the rare body larger than that.
    rc = curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, kReceiveBufferBytes);
  }
  if (rc == CURLE_OK) {
    // Over HTTP/2 libcurl sends the body through an upload buffer of 64 KiB
    // per transfer (over HTTP/1.1 the body goes out with the headers). A
    // request body is well under 1 KiB: its minimum, 16 KiB, is plenty and
    // saves 48 KiB of heap per h2 call in flight (heaptrack, 3,000 held h2
    // calls: 183 MB in these buffers).
    rc = curl_easy_setopt(easy, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBufferBytes);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, OnConnected);
  }
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, slot.errbuf);
  }
  // NOLINTEND(runtime/int)
  return rc == CURLE_OK;
}

}  // namespace curl_upstream_internal

namespace {

absl::Status ValidateOptions(const CurlUpstreamOptions& options) {
  if (options.max_attempts < 1) {
    return absl::InvalidArgumentError("max_attempts must be at least 1");
  }
  if (options.max_in_flight < 1) {
    return absl::InvalidArgumentError("max_in_flight must be at least 1");
  }
  if (options.max_response_bytes < 1) {
    return absl::InvalidArgumentError("max_response_bytes must be positive");
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.timeout_cap <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "connect_timeout and timeout_cap must be positive");
  }
  if (options.deadline_margin < absl::ZeroDuration() ||
      options.backoff_base < absl::ZeroDuration() ||
      options.backoff_max < options.backoff_base) {
    return absl::InvalidArgumentError(
        "deadline_margin and backoff_base must not be negative, and "
        "backoff_max not below backoff_base");
  }
  if (!(options.retry_budget_ratio >= 0) ||
      !(options.retry_budget_burst >= 0)) {
    return absl::InvalidArgumentError(
        "retry_budget_ratio and retry_budget_burst must not be negative");
  }
  if (options.loops > kMaxLoops) {
    return absl::InvalidArgumentError(
        absl::StrCat("loops must be at most ", kMaxLoops));
  }
  if (options.max_host_connections < 0 || options.max_total_connections < 0) {
    return absl::InvalidArgumentError(
        "connection limits must not be negative");
  }
  if (!options.ca_bundle.empty()) {
    // Fail at start-up, not on the first call.
    std::FILE* file = std::fopen(options.ca_bundle.c_str(), "r");
    if (file == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read CA bundle ", options.ca_bundle));
    }
    std::fclose(file);
  }
  return absl::OkStatus();
}

}  // namespace

long EffectiveMaxHostConnections(  // NOLINT(runtime/int): libcurl's type
    const CurlUpstreamOptions& options, absl::string_view url) {
  if (options.max_host_connections > 0) return options.max_host_connections;
  if (!options.http2 || !absl::StartsWithIgnoreCase(url, "https://")) {
    return 0;
  }
  // NOLINTNEXTLINE(runtime/int)
  return static_cast<long>(
      (options.max_in_flight + curl_upstream_internal::kStreamsPerConnection -
       1) /
      curl_upstream_internal::kStreamsPerConnection);
}

TransportError ClassifyCurlFailure(const CurlFailure& failure) {
  switch (failure.code) {
    case CURLE_OK:
      return TransportError::kNone;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return TransportError::kDns;
    case CURLE_COULDNT_CONNECT:
      return TransportError::kConnect;
    case CURLE_OPERATION_TIMEDOUT:
      return !failure.connected && !failure.deadline_reached
                 ? TransportError::kConnect
                 : TransportError::kDeadlineExceeded;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return TransportError::kConnectionReset;
    case CURLE_PEER_FAILED_VERIFICATION:  // also CURLE_SSL_CACERT
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return TransportError::kTlsUntrusted;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:  // our configuration, not the peer's
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return TransportError::kTlsHandshake;
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return TransportError::kHttp2;
    case CURLE_WRITE_ERROR:
      return failure.body_cap_hit ? TransportError::kResponseTooLarge
                                  : TransportError::kProtocol;
    case CURLE_FILESIZE_EXCEEDED:
      return TransportError::kResponseTooLarge;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_FAILED_INIT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_UNKNOWN_OPTION:
      return TransportError::kInternal;
    default:
      return TransportError::kProtocol;
  }
}

size_t IdleConnectionCacheSize(const CurlUpstreamOptions& options) {
  size_t size = options.max_in_flight;
  if (options.max_total_connections > 0) {
    size = std::min(size, static_cast<size_t>(options.max_total_connections));
  }
  return std::max<size_t>(size, 1);
}

namespace {

// Creates loop `index` (not yet running) with its share of the options.
absl::StatusOr<std::shared_ptr<curl_upstream_internal::Loop>> CreateLoop(
    const CurlUpstreamOptions& options,
    std::shared_ptr<curl_upstream_internal::Shared> shared, size_t index) {
  CurlMulti multi = CurlMulti::Create();
  if (!multi) return absl::InternalError("curl_multi_init failed");
  // NOLINTBEGIN(runtime/int): libcurl takes long options.
  CURLMcode rc = curl_multi_setopt(multi.get(), CURLMOPT_PIPELINING,
                                   options.http2 ? CURLPIPE_MULTIPLEX
                                                 : CURLPIPE_NOTHING);
  if (rc == CURLM_OK) {
    rc = curl_multi_setopt(multi.get(), CURLMOPT_MAX_HOST_CONNECTIONS,
                           static_cast<long>(options.max_host_connections));
  }
  if (rc == CURLM_OK) {
    rc = curl_multi_setopt(multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS,
                           static_cast<long>(options.max_total_connections));
  }
  if (rc == CURLM_OK) {
    // libcurl's idle-connection cache defaults to 4x the easy handles added
    // at the moment, which shrinks whenever calls complete: measured, 440 new
    // upstream connections per 5,000 calls at concurrency 64 (strace). Keep
    // up to one idle connection per call the loop may have in flight.
    rc = curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS,
                           static_cast<long>(IdleConnectionCacheSize(options)));
  }
  // NOLINTEND(runtime/int)
  if (rc != CURLM_OK) {
    return absl::InternalError(absl::StrCat("curl_multi_setopt failed: ",
                                            curl_multi_strerror(rc)));
  }
  curl_upstream_internal::Fd epoll(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) {
    return absl::InternalError(
        absl::StrCat("epoll_create1 failed: errno ", errno));
  }
  curl_upstream_internal::Fd wakeup(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wakeup.valid()) {
    return absl::InternalError(absl::StrCat("eventfd failed: errno ", errno));
  }
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.fd = wakeup.get();
  if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wakeup.get(), &event) != 0) {
    return absl::InternalError(
        absl::StrCat("epoll_ctl(eventfd) failed: errno ", errno));
  }
  auto loop = std::make_shared<curl_upstream_internal::Loop>(
      options, std::move(shared), index, std::move(multi), std::move(epoll),
      std::move(wakeup));
  rc = loop->InstallCallbacks();
  if (rc != CURLM_OK) {
    return absl::InternalError(absl::StrCat("curl_multi_setopt failed: ",
                                            curl_multi_strerror(rc)));
  }
  return loop;
}

// The share of `total` that part `index` of `parts` gets, the remainder
// going to the first parts: the shares add up to `total`.
long SplitLimit(long total, size_t parts,  // NOLINT(runtime/int)
                size_t index) {
  const long n = static_cast<long>(parts);  // NOLINT(runtime/int)
  return total / n + (static_cast<long>(index) < total % n ? 1 : 0);  // NOLINT
}

}  // namespace

size_t EffectiveLoopCount(const CurlUpstreamOptions& options,
                          size_t auto_loops) {
  size_t loops = options.loops;
  if (loops == 0) loops = std::min(auto_loops, kMaxAutoLoops);
  for (long limit :  // NOLINT(runtime/int)
       {options.max_host_connections, options.max_total_connections}) {
    if (limit > 0) loops = std::min(loops, static_cast<size_t>(limit));
  }
  return std::max<size_t>(loops, 1);
}

CurlUpstreamOptions LoopShare(const CurlUpstreamOptions& options,
                              size_t loops, size_t index) {
  CurlUpstreamOptions share = options;
  share.loops = 1;
  share.max_in_flight = (options.max_in_flight + loops - 1) / loops;
  if (options.max_host_connections > 0) {
    share.max_host_connections =
        SplitLimit(options.max_host_connections, loops, index);
  }
  if (options.max_total_connections > 0) {
    share.max_total_connections =
        SplitLimit(options.max_total_connections, loops, index);
  }
  return share;
}

absl::StatusOr<std::unique_ptr<CurlUpstreamClient>> CurlUpstreamClient::Create(
    const CurlUpstreamOptions& options) {
  absl::Status valid = ValidateOptions(options);
  if (!valid.ok()) return valid;
  absl::Status init = EnsureCurlGlobalInit();
  if (!init.ok()) return init;
  // The CPU count is read only when it decides.
  const size_t count = EffectiveLoopCount(
      options, options.loops == 0 ? AvailableCpus() : kMaxAutoLoops);
  auto shared = std::make_shared<curl_upstream_internal::Shared>(options);
  std::vector<std::shared_ptr<curl_upstream_internal::Loop>> loops;
  loops.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    absl::StatusOr<std::shared_ptr<curl_upstream_internal::Loop>> loop =
        CreateLoop(LoopShare(options, count, i), shared, i);
    // Loops created so far stop (and join) as `loops` goes out of scope.
    if (!loop.ok()) return loop.status();
    loops.push_back(*std::move(loop));
  }
  for (const auto& loop : loops) loop->StartThread();
  return std::unique_ptr<CurlUpstreamClient>(
      new CurlUpstreamClient(std::move(loops)));
}

CurlUpstreamClient::CurlUpstreamClient(
    std::vector<std::shared_ptr<curl_upstream_internal::Loop>> loops)
    : loops_(std::move(loops)) {}

CurlUpstreamClient::~CurlUpstreamClient() {
  for (const auto& loop : loops_) loop->Stop();
}

std::shared_ptr<UpstreamCall> CurlUpstreamClient::Start(
    UpstreamRequest request, UpstreamCallback done) {
  // The least loaded loop; ties go to the first, so that light traffic
  // stays on one loop and its warm connections.
  curl_upstream_internal::Loop* best = loops_[0].get();
  size_t best_load = best->load();
  for (size_t i = 1; i < loops_.size() && best_load > 0; ++i) {
    const size_t load = loops_[i]->load();
    if (load < best_load) {
      best = loops_[i].get();
      best_load = load;
    }
  }
  return best->Start(std::move(request), std::move(done));
}

void CurlUpstreamClient::Drain() {
  for (const auto& loop : loops_) loop->Drain();
}

bool CurlUpstreamClient::WaitIdle(absl::Time deadline) {
  bool idle = true;
  for (const auto& loop : loops_) idle = loop->WaitIdle(deadline) && idle;
  return idle;
}

CurlUpstreamStats CurlUpstreamClient::Stats() const {
  CurlUpstreamStats total;
  for (const auto& loop : loops_) {
    const CurlUpstreamStats stats = loop->Stats();
    total.connections_opened += stats.connections_opened;
    total.transfers += stats.transfers;
    total.retries += stats.retries;
    total.in_flight += stats.in_flight;
  }
  return total;
}

}  // namespace usergateway
