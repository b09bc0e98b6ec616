// A real HTTP/2 server over TLS on loopback for tests: Debian's nginx
// (/usr/sbin/nginx, pinned by scripts/setup.sh) run as a TLS reverse proxy
// in front of a plain HTTP/1.1 upstream, normally the Emulator. The client
// (the gateway) then speaks h2 (or HTTP/1.1 over TLS) to nginx, and nginx
// forwards every request unchanged to the emulator, so that everything the
// emulator does, its X-Emulator-Fault header and queued faults included,
// also happens over h2.
//
// What nginx does with a request (every path, every method):
//   - forwards it over HTTP/1.1 to `upstream_origin` with the request target
//     exactly as received (percent-encoding kept), every header as received
//     (Host, Authorization, X-Request-Id, names with '_', Expect), and the
//     body; one new upstream connection per request (`Connection: close`),
//     since cpp-httplib holds a worker thread for each open connection;
//   - never retries (proxy_next_upstream off) and never replaces the
//     upstream's reply: status, headers (Retry-After, Content-Type, Server,
//     Date) and body pass through (proxy_intercept_errors off);
//   - answers 502 itself (its own HTML page) when the upstream resets or
//     cannot be reached, and resets the client's stream (h2) or connection
//     (HTTP/1.1) when the upstream's reply ends early: a fault on the
//     emulator's TCP connection is nginx's to see, not the client's;
//   - writes one access log line per request (NginxAccessLogEntry).
// Connections: kH2 offers h2 and http/1.1 by ALPN; kHttp1Only offers
// http/1.1 only (an https upstream that declines h2). After
// `keepalive_requests` requests on one connection nginx ends it: GOAWAY on
// h2, `Connection: close` on HTTP/1.1. TLS 1.2 and 1.3, with session
// resumption (cache and tickets), logged as $ssl_session_reused.
//
// Port: Start binds and listens on 127.0.0.1:0 itself, then hands the
// listening socket to nginx through nginx's own socket inheritance (the
// NGINX environment variable, as in its binary upgrade), so that the port
// is never released between choosing and serving it.
//
// Example:
//
//   absl::StatusOr<TestCertificates> certs = GenerateTestCertificates(dir);
//   NginxFrontOptions options;
//   options.upstream_origin = emulator->origin();  // http://127.0.0.1:P
//   options.tls_cert_path = certs->server_cert_path;
//   options.tls_key_path = certs->server_key_path;
//   absl::StatusOr<std::unique_ptr<NginxFront>> front =
//       NginxFront::Start(options);
//   ASSERT_TRUE(front.ok()) << front.status();
//   config.base_url = (*front)->origin() + "/api";  // https://127.0.0.1:N
//   ... calls, trusting certs->ca_cert_path ...
//   ASSERT_TRUE((*front)->WaitForRequests(1, absl::Seconds(5)));
//   EXPECT_EQ((*front)->AccessLog()->at(0).protocol, "HTTP/2.0");
#ifndef USERGATEWAY_TESTS_EMULATOR_NGINX_FRONT_H_
#define USERGATEWAY_TESTS_EMULATOR_NGINX_FRONT_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>  // NOLINT(build/c++11)
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace usergateway {
namespace testing {

inline constexpr char kDefaultNginxBinary[] = "/usr/sbin/nginx";

// How to run an NginxFront.
struct NginxFrontOptions {
  enum class Mode {
    // `listen ... ssl http2`: ALPN offers h2 and http/1.1.
    kH2,
    // `listen ... ssl`: ALPN offers http/1.1 only.
    kHttp1Only,
  };

  // Where requests go: "http://HOST:PORT" without a path (the emulator's
  // origin()).
  std::string upstream_origin;
  // PEM files of the server certificate and its key (GenerateTestCertificates
  // in test_certificates.h: valid for localhost and 127.0.0.1).
  std::string tls_cert_path;
  std::string tls_key_path;
  Mode mode = Mode::kH2;
  // Requests one client connection carries before nginx ends it (GOAWAY
  // on h2). At least 1.
  int keepalive_requests = 1000000;
  // Streams one h2 connection may have open at once. At least 1.
  int http2_max_concurrent_streams = 128;
  // Holds the config, pid file, logs and temporary files; created if
  // missing. Empty: a fresh directory under $TEST_TMPDIR (else /tmp).
  std::string work_dir;
  std::string nginx_binary = kDefaultNginxBinary;
  // How long Start waits for nginx to answer.
  absl::Duration start_timeout = absl::Seconds(10);
};

// One access log line: one request nginx handled (proxied or refused), as
// nginx's variables give it. Strings are "" where nginx logs "-"; nginx
// escapes '"', '\\' and bytes outside 0x20..0x7e as \xHH.
struct NginxAccessLogEntry {
  // $connection: the client connection's serial number (unique for the
  // nginx process; upstream connections take numbers too, so they are not
  // consecutive).
  int64_t connection = 0;
  // $connection_requests: 1 for the first request (or h2 stream) on it.
  int connection_requests = 0;
  // $server_protocol: "HTTP/2.0" or "HTTP/1.1".
  std::string protocol;
  // $ssl_protocol, e.g. "TLSv1.3".
  std::string ssl_protocol;
  // $ssl_session_reused == "r": the connection resumed a TLS session.
  bool ssl_session_reused = false;
  // $ssl_alpn_protocol: "h2", "http/1.1", or "" when the client sent no
  // ALPN.
  std::string alpn;
  // $status: what nginx sent the client.
  int status = 0;
  std::string method;
  // $request_uri: the target as the client sent it.
  std::string request_uri;
  // $upstream_status: the upstream's status ("" when no upstream reply).
  std::string upstream_status;
  // $request_time, millisecond resolution.
  absl::Duration request_time;
  // $remote_port: the client's source port.
  int remote_port = 0;
  // $msec: when nginx wrote the line.
  absl::Time logged_at;
};

// Parses one access log line (without its '\n'). Returns InvalidArgument
// naming the field when the line does not have the format's fields or a
// number is not one.
absl::StatusOr<NginxAccessLogEntry> ParseNginxAccessLogLine(
    absl::string_view line);

// A running nginx (master and one worker, in a process group of their
// own). Owned by its creator; the destructor stops it. All methods are
// thread-safe. The thread that calls Start must outlive the front: nginx
// is told to exit (SIGTERM, PR_SET_PDEATHSIG) when that thread ends, so
// that a test that crashes leaves no nginx behind.
class NginxFront {
 public:
  // Binds the port, writes the config, starts nginx and waits until it
  // answers a request on the port. Returns InvalidArgument for bad options
  // (no upstream origin or one with a path, a missing certificate or key
  // file, a path nginx's config cannot hold, counts below 1), the
  // errno-based status when a file, directory or socket cannot be made,
  // FailedPrecondition when nginx cannot be run or exits during start-up
  // (with the tail of its error log), and DeadlineExceeded when it does not
  // answer within start_timeout.
  static absl::StatusOr<std::unique_ptr<NginxFront>> Start(
      NginxFrontOptions options);

  ~NginxFront();
  NginxFront(const NginxFront&) = delete;
  NginxFront& operator=(const NginxFront&) = delete;

  // Stops nginx: SIGTERM (nginx's fast shutdown: every connection closes
  // at once, requests in flight included), then SIGKILL to its whole
  // process group if the master has not exited after 5 s; returns when the
  // master has exited and has been reaped. Idempotent. The logs stay
  // readable.
  void Stop();

  int port() const { return port_; }
  // "https://127.0.0.1:PORT" (the test certificates name 127.0.0.1).
  std::string origin() const;
  const NginxFrontOptions& options() const { return options_; }
  const std::string& work_dir() const { return options_.work_dir; }
  std::string access_log_path() const;
  std::string error_log_path() const;

  // Returns every complete access log line so far, oldest first (a line
  // being written is left for the next read). Returns NotFound when the
  // log cannot be read and InvalidArgument for a line that does not parse.
  absl::StatusOr<std::vector<NginxAccessLogEntry>> AccessLog() const;
  // Returns the number of distinct client connections in AccessLog(), with
  // its errors.
  absl::StatusOr<int> ConnectionCount() const;
  // Waits until AccessLog() holds at least `count` entries (nginx writes a
  // line when a request ends). Returns false if `timeout` passed first or
  // the log cannot be read.
  bool WaitForRequests(size_t count, absl::Duration timeout) const;
  // The error log's text ("" when unreadable), for failure messages.
  std::string ErrorLog() const;

 private:
  NginxFront(NginxFrontOptions options, int port)
      : options_(std::move(options)), port_(port) {}

  // Waits up to `timeout` for the master to exit, without reaping it (its
  // zombie keeps the process group's id reserved). Returns true once it
  // has exited. Requires mu_ held (or the object not yet shared).
  bool WaitForExit(absl::Duration timeout);
  // Kills what is left of the process group and reaps the master, which
  // must have exited. Requires mu_ held (or the object not yet shared).
  void Reap();

  const NginxFrontOptions options_;
  const int port_;
  // Serialises Stop (and the destructor's) so that the master is reaped
  // once.
  std::mutex mu_;
  pid_t pid_ = -1;   // the master, also the process group; -1 once reaped
  int pid_fd_ = -1;  // pidfd of the master; -1 when unavailable
};

}  // namespace testing
}  // namespace usergateway

#endif  // USERGATEWAY_TESTS_EMULATOR_NGINX_FRONT_H_
