#include "gateway/upstream/curl_upstream_client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>  // NOLINT(build/c++11)
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>  // NOLINT(build/c++11)
#include <optional>
#include <string>
#include <thread>  // NOLINT(build/c++11)
#include <utility>
#include <vector>

#include <httplib.h>
#include <simdjson.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "gateway/common/fake_clock.h"
#include "gateway/observability/gateway_metrics.h"
#include "gateway/observability/metrics.h"
#include "gateway/upstream/attempt_observer.h"
#include "gateway/upstream/curl_failure.h"
#include "gateway/upstream/upstream_options.h"
#include "gateway/upstream/upstream_types.h"
#include "tests/emulator/raw_http_server.h"

namespace usergateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kApiKey[] = "test-secret-key-7f3a";
constexpr char kPath[] = "/authn2/v0/user/u-1";
constexpr char kUserJson[] = R"({"id":7,"first_name":"Ada"})";

// One HTTP request as the loopback server parsed it off the wire.
struct ReceivedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Returns the first value of header `name` (any case), or nullopt.
  std::optional<std::string> Header(absl::string_view name) const {
    for (const auto& header : headers) {
      if (absl::EqualsIgnoreCase(header.first, name)) return header.second;
    }
    return std::nullopt;
  }
};

// What the loopback server answers to one request.
struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Wait this long before answering; ends early (and the connection is
  // dropped) when the client closes the connection.
  absl::Duration delay = absl::ZeroDuration();
  // false: no Content-Length, "Connection: close", the body ends at close.
  bool content_length = true;
  // Read the request, then close the connection without a byte of reply.
  bool close_without_reply = false;
  // When set: after the delay, send exactly these bytes instead of a
  // reply built from the fields above, wait `raw_hold` (or until the client
  // closes), then close the connection.
  std::string raw;
  absl::Duration raw_hold = absl::ZeroDuration();
};

// A small HTTP/1.1 server on 127.0.0.1 and an ephemeral port, written with
// raw sockets so that tests see exactly what arrives on the wire, count
// connections, and observe the client closing one. A thread per connection;
// keep-alive; thread-safe.
class LoopbackServer {
 public:
  using Handler = std::function<Reply(const ReceivedRequest&, int index)>;

  // `greeting`, when set, is written to every new connection, which is then
  // closed without reading (for TLS handshake failures).
  explicit LoopbackServer(Handler handler, std::string greeting = "")
      : handler_(std::move(handler)), greeting_(std::move(greeting)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(listen_fd_, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr),
                   sizeof(addr)),
              0);
    EXPECT_EQ(listen(listen_fd_, 512), 0);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr),
                          &len),
              0);
    port_ = ntohs(addr.sin_port);
    EXPECT_EQ(pipe2(stop_pipe_, O_CLOEXEC), 0);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~LoopbackServer() {
    // Every poll() in the server also watches the pipe: one byte stops all.
    EXPECT_EQ(write(stop_pipe_[1], "x", 1), 1);
    acceptor_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      workers.swap(workers_);
    }
    for (std::thread& worker : workers) worker.join();
    close(listen_fd_);
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
  }

  int port() const { return port_; }
  std::string Url(absl::string_view scheme = "http") const {
    return absl::StrCat(scheme, "://127.0.0.1:", port_, kPath);
  }

  int connections() const {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_;
  }
  std::vector<ReceivedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Waits until `n` requests have arrived.
  bool WaitForRequests(size_t n, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                             [&] { return requests_.size() >= n; });
  }
  // Waits until a client closed a connection while a reply was delayed.
  bool WaitForClientClose(absl::Duration timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                             [&] { return closed_while_delaying_ > 0; });
  }

 private:
  // Returns 1 when `fd` is readable, 0 on timeout, -1 when stopping.
  int WaitReadable(int fd, absl::Duration timeout) const {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    const int64_t ms = std::min<int64_t>(
        INT_MAX, std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
    int rc;
    do {
      rc = poll(fds, 2, static_cast<int>(ms));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 || (fds[1].revents & POLLIN)) return -1;
    return rc == 0 ? 0 : 1;
  }

  void AcceptLoop() {
    while (WaitReadable(listen_fd_, absl::Hours(1)) == 1) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      ++connections_;
      workers_.emplace_back([this, fd] {
        Serve(fd);
        close(fd);
      });
    }
  }

  static bool SendAll(int fd, absl::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads until `buffer` holds `size` bytes. Returns false on close/stop.
  bool ReadAtLeast(int fd, std::string& buffer, size_t size) const {
    char chunk[65536];
    while (buffer.size() < size) {
      if (WaitReadable(fd, absl::Seconds(30)) != 1) return false;
      ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    return true;
  }

  void Serve(int fd) {
    if (!greeting_.empty()) {
      SendAll(fd, greeting_);
      return;
    }
    std::string buffer;
    while (true) {
      size_t head_end;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (!ReadAtLeast(fd, buffer, buffer.size() + 1)) return;
      }
      ReceivedRequest request;
      std::vector<absl::string_view> lines = absl::StrSplit(
          absl::string_view(buffer).substr(0, head_end), "\r\n");
      std::vector<absl::string_view> request_line =
          absl::StrSplit(lines[0], ' ');
      if (request_line.size() != 3) return;
      request.method = std::string(request_line[0]);
      request.target = std::string(request_line[1]);
      size_t content_length = 0;
      for (size_t i = 1; i < lines.size(); ++i) {
        const size_t colon = lines[i].find(':');
        if (colon == absl::string_view::npos) return;
        std::string name(lines[i].substr(0, colon));
        std::string value(
            absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
        if (absl::EqualsIgnoreCase(name, "content-length") &&
            !absl::SimpleAtoi(value, &content_length)) {
          return;
        }
        request.headers.emplace_back(std::move(name), std::move(value));
      }
      const size_t body_start = head_end + 4;
      if (!ReadAtLeast(fd, buffer, body_start + content_length)) return;
      request.body = buffer.substr(body_start, content_length);
      buffer.erase(0, body_start + content_length);

      int index;
      {
        std::lock_guard<std::mutex> lock(mu_);
        index = static_cast<int>(requests_.size());
        requests_.push_back(request);
        changed_.notify_all();
      }
      const Reply reply = handler_(request, index);
      if (reply.close_without_reply) return;
      if (reply.delay > absl::ZeroDuration()) {
        const int ready = WaitReadable(fd, reply.delay);
        if (ready < 0) return;
        if (ready == 1) {
          char byte;
          if (recv(fd, &byte, 1, MSG_PEEK) <= 0) {
            std::lock_guard<std::mutex> lock(mu_);
            ++closed_while_delaying_;
            changed_.notify_all();
            return;
          }
        }
      }
      if (!reply.raw.empty()) {
        if (SendAll(fd, reply.raw) && reply.raw_hold > absl::ZeroDuration()) {
          WaitReadable(fd, reply.raw_hold);
        }
        return;
      }
      std::string response =
          absl::StrCat("HTTP/1.1 ", reply.status, " Test\r\n");
      for (const auto& header : reply.headers) {
        absl::StrAppend(&response, header.first, ": ", header.second, "\r\n");
      }
      if (reply.content_length) {
        absl::StrAppend(&response, "Content-Length: ", reply.body.size(),
                        "\r\n\r\n", reply.body);
      } else {
        absl::StrAppend(&response, "Connection: close\r\n\r\n", reply.body);
      }
      if (!SendAll(fd, response) || !reply.content_length) return;
    }
  }

  const Handler handler_;
  const std::string greeting_;
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::thread acceptor_;

  // std::mutex, not absl::Mutex: ThreadSanitizer sees pthread mutexes but
  // not the system abseil's (uninstrumented) ones.
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(mu_);
  std::vector<ReceivedRequest> requests_ ABSL_GUARDED_BY(mu_);
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  int closed_while_delaying_ ABSL_GUARDED_BY(mu_) = 0;
};

LoopbackServer::Handler Always(Reply reply) {
  return [reply](const ReceivedRequest&, int) { return reply; };
}

Reply Ok(std::string body = kUserJson) {
  Reply reply;
  reply.headers = {{"Content-Type", "application/json"}};
  reply.body = std::move(body);
  return reply;
}

Reply StatusReply(int status) {
  Reply reply;
  reply.status = status;
  reply.headers = {{"Content-Type", "application/json"}};
  reply.body = absl::StrCat(R"({"status":)", status, "}");
  return reply;
}

// Collects callback results, from any thread.
class Results {
 public:
  UpstreamCallback Callback() {
    return [this](UpstreamResult result) {
      std::lock_guard<std::mutex> lock(mu_);
      results_.push_back(std::move(result));
      callback_threads_.push_back(std::this_thread::get_id());
      changed_.notify_all();
    };
  }
  // Returns true once `n` callbacks have run.
  bool WaitFor(size_t n, absl::Duration timeout = absl::Seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                             [&] { return results_.size() >= n; });
  }
  // Waits for the first result and moves it out (a copy would not keep the
  // body's capacity, which tests check); a default result on timeout.
  UpstreamResult TakeFirst(absl::Duration timeout = absl::Seconds(20)) {
    if (!WaitFor(1, timeout)) {
      ADD_FAILURE() << "no callback within " << timeout;
      return UpstreamResult();
    }
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(results_[0]);
  }
  std::vector<UpstreamResult> All() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_.size();
  }
  std::thread::id thread(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return callback_threads_.at(i);
  }

 private:
  std::mutex mu_;  // std::mutex for ThreadSanitizer, as in LoopbackServer
  std::condition_variable changed_;
  std::vector<UpstreamResult> results_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread::id> callback_threads_ ABSL_GUARDED_BY(mu_);
};

CurlUpstreamOptions TestOptions() {
  CurlUpstreamOptions options;
  options.allow_insecure_http = true;
  // Keep retry tests fast; the backoff itself is RetryPolicy's tests' job.
  options.backoff_base = absl::Milliseconds(1);
  options.backoff_max = absl::Milliseconds(5);
  // Two loops whatever the machine: every test runs sharded, as production
  // does on a multi-core node.
  options.loops = 2;
  return options;
}

