#include "tests/emulator/raw_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>  // NOLINT(build/c++11)
#include <cstring>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace usergateway {
namespace testing {

// One accepted connection. `fd` is -1 once closed; it is written under mu_
// (by the serving thread only) so that Stop() never shuts down a number
// the kernel has already handed to another socket.
struct RawHttpServer::Connection {
  int index = 0;
  int fd = -1;
  // Bytes read past the end of the last request (a pipelined next one).
  std::string buffer;
  std::thread thread;
};

namespace {

absl::Status ErrnoStatus(absl::string_view what) {
  return absl::UnavailableError(
      absl::StrCat("raw HTTP server: ", what, ": ", std::strerror(errno)));
}

// Waits on `cv` until `done()` or `timeout` passes. Returns done().
template <typename Predicate>
bool WaitFor(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
             absl::Duration timeout, Predicate done) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    // Bounded slices: wait_for() overflows on huge durations.
    cv.wait_for(lock,
                absl::ToChronoNanoseconds(std::min(left, absl::Hours(1))));
  }
  return true;
}

absl::string_view TrimSpaceAndTab(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Parses the head (request line and header lines, without the blank line)
// into `request`. Returns false when it is not a request.
bool ParseHead(absl::string_view head, RawRequest* request) {
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  if (lines.empty() || lines[0].empty()) return false;
  request->request_line = std::string(lines[0]);
  std::vector<absl::string_view> parts =
      absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  if (parts.size() != 3 || !absl::StartsWith(parts[2], "HTTP/")) return false;
  request->method = std::string(parts[0]);
  request->target = std::string(parts[1]);
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos || colon == 0) return false;
    request->headers.emplace_back(
        std::string(lines[i].substr(0, colon)),
        std::string(TrimSpaceAndTab(lines[i].substr(colon + 1))));
  }
  return true;
}

}  // namespace

std::string RawRequest::HeaderValue(absl::string_view name) const {
  for (const auto& header : headers) {
    if (absl::EqualsIgnoreCase(header.first, name)) return header.second;
  }
  return "";
}

bool RawRequest::HasHeader(absl::string_view name) const {
  for (const auto& header : headers) {
    if (absl::EqualsIgnoreCase(header.first, name)) return true;
  }
  return false;
}

RawHttpServer::RawHttpServer(int listen_fd, int port, Reply default_reply,
                             size_t max_request_header_bytes)
    : port_(port),
      max_request_header_bytes_(max_request_header_bytes),
      listen_fd_(listen_fd),
      default_reply_(std::move(default_reply)) {}

absl::StatusOr<std::unique_ptr<RawHttpServer>> RawHttpServer::Start() {
  return Start(RawHttpServerOptions());
}

absl::StatusOr<std::unique_ptr<RawHttpServer>> RawHttpServer::Start(
    const RawHttpServerOptions& options) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError("raw HTTP server: port out of range");
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(options.port));
  if (options.port != 0) {
    // A restart: the old server's connections may linger in TIME_WAIT.
    const int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(2);
  int bound = -1;
  for (;;) {
    bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    if (bound == 0 || errno != EADDRINUSE || options.port == 0 ||
        absl::Now() >= give_up) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  socklen_t length = sizeof(address);
  if (bound != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      listen(fd, 4096) != 0) {
    absl::Status status = ErrnoStatus("bind/listen");
    close(fd);
    return status;
  }
  std::unique_ptr<RawHttpServer> server = absl::WrapUnique(new RawHttpServer(
      fd, ntohs(address.sin_port),
      options.default_reply.value_or(OkReply()),
      options.max_request_header_bytes));
  RawHttpServer* self = server.get();
  server->accept_thread_ = std::thread([self] { self->AcceptLoop(); });
  return server;
}

RawHttpServer::~RawHttpServer() { Stop(); }

void RawHttpServer::Stop() { StopImpl(/*kill=*/false); }

void RawHttpServer::Kill() { StopImpl(/*kill=*/true); }

void RawHttpServer::StopImpl(bool kill) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      cv_.wait(lock, [this] { return stopped_; });
      return;
    }
    stopping_ = true;
    killed_ = kill;
    cv_.notify_all();  // ends delays
    // On Linux, shutdown() wakes a thread blocked in accept() (EINVAL).
    shutdown(listen_fd_, SHUT_RDWR);
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<Connection*> connections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    close(listen_fd_);
    listen_fd_ = -1;
    // No connection is added after the accept loop has ended.
    for (const std::unique_ptr<Connection>& connection : connections_) {
      // SHUT_RD wakes a blocked recv() without sending a FIN, so that the
      // serving thread's close can still be an RST (CloseConnection).
      if (connection->fd >= 0) {
        shutdown(connection->fd, kill ? SHUT_RD : SHUT_RDWR);
      }
      connections.push_back(connection.get());
    }
  }
  for (Connection* connection : connections) {
    if (connection->thread.joinable()) connection->thread.join();
  }
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  cv_.notify_all();
}

