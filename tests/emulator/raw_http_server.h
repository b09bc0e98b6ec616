// A loopback HTTP/1.1 server for tests that must control every byte of the
// reply and how each connection ends: the malformed, oversized and abrupt
// answers a hostile or broken upstream gives, which an HTTP library (the
// emulator's cpp-httplib included) would never produce.
//
// It reads each request properly (request line, headers up to the blank
// line, then a Content-Length body; `Expect: 100-continue` is answered),
// records it, and writes a scripted reply chosen per request: the next
// queued Reply, else the default one (a valid 200 with a minimal user
// object). A Reply is raw bytes, an optional delay before them, more bytes
// written later on the same connection (`later`, each after its own delay),
// and what happens to the connection afterwards: kept open for the next
// request, closed (FIN), reset (RST, via SO_LINGER {1, 0}), or stalled (held
// open, neither read nor written, until Stop()). A reply marked `on_accept`
// is played as soon as a connection is accepted, before any request is read
// (e.g. a reset right after accept).
//
// Stop() ends connections with a FIN; Kill() ends them with an RST, as a
// crashed process's kernel does. A server started with
// RawHttpServerOptions::port set binds that port again (SO_REUSEADDR), so
// that a test can restart an upstream where the gateway expects it.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<RawHttpServer>> server =
//       RawHttpServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status();
//   (*server)->PushReply(RawHttpServer::NonHttpReply());
//   config.translator.base_url = (*server)->base_url();  // http://127.0.0.1:N
//   ... one call through the gateway ...
//   EXPECT_TRUE((*server)->WaitForRequests(1, absl::Seconds(5)));
//   EXPECT_EQ((*server)->RequestCount(), 1u);
//
// Every request on one connection is read and answered in order (no
// pipelining of replies); one thread serves each connection.
#ifndef USERGATEWAY_TESTS_EMULATOR_RAW_HTTP_SERVER_H_
#define USERGATEWAY_TESTS_EMULATOR_RAW_HTTP_SERVER_H_