std::unique_ptr<CurlUpstreamClient> MakeClient(
    const CurlUpstreamOptions& options = TestOptions()) {
  absl::StatusOr<std::unique_ptr<CurlUpstreamClient>> client =
      CurlUpstreamClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

UpstreamRequest MakeRequest(std::string url,
                            absl::Duration timeout = absl::Seconds(20)) {
  UpstreamRequest request;
  request.url = std::move(url);
  request.body = R"({"first_name":"Ada"})";
  request.headers = {
      {"Authorization", absl::StrCat("Bearer ", kApiKey)},
      {"Content-Type", "application/json"},
      {"Accept", "application/json"},
      {"User-Agent", "usergateway/test"},
      {"X-Request-Id", "req-1"},
  };
  request.request_id = "req-1";
  request.deadline = absl::Now() + timeout;
  return request;
}

// Runs one call to completion.
UpstreamResult RunCall(CurlUpstreamClient& client, UpstreamRequest request) {
  Results results;
  client.Start(std::move(request), results.Callback());
  return results.TakeFirst();
}

void ExpectNoSecret(const UpstreamResult& result) {
  EXPECT_THAT(result.error_detail, Not(HasSubstr(kApiKey)));
}

TEST(CurlUpstreamClientTest, SuccessReturnsStatusBodyAndContentType) {
  Reply reply = Ok();
  reply.headers = {{"content-type", "application/json; charset=utf-8"}};
  LoopbackServer server(Always(reply));
  auto client = MakeClient();
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.error, TransportError::kNone) << result.error_detail;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.body, kUserJson);
  EXPECT_EQ(result.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(result.attempts, 1);
  EXPECT_FALSE(result.retry_after.has_value());
  EXPECT_GT(result.upstream_latency, absl::ZeroDuration());
  // The response parser reads the body in place.
  EXPECT_GE(result.body.capacity(),
            result.body.size() + simdjson::SIMDJSON_PADDING);
  EXPECT_EQ(client->Stats().transfers, 1u);
}

TEST(CurlUpstreamClientTest, ServerReceivesExactlyTheRequest) {
  LoopbackServer server(Always(Ok()));
  auto client = MakeClient();
  UpstreamRequest request = MakeRequest(server.Url());
  request.headers.push_back({"X-Empty", ""});
  UpstreamResult result = RunCall(*client, std::move(request));
  ASSERT_EQ(result.http_status, 200) << result.error_detail;

  std::vector<ReceivedRequest> received = server.requests();
  ASSERT_EQ(received.size(), 1u);
  const ReceivedRequest& got = received[0];
  EXPECT_EQ(got.method, "PUT");
  EXPECT_EQ(got.target, kPath);
  EXPECT_EQ(got.body, R"({"first_name":"Ada"})");
  EXPECT_EQ(got.Header("Authorization"), absl::StrCat("Bearer ", kApiKey));
  EXPECT_EQ(got.Header("Content-Type"), "application/json");
  EXPECT_EQ(got.Header("Accept"), "application/json");
  EXPECT_EQ(got.Header("User-Agent"), "usergateway/test");
  EXPECT_EQ(got.Header("X-Request-Id"), "req-1");
  EXPECT_EQ(got.Header("Content-Length"), "20");
  EXPECT_EQ(got.Header("X-Empty"), "");
  EXPECT_EQ(got.Header("Expect"), std::nullopt);
  EXPECT_EQ(got.Header("Transfer-Encoding"), std::nullopt);
}

TEST(CurlUpstreamClientTest, LargeBodyIsSentWithoutExpectContinue) {
  LoopbackServer server(Always(Ok()));
  auto client = MakeClient();
  UpstreamRequest request = MakeRequest(server.Url());
  request.body = std::string(2 << 20, 'a');
  UpstreamResult result = RunCall(*client, request);
  ASSERT_EQ(result.http_status, 200) << result.error_detail;
  std::vector<ReceivedRequest> received = server.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].body, request.body);
  EXPECT_EQ(received[0].Header("Expect"), std::nullopt);
}

TEST(CurlUpstreamClientTest, SequentialCallsReuseOneConnection) {
  LoopbackServer server(Always(Ok()));
  auto client = MakeClient();
  for (int i = 0; i < 100; ++i) {
    UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
    ASSERT_EQ(result.http_status, 200) << i << ": " << result.error_detail;
  }
  CurlUpstreamStats stats = client->Stats();
  EXPECT_EQ(stats.connections_opened, 1u);
  EXPECT_EQ(stats.transfers, 100u);
  EXPECT_EQ(stats.retries, 0u);
  EXPECT_EQ(server.connections(), 1);
}

TEST(CurlUpstreamClientTest, DeadlineShorterThanTheResponseIsDeadlineExceeded) {
  Reply slow = Ok();
  slow.delay = absl::Seconds(2);
  LoopbackServer server(Always(slow));
  auto client = MakeClient();
  const absl::Time start = absl::Now();
  UpstreamResult result =
      RunCall(*client, MakeRequest(server.Url(), absl::Milliseconds(200)));
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(result.error, TransportError::kDeadlineExceeded)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_EQ(result.attempts, 1);
  EXPECT_GE(elapsed, absl::Milliseconds(150));
  EXPECT_LT(elapsed, absl::Seconds(1));
  ExpectNoSecret(result);
}

TEST(CurlUpstreamClientTest, DeadlineAlreadyPassedSendsNothing) {
  LoopbackServer server(Always(Ok()));
  auto client = MakeClient();
  UpstreamRequest request = MakeRequest(server.Url());
  request.deadline = absl::Now() - absl::Seconds(1);
  UpstreamResult result = RunCall(*client, std::move(request));
  EXPECT_EQ(result.error, TransportError::kDeadlineExceeded);
  EXPECT_EQ(result.attempts, 0);
  EXPECT_EQ(server.connections(), 0);
}

TEST(CurlUpstreamClientTest, CancelDuringSlowResponseAbortsTheTransfer) {
  Reply slow = Ok();
  slow.delay = absl::Seconds(10);
  LoopbackServer server(Always(slow));
  auto client = MakeClient();
  Results results;
  std::shared_ptr<UpstreamCall> call =
      client->Start(MakeRequest(server.Url()), results.Callback());
  ASSERT_TRUE(server.WaitForRequests(1, absl::Seconds(10)));
  const absl::Time cancelled_at = absl::Now();
  call->Cancel();
  UpstreamResult result = results.TakeFirst();
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(1));
  EXPECT_EQ(result.error, TransportError::kCancelled);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_TRUE(server.WaitForClientClose(absl::Seconds(5)));
  call->Cancel();  // after completion: a no-op
  client.reset();
  EXPECT_EQ(results.count(), 1u);
}

TEST(CurlUpstreamClientTest, RetriesTransientStatusesThenSucceeds) {
  LoopbackServer server([](const ReceivedRequest&, int index) {
    return index < 2 ? StatusReply(503) : Ok();
  });
  auto client = MakeClient();
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.error, TransportError::kNone) << result.error_detail;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.body, kUserJson);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(client->Stats().retries, 2u);
  std::vector<ReceivedRequest> received = server.requests();
  ASSERT_EQ(received.size(), 3u);
  for (const ReceivedRequest& got : received) {
    EXPECT_EQ(got.body, R"({"first_name":"Ada"})");
    EXPECT_EQ(got.Header("Authorization"), absl::StrCat("Bearer ", kApiKey));
  }
}

struct StatusRetryCase {
  int status;
  int attempts;
};

TEST(CurlUpstreamClientTest, RetriesOnlyRetryableStatuses) {
  const StatusRetryCase cases[] = {
      {400, 1}, {401, 1}, {403, 1}, {404, 1}, {408, 4}, {409, 1}, {422, 1},
      {429, 4}, {500, 1}, {501, 1}, {502, 4}, {503, 4}, {504, 4},
  };
  for (const StatusRetryCase& c : cases) {
    SCOPED_TRACE(c.status);
    LoopbackServer server(Always(StatusReply(c.status)));
    auto client = MakeClient();
    UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
    EXPECT_EQ(result.error, TransportError::kNone);
    EXPECT_EQ(result.http_status, c.status);
    EXPECT_EQ(result.body, absl::StrCat(R"({"status":)", c.status, "}"));
    EXPECT_EQ(result.attempts, c.attempts);
    EXPECT_EQ(server.requests().size(), static_cast<size_t>(c.attempts));
  }
}

TEST(CurlUpstreamClientTest, RetryAfterPastTheDeadlineIsReportedNotAwaited) {
  Reply busy = StatusReply(503);
  busy.headers.push_back({"retry-after", "1"});
  LoopbackServer server(Always(busy));
  auto client = MakeClient();
  const absl::Time start = absl::Now();
  UpstreamResult result =
      RunCall(*client, MakeRequest(server.Url(), absl::Milliseconds(300)));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(900));
  EXPECT_EQ(result.error, TransportError::kNone);
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(result.retry_after, absl::Seconds(1));
  EXPECT_EQ(server.requests().size(), 1u);
}