std::string RawHttpServer::base_url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

void RawHttpServer::PushReply(Reply reply, int times) {
  if (times < 1) return;
  std::lock_guard<std::mutex> lock(mu_);
  replies_.emplace_back(std::move(reply), times);
}

void RawHttpServer::SetDefaultReply(Reply reply) {
  std::lock_guard<std::mutex> lock(mu_);
  default_reply_ = std::move(reply);
}

void RawHttpServer::ClearReplies() {
  std::lock_guard<std::mutex> lock(mu_);
  replies_.clear();
}

int RawHttpServer::PendingReplies() const {
  std::lock_guard<std::mutex> lock(mu_);
  int pending = 0;
  for (const auto& entry : replies_) pending += entry.second;
  return pending;
}

std::vector<RawRequest> RawHttpServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t RawHttpServer::RequestCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

bool RawHttpServer::WaitForRequests(size_t count,
                                    absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return WaitFor(cv_, lock, timeout,
                 [this, count] { return requests_.size() >= count; });
}

int RawHttpServer::ConnectionCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(connections_.size());
}

bool RawHttpServer::WaitForConnections(int count,
                                       absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return WaitFor(cv_, lock, timeout, [this, count] {
    return static_cast<int>(connections_.size()) >= count;
  });
}

void RawHttpServer::AcceptLoop() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      if (fd >= 0) close(fd);
      return;
    }
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
          errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        continue;
      }
      return;
    }
    // Each reply goes out at once, not after the peer's delayed ACK.
    const int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    auto connection = std::make_unique<Connection>();
    connection->index = static_cast<int>(connections_.size());
    connection->fd = fd;
    Connection* raw = connection.get();
    connections_.push_back(std::move(connection));
    raw->thread = std::thread([this, raw] { Serve(raw); });
    cv_.notify_all();
  }
}

void RawHttpServer::Serve(Connection* connection) {
  // What to do once a reply has been played: go on reading (true), or end
  // the connection as the reply says (false).
  const auto go_on = [this, connection](const Reply& reply) {
    switch (reply.after) {
      case Reply::After::kKeepOpen:
        return true;
      case Reply::After::kClose:
        CloseConnection(connection, /*reset=*/false);
        return false;
      case Reply::After::kReset:
        CloseConnection(connection, /*reset=*/true);
        return false;
      case Reply::After::kStall:
        Stall();
        CloseConnection(connection, /*reset=*/false);
        return false;
    }
    return false;
  };
  if (std::optional<Reply> first = TakeAcceptReply(); first.has_value()) {
    if (!Play(connection, *first)) {
      CloseConnection(connection, /*reset=*/false);
      return;
    }
    if (!go_on(*first)) return;
  }
  for (int index = 0;; ++index) {
    RawRequest request;
    if (!ReadRequest(connection, &request)) break;
    request.connection = connection->index;
    request.index_on_connection = index;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(std::move(request));
      cv_.notify_all();
    }
    const Reply reply = TakeReply();
    if (!Play(connection, reply)) break;
    if (!go_on(reply)) return;
  }
  CloseConnection(connection, /*reset=*/false);
}