#include <condition_variable>  // NOLINT(build/c++11)
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>  // NOLINT(build/c++11)
#include <optional>
#include <string>
#include <thread>  // NOLINT(build/c++11)
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace usergateway {
namespace testing {

// A user object the gateway's response parser accepts (every field is
// optional there): what the default reply carries.
inline constexpr char kRawServerUserJson[] =
    R"({"id":101,"username":"ada.lovelace","email":"ada.lovelace@example.com",)"
    R"("first_name":"Ada","last_name":"Lovelace","full_name":"Ada Lovelace",)"
    R"("is_staff":false,"is_superuser":false,"is_active":true,)"
    R"("profile":{"id":501,)"
    R"("authn_user_id":"3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d",)"
    R"("enterprise":"9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79","groups":[]}})";

// One request as the server read it.
struct RawRequest {
  // Which accepted connection carried it (0 for the first accepted), and
  // its position on that connection (0 for the first request).
  int connection = 0;
  int index_on_connection = 0;
  // The request line without its CRLF, e.g. "PUT /a/b HTTP/1.1", and its
  // parts.
  std::string request_line;
  std::string method;
  std::string target;
  // Header lines in order, names and values as sent (value trimmed of
  // surrounding spaces and tabs); duplicates kept.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Returns the first value of header `name` (case-insensitive), or "".
  std::string HeaderValue(absl::string_view name) const;
  bool HasHeader(absl::string_view name) const;
};

// How to run a RawHttpServer.
struct RawHttpServerOptions;

// A running server on 127.0.0.1 (port bound to 0). Owned by its creator;
// destroying it calls Stop(). All methods are thread-safe.
class RawHttpServer {
 public:
  // One scripted answer to one request.
  struct Reply {
    enum class After {
      // Read the next request on the same connection.
      kKeepOpen,
      // Close the connection (FIN) after writing `bytes`.
      kClose,
      // Close it with SO_LINGER {1, 0}: the peer sees an RST (bytes it has
      // not read yet may be dropped with it).
      kReset,
      // Keep the connection open but read and write nothing more on it
      // until Stop() or Kill(): a server that hangs mid-reply.
      kStall,
    };
    // Bytes written after the first ones, each after its own delay (in a
    // send of its own, so that the peer may read them separately).
    struct Later {
      absl::Duration delay = absl::ZeroDuration();
      std::string bytes;
    };
    // Written as is, in one send loop; empty sends nothing.
    std::string bytes;
    After after = After::kKeepOpen;
    // Waited before writing (interrupted by Stop()).
    absl::Duration delay_before = absl::ZeroDuration();
    std::vector<Later> later;
    // Played when a connection is accepted, before its first request is
    // read (nothing is recorded for it); `after` then applies as usual
    // (kKeepOpen goes on to read requests). Only the front of the queue is
    // looked at on accept; taken for a request instead, such a reply is
    // played as an ordinary one.
    bool on_accept = false;
  };

  // Binds 127.0.0.1:0 and listens; connections are accepted once this
  // returns. Returns Unavailable when the socket cannot be set up.
  static absl::StatusOr<std::unique_ptr<RawHttpServer>> Start();
  static absl::StatusOr<std::unique_ptr<RawHttpServer>> Start(
      const RawHttpServerOptions& options);

  RawHttpServer(const RawHttpServer&) = delete;
  RawHttpServer& operator=(const RawHttpServer&) = delete;
  ~RawHttpServer();

  // Stops accepting, ends delays, shuts every open connection down and
  // joins all threads. Idempotent.
  void Stop();
  // Like Stop(), but every open connection is closed with an RST instead of
  // a FIN, without reading what is still unread: an upstream that crashed.
  void Kill();

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" (no path: any target is answered).
  std::string base_url() const;

  // Queues `reply` for the next `times` requests (after those queued
  // before it).
  void PushReply(Reply reply, int times = 1);
  // Replaces the reply used when the queue is empty.
  void SetDefaultReply(Reply reply);
  void ClearReplies();
  // Returns how many requests the queued replies will still answer.
  int PendingReplies() const;

  // Returns the requests read so far, oldest first. A request is recorded
  // as soon as it has been read, before its reply's delay.
  std::vector<RawRequest> Requests() const;
  size_t RequestCount() const;
  // Waits until at least `count` requests have been recorded. Returns false
  // if `timeout` passed first.
  bool WaitForRequests(size_t count, absl::Duration timeout) const;
  // Returns the number of connections accepted so far.
  int ConnectionCount() const;
  // Waits until at least `count` connections have been accepted.
  bool WaitForConnections(int count, absl::Duration timeout) const;

  // Reply builders.

  // "HTTP/1.1 <status> <reason>", then `headers` (each a complete header
  // line without CRLF, e.g. "Retry-After: 2"), Content-Type (omitted when
  // empty) and an exact Content-Length, then `body`.
  static std::string HttpResponse(int status, absl::string_view reason,
                                  absl::string_view body,
                                  absl::string_view content_type =
                                      "application/json",
                                  const std::vector<std::string>& headers = {});
  // A valid 200 with `body` (default: kRawServerUserJson).
  static Reply OkReply(absl::string_view body = kRawServerUserJson,
                       Reply::After after = Reply::After::kKeepOpen);
  // What an SSH server says first: "SSH-2.0-OpenSSH_9.2\r\n", no HTTP.
  static Reply NonHttpReply(Reply::After after = Reply::After::kKeepOpen);
  // A 200 with Transfer-Encoding: chunked whose first chunk size is not
  // hexadecimal ("zz").
  static Reply InvalidChunkSizeReply(
      Reply::After after = Reply::After::kKeepOpen);
  // A valid 200 (kRawServerUserJson) with one extra header line that is
  // `line_bytes` long, its CRLF included ("X-Long: xxx...\r\n"; at least
  // 12).
  static Reply LongHeaderLineReply(size_t line_bytes,
                                   Reply::After after =
                                       Reply::After::kKeepOpen);
  // A valid 200 (kRawServerUserJson) with extra header lines
  // ("X-Pad-0001: xxx...\r\n", ...) that total exactly `total_bytes`, CRLFs
  // included, each `line_bytes` long except a shorter last one (at least 16
  // bytes each: a remainder shorter than that is spread over the others).
  static Reply ManyHeaderLinesReply(size_t total_bytes,
                                    size_t line_bytes = 1024,
                                    Reply::After after =
                                        Reply::After::kKeepOpen);
  // No reply at all: the connection is reset as soon as the request has
  // been read.
  static Reply ResetReply();
  // A reset as soon as the connection is accepted, before the request is
  // read (on_accept).
  static Reply ResetOnAcceptReply();
  // A valid 200 whose `body` is sent with Transfer-Encoding: chunked, in
  // chunks of at most `chunk_bytes`, then the last chunk and no trailers.
  static Reply ChunkedReply(absl::string_view body = kRawServerUserJson,
                            size_t chunk_bytes = 64,
                            Reply::After after = Reply::After::kKeepOpen);
  // "HTTP/1.0 200 OK" without Content-Length or chunking: the body ends
  // where the server closes the connection (FIN).
  static Reply CloseDelimitedReply(absl::string_view body = kRawServerUserJson);
  // An unsolicited "HTTP/1.1 100 Continue" interim response, then a valid
  // 200 (kRawServerUserJson).
  static Reply ContinueThenOkReply(
      Reply::After after = Reply::After::kKeepOpen);

 private:
  struct Connection;

  RawHttpServer(int listen_fd, int port, Reply default_reply,
                size_t max_request_header_bytes);

  void AcceptLoop();
  void Serve(Connection* connection);
  // Reads one request; false when the peer closed, the read failed or the
  // request is not parsable (the connection is then closed).
  bool ReadRequest(Connection* connection, RawRequest* request);
  // Writes `bytes`; false on error.
  bool WriteAll(Connection* connection, absl::string_view bytes);
  Reply TakeReply();
  // Takes the front of the queue if it is an on_accept reply.
  std::optional<Reply> TakeAcceptReply();
  // Plays `reply` on `connection`: its delay, bytes, later bytes. Returns
  // false when the connection broke or the server is stopping.
  bool Play(Connection* connection, const Reply& reply);
  // Holds until Stop() or Kill().
  void Stall();
  void StopImpl(bool kill);
  // Sleeps for `delay`, or less if Stop() is called. Returns false when
  // stopping.
  bool Delay(absl::Duration delay);
  // Closes the connection's socket (with RST when `reset`) under mu_.
  void CloseConnection(Connection* connection, bool reset);

  const int port_;
  const size_t max_request_header_bytes_;
  std::thread accept_thread_;

  // Everything below is guarded by mu_; cv_ is notified when stopping_,
  // requests_ or connections_ change.
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  int listen_fd_;
  bool stopping_ = false;
  bool stopped_ = false;
  bool killed_ = false;  // Kill(): connections end with an RST
  Reply default_reply_;
  std::deque<std::pair<Reply, int>> replies_;  // reply, times left
  std::vector<RawRequest> requests_;
  std::vector<std::unique_ptr<Connection>> connections_;
};

struct RawHttpServerOptions {
  // The reply when none is queued; nullopt: RawHttpServer::OkReply().
  std::optional<RawHttpServer::Reply> default_reply;
  // A request whose head (request line and headers) grows past this is not
  // recorded and its connection is closed.
  size_t max_request_header_bytes = size_t{1} << 20;
  // 0: any free port. Else this port, with SO_REUSEADDR (a restart where a
  // killed server was); Start() retries for up to 2 s while it is in use.
  int port = 0;
};

}  // namespace testing
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_EMULATOR_RAW_HTTP_SERVER_H_