// Polls `condition` (real time, generous) for state the client has no
// notification for, e.g. Stats().retries.
template <typename Condition>
bool Eventually(Condition condition) {
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (!condition()) {
    if (absl::Now() >= give_up) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

TEST(CurlUpstreamClientTest, RetryAfterIsWaitedWhenTheDeadlineAllows) {
  // Simulated time: the client's backoff timer is due in the fake clock's
  // time, so nothing is retried until the test moves the clock past it.
  LoopbackServer server([](const ReceivedRequest&, int index) {
    if (index > 0) return Ok();
    Reply busy = StatusReply(429);
    busy.headers.push_back({"Retry-After", "1"});
    return busy;
  });
  FakeClock clock;
  CurlUpstreamOptions options = TestOptions();
  options.clock = &clock;
  auto client = MakeClient(options);
  UpstreamRequest request = MakeRequest(server.Url());
  request.deadline = clock.Now() + absl::Seconds(20);
  Results results;
  client->Start(std::move(request), results.Callback());
  ASSERT_TRUE(Eventually([&] { return client->Stats().retries == 1; }));
  // Just before Retry-After: still one PUT, no result.
  clock.Advance(absl::Milliseconds(990));
  client->CheckTimers();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(results.count(), 0u);
  // Past Retry-After plus the largest jitter (backoff_max 5 ms).
  clock.Advance(absl::Milliseconds(20));
  client->CheckTimers();
  UpstreamResult result = results.TakeFirst();
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.attempts, 2);
  EXPECT_FALSE(result.retry_after.has_value());
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(CurlUpstreamClientTest, RetryThatWouldPassTheSimulatedDeadlineIsNotMade) {
  // The deadline is measured on the client's clock: a Retry-After of 2 s
  // cannot fit in a call with 1 s left, so the 503 is reported after one
  // attempt, without the clock moving at all.
  Reply busy = StatusReply(503);
  busy.headers.push_back({"Retry-After", "2"});
  LoopbackServer server(Always(busy));
  FakeClock clock;
  CurlUpstreamOptions options = TestOptions();
  options.clock = &clock;
  auto client = MakeClient(options);
  UpstreamRequest request = MakeRequest(server.Url());
  request.deadline = clock.Now() + absl::Seconds(1);
  UpstreamResult result = RunCall(*client, std::move(request));
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(result.retry_after, absl::Seconds(2));
  EXPECT_EQ(server.requests().size(), 1u);
}

// Records what the scheduler tells it and holds each retry back once by
// `hold`. Called on the loop thread; read by the test thread.
class HoldingObserver final : public AttemptObserver {
 public:
  explicit HoldingObserver(absl::Duration hold) : hold_(hold) {}
  absl::Duration BeforeRetry(absl::Time now) override {
    std::lock_guard<std::mutex> lock(mu_);
    asked_.push_back(now);
    // Every other question is held: the first for each retry.
    return asked_.size() % 2 == 1 ? hold_ : absl::ZeroDuration();
  }
  void OnAttemptDone(const UpstreamResult& attempt, absl::Time) override {
    std::lock_guard<std::mutex> lock(mu_);
    statuses_.push_back(attempt.http_status);
  }
  std::vector<int> statuses() {
    std::lock_guard<std::mutex> lock(mu_);
    return statuses_;
  }
  size_t asked() {
    std::lock_guard<std::mutex> lock(mu_);
    return asked_.size();
  }

 private:
  const absl::Duration hold_;
  std::mutex mu_;
  std::vector<absl::Time> asked_;
  std::vector<int> statuses_;
};

// One call to `url` on a simulated clock, its attempts watched by a
// HoldingObserver that holds each retry once by `hold`.
class ObservedCall {
 public:
  ObservedCall(const std::string& url, absl::Duration hold,
               absl::Duration deadline)
      : observer(std::make_shared<HoldingObserver>(hold)) {
    CurlUpstreamOptions options = TestOptions();
    options.clock = &clock;
    client = MakeClient(options);
    UpstreamRequest request = MakeRequest(url);
    request.deadline = clock.Now() + deadline;
    request.attempt_observer = observer;
    client->Start(std::move(request), results.Callback());
  }
  // Moves the simulated time and lets the loop see it.
  void Advance(absl::Duration d) {
    clock.Advance(d);
    client->CheckTimers();
  }

  FakeClock clock;
  const std::shared_ptr<HoldingObserver> observer;
  Results results;  // outlives the client, which may still call back
  std::unique_ptr<CurlUpstreamClient> client;
};

TEST(CurlUpstreamClientTest, AttemptObserverSeesEveryAttemptAndHoldsRetries) {
  LoopbackServer server([](const ReceivedRequest&, int index) {
    return index < 1 ? StatusReply(503) : Ok();
  });
  ObservedCall call(server.Url(), absl::Milliseconds(500), absl::Seconds(20));
  ASSERT_TRUE(Eventually([&] { return call.client->Stats().retries == 1; }));
  EXPECT_EQ(call.observer->statuses(), std::vector<int>({503}));
  // The backoff (at most 5 ms) is over: the observer is asked and holds
  // the retry for 500 ms.
  call.Advance(absl::Milliseconds(10));
  ASSERT_TRUE(Eventually([&] { return call.observer->asked() == 1; }));
  call.Advance(absl::Milliseconds(480));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(call.results.count(), 0u);
  call.Advance(absl::Milliseconds(40));
  UpstreamResult result = call.results.TakeFirst();
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.attempts, 2);
  EXPECT_EQ(call.observer->asked(), 2u);
  EXPECT_EQ(call.observer->statuses(), std::vector<int>({503, 200}));
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(CurlUpstreamClientTest, AttemptObserverHoldPastTheDeadlineEndsTheCall) {
  LoopbackServer server(Always(StatusReply(503)));
  ObservedCall call(server.Url(), absl::Seconds(30), absl::Seconds(5));
  ASSERT_TRUE(Eventually([&] { return call.client->Stats().retries == 1; }));
  call.Advance(absl::Milliseconds(10));
  // The last attempt's outcome, at once: the hold cannot fit.
  UpstreamResult result = call.results.TakeFirst();
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(CurlUpstreamClientTest, CancelDuringBackoffCompletesAtOnce) {
  Reply busy = StatusReply(503);
  busy.headers.push_back({"Retry-After", "10"});
  LoopbackServer server(Always(busy));
  auto client = MakeClient();
  Results results;
  std::shared_ptr<UpstreamCall> call = client->Start(
      MakeRequest(server.Url(), absl::Seconds(30)), results.Callback());
  // Stats has no notification; poll it until the retry is scheduled.
  ASSERT_TRUE(Eventually([&] { return client->Stats().retries == 1; }));
  ASSERT_EQ(client->Stats().retries, 1u);
  const absl::Time cancelled_at = absl::Now();
  call->Cancel();
  UpstreamResult result = results.TakeFirst();
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(1));
  EXPECT_EQ(result.error, TransportError::kCancelled);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(CurlUpstreamClientTest, RetryBudgetCapsRetries) {
  CurlUpstreamOptions options = TestOptions();
  options.retry_budget_ratio = 0;
  options.retry_budget_burst = 1;
  LoopbackServer server(Always(StatusReply(503)));
  auto client = MakeClient(options);
  EXPECT_EQ(RunCall(*client, MakeRequest(server.Url())).attempts, 2);
  EXPECT_EQ(RunCall(*client, MakeRequest(server.Url())).attempts, 1);
  EXPECT_EQ(client->Stats().retries, 1u);
}

TEST(CurlUpstreamClientTest, ConnectionRefusedIsConnectErrorAfterRetries) {
  // A port that was just free: nothing listens on it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  auto client = MakeClient();
  UpstreamResult result = RunCall(
      *client, MakeRequest(absl::StrCat("http://127.0.0.1:",
                                        ntohs(addr.sin_port), kPath)));
  EXPECT_EQ(result.error, TransportError::kConnect)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_EQ(result.http_status, 0);
  EXPECT_EQ(result.attempts, 4);
  EXPECT_FALSE(result.error_detail.empty());
  EXPECT_EQ(client->Stats().retries, 3u);
  ExpectNoSecret(result);
}

// A listening socket whose accept queue is full: the kernel drops further
// SYNs, so a client's connect hangs until its timeout.
class BlackHole {
 public:
  BlackHole() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr),
                   sizeof(addr)),
              0);
    EXPECT_EQ(listen(listen_fd_, 0), 0);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr),
                          &len),
              0);
    port_ = ntohs(addr.sin_port);
    // Backlog 0 admits one connection; it is never accepted.
    filler_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(connect(filler_fd_, reinterpret_cast<sockaddr*>(&addr),
                      sizeof(addr)),
              0);
  }
  ~BlackHole() {
    close(filler_fd_);
    close(listen_fd_);
  }
  std::string Url() const {
    return absl::StrCat("http://127.0.0.1:", port_, kPath);
  }

 private:
  int listen_fd_ = -1;
  int filler_fd_ = -1;
  int port_ = 0;
};

TEST(CurlUpstreamClientTest, ConnectTimeoutWithTimeLeftIsRetriedConnectError) {
  BlackHole hole;
  CurlUpstreamOptions options = TestOptions();
  options.connect_timeout = absl::Milliseconds(200);
  options.max_attempts = 2;
  auto client = MakeClient(options);
  const absl::Time start = absl::Now();
  UpstreamResult result =
      RunCall(*client, MakeRequest(hole.Url(), absl::Seconds(10)));
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(result.error, TransportError::kConnect)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_EQ(result.attempts, 2);
  EXPECT_GE(elapsed, absl::Milliseconds(350));
  EXPECT_LT(elapsed, absl::Seconds(5));
}

TEST(CurlUpstreamClientTest, ConnectCutShortByTheDeadlineIsDeadlineExceeded) {
  BlackHole hole;
  CurlUpstreamOptions options = TestOptions();
  options.connect_timeout = absl::Seconds(5);
  auto client = MakeClient(options);
  UpstreamResult result =
      RunCall(*client, MakeRequest(hole.Url(), absl::Milliseconds(200)));
  EXPECT_EQ(result.error, TransportError::kDeadlineExceeded)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_EQ(result.attempts, 1);
}

TEST(CurlUpstreamClientTest, ConnectionClosedWithoutReplyIsRetriedReset) {
  Reply hang_up;
  hang_up.close_without_reply = true;
  LoopbackServer server(Always(hang_up));
  auto client = MakeClient();
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.error, TransportError::kConnectionReset)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_EQ(result.attempts, 4);
  EXPECT_EQ(server.requests().size(), 4u);
  ExpectNoSecret(result);
}

