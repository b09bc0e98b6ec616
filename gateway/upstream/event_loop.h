// The event engine of one upstream loop: a thread that waits on libcurl's
// sockets, libcurl's timer, a wakeup eventfd and its handler's timers in one
// epoll_wait, and drives a libcurl multi handle with
// curl_multi_socket_action. It knows nothing of calls, attempts or retries:
// those belong to its Handler (AttemptScheduler).
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<CurlEventLoop>> loop =
//       CurlEventLoop::Create(options);
//   if (!loop.ok()) return loop.status();
//   (*loop)->Start(&handler, "curl-loop-0");  // handler.OnTurn() runs now
//   ...                                       // on the loop thread
//   (*loop)->Wake();  // from any thread, after queueing work for handler
//   (*loop)->Stop();  // handler.OnStop() runs, then the thread joins
//
// Why event-driven: libcurl tells the loop which sockets to watch
// (CURLMOPT_SOCKETFUNCTION) and when its next timeout is due
// (CURLMOPT_TIMERFUNCTION), so a wakeup costs work in proportion to the
// sockets that are ready, not to the transfers in flight (10,000 held calls
// are fine).
//
// Time: libcurl's timer is real time (libcurl has its own clock); the
// handler's timers are in the handler's clock and reach the engine as a
// duration (Handler::TimeUntilNextTimer), so a simulated clock works.
#ifndef USERGATEWAY_GATEWAY_UPSTREAM_EVENT_LOOP_H_
#define USERGATEWAY_GATEWAY_UPSTREAM_EVENT_LOOP_H_

#include <curl/curl.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>  // NOLINT(build/c++11): the loop thread

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/upstream/curl_handles.h"
#include "gateway/upstream/upstream_options.h"

namespace usergateway {
namespace upstream_internal {

// Owns one file descriptor (the epoll instance or the wakeup eventfd) and
// closes it on destruction. Move-only; not thread-safe.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  void Reset();
  int fd_ = -1;
};

// Returns the time until `due` for epoll_wait, rounded up to whole
// milliseconds (waking early would only spin until it is due) and capped at
// `cap_ms`; 0 when `due` is not after `now`.
int MillisUntil(absl::Time due, absl::Time now, int cap_ms);

// See the file comment. Owns the multi handle, the epoll instance, the
// eventfd and the thread. Wake() and Stop() are thread-safe; Add, Remove and
// SetMaxHostConnections are for the loop thread (the handler's callbacks).
class CurlEventLoop {
 public:
  // What the engine drives. Every method runs on the loop thread.
  class Handler {
   public:
    virtual ~Handler() = default;
    // Once per turn of the loop, before it waits: take queued commands,
    // start transfers, fire due timers.
    virtual void OnTurn() = 0;
    // How long until the handler's earliest timer is due (zero or less: at
    // once), or absl::InfiniteDuration() when it has none.
    virtual absl::Duration TimeUntilNextTimer() = 0;
    // A transfer added with Add() ended with `code`; it is still in the
    // multi handle (the handler removes it).
    virtual void OnTransferDone(CURL* easy, CURLcode code) = 0;
    // Stop() was called: finish everything and remove every transfer. The
    // last call on the loop thread.
    virtual void OnStop() = 0;
  };

  // Creates the multi handle (with `options`' connection limits), the epoll
  // instance and the eventfd; no thread yet. Returns INTERNAL when one of
  // them could not be created or configured.
  static absl::StatusOr<std::unique_ptr<CurlEventLoop>> Create(
      const CurlUpstreamOptions& options);

  // Stop()s first.
  ~CurlEventLoop();

  CurlEventLoop(const CurlEventLoop&) = delete;
  CurlEventLoop& operator=(const CurlEventLoop&) = delete;

  // Starts the thread, named `thread_name` (at most 15 characters are kept,
  // for top -H, perf and gdb). `handler` must outlive Stop().
  void Start(Handler* handler, const std::string& thread_name);

  // Makes the loop take a turn soon. Any thread; one write(2).
  void Wake();

  // Idempotent; any thread but the loop's. The handler's OnStop() runs on
  // the loop thread, then the thread joins.
  void Stop();

  // Loop thread: adds or removes a transfer. Removing a running transfer
  // aborts it (libcurl closes its HTTP/1.1 connection or resets its h2
  // stream).
  CURLMcode Add(CURL* easy);
  void Remove(CURL* easy);
  // Loop thread: CURLMOPT_MAX_HOST_CONNECTIONS.
  void SetMaxHostConnections(long limit);  // NOLINT(runtime/int)

 private:
  CurlEventLoop(CurlMulti multi, Fd epoll, Fd wakeup);

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
  CURLMcode InstallCallbacks();

  void Run();
  // Reads the eventfd back to zero.
  void ClearWake();
  // curl_multi_socket_action on `s` (or CURL_SOCKET_TIMEOUT), then hands
  // the transfers it finished to the handler.
  void SocketAction(curl_socket_t s, int ev_bitmask);
  void ReadCompletions();
  int PollTimeoutMs();

  // Declared before the multi handle so that they outlive it: libcurl may
  // still report sockets while the handle is cleaned up.
  const Fd epoll_;
  const Fd wakeup_;  // an eventfd; nonzero means "take a turn"
  CurlMulti multi_;
  Handler* handler_ = nullptr;
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
  // Loop thread only. When libcurl's timer is due, in real time:
  // InfiniteFuture for none, InfinitePast for "at once".
  absl::Time curl_due_ = absl::InfiniteFuture();
};

}  // namespace upstream_internal
}  // namespace usergateway

#endif  // USERGATEWAY_GATEWAY_UPSTREAM_EVENT_LOOP_H_