bool RawHttpServer::Play(Connection* connection, const Reply& reply) {
  if (reply.delay_before > absl::ZeroDuration() &&
      !Delay(reply.delay_before)) {
    return false;
  }
  if (!reply.bytes.empty() && !WriteAll(connection, reply.bytes)) {
    return false;
  }
  for (const Reply::Later& later : reply.later) {
    if (later.delay > absl::ZeroDuration() && !Delay(later.delay)) {
      return false;
    }
    if (!later.bytes.empty() && !WriteAll(connection, later.bytes)) {
      return false;
    }
  }
  return true;
}

void RawHttpServer::Stall() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return stopping_; });
}

bool RawHttpServer::ReadRequest(Connection* connection, RawRequest* request) {
  std::string& buffer = connection->buffer;
  char chunk[16384];
  const auto read_more = [&]() {
    for (;;) {
      const ssize_t n = recv(connection->fd, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buffer.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
  };
  size_t head_end = std::string::npos;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (buffer.size() > max_request_header_bytes_ || !read_more()) {
      return false;
    }
  }
  if (head_end > max_request_header_bytes_ ||
      !ParseHead(absl::string_view(buffer).substr(0, head_end), request)) {
    return false;
  }
  buffer.erase(0, head_end + 4);

  size_t length = 0;
  const std::string content_length = request->HeaderValue("Content-Length");
  if (!content_length.empty() && !absl::SimpleAtoi(content_length, &length)) {
    return false;
  }
  if (buffer.size() < length &&
      absl::EqualsIgnoreCase(request->HeaderValue("Expect"),
                             "100-continue") &&
      !WriteAll(connection, "HTTP/1.1 100 Continue\r\n\r\n")) {
    return false;
  }
  while (buffer.size() < length) {
    if (!read_more()) return false;
  }
  request->body = buffer.substr(0, length);
  buffer.erase(0, length);
  return true;
}

bool RawHttpServer::WriteAll(Connection* connection, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n =
        send(connection->fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::optional<RawHttpServer::Reply> RawHttpServer::TakeAcceptReply() {
  std::lock_guard<std::mutex> lock(mu_);
  if (replies_.empty() || !replies_.front().first.on_accept) {
    return std::nullopt;
  }
  Reply reply = replies_.front().first;
  if (--replies_.front().second <= 0) replies_.pop_front();
  return reply;
}

RawHttpServer::Reply RawHttpServer::TakeReply() {
  std::lock_guard<std::mutex> lock(mu_);
  if (replies_.empty()) return default_reply_;
  Reply reply = replies_.front().first;
  if (--replies_.front().second <= 0) replies_.pop_front();
  return reply;
}

bool RawHttpServer::Delay(absl::Duration delay) {
  std::unique_lock<std::mutex> lock(mu_);
  WaitFor(cv_, lock, delay, [this] { return stopping_; });
  return !stopping_;
}

void RawHttpServer::CloseConnection(Connection* connection, bool reset) {
  std::lock_guard<std::mutex> lock(mu_);
  if (connection->fd < 0) return;
  if (reset || killed_) {
    const linger abort{1, 0};
    setsockopt(connection->fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
  }
  close(connection->fd);
  connection->fd = -1;
}

std::string RawHttpServer::HttpResponse(
    int status, absl::string_view reason, absl::string_view body,
    absl::string_view content_type, const std::vector<std::string>& headers) {
  std::string out = absl::StrCat("HTTP/1.1 ", status, " ", reason, "\r\n");
  for (const std::string& header : headers) {
    absl::StrAppend(&out, header, "\r\n");
  }
  if (!content_type.empty()) {
    absl::StrAppend(&out, "Content-Type: ", content_type, "\r\n");
  }
  absl::StrAppend(&out, "Content-Length: ", body.size(), "\r\n\r\n", body);
  return out;
}

RawHttpServer::Reply RawHttpServer::OkReply(absl::string_view body,
                                            Reply::After after) {
  Reply reply;
  reply.bytes = HttpResponse(200, "OK", body);
  reply.after = after;
  return reply;
}

RawHttpServer::Reply RawHttpServer::NonHttpReply(Reply::After after) {
  Reply reply;
  reply.bytes = "SSH-2.0-OpenSSH_9.2\r\n";
  reply.after = after;
  return reply;
}

RawHttpServer::Reply RawHttpServer::InvalidChunkSizeReply(
    Reply::After after) {
  const absl::string_view body = kRawServerUserJson;
  Reply reply;
  reply.bytes = absl::StrCat(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n"
      "zz\r\n",
      body, "\r\n0\r\n\r\n");
  reply.after = after;
  return reply;
}

RawHttpServer::Reply RawHttpServer::LongHeaderLineReply(size_t line_bytes,
                                                        Reply::After after) {
  constexpr absl::string_view kName = "X-Long: ";
  line_bytes = std::max<size_t>(line_bytes, kName.size() + 4);
  const std::string line =
      absl::StrCat(kName, std::string(line_bytes - kName.size() - 2, 'x'));
  Reply reply;
  reply.bytes = HttpResponse(200, "OK", kRawServerUserJson,
                             "application/json", {line});
  reply.after = after;
  return reply;
}

RawHttpServer::Reply RawHttpServer::ManyHeaderLinesReply(size_t total_bytes,
                                                         size_t line_bytes,
                                                         Reply::After after) {
  // "X-Pad-00001: x\r\n" is the shortest line up to 99999 lines.
  constexpr size_t kMinLine = 16;
  line_bytes = std::max(line_bytes, kMinLine);
  std::vector<size_t> lengths;
  size_t left = total_bytes;
  while (left >= line_bytes) {
    lengths.push_back(line_bytes);
    left -= line_bytes;
  }
  if (left >= kMinLine || lengths.empty()) {
    lengths.push_back(std::max(left, kMinLine));
  } else {
    // Too short for a line of its own: lengthen the others instead.
    for (size_t i = 0; left > 0; i = (i + 1) % lengths.size(), --left) {
      ++lengths[i];
    }
  }
  std::vector<std::string> lines;
  lines.reserve(lengths.size());
  for (size_t i = 0; i < lengths.size(); ++i) {
    std::string line = absl::StrFormat("X-Pad-%04d: ", i + 1);
    // Every line is at least kMinLine, so at least one value byte fits.
    line.append(lengths[i] - line.size() - 2, 'x');
    lines.push_back(std::move(line));
  }
  Reply reply;
  reply.bytes = HttpResponse(200, "OK", kRawServerUserJson,
                             "application/json", lines);
  reply.after = after;
  return reply;
}

RawHttpServer::Reply RawHttpServer::ResetReply() {
  Reply reply;
  reply.after = Reply::After::kReset;
  return reply;
}

RawHttpServer::Reply RawHttpServer::ResetOnAcceptReply() {
  Reply reply = ResetReply();
  reply.on_accept = true;
  return reply;
}

RawHttpServer::Reply RawHttpServer::ChunkedReply(absl::string_view body,
                                                 size_t chunk_bytes,
                                                 Reply::After after) {
  if (chunk_bytes == 0) chunk_bytes = 1;
  Reply reply;
  reply.bytes =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (size_t at = 0; at < body.size(); at += chunk_bytes) {
    const absl::string_view chunk = body.substr(at, chunk_bytes);
    absl::StrAppend(&reply.bytes, absl::Hex(chunk.size()), "\r\n", chunk,
                    "\r\n");
  }
  reply.bytes += "0\r\n\r\n";
  reply.after = after;
  return reply;
}

RawHttpServer::Reply RawHttpServer::CloseDelimitedReply(
    absl::string_view body) {
  Reply reply;
  reply.bytes = absl::StrCat(
      "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n", body);
  reply.after = Reply::After::kClose;
  return reply;
}

RawHttpServer::Reply RawHttpServer::ContinueThenOkReply(Reply::After after) {
  Reply reply = OkReply(kRawServerUserJson, after);
  reply.bytes.insert(0, "HTTP/1.1 100 Continue\r\n\r\n");
  return reply;
}

}  // namespace testing
}  // namespace usergateway