// A reused keep-alive connection that dies before a response byte makes
// libcurl re-send the request on a new connection, on its own, up to five
// times per transfer. Each request on the wire must be an attempt the
// gateway counts (CURLOPT_PREREQFUNCTION lets a re-send through only within
// --max_attempts and the retry budget).
TEST(CurlUpstreamClientTest, ReusedConnectionDyingIsOneAttemptNotHiddenResends) {
  for (const int max_attempts : {1, 3}) {
    SCOPED_TRACE(absl::StrCat("max_attempts=", max_attempts));
    LoopbackServer server([](const ReceivedRequest&, int index) {
      if (index == 0) return Ok();
      Reply hang_up;
      hang_up.close_without_reply = true;
      return hang_up;
    });
    CurlUpstreamOptions options = TestOptions();
    options.loops = 1;
    options.max_attempts = max_attempts;
    auto client = MakeClient(options);
    ASSERT_EQ(RunCall(*client, MakeRequest(server.Url())).http_status, 200);
    UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
    EXPECT_EQ(result.error, TransportError::kConnectionReset)
        << TransportErrorName(result.error) << " " << result.error_detail;
    EXPECT_EQ(result.attempts, max_attempts);
    // The warm-up, then one PUT per attempt: nothing hidden.
    EXPECT_EQ(server.requests().size(), 1u + max_attempts);
  }
}

TEST(CurlUpstreamClientTest, UnreliableConnectionsStayWithinTheRetryBudget) {
  LoopbackServer server([](const ReceivedRequest&, int index) {
    if (index < 8) return Ok();
    Reply hang_up;
    hang_up.close_without_reply = true;
    return hang_up;
  });
  CurlUpstreamOptions options = TestOptions();
  options.retry_budget_burst = 2;
  options.retry_budget_ratio = 0.1;
  auto client = MakeClient(options);
  {
    // Warm several keep-alive connections.
    Results warm;
    for (int i = 0; i < 8; ++i) {
      client->Start(MakeRequest(server.Url()), warm.Callback());
    }
    ASSERT_TRUE(warm.WaitFor(8));
  }
  constexpr int kCalls = 20;
  Results results;
  for (int i = 0; i < kCalls; ++i) {
    client->Start(MakeRequest(server.Url()), results.Callback());
  }
  ASSERT_TRUE(results.WaitFor(kCalls));
  for (const UpstreamResult& r : results.All()) {
    EXPECT_EQ(r.error, TransportError::kConnectionReset);
  }
  // 20 first attempts plus at most burst + ratio * calls retries (the 8
  // warm-up calls earned 0.8 more).
  const size_t puts = server.requests().size() - 8;
  EXPECT_LE(puts, kCalls + 2 + 2 + 1u);
  EXPECT_GE(puts, static_cast<size_t>(kCalls));
}

TEST(CurlUpstreamClientTest, ReplyThatIsNotHttpIsAProtocolErrorNotRetried) {
  Reply garbage;
  garbage.raw = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
  LoopbackServer server(Always(garbage));
  auto client = MakeClient();
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.error, TransportError::kProtocol)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(CurlUpstreamClientTest, BrokenChunkedBodyIsAProtocolErrorNotRetried) {
  Reply broken;
  broken.raw =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"id\"\r\nZZ\r\n";
  LoopbackServer server(Always(broken));
  auto client = MakeClient();
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.error, TransportError::kProtocol)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(result.body.empty());
}

// A second response written after a complete 200, while the connection is
// idle: libcurl 7.88 would reuse the connection and read those bytes as the
// next request's reply. The gateway closes it instead, without counting an
// attempt, and the next call gets the reply to its own request.
TEST(CurlUpstreamClientTest, StrayBytesOnAnIdleConnectionAreNotTheNextReply) {
  absl::StatusOr<std::unique_ptr<testing::RawHttpServer>> server =
      testing::RawHttpServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  testing::RawHttpServer::Reply first =
      testing::RawHttpServer::OkReply(R"({"id":1})");
  first.later.push_back(
      {absl::Milliseconds(20),
       testing::RawHttpServer::HttpResponse(200, "OK", R"({"id":666})")});
  (*server)->PushReply(first);
  (*server)->PushReply(testing::RawHttpServer::OkReply(R"({"id":2})"));
  CurlUpstreamOptions options = TestOptions();
  options.loops = 1;  // both calls share the loop's one connection
  auto client = MakeClient(options);
  const std::string url = absl::StrCat((*server)->base_url(), "/u");

  UpstreamResult one = RunCall(*client, MakeRequest(url));
  ASSERT_EQ(one.error, TransportError::kNone) << one.error_detail;
  EXPECT_EQ(one.body, R"({"id":1})");
  absl::SleepFor(absl::Milliseconds(200));  // the stray bytes arrive
  UpstreamResult two = RunCall(*client, MakeRequest(url));

  ASSERT_EQ(two.error, TransportError::kNone) << two.error_detail;
  EXPECT_EQ(two.body, R"({"id":2})");
  EXPECT_EQ(two.attempts, 1);
  EXPECT_EQ((*server)->RequestCount(), 2u);
  EXPECT_EQ((*server)->ConnectionCount(), 2);
}

// libcurl 7.88 keeps the last of several Content-Length headers; differing
// ones make the framing ambiguous (RFC 9112 6.3), so the reply is refused.
TEST(CurlUpstreamClientTest, ConflictingContentLengthsAreAProtocolError) {
  Reply conflicting;
  conflicting.raw = absl::StrCat(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Content-Length: 600\r\nContent-Length: ",
      strlen(kUserJson), "\r\n\r\n", kUserJson);
  LoopbackServer server(Always(conflicting));
  auto client = MakeClient();
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.error, TransportError::kProtocol)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_TRUE(absl::StrContains(result.error_detail, "Content-Length"))
      << result.error_detail;
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(result.body.empty());
}

TEST(CurlUpstreamClientTest, EqualDuplicateContentLengthsAreAccepted) {
  Reply duplicate;
  duplicate.raw = absl::StrCat(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Content-Length: ",
      strlen(kUserJson), "\r\nContent-Length: ", strlen(kUserJson),
      "\r\n\r\n", kUserJson);
  LoopbackServer server(Always(duplicate));
  auto client = MakeClient();
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.error, TransportError::kNone)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_EQ(result.body, kUserJson);
}

std::string ReplyWithHeaderBytes(size_t line_bytes, size_t lines) {
  std::string reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
  for (size_t i = 0; i < lines; ++i) {
    absl::StrAppend(&reply, "X-Pad-", i, ": ", std::string(line_bytes, 'p'),
                    "\r\n");
  }
  absl::StrAppend(&reply, "Content-Length: ", strlen(kUserJson), "\r\n\r\n",
                  kUserJson);
  return reply;
}

TEST(CurlUpstreamClientTest, ResponseHeadersOverTheCapAreRefusedNotRetried) {
  struct Case {
    size_t cap;
    size_t line_bytes;
    size_t lines;
    bool ok;
  };
  const Case cases[] = {
      {60 * 1024, 1000, 40, true},        // 40 KB: under the default
      {60 * 1024, 1000, 70, false},       // 70 KB in many lines
      {60 * 1024, 120 * 1024, 1, false},  // one line past libcurl's 100 KiB
      {8 * 1024, 1000, 10, false},        // a configured smaller cap
      // Past libcurl's own 300 KB total: Debian's 7.88.1 carries the
      // CVE-2023-38039 fix ("Too large response headers", RECV_ERROR).
      {512 * 1024, 1000, 400, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.cap, " ", c.line_bytes, "x", c.lines));
    Reply reply;
    reply.raw = ReplyWithHeaderBytes(c.line_bytes, c.lines);
    LoopbackServer server(Always(reply));
    CurlUpstreamOptions options = TestOptions();
    options.max_response_header_bytes = c.cap;
    auto client = MakeClient(options);
    UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
    if (c.ok) {
      EXPECT_EQ(result.error, TransportError::kNone) << result.error_detail;
      EXPECT_EQ(result.http_status, 200);
      continue;
    }
    EXPECT_EQ(result.error, TransportError::kResponseHeadersTooLarge)
        << TransportErrorName(result.error) << " " << result.error_detail;
    EXPECT_EQ(result.attempts, 1);
    EXPECT_EQ(server.requests().size(), 1u);
  }
}

TEST(CurlUpstreamClientTest, ResponseBufferBudgetIsGivenBackByEachCall) {
  const std::string big = absl::StrCat(R"({"id":7,"pad":")",
                                       std::string(20000, 'x'), R"("})");
  LoopbackServer server(Always(Ok(big)));
  CurlUpstreamOptions options = TestOptions();
  options.max_response_bytes = 30 * 1024;
  options.response_buffer_budget_bytes = 30 * 1024;  // one body at a time
  auto client = MakeClient(options);
  for (int i = 0; i < 50; ++i) {
    UpstreamResult ok = RunCall(*client, MakeRequest(server.Url()));
    ASSERT_EQ(ok.http_status, 200) << i << " " << ok.error_detail;
  }
}

// A body without Content-Length grows as it arrives: the buffer never grows
// past the cap (plus the parser's padding), so a body under the cap fits a
// budget of exactly the cap.
TEST(CurlUpstreamClientTest, GrowingBodyNeverReservesPastTheCap) {
  Reply unannounced = Ok(absl::StrCat(R"({"id":7,"pad":")",
                                      std::string(20000, 'x'), R"("})"));
  unannounced.content_length = false;  // ends at close
  LoopbackServer server(Always(unannounced));
  CurlUpstreamOptions options = TestOptions();
  options.max_response_bytes = 30 * 1024;
  options.response_buffer_budget_bytes = 30 * 1024;
  auto client = MakeClient(options);
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.http_status, 200)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_LE(result.body.capacity(), 30u * 1024 + 64);
}

TEST(CurlUpstreamClientTest, TrailersDoNotOverrideTheResponseHeaders) {
  Reply chunked;
  chunked.raw = absl::StrCat(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\nTrailer: Content-Type\r\n\r\n",
      absl::Hex(strlen(kUserJson)), "\r\n", kUserJson,
      "\r\n0\r\nContent-Type: text/evil\r\nRetry-After: 99\r\n\r\n");
  LoopbackServer server(Always(chunked));
  auto client = MakeClient();
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.http_status, 200) << result.error_detail;
  EXPECT_EQ(result.body, kUserJson);
  EXPECT_EQ(result.content_type, "application/json");
  EXPECT_FALSE(result.retry_after.has_value());
}

