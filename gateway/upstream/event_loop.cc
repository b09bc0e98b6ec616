#include "gateway/upstream/event_loop.h"

#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/common/clock.h"
#include "gateway/upstream/upstream_options.h"

namespace usergateway {
namespace upstream_internal {
namespace {

// Upper bound on one epoll_wait, so that the loop re-checks its state even
// if a wakeup were lost.
constexpr int kMaxPollMs = 1000;

// Socket events taken per epoll_wait; more simply wait for the next round.
constexpr int kMaxEvents = 256;

// libcurl measures its timeouts on its own (real, monotonic) clock.
absl::Time RealNow() { return RealClock().Now(); }

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void Fd::Reset() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

int MillisUntil(absl::Time due, absl::Time now, int cap_ms) {
  if (due == absl::InfiniteFuture()) return cap_ms;
  const int64_t until_ns = absl::ToInt64Nanoseconds(due - now);
  if (until_ns <= 0) return 0;
  const int64_t until_ms = (until_ns + 999'999) / 1'000'000;
  return until_ms < cap_ms ? static_cast<int>(until_ms) : cap_ms;
}

absl::StatusOr<std::unique_ptr<CurlEventLoop>> CurlEventLoop::Create(
    const CurlUpstreamOptions& options) {
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
    // at the moment, which shrinks whenever calls complete and so closes
    // warm connections (BENCHMARKS.md). Keep up to one idle connection per
    // call the loop may have in flight.
    rc = curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS,
                           static_cast<long>(IdleConnectionCacheSize(options)));
  }
  // NOLINTEND(runtime/int)
  if (rc != CURLM_OK) {
    return absl::InternalError(absl::StrCat("curl_multi_setopt failed: ",
                                            curl_multi_strerror(rc)));
  }
  Fd epoll(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) {
    return absl::InternalError(
        absl::StrCat("epoll_create1 failed: errno ", errno));
  }
  Fd wakeup(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
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
  std::unique_ptr<CurlEventLoop> loop(
      new CurlEventLoop(std::move(multi), std::move(epoll), std::move(wakeup)));
  rc = loop->InstallCallbacks();
  if (rc != CURLM_OK) {
    return absl::InternalError(absl::StrCat("curl_multi_setopt failed: ",
                                            curl_multi_strerror(rc)));
  }
  return loop;
}

CurlEventLoop::CurlEventLoop(CurlMulti multi, Fd epoll, Fd wakeup)
    : epoll_(std::move(epoll)),
      wakeup_(std::move(wakeup)),
      multi_(std::move(multi)) {}

CurlEventLoop::~CurlEventLoop() { Stop(); }

CURLMcode CurlEventLoop::InstallCallbacks() {
  CURLM* multi = multi_.get();
  CURLMcode rc = curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, OnSocket);
  if (rc == CURLM_OK) rc = curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  if (rc == CURLM_OK) {
    rc = curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, OnTimer);
  }
  if (rc == CURLM_OK) rc = curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  return rc;
}

void CurlEventLoop::Start(Handler* handler, const std::string& thread_name) {
  handler_ = handler;
  thread_ = std::thread([this] { Run(); });
  // Set here rather than in the thread, so that it is in place when the
  // caller goes on.
  pthread_setname_np(thread_.native_handle(),
                     thread_name.substr(0, 15).c_str());
}

void CurlEventLoop::Stop() {
  stop_requested_.store(true, std::memory_order_release);
  Wake();
  if (thread_.joinable()) thread_.join();
}

void CurlEventLoop::Wake() {
  const uint64_t one = 1;
  // Fails only when the counter would overflow, i.e. a wakeup is pending
  // anyway; EINTR cannot happen on a non-blocking eventfd write.
  ssize_t n = write(wakeup_.get(), &one, sizeof(one));
  (void)n;
}

void CurlEventLoop::ClearWake() {
  uint64_t count = 0;
  ssize_t n = read(wakeup_.get(), &count, sizeof(count));
  (void)n;  // EAGAIN: already zero
}

CURLMcode CurlEventLoop::Add(CURL* easy) {
  // Sets libcurl's timer to "at once" (OnTimer), which the next turn serves.
  return curl_multi_add_handle(multi_.get(), easy);
}

void CurlEventLoop::Remove(CURL* easy) {
  curl_multi_remove_handle(multi_.get(), easy);
}

void CurlEventLoop::SetMaxHostConnections(long limit) {  // NOLINT
  curl_multi_setopt(multi_.get(), CURLMOPT_MAX_HOST_CONNECTIONS, limit);
}

int CurlEventLoop::OnSocket(CURL* /*easy*/, curl_socket_t s, int what,
                            void* userp, void* socketp) {
  CurlEventLoop* loop = static_cast<CurlEventLoop*>(userp);
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

int CurlEventLoop::OnTimer(CURLM* /*multi*/,
                           long timeout_ms,  // NOLINT(runtime/int)
                           void* userp) {
  CurlEventLoop* loop = static_cast<CurlEventLoop*>(userp);
  if (timeout_ms < 0) {
    loop->curl_due_ = absl::InfiniteFuture();
  } else if (timeout_ms == 0) {
    loop->curl_due_ = absl::InfinitePast();
  } else {
    loop->curl_due_ = RealNow() + absl::Milliseconds(timeout_ms);
  }
  return 0;
}

void CurlEventLoop::SocketAction(curl_socket_t s, int ev_bitmask) {
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

void CurlEventLoop::ReadCompletions() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    // `msg` dies with curl_multi_remove_handle; copy what we need first.
    CURL* easy = msg->easy_handle;
    const CURLcode code = msg->data.result;
    handler_->OnTransferDone(easy, code);
  }
}

int CurlEventLoop::PollTimeoutMs() {
  int timeout_ms = MillisUntil(curl_due_, RealNow(), kMaxPollMs);
  const absl::Duration until_timer = handler_->TimeUntilNextTimer();
  if (until_timer != absl::InfiniteDuration()) {
    const absl::Time now = RealNow();
    timeout_ms = MillisUntil(now + until_timer, now, timeout_ms);
  }
  return timeout_ms;
}

void CurlEventLoop::Run() {
  std::array<epoll_event, kMaxEvents> events;
  while (true) {
    if (stop_requested_.load(std::memory_order_acquire)) {
      handler_->OnStop();
      // The multi handle may be cleaned up on another thread, once this one
      // is gone: nothing is left to watch or time by then.
      curl_multi_setopt(multi_.get(), CURLMOPT_SOCKETFUNCTION, nullptr);
      curl_multi_setopt(multi_.get(), CURLMOPT_TIMERFUNCTION, nullptr);
      return;
    }
    handler_->OnTurn();
    if (curl_due_ <= RealNow()) SocketAction(CURL_SOCKET_TIMEOUT, 0);

    const int n =
        epoll_wait(epoll_.get(), events.data(), kMaxEvents, PollTimeoutMs());
    // n < 0 is EINTR (anything else would be a bug): go round again.
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wakeup_.get()) {
        // Reset before the handler looks at its queues in the next turn, so
        // that a command queued after that look wakes us again.
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

}  // namespace upstream_internal
}  // namespace usergateway