TEST(CurlUpstreamClientTest, ResponseBufferBudgetIsOneForAllLoops) {
  // The first call announces a 20,000-byte body and stalls after 100 bytes:
  // its buffer is reserved in full while it waits.
  Reply stalled;
  stalled.raw = absl::StrCat("HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n",
                             std::string(100, ' '));
  stalled.raw_hold = absl::Seconds(20);
  const std::string big = absl::StrCat(R"({"id":7,"pad":")",
                                       std::string(20000, 'x'), R"("})");
  LoopbackServer server([&](const ReceivedRequest& request, int) {
    return absl::StrContains(request.target, "stall") ? stalled : Ok(big);
  });
  CurlUpstreamOptions options = TestOptions();  // two loops
  options.max_response_bytes = 30 * 1024;
  options.response_buffer_budget_bytes = 30 * 1024;
  options.max_attempts = 1;
  auto client = MakeClient(options);
  Results held;
  std::shared_ptr<UpstreamCall> call =
      client->Start(MakeRequest(server.Url() + "?stall"), held.Callback());
  ASSERT_TRUE(server.WaitForRequests(1, absl::Seconds(10)));
  // The held call keeps its loop busier: this one runs on the other loop,
  // and still finds the budget spent.
  UpstreamResult second = UpstreamResult();
  for (int i = 0; i < 100; ++i) {
    second = RunCall(*client, MakeRequest(server.Url()));
    if (second.error == TransportError::kResponseBudgetExhausted) break;
    ASSERT_EQ(second.http_status, 200) << second.error_detail;
    absl::SleepFor(absl::Milliseconds(20));  // the header may not be in yet
  }
  EXPECT_EQ(second.error, TransportError::kResponseBudgetExhausted)
      << TransportErrorName(second.error) << " " << second.error_detail;
  call->Cancel();
  ASSERT_TRUE(held.WaitFor(1));
  // Its bytes came back with its completion.
  EXPECT_EQ(RunCall(*client, MakeRequest(server.Url())).http_status, 200);
}

TEST(CurlUpstreamClientTest, AttemptTimeoutLeavesTimeForARetry) {
  LoopbackServer server([](const ReceivedRequest&, int index) {
    Reply reply = Ok();
    if (index == 0) reply.delay = absl::Seconds(5);
    return reply;
  });
  CurlUpstreamOptions options = TestOptions();
  options.attempt_timeout = absl::Milliseconds(200);
  auto client = MakeClient(options);
  const absl::Time start = absl::Now();
  UpstreamResult result =
      RunCall(*client, MakeRequest(server.Url(), absl::Seconds(10)));
  EXPECT_EQ(result.http_status, 200) << result.error_detail;
  EXPECT_EQ(result.attempts, 2);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST(CurlUpstreamClientTest, EveryAttemptTimingOutIsAnAttemptTimeout) {
  Reply slow = Ok();
  slow.delay = absl::Seconds(5);
  LoopbackServer server(Always(slow));
  CurlUpstreamOptions options = TestOptions();
  options.attempt_timeout = absl::Milliseconds(150);
  options.max_attempts = 2;
  auto client = MakeClient(options);
  UpstreamResult result =
      RunCall(*client, MakeRequest(server.Url(), absl::Seconds(10)));
  EXPECT_EQ(result.error, TransportError::kAttemptTimeout)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_EQ(result.attempts, 2);
  EXPECT_TRUE(server.WaitForRequests(2, absl::Seconds(10)));
  EXPECT_EQ(server.requests().size(), 2u);
}

// libcurl does not time out a transfer that waits for a connection slot;
// the scheduler must, and call it the deadline it is.
TEST(CurlUpstreamClientTest, DeadlineWhileQueuedForAConnectionIsDeadlineExceeded) {
  Reply slow = Ok();
  slow.delay = absl::Seconds(3);
  LoopbackServer server(Always(slow));
  CurlUpstreamOptions options = TestOptions();
  options.loops = 1;
  options.max_host_connections = 1;
  Results held;  // outlives the client, whose destructor ends the call
  auto client = MakeClient(options);
  client->Start(MakeRequest(server.Url()), held.Callback());
  ASSERT_TRUE(server.WaitForRequests(1, absl::Seconds(10)));
  const absl::Time start = absl::Now();
  UpstreamResult result =
      RunCall(*client, MakeRequest(server.Url(), absl::Milliseconds(300)));
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(result.error, TransportError::kDeadlineExceeded)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_THAT(result.error_detail, HasSubstr("no upstream connection"));
  EXPECT_LT(elapsed, absl::Seconds(2));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(CurlUpstreamClientTest, AbortInFlightEndsHeldCallsAsDraining) {
  Reply slow = Ok();
  slow.delay = absl::Seconds(20);
  LoopbackServer server(Always(slow));
  auto client = MakeClient();
  Results results;
  for (int i = 0; i < 3; ++i) {
    client->Start(MakeRequest(server.Url()), results.Callback());
  }
  ASSERT_TRUE(server.WaitForRequests(3, absl::Seconds(10)));
  const absl::Time start = absl::Now();
  client->AbortInFlight("drain grace period ended");
  ASSERT_TRUE(results.WaitFor(3, absl::Seconds(5)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  for (const UpstreamResult& r : results.All()) {
    EXPECT_EQ(r.error, TransportError::kDraining);
    EXPECT_EQ(r.error_detail, "drain grace period ended");
    EXPECT_EQ(r.attempts, 1);
  }
  EXPECT_TRUE(client->WaitIdle(absl::Now() + absl::Seconds(5)));
  EXPECT_EQ(RunCall(*client, MakeRequest(server.Url())).error,
            TransportError::kDraining);
}

TEST(CurlUpstreamClientTest, PathIsSentAsBuiltWithoutDotSegmentFolding) {
  LoopbackServer server(Always(Ok()));
  auto client = MakeClient();
  UpstreamResult result = RunCall(
      *client,
      MakeRequest(absl::StrCat("http://127.0.0.1:", server.port(),
                               "/authn2/v0/tenant/../user/./u-1")));
  EXPECT_EQ(result.http_status, 200) << result.error_detail;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].target, "/authn2/v0/tenant/../user/./u-1");
}

TEST(CurlUpstreamClientTest, MetricsCountAttemptsRetriesAndRefusals) {
  LoopbackServer server([](const ReceivedRequest&, int index) {
    return index == 0 ? StatusReply(503) : Ok();
  });
  metrics::Registry registry;
  GatewayMetrics gateway_metrics(&registry, "test");
  CurlUpstreamOptions options = TestOptions();
  options.metrics = &gateway_metrics.upstream;
  options.max_in_flight = 1;
  auto client = MakeClient(options);
  // 503, then 200 on the retry.
  ASSERT_EQ(RunCall(*client, MakeRequest(server.Url())).http_status, 200);
  // Refused at admission while one call is held.
  Reply slow = Ok();
  slow.delay = absl::Seconds(1);
  LoopbackServer slow_server(Always(slow));
  Results held;
  client->Start(MakeRequest(slow_server.Url()), held.Callback());
  EXPECT_EQ(RunCall(*client, MakeRequest(server.Url())).error,
            TransportError::kOverloaded);
  ASSERT_TRUE(held.WaitFor(1));

  const UpstreamMetrics& m = gateway_metrics.upstream;
  EXPECT_EQ(m.attempts->Get({"5xx", "none"}).Value(), 1u);
  EXPECT_EQ(m.attempts->Get({"2xx", "none"}).Value(), 2u);
  EXPECT_EQ(m.retries->Value(), 1u);
  EXPECT_EQ(m.retries_refused->Value(), 0u);
  EXPECT_EQ(m.admission_refusals->Get({"overloaded"}).Value(), 1u);
  EXPECT_GE(m.connections_opened->Value(), 2u);
  EXPECT_EQ(m.attempt_duration->Count(), 3u);
  EXPECT_EQ(m.transfers_waiting->Value(), 0);
  // Both 200 bodies and the 503's {"status":503}.
  EXPECT_EQ(m.response_bytes->Value(),
            2 * strlen(kUserJson) + strlen(R"({"status":503})"));
  const std::string text = registry.Expose();
  EXPECT_THAT(text, HasSubstr("usergateway_upstream_attempts_total{"
                              "status_class=\"5xx\",transport_error=\"none\"} 1"));
}

TEST(CurlUpstreamClientTest, MetricsCountTransportErrorsAndRefusedRetries) {
  Reply hang_up;
  hang_up.close_without_reply = true;
  LoopbackServer server(Always(hang_up));
  metrics::Registry registry;
  GatewayMetrics gateway_metrics(&registry, "test");
  CurlUpstreamOptions options = TestOptions();
  options.metrics = &gateway_metrics.upstream;
  options.retry_budget_burst = 1;
  options.retry_budget_ratio = 0;
  auto client = MakeClient(options);
  EXPECT_EQ(RunCall(*client, MakeRequest(server.Url())).error,
            TransportError::kConnectionReset);
  const UpstreamMetrics& m = gateway_metrics.upstream;
  // The first attempt, one retry the budget allowed, then a refusal.
  EXPECT_EQ(m.attempts->Get({"none", "connection_reset"}).Value(), 2u);
  EXPECT_EQ(m.retries->Value(), 1u);
  EXPECT_EQ(m.retries_refused->Value(), 1u);
}

TEST(CurlUpstreamClientTest, InsecureHttpIsRefusedUnlessAllowed) {
  LoopbackServer server(Always(Ok()));
  CurlUpstreamOptions options = TestOptions();
  options.allow_insecure_http = false;
  auto client = MakeClient(options);
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.error, TransportError::kInternal);
  EXPECT_THAT(result.error_detail, HasSubstr("http://"));
  EXPECT_EQ(result.attempts, 0);
  EXPECT_EQ(server.connections(), 0);
}

TEST(CurlUpstreamClientTest, OtherSchemesAreRefused) {
  auto client = MakeClient();
  UpstreamResult result =
      RunCall(*client, MakeRequest("ftp://127.0.0.1:1/authn2/v0/user/u-1"));
  EXPECT_EQ(result.error, TransportError::kInternal);
  EXPECT_EQ(result.attempts, 0);
}

TEST(CurlUpstreamClientTest, HeaderInjectionIsRefused) {
  LoopbackServer server(Always(Ok()));
  auto client = MakeClient();
  UpstreamRequest request = MakeRequest(server.Url());
  request.headers.push_back({"X-Trace", "a\r\nX-Evil: 1"});
  UpstreamResult result = RunCall(*client, std::move(request));
  EXPECT_EQ(result.error, TransportError::kInternal);
  EXPECT_THAT(result.error_detail, HasSubstr("X-Trace"));
  EXPECT_THAT(result.error_detail, Not(HasSubstr("Evil")));
  EXPECT_EQ(server.connections(), 0);
}

struct BodyCapCase {
  const char* name;
  size_t body_size;
  bool content_length;
  TransportError error;
};

TEST(CurlUpstreamClientTest, ResponseBodyCap) {
  const BodyCapCase cases[] = {
      {"at the cap", 1000, true, TransportError::kNone},
      {"over, Content-Length", 1001, true, TransportError::kResponseTooLarge},
      {"over, streamed", 5000, false, TransportError::kResponseTooLarge},
      {"far over, Content-Length", 5 << 20, true,
       TransportError::kResponseTooLarge},
  };
  for (const BodyCapCase& c : cases) {
    SCOPED_TRACE(c.name);
    Reply big = Ok(std::string(c.body_size, 'x'));
    big.content_length = c.content_length;
    LoopbackServer server(Always(big));
    CurlUpstreamOptions options = TestOptions();
    options.max_response_bytes = 1000;
    auto client = MakeClient(options);
    UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
    EXPECT_EQ(result.error, c.error)
        << TransportErrorName(result.error) << " " << result.error_detail;
    EXPECT_EQ(result.attempts, 1);
    if (c.error == TransportError::kNone) {
      EXPECT_EQ(result.body.size(), c.body_size);
    } else {
      EXPECT_TRUE(result.body.empty());
      EXPECT_THAT(result.error_detail, HasSubstr("1000"));
    }
  }
}

TEST(CurlUpstreamClientTest, OverMaxInFlightIsRefusedInline) {
  Reply slow = Ok();
  slow.delay = absl::Seconds(10);
  LoopbackServer server(Always(slow));
  CurlUpstreamOptions options = TestOptions();
  options.max_in_flight = 1;
  auto client = MakeClient(options);
  Results first;
  client->Start(MakeRequest(server.Url()), first.Callback());
  Results second;
  client->Start(MakeRequest(server.Url()), second.Callback());
  // Refusals run before Start returns, on the caller's thread.
  ASSERT_EQ(second.count(), 1u);
  EXPECT_EQ(second.thread(0), std::this_thread::get_id());
  EXPECT_EQ(second.All()[0].error, TransportError::kOverloaded);
  EXPECT_EQ(second.All()[0].attempts, 0);
  EXPECT_EQ(client->Stats().in_flight, 1u);
  client.reset();
  ASSERT_EQ(first.count(), 1u);
  EXPECT_EQ(first.All()[0].error, TransportError::kCancelled);
}

TEST(CurlUpstreamClientTest, MaxInFlightCountsCallsOnEveryLoop) {
  Reply slow = Ok();
  slow.delay = absl::Seconds(10);
  LoopbackServer server(Always(slow));
  CurlUpstreamOptions options = TestOptions();
  options.loops = 4;
  options.max_in_flight = 2;  // fewer than the loops: the limit is global
  auto client = MakeClient(options);
  ASSERT_EQ(client->loop_count(), 4u);
  Results held;
  client->Start(MakeRequest(server.Url()), held.Callback());
  client->Start(MakeRequest(server.Url()), held.Callback());
  Results refused;
  client->Start(MakeRequest(server.Url()), refused.Callback());
  ASSERT_EQ(refused.count(), 1u);
  EXPECT_EQ(refused.All()[0].error, TransportError::kOverloaded);
  EXPECT_EQ(client->Stats().in_flight, 2u);
  client.reset();  // before `held` goes: its callbacks run now
  EXPECT_EQ(held.count(), 2u);
}

TEST(CurlUpstreamClientTest, ConcurrentCallsSpreadOverTheLoops) {
  // Held calls: each Start sees the earlier ones in flight and picks the
  // least loaded loop, so both loops serve calls (and run callbacks).
  Reply held = Ok();
  held.delay = absl::Milliseconds(200);
  LoopbackServer server(Always(held));
  auto client = MakeClient();
  ASSERT_EQ(client->loop_count(), 2u);
  constexpr int kCalls = 6;
  Results results;
  for (int i = 0; i < kCalls; ++i) {
    client->Start(MakeRequest(server.Url()), results.Callback());
  }
  ASSERT_TRUE(results.WaitFor(kCalls));
  std::vector<std::thread::id> threads;
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_EQ(results.All()[i].http_status, 200);
    threads.push_back(results.thread(i));
  }
  std::sort(threads.begin(), threads.end());
  threads.erase(std::unique(threads.begin(), threads.end()), threads.end());
  EXPECT_EQ(threads.size(), 2u);
  EXPECT_EQ(client->Stats().transfers, static_cast<uint64_t>(kCalls));
}

TEST(CurlUpstreamClientTest, LoopThreadsAreNamedForOperators) {
  auto client = MakeClient();
  std::vector<std::string> names;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc/self/task"),
                                         closedir);
  ASSERT_NE(dir, nullptr);
  while (dirent* entry = readdir(dir.get())) {
    const std::string path =
        absl::StrCat("/proc/self/task/", entry->d_name, "/comm");
    std::FILE* comm = std::fopen(path.c_str(), "r");
    if (comm == nullptr) continue;  // "." and ".."
    char name[64] = {};
    if (std::fgets(name, sizeof(name), comm) != nullptr) {
      names.emplace_back(absl::StripAsciiWhitespace(name));
    }
    std::fclose(comm);
  }
  EXPECT_THAT(names, ::testing::IsSupersetOf({"curl-loop-0", "curl-loop-1"}));
}

TEST(CurlUpstreamClientTest, DrainRefusesNewCallsAndFinishesInFlight) {
  Reply slow = Ok();
  slow.delay = absl::Milliseconds(300);
  LoopbackServer server(Always(slow));
  auto client = MakeClient();
  Results first;
  client->Start(MakeRequest(server.Url()), first.Callback());
  client->Drain();
  Results refused;
  std::shared_ptr<UpstreamCall> handle =
      client->Start(MakeRequest(server.Url()), refused.Callback());
  ASSERT_EQ(refused.count(), 1u);
  EXPECT_EQ(refused.All()[0].error, TransportError::kDraining);
  handle->Cancel();  // a refused call's handle is inert
  EXPECT_FALSE(client->WaitIdle(absl::Now() + absl::Milliseconds(50)));
  EXPECT_TRUE(client->WaitIdle(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(client->Stats().in_flight, 0u);
  ASSERT_EQ(first.count(), 1u);
  EXPECT_EQ(first.All()[0].http_status, 200);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(CurlUpstreamClientTest, DestructorCancelsCallsInFlight) {
  Reply slow = Ok();
  slow.delay = absl::Seconds(10);
  LoopbackServer server(Always(slow));
  auto client = MakeClient();
  Results results;
  std::shared_ptr<UpstreamCall> call =
      client->Start(MakeRequest(server.Url()), results.Callback());
  ASSERT_TRUE(server.WaitForRequests(1, absl::Seconds(10)));
  const absl::Time start = absl::Now();
  client.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  ASSERT_EQ(results.count(), 1u);
  EXPECT_EQ(results.All()[0].error, TransportError::kCancelled);
  EXPECT_EQ(results.All()[0].error_detail, "gateway shutting down");
  call->Cancel();  // the client is gone; the handle stays safe
  EXPECT_EQ(results.count(), 1u);
}

TEST(CurlUpstreamClientTest, ManyConcurrentCallsAllSucceed) {
  LoopbackServer server([](const ReceivedRequest& request, int) {
    return Ok(request.body);  // echo, to pair results with requests
  });
  auto client = MakeClient();
  constexpr int kCalls = 200;
  std::vector<std::unique_ptr<Results>> results;
  for (int i = 0; i < kCalls; ++i) {
    results.push_back(std::make_unique<Results>());
    UpstreamRequest request = MakeRequest(server.Url(), absl::Seconds(60));
    request.body = absl::StrCat(R"({"first_name":"n)", i, R"("})");
    client->Start(std::move(request), results.back()->Callback());
  }
  for (int i = 0; i < kCalls; ++i) {
    UpstreamResult result = results[i]->TakeFirst(absl::Seconds(60));
    EXPECT_EQ(result.http_status, 200) << i << ": " << result.error_detail;
    EXPECT_EQ(result.body, absl::StrCat(R"({"first_name":"n)", i, R"("})"));
  }
  EXPECT_TRUE(client->WaitIdle(absl::Now() + absl::Seconds(10)));
  CurlUpstreamStats stats = client->Stats();
  EXPECT_EQ(stats.transfers, static_cast<uint64_t>(kCalls));
  EXPECT_EQ(stats.in_flight, 0u);
  EXPECT_EQ(server.requests().size(), static_cast<size_t>(kCalls));
}

TEST(CurlUpstreamClientTest, ManyHeldCallsCompleteTogether) {
  // Every call is held by the upstream; the loop must serve them all at
  // once rather than walk every transfer on every wakeup.
  Reply held = Ok();
  held.delay = absl::Milliseconds(300);
  LoopbackServer server(Always(held));
  auto client = MakeClient();
  constexpr int kCalls = 500;
  Results results;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kCalls; ++i) {
    client->Start(MakeRequest(server.Url(), absl::Seconds(30)),
                  results.Callback());
  }
  ASSERT_TRUE(results.WaitFor(kCalls, absl::Seconds(30)));
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_LT(elapsed, absl::Seconds(3));
  for (const UpstreamResult& result : results.All()) {
    EXPECT_EQ(result.http_status, 200) << result.error_detail;
    EXPECT_EQ(result.attempts, 1);
  }
  EXPECT_EQ(server.connections(), kCalls);  // HTTP/1.1: one per held call
  EXPECT_EQ(client->Stats().connections_opened,
            static_cast<uint64_t>(kCalls));
}

TEST(CurlUpstreamClientTest, StartFromAnotherThreadWakesTheIdleLoop) {
  LoopbackServer server(Always(Ok()));
  auto client = MakeClient();
  // Warm up: afterwards the loop has nothing to do and waits in epoll_wait
  // (up to a second when no wakeup arrives).
  ASSERT_EQ(RunCall(*client, MakeRequest(server.Url())).http_status, 200);
  for (int i = 0; i < 5; ++i) {
    Results results;
    absl::Time started;
    std::thread starter([&] {
      started = absl::Now();
      client->Start(MakeRequest(server.Url()), results.Callback());
    });
    starter.join();
    UpstreamResult result = results.TakeFirst();
    EXPECT_LT(absl::Now() - started, absl::Milliseconds(500)) << i;
    EXPECT_EQ(result.http_status, 200) << i << ": " << result.error_detail;
  }
}

TEST(CurlUpstreamClientTest, CancelOneOfManyHeldCalls) {
  // Held calls end when cancelled (10 s) or answer quickly otherwise.
  LoopbackServer server([](const ReceivedRequest& request, int) {
    Reply reply = Ok();
    if (request.Header("X-Hold").has_value()) reply.delay = absl::Seconds(10);
    return reply;
  });
  auto client = MakeClient();
  constexpr int kHeld = 50;
  std::vector<std::unique_ptr<Results>> results;
  std::vector<std::shared_ptr<UpstreamCall>> calls;
  for (int i = 0; i < kHeld; ++i) {
    results.push_back(std::make_unique<Results>());
    UpstreamRequest request = MakeRequest(server.Url());
    request.headers.push_back({"X-Hold", "1"});
    calls.push_back(
        client->Start(std::move(request), results.back()->Callback()));
  }
  ASSERT_TRUE(server.WaitForRequests(kHeld, absl::Seconds(10)));
  const absl::Time cancelled_at = absl::Now();
  calls[kHeld / 2]->Cancel();
  UpstreamResult cancelled = results[kHeld / 2]->TakeFirst();
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(1));
  EXPECT_EQ(cancelled.error, TransportError::kCancelled);
  EXPECT_EQ(cancelled.attempts, 1);
  EXPECT_TRUE(server.WaitForClientClose(absl::Seconds(5)));
  // The loop keeps serving: a new call completes while the rest are held.
  EXPECT_EQ(RunCall(*client, MakeRequest(server.Url())).http_status, 200);
  for (int i = 0; i < kHeld; ++i) {
    EXPECT_EQ(results[i]->count(), i == kHeld / 2 ? 1u : 0u) << i;
  }
  client.reset();  // the others end with the client
  for (int i = 0; i < kHeld; ++i) {
    ASSERT_EQ(results[i]->count(), 1u) << i;
    if (i != kHeld / 2) {
      EXPECT_EQ(results[i]->All()[0].error_detail, "gateway shutting down");
    }
  }
}

TEST(CurlUpstreamClientTest, RedirectIsReturnedNotFollowed) {
  Reply redirect = StatusReply(302);
  redirect.headers.push_back({"Location", "/elsewhere"});
  LoopbackServer server(Always(redirect));
  auto client = MakeClient();
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.error, TransportError::kNone);
  EXPECT_EQ(result.http_status, 302);
  EXPECT_EQ(result.attempts, 1);
  std::vector<ReceivedRequest> received = server.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].target, kPath);
}

TEST(CurlUpstreamClientTest, TlsHandshakeFailureIsNotRetried) {
  // A plain-HTTP peer answering the ClientHello.
  LoopbackServer server(Always(Ok()),
                        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  auto client = MakeClient();
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url("https")));
  EXPECT_EQ(result.error, TransportError::kTlsHandshake)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_EQ(result.attempts, 1);
  ExpectNoSecret(result);
}

// A self-signed certificate for 127.0.0.1, generated per test run.
class SelfSignedCert {
 public:
  // Valid for `san` from an hour ago until `valid_for` from now (negative:
  // already expired).
  explicit SelfSignedCert(const char* san = "IP:127.0.0.1,DNS:localhost",
                          long valid_for_s = 24 * 3600) {  // NOLINT
    key_ = EVP_EC_gen("P-256");
    cert_ = X509_new();
    X509_set_version(cert_, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert_), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert_), -2 * 24 * 3600);
    X509_gmtime_adj(X509_getm_notAfter(cert_), valid_for_s);
    X509_set_pubkey(cert_, key_);
    X509_NAME* name = X509_get_subject_name(cert_);
    X509_NAME_add_entry_by_txt(
        name, "CN", MBSTRING_ASC,
        reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert_, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert_, cert_, nullptr, nullptr, 0);
    X509_EXTENSION* names =
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san);
    X509_add_ext(cert_, names, -1);
    X509_EXTENSION_free(names);
    X509_sign(cert_, key_, EVP_sha256());

    const char* tmp = std::getenv("TEST_TMPDIR");
    static std::atomic<int> serial{0};
    path_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/loopback-ca-",
                         getpid(), "-", serial.fetch_add(1), ".pem");
    std::FILE* file = std::fopen(path_.c_str(), "w");
    EXPECT_NE(file, nullptr);
    if (file != nullptr) {
      PEM_write_X509(file, cert_);
      std::fclose(file);
    }
  }
  ~SelfSignedCert() {
    X509_free(cert_);
    EVP_PKEY_free(key_);
    std::remove(path_.c_str());
  }

  X509* cert() const { return cert_; }
  EVP_PKEY* key() const { return key_; }
  const std::string& pem_path() const { return path_; }

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  std::string path_;
};

// An HTTPS server (HTTP/1.1; it offers no ALPN) answering every PUT, after
// `delay` when the request has the query parameter "slow".
class TlsServer {
 public:
  explicit TlsServer(const SelfSignedCert& cert,
                     absl::Duration delay = absl::ZeroDuration())
      : server_(cert.cert(), cert.key()) {
    EXPECT_TRUE(server_.is_valid());
    server_.Put(kPath, [delay](const httplib::Request& req,
                               httplib::Response& res) {
      if (req.has_param("slow")) absl::SleepFor(delay);
      res.set_content(kUserJson, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // Connections queue in the backlog until the loop accepts them.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~TlsServer() {
    server_.stop();
    thread_.join();
  }
  std::string Url() const {
    return absl::StrCat("https://127.0.0.1:", port_, kPath);
  }

 private:
  httplib::SSLServer server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(CurlUpstreamClientTest, TlsWithTrustedCaBundleSucceeds) {
  SelfSignedCert cert;
  TlsServer server(cert);
  CurlUpstreamOptions options = TestOptions();
  options.allow_insecure_http = false;
  options.ca_bundle = cert.pem_path();
  auto client = MakeClient(options);
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.error, TransportError::kNone) << result.error_detail;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.body, kUserJson);
}

TEST(CurlUpstreamClientTest, TlsWithUntrustedCertificateIsNotRetried) {
  SelfSignedCert cert;
  TlsServer server(cert);
  auto client = MakeClient();  // the system's CA bundle
  UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
  EXPECT_EQ(result.error, TransportError::kTlsUntrusted)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_EQ(result.attempts, 1);
  ExpectNoSecret(result);
}

// The automatic host limit is h2's (one connection per 100 calls). An
// https:// upstream that declines h2 needs a connection per call, as
// http:// does: the limit follows what the first connection negotiated,
// and calls already waiting for a slot are started again.
TEST(CurlUpstreamClientTest, NegotiatedHttp1LiftsTheAutomaticH2Limit) {
  SelfSignedCert cert;
  TlsServer server(cert, absl::Milliseconds(600));
  CurlUpstreamOptions options = TestOptions();
  options.allow_insecure_http = false;
  options.ca_bundle = cert.pem_path();
  options.max_in_flight = 100;  // auto limit: 1 connection for h2
  options.loops = 1;
  auto client = MakeClient(options);
  constexpr int kCalls = 4;
  Results results;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kCalls; ++i) {
    client->Start(MakeRequest(server.Url() + "?slow"), results.Callback());
  }
  ASSERT_TRUE(results.WaitFor(kCalls));
  const absl::Duration elapsed = absl::Now() - start;
  for (const UpstreamResult& result : results.All()) {
    EXPECT_EQ(result.http_status, 200) << result.error_detail;
  }
  // Side by side, not one after the other on one connection (2.4 s).
  EXPECT_LT(elapsed, absl::Milliseconds(1800));
  EXPECT_EQ(client->Stats().connections_opened, static_cast<uint64_t>(kCalls));
}

// A second connection resumes the first one's TLS session, even from
// another easy handle: the loop's handles share a session cache.
TEST(CurlUpstreamClientTest, SecondConnectionResumesTheTlsSession) {
  SelfSignedCert cert;
  TlsServer server(cert, absl::Milliseconds(800));
  CurlUpstreamOptions options = TestOptions();
  options.allow_insecure_http = false;
  options.ca_bundle = cert.pem_path();
  options.loops = 1;
  auto client = MakeClient(options);
  ASSERT_EQ(RunCall(*client, MakeRequest(server.Url())).http_status, 200);
  EXPECT_EQ(client->Stats().tls_sessions_resumed, 0u);
  // The first handle is busy with a slow call; the next call gets a new
  // handle (no session cache of its own) and a new connection.
  Results slow;
  client->Start(MakeRequest(server.Url() + "?slow"), slow.Callback());
  absl::SleepFor(absl::Milliseconds(100));
  ASSERT_EQ(RunCall(*client, MakeRequest(server.Url())).http_status, 200);
  ASSERT_TRUE(slow.WaitFor(1));
  EXPECT_EQ(client->Stats().connections_opened, 2u);
  EXPECT_GE(client->Stats().tls_sessions_resumed, 1u);
}

TEST(CurlUpstreamClientTest, ConnectionsOlderThanTheMaxAgeAreNotReused) {
  LoopbackServer server(Always(Ok()));
  CurlUpstreamOptions options = TestOptions();
  options.loops = 1;
  options.max_connection_age = absl::Seconds(1);
  auto client = MakeClient(options);
  ASSERT_EQ(RunCall(*client, MakeRequest(server.Url())).http_status, 200);
  ASSERT_EQ(RunCall(*client, MakeRequest(server.Url())).http_status, 200);
  EXPECT_EQ(server.connections(), 1);  // young: reused
  absl::SleepFor(absl::Milliseconds(2100));  // libcurl counts whole seconds
  ASSERT_EQ(RunCall(*client, MakeRequest(server.Url())).http_status, 200);
  EXPECT_EQ(server.connections(), 2);
}

struct TlsFailureCase {
  const char* name;
  const char* san;
  long valid_for_s;  // NOLINT(runtime/int)
  TransportError expected;
};

TEST(CurlUpstreamClientTest, TlsFailuresEachHaveTheirReasonAndAreNotRetried) {
  const TlsFailureCase cases[] = {
      {"wrong host name", "DNS:api.other.example", 24 * 3600,
       TransportError::kTlsHostnameMismatch},
      {"expired", "IP:127.0.0.1,DNS:localhost", -3600,
       TransportError::kTlsCertificateExpired},
  };
  for (const TlsFailureCase& c : cases) {
    SCOPED_TRACE(c.name);
    SelfSignedCert cert(c.san, c.valid_for_s);
    TlsServer server(cert);
    CurlUpstreamOptions options = TestOptions();
    options.allow_insecure_http = false;
    options.ca_bundle = cert.pem_path();  // trusted: only the named fault
    auto client = MakeClient(options);
    UpstreamResult result = RunCall(*client, MakeRequest(server.Url()));
    EXPECT_EQ(result.error, c.expected)
        << TransportErrorName(result.error) << " " << result.error_detail;
    EXPECT_EQ(result.attempts, 1);
    ExpectNoSecret(result);
  }
}

// TLS 1.2 at least: a server that offers only TLS 1.1 is a handshake
// failure, not a downgrade.
TEST(CurlUpstreamClientTest, ServerBelowTls12IsAHandshakeFailure) {
  SelfSignedCert cert;
  httplib::SSLServer old_server(cert.cert(), cert.key());
  ASSERT_TRUE(old_server.is_valid());
  SSL_CTX* ctx = old_server.ssl_context();
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
  SSL_CTX_set_cipher_list(ctx, "DEFAULT@SECLEVEL=0");
  old_server.Put(kPath, [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kUserJson, "application/json");
  });
  const int port = old_server.bind_to_any_port("127.0.0.1");
  std::thread serving([&old_server] { old_server.listen_after_bind(); });
  CurlUpstreamOptions options = TestOptions();
  options.allow_insecure_http = false;
  options.ca_bundle = cert.pem_path();
  auto client = MakeClient(options);
  UpstreamResult result = RunCall(
      *client, MakeRequest(absl::StrCat("https://127.0.0.1:", port, kPath)));
  old_server.stop();
  serving.join();
  EXPECT_EQ(result.error, TransportError::kTlsHandshake)
      << TransportErrorName(result.error) << " " << result.error_detail;
  EXPECT_EQ(result.attempts, 1);
}

TEST(CurlUpstreamClientTest, AutoHostLimitLeavesHttpUnlimited) {
  Reply held = Ok();
  held.delay = absl::Milliseconds(200);
  LoopbackServer server(Always(held));
  CurlUpstreamOptions options = TestOptions();
  options.max_in_flight = 100;  // would mean 1 connection for https://
  auto client = MakeClient(options);
  constexpr int kCalls = 4;
  Results results;
  for (int i = 0; i < kCalls; ++i) {
    client->Start(MakeRequest(server.Url()), results.Callback());
  }
  // All four are held by the server at the same time.
  ASSERT_TRUE(server.WaitForRequests(kCalls, absl::Seconds(10)));
  ASSERT_TRUE(results.WaitFor(kCalls));
  EXPECT_EQ(server.connections(), kCalls);
}

TEST(CurlUpstreamClientTest, CreateRejectsInvalidOptions) {
  std::vector<std::pair<const char*, std::function<void(CurlUpstreamOptions&)>>>
      cases = {
          {"max_attempts", [](CurlUpstreamOptions& o) { o.max_attempts = 0; }},
          {"max_in_flight",
           [](CurlUpstreamOptions& o) { o.max_in_flight = 0; }},
          {"max_response_bytes",
           [](CurlUpstreamOptions& o) { o.max_response_bytes = 0; }},
          {"connect_timeout",
           [](CurlUpstreamOptions& o) {
             o.connect_timeout = absl::ZeroDuration();
           }},
          {"timeout_cap",
           [](CurlUpstreamOptions& o) { o.timeout_cap = -absl::Seconds(1); }},
          {"deadline_margin",
           [](CurlUpstreamOptions& o) {
             o.deadline_margin = -absl::Seconds(1);
           }},
          {"backoff_max",
           [](CurlUpstreamOptions& o) {
             o.backoff_base = absl::Seconds(2);
             o.backoff_max = absl::Seconds(1);
           }},
          {"retry_budget_ratio",
           [](CurlUpstreamOptions& o) { o.retry_budget_ratio = -1; }},
          {"max_host_connections",
           [](CurlUpstreamOptions& o) { o.max_host_connections = -1; }},
          {"loops",
           [](CurlUpstreamOptions& o) { o.loops = kMaxLoops + 1; }},
          {"ca_bundle",
           [](CurlUpstreamOptions& o) { o.ca_bundle = "/nonexistent/ca.pem"; }},
          {"max_response_header_bytes",
           [](CurlUpstreamOptions& o) { o.max_response_header_bytes = 0; }},
          {"response_buffer_budget_bytes",
           [](CurlUpstreamOptions& o) {
             o.response_buffer_budget_bytes = o.max_response_bytes - 1;
           }},
          {"attempt_timeout",
           [](CurlUpstreamOptions& o) {
             o.attempt_timeout = -absl::Milliseconds(1);
           }},
          {"max_connection_age",
           [](CurlUpstreamOptions& o) {
             o.max_connection_age = -absl::Seconds(1);
           }},
      };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.first);
    CurlUpstreamOptions options;
    c.second(options);
    absl::StatusOr<std::unique_ptr<CurlUpstreamClient>> client =
        CurlUpstreamClient::Create(options);
    EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(EffectiveMaxHostConnectionsTest, AutoCapsOnlyHttpsWithHttp2) {
  struct Case {
    long configured;  // NOLINT(runtime/int)
    bool http2;
    size_t max_in_flight;
    const char* url;
    long want;  // NOLINT(runtime/int)
  };
  const Case cases[] = {
      {0, true, 10000, "https://api.example.com/x", 100},
      {0, true, 10001, "https://api.example.com/x", 101},
      {0, true, 1, "HTTPS://api.example.com/x", 1},
      {0, true, 250, "https://api.example.com/x", 3},
      {0, false, 10000, "https://api.example.com/x", 0},
      {0, true, 10000, "http://api.example.com/x", 0},
      {7, true, 10000, "https://api.example.com/x", 7},
      {7, true, 10000, "http://api.example.com/x", 7},
  };
  for (const Case& c : cases) {
    CurlUpstreamOptions options;
    options.max_host_connections = c.configured;
    options.http2 = c.http2;
    options.max_in_flight = c.max_in_flight;
    EXPECT_EQ(EffectiveMaxHostConnections(options, c.url), c.want)
        << c.configured << " " << c.http2 << " " << c.max_in_flight << " "
        << c.url;
  }
}

TEST(EffectiveLoopCountTest, AutoIsCappedAndLimitsWin) {
  CurlUpstreamOptions options;
  EXPECT_EQ(EffectiveLoopCount(options, 2), 2u);  // auto: the CPUs
  EXPECT_EQ(EffectiveLoopCount(options, 0), 1u);
  EXPECT_EQ(EffectiveLoopCount(options, 64), kMaxAutoLoops);
  options.loops = 12;  // explicit: not capped by kMaxAutoLoops
  EXPECT_EQ(EffectiveLoopCount(options, 2), 12u);
  options.max_host_connections = 3;  // every loop needs a connection
  EXPECT_EQ(EffectiveLoopCount(options, 2), 3u);
  options.max_total_connections = 1;
  EXPECT_EQ(EffectiveLoopCount(options, 2), 1u);
}

TEST(LoopShareTest, SharesAddUpToTheClientsLimits) {
  CurlUpstreamOptions options;
  options.max_in_flight = 10001;
  options.max_host_connections = 7;
  options.max_total_connections = 9;
  constexpr size_t kLoops = 3;
  long host = 0;   // NOLINT(runtime/int)
  long total = 0;  // NOLINT(runtime/int)
  for (size_t i = 0; i < kLoops; ++i) {
    const CurlUpstreamOptions share = LoopShare(options, kLoops, i);
    EXPECT_EQ(share.max_in_flight, 3334u) << i;  // rounded up
    EXPECT_GE(share.max_host_connections, 2) << i;
    EXPECT_GE(share.max_total_connections, 3) << i;
    host += share.max_host_connections;
    total += share.max_total_connections;
  }
  EXPECT_EQ(host, 7);
  EXPECT_EQ(total, 9);
  // 0 (auto / unlimited) stays 0: each loop decides from its own share.
  options.max_host_connections = 0;
  options.max_total_connections = 0;
  EXPECT_EQ(LoopShare(options, kLoops, 0).max_host_connections, 0);
  EXPECT_EQ(LoopShare(options, kLoops, 0).max_total_connections, 0);
  // Auto host limit per loop for https + h2: ceil(3334 / 100) = 34 each.
  EXPECT_EQ(EffectiveMaxHostConnections(LoopShare(options, kLoops, 2),
                                        "https://api.example.com/x"),
            34);
}

}  // namespace
}  // namespace usergateway
