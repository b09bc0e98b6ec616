#include "tests/emulator/raw_http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>  // NOLINT(build/c++11)
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace usergateway {
namespace testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;
using After = RawHttpServer::Reply::After;

// A plain blocking TCP client socket, closed on destruction. Reads time out
// after 10 s so that a server bug fails the test instead of hanging it.
class ClientSocket {
 public:
  explicit ClientSocket(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address),
                         sizeof(address)) == 0;
  }
  ~ClientSocket() { close(fd_); }
  ClientSocket(const ClientSocket&) = delete;
  ClientSocket& operator=(const ClientSocket&) = delete;

  bool connected() const { return connected_; }

  bool Send(absl::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response with a Content-Length body (or none); "" when the
  // connection ended first.
  std::string ReadResponse() {
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore()) return "";
    }
    size_t length = 0;
    for (absl::string_view line : absl::StrSplit(
             absl::string_view(buffer_).substr(0, head_end), "\r\n")) {
      if (absl::StartsWithIgnoreCase(line, "Content-Length:")) {
        if (!absl::SimpleAtoi(line.substr(15), &length)) return "";
      }
    }
    while (buffer_.size() < head_end + 4 + length) {
      if (!ReadMore()) return "";
    }
    std::string response = buffer_.substr(0, head_end + 4 + length);
    buffer_.erase(0, response.size());
    return response;
  }

  // Reads until the server ends the connection. `error` is 0 for a clean
  // close (FIN), else recv()'s errno (ECONNRESET for an RST).
  struct UntilClosed {
    std::string data;
    int error = 0;
  };
  UntilClosed ReadUntilClosed() {
    UntilClosed result;
    result.data = std::move(buffer_);
    buffer_.clear();
    char chunk[4096];
    for (;;) {
      const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        result.data.append(chunk, static_cast<size_t>(n));
        continue;
      }
      result.error = n == 0 ? 0 : errno;
      return result;
    }
  }

 private:
  bool ReadMore() {
    char chunk[4096];
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  const int fd_;
  bool connected_ = false;
  std::string buffer_;
};

std::string Put(absl::string_view target, absl::string_view body,
                absl::string_view extra_headers = "") {
  return absl::StrCat("PUT ", target,
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: application/json\r\n",
                      extra_headers, "Content-Length: ", body.size(),
                      "\r\n\r\n", body);
}

// The header section of a response: everything before the blank line.
std::vector<std::string> HeaderLines(absl::string_view response) {
  const size_t end = response.find("\r\n\r\n");
  return absl::StrSplit(response.substr(0, end), "\r\n");
}

class RawHttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RawHttpServer>> server =
        RawHttpServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // Opens a keep-alive connection, answered and now idle, and one whose
  // request's reply is held for a minute, for the stop tests.
  void OpenIdleAndHeldConnections() {
    idle_ = std::make_unique<ClientSocket>(server_->port());
    ASSERT_TRUE(idle_->Send(Put("/y", "")));
    ASSERT_THAT(idle_->ReadResponse(), StartsWith("HTTP/1.1 200 OK"));
    RawHttpServer::Reply held = RawHttpServer::OkReply();
    held.delay_before = absl::Seconds(60);
    server_->PushReply(held);
    held_ = std::make_unique<ClientSocket>(server_->port());
    ASSERT_TRUE(held_->Send(Put("/x", "")));
    ASSERT_TRUE(server_->WaitForRequests(2, absl::Seconds(10)));
  }
  std::unique_ptr<ClientSocket> idle_;
  std::unique_ptr<ClientSocket> held_;

  std::unique_ptr<RawHttpServer> server_;
};

TEST_F(RawHttpServerTest, ListensOnLoopbackWithAPortOfItsOwn) {
  EXPECT_GT(server_->port(), 0);
  EXPECT_EQ(server_->base_url(),
            absl::StrCat("http://127.0.0.1:", server_->port()));
  EXPECT_EQ(server_->RequestCount(), 0u);
  EXPECT_EQ(server_->ConnectionCount(), 0);
}

TEST_F(RawHttpServerTest, DefaultReplyIsAValid200UserAndTheRequestIsRecorded) {
  ClientSocket client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send(Put("/authn2/v0/user/u1", R"({"first_name":"A"})",
                              "Authorization: Bearer k\r\nX-Dup: 1\r\n"
                              "X-Dup:  2 \r\n")));

  const std::string response = client.ReadResponse();

  EXPECT_EQ(response, RawHttpServer::HttpResponse(200, "OK",
                                                  kRawServerUserJson));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response,
              HasSubstr(absl::StrCat("\r\nContent-Length: ",
                                     std::string(kRawServerUserJson).size(),
                                     "\r\n")));
  ASSERT_TRUE(server_->WaitForRequests(1, absl::Seconds(10)));
  const std::vector<RawRequest> requests = server_->Requests();
  ASSERT_EQ(requests.size(), 1u);
  const RawRequest& request = requests[0];
  EXPECT_EQ(request.request_line, "PUT /authn2/v0/user/u1 HTTP/1.1");
  EXPECT_EQ(request.method, "PUT");
  EXPECT_EQ(request.target, "/authn2/v0/user/u1");
  EXPECT_EQ(request.body, R"({"first_name":"A"})");
  EXPECT_EQ(request.connection, 0);
  EXPECT_EQ(request.index_on_connection, 0);
  EXPECT_EQ(request.HeaderValue("authorization"), "Bearer k");
  EXPECT_EQ(request.HeaderValue("X-Dup"), "1");
  EXPECT_TRUE(request.HasHeader("content-length"));
  EXPECT_FALSE(request.HasHeader("X-Absent"));
  EXPECT_THAT(request.headers,
              ElementsAre(Pair("Host", "127.0.0.1"),
                          Pair("Content-Type", "application/json"),
                          Pair("Authorization", "Bearer k"),
                          Pair("X-Dup", "1"), Pair("X-Dup", "2"),
                          Pair("Content-Length", "18")));
}

TEST_F(RawHttpServerTest, KeepAliveCarriesRequestsInOrderOnOneConnection) {
  ClientSocket first(server_->port());
  ASSERT_TRUE(first.connected());
  // Two requests in one write: the second is read from what is left over.
  ASSERT_TRUE(first.Send(absl::StrCat(Put("/a", "1"), Put("/b", "22"))));
  EXPECT_FALSE(first.ReadResponse().empty());
  EXPECT_FALSE(first.ReadResponse().empty());
  ASSERT_TRUE(first.Send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(first.ReadResponse().empty());
  ClientSocket second(server_->port());
  ASSERT_TRUE(second.Send(Put("/d", "")));
  EXPECT_FALSE(second.ReadResponse().empty());

  ASSERT_TRUE(server_->WaitForRequests(4, absl::Seconds(10)));
  const std::vector<RawRequest> requests = server_->Requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].target, "/a");
  EXPECT_EQ(requests[0].body, "1");
  EXPECT_EQ(requests[1].target, "/b");
  EXPECT_EQ(requests[1].body, "22");
  EXPECT_EQ(requests[2].method, "GET");
  EXPECT_EQ(requests[2].body, "");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(requests[i].connection, 0) << i;
    EXPECT_EQ(requests[i].index_on_connection, i) << i;
  }
  EXPECT_EQ(requests[3].connection, 1);
  EXPECT_EQ(requests[3].index_on_connection, 0);
  EXPECT_EQ(server_->ConnectionCount(), 2);
  EXPECT_TRUE(server_->WaitForConnections(2, absl::Seconds(1)));
}

TEST_F(RawHttpServerTest, QueuedRepliesAreUsedInOrderThenTheDefault) {
  RawHttpServer::Reply custom;
  custom.bytes = "HTTP/1.1 204 No Content\r\n\r\n";
  server_->PushReply(custom, 2);
  server_->PushReply(RawHttpServer::OkReply("{}"));
  EXPECT_EQ(server_->PendingReplies(), 3);

  ClientSocket client(server_->port());
  ASSERT_TRUE(client.connected());
  std::vector<std::string> responses;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(client.Send(Put("/x", "")));
    responses.push_back(client.ReadResponse());
  }

  EXPECT_EQ(responses[0], custom.bytes);
  EXPECT_EQ(responses[1], custom.bytes);
  EXPECT_EQ(responses[2], "HTTP/1.1 200 OK\r\nContent-Type: application/json"
                          "\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(responses[3], RawHttpServer::OkReply().bytes);
  EXPECT_EQ(server_->PendingReplies(), 0);

  // A new default, and ClearReplies() drops what is queued.
  server_->SetDefaultReply(RawHttpServer::OkReply("[]"));
  server_->PushReply(custom, 5);
  server_->ClearReplies();
  EXPECT_EQ(server_->PendingReplies(), 0);
  ASSERT_TRUE(client.Send(Put("/x", "")));
  EXPECT_EQ(client.ReadResponse(), RawHttpServer::OkReply("[]").bytes);
}

TEST_F(RawHttpServerTest, CloseEndsTheConnectionCleanlyAfterTheBytes) {
  server_->PushReply(RawHttpServer::NonHttpReply(After::kClose));
  ClientSocket client(server_->port());
  ASSERT_TRUE(client.Send(Put("/x", "{}")));

  const ClientSocket::UntilClosed result = client.ReadUntilClosed();

  EXPECT_EQ(result.error, 0);
  EXPECT_EQ(result.data, "SSH-2.0-OpenSSH_9.2\r\n");
  EXPECT_EQ(server_->RequestCount(), 1u);
}

TEST_F(RawHttpServerTest, KeepOpenLeavesTheConnectionUsable) {
  // Non-HTTP bytes, then the connection stays open as an SSH server's
  // would: the next request is still read and answered.
  server_->PushReply(RawHttpServer::NonHttpReply());
  ClientSocket client(server_->port());
  ASSERT_TRUE(client.Send(Put("/x", "")));
  ASSERT_TRUE(server_->WaitForRequests(1, absl::Seconds(10)));
  ASSERT_TRUE(client.Send(Put("/y", "")));
  const std::string response = client.ReadResponse();
  EXPECT_THAT(response, StartsWith("SSH-2.0-OpenSSH_9.2\r\nHTTP/1.1 200 OK"));
  EXPECT_EQ(server_->RequestCount(), 2u);
  EXPECT_EQ(server_->ConnectionCount(), 1);
}

TEST_F(RawHttpServerTest, ResetReplyAbortsTheConnectionWithAnRst) {
  server_->PushReply(RawHttpServer::ResetReply());
  ClientSocket client(server_->port());
  ASSERT_TRUE(client.Send(Put("/x", "{}")));

  const ClientSocket::UntilClosed result = client.ReadUntilClosed();

  EXPECT_EQ(result.error, ECONNRESET);
  EXPECT_EQ(result.data, "");
  // The request was read and recorded before the reset.
  ASSERT_EQ(server_->RequestCount(), 1u);
  EXPECT_EQ(server_->Requests()[0].body, "{}");

  // The server itself carries on.
  ClientSocket next(server_->port());
  ASSERT_TRUE(next.Send(Put("/x", "")));
  EXPECT_THAT(next.ReadResponse(), StartsWith("HTTP/1.1 200 OK"));
}

TEST_F(RawHttpServerTest, ResetAfterBytesAlsoSendsAnRst) {
  RawHttpServer::Reply reply;
  reply.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":";
  reply.after = After::kReset;
  // Let the client be waiting in recv() when the bytes and the RST arrive.
  reply.delay_before = absl::Milliseconds(50);
  server_->PushReply(reply);
  ClientSocket client(server_->port());
  ASSERT_TRUE(client.Send(Put("/x", "")));

  const ClientSocket::UntilClosed result = client.ReadUntilClosed();

  EXPECT_EQ(result.error, ECONNRESET);
  // The bytes may or may not be delivered before the reset; never more.
  EXPECT_TRUE(absl::StartsWith(reply.bytes, result.data)) << result.data;
}

TEST_F(RawHttpServerTest, DelayBeforeHoldsTheReply) {
  RawHttpServer::Reply slow = RawHttpServer::OkReply();
  slow.delay_before = absl::Milliseconds(300);
  server_->PushReply(slow);
  ClientSocket client(server_->port());
  const absl::Time start = absl::Now();
  ASSERT_TRUE(client.Send(Put("/x", "")));
  // Recorded on arrival, before the delay.
  ASSERT_TRUE(server_->WaitForRequests(1, absl::Seconds(10)));

  EXPECT_THAT(client.ReadResponse(), StartsWith("HTTP/1.1 200 OK"));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
}

TEST_F(RawHttpServerTest, StopEndsDelaysAndOpenConnections) {
  OpenIdleAndHeldConnections();
  ClientSocket& idle = *idle_;
  ClientSocket& delayed = *held_;
  ClientSocket silent(server_->port());  // connected, sends nothing
  ASSERT_TRUE(server_->WaitForConnections(3, absl::Seconds(10)));

  const absl::Time start = absl::Now();
  server_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  // Every connection was closed; the held reply was never sent.
  const ClientSocket::UntilClosed delayed_result = delayed.ReadUntilClosed();
  EXPECT_EQ(delayed_result.data, "");
  EXPECT_NE(delayed_result.error, EAGAIN);
  EXPECT_NE(idle.ReadUntilClosed().error, EAGAIN);
  EXPECT_NE(silent.ReadUntilClosed().error, EAGAIN);
  // Idempotent, and nothing listens any more.
  server_->Stop();
  ClientSocket late(server_->port());
  EXPECT_FALSE(late.connected());
}

TEST_F(RawHttpServerTest, StallHoldsTheConnectionAfterTheBytesUntilStop) {
  RawHttpServer::Reply stall;
  stall.bytes = "HTTP/1.1 200 OK\r\n";
  stall.after = After::kStall;
  server_->PushReply(stall);
  ClientSocket client(server_->port());
  ASSERT_TRUE(client.Send(Put("/x", "")));
  ASSERT_TRUE(server_->WaitForRequests(1, absl::Seconds(10)));
  // Nothing but the status line for a while: the connection stays open.
  std::thread stopper([this] {
    absl::SleepFor(absl::Milliseconds(300));
    server_->Stop();
  });
  const absl::Time start = absl::Now();
  const ClientSocket::UntilClosed result = client.ReadUntilClosed();
  stopper.join();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  EXPECT_EQ(result.data, "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(result.error, 0);
}

TEST_F(RawHttpServerTest, LaterBytesFollowTheReplyInSendsOfTheirOwn) {
  RawHttpServer::Reply reply = RawHttpServer::OkReply();
  reply.later.push_back({absl::Milliseconds(200), "EXTRA"});
  reply.after = After::kClose;
  server_->PushReply(reply);
  ClientSocket client(server_->port());
  const absl::Time start = absl::Now();
  ASSERT_TRUE(client.Send(Put("/x", "")));
  EXPECT_THAT(client.ReadResponse(), StartsWith("HTTP/1.1 200 OK"));
  const ClientSocket::UntilClosed rest = client.ReadUntilClosed();
  EXPECT_EQ(rest.data, "EXTRA");
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
}

TEST_F(RawHttpServerTest, ResetOnAcceptResetsBeforeReadingAndRecordsNothing) {
  server_->PushReply(RawHttpServer::ResetOnAcceptReply());
  {
    ClientSocket client(server_->port());
    ASSERT_TRUE(client.connected());
    const ClientSocket::UntilClosed result = client.ReadUntilClosed();
    EXPECT_EQ(result.error, ECONNRESET);
    EXPECT_EQ(result.data, "");
  }
  EXPECT_EQ(server_->RequestCount(), 0u);
  EXPECT_EQ(server_->ConnectionCount(), 1);
  // Used up: the next connection is served.
  ClientSocket next(server_->port());
  ASSERT_TRUE(next.Send(Put("/x", "")));
  EXPECT_THAT(next.ReadResponse(), StartsWith("HTTP/1.1 200 OK"));
}

TEST_F(RawHttpServerTest, KillResetsOpenConnections) {
  OpenIdleAndHeldConnections();

  server_->Kill();

  EXPECT_EQ(idle_->ReadUntilClosed().error, ECONNRESET);
  EXPECT_EQ(held_->ReadUntilClosed().error, ECONNRESET);
  ClientSocket late(server_->port());
  EXPECT_FALSE(late.connected());
}

TEST(RawHttpServerStartTest, RestartsOnTheSamePortAfterAKill) {
  absl::StatusOr<std::unique_ptr<RawHttpServer>> first =
      RawHttpServer::Start();
  ASSERT_TRUE(first.ok()) << first.status();
  const int port = (*first)->port();
  {
    ClientSocket client(port);
    ASSERT_TRUE(client.Send(Put("/x", "")));
    ASSERT_THAT(client.ReadResponse(), StartsWith("HTTP/1.1 200 OK"));
    (*first)->Kill();
  }
  RawHttpServerOptions options;
  options.port = port;
  absl::StatusOr<std::unique_ptr<RawHttpServer>> second =
      RawHttpServer::Start(options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->port(), port);
  ClientSocket client(port);
  ASSERT_TRUE(client.Send(Put("/x", "")));
  EXPECT_THAT(client.ReadResponse(), StartsWith("HTTP/1.1 200 OK"));
  EXPECT_EQ((*second)->RequestCount(), 1u);
}

TEST_F(RawHttpServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
  ClientSocket client(server_->port());
  ASSERT_TRUE(client.Send(
      "PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Content-Length: 5\r\n\r\n"));
  EXPECT_EQ(client.ReadResponse(), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(client.Send("hello"));
  EXPECT_THAT(client.ReadResponse(), StartsWith("HTTP/1.1 200 OK"));
  ASSERT_EQ(server_->RequestCount(), 1u);
  EXPECT_EQ(server_->Requests()[0].body, "hello");
}

TEST_F(RawHttpServerTest, GarbageRequestIsNotRecordedAndClosesTheConnection) {
  ClientSocket client(server_->port());
  ASSERT_TRUE(client.Send("NOT A REQUEST\r\n\r\n"));
  const ClientSocket::UntilClosed result = client.ReadUntilClosed();
  EXPECT_EQ(result.data, "");
  EXPECT_EQ(server_->RequestCount(), 0u);
  EXPECT_FALSE(server_->WaitForRequests(1, absl::Milliseconds(50)));
}

TEST_F(RawHttpServerTest, ConcurrentClientsAreAllServedAndCounted) {
  constexpr int kClients = 8;
  constexpr int kRequestsEach = 5;
  std::vector<std::thread> threads;
  std::vector<int> ok(kClients, 0);
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([this, c, &ok] {
      ClientSocket client(server_->port());
      for (int i = 0; i < kRequestsEach; ++i) {
        if (!client.Send(Put(absl::StrCat("/c", c, "/", i), "{}"))) return;
        if (absl::StartsWith(client.ReadResponse(), "HTTP/1.1 200 OK")) {
          ++ok[c];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  for (int c = 0; c < kClients; ++c) EXPECT_EQ(ok[c], kRequestsEach) << c;
  EXPECT_EQ(server_->RequestCount(),
            static_cast<size_t>(kClients * kRequestsEach));
  EXPECT_EQ(server_->ConnectionCount(), kClients);
  // Each connection's requests carry consecutive indexes.
  std::vector<int> next(kClients, 0);
  for (const RawRequest& request : server_->Requests()) {
    ASSERT_GE(request.connection, 0);
    ASSERT_LT(request.connection, kClients);
    EXPECT_EQ(request.index_on_connection, next[request.connection]++);
  }
}

TEST(RawHttpServerRepliesTest, HttpResponseHasAnExactContentLength) {
  EXPECT_EQ(RawHttpServer::HttpResponse(503, "Service Unavailable", "busy",
                                        "text/plain", {"Retry-After: 2"}),
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\n"
            "Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nbusy");
  EXPECT_EQ(RawHttpServer::HttpResponse(200, "OK", "", ""),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

TEST(RawHttpServerRepliesTest, NonHttpAndResetReplies) {
  EXPECT_EQ(RawHttpServer::NonHttpReply().bytes, "SSH-2.0-OpenSSH_9.2\r\n");
  EXPECT_EQ(RawHttpServer::NonHttpReply().after, After::kKeepOpen);
  EXPECT_EQ(RawHttpServer::NonHttpReply(After::kClose).after, After::kClose);
  EXPECT_EQ(RawHttpServer::ResetReply().bytes, "");
  EXPECT_EQ(RawHttpServer::ResetReply().after, After::kReset);
  EXPECT_EQ(RawHttpServer::ResetReply().delay_before, absl::ZeroDuration());
}

TEST(RawHttpServerRepliesTest, InvalidChunkSizeIsChunkedWithANonHexSize) {
  const std::string bytes = RawHttpServer::InvalidChunkSizeReply().bytes;
  EXPECT_THAT(bytes, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(HeaderLines(bytes), ::testing::Contains(
                                      "Transfer-Encoding: chunked"));
  EXPECT_THAT(bytes, Not(HasSubstr("Content-Length")));
  const std::string body = bytes.substr(bytes.find("\r\n\r\n") + 4);
  EXPECT_THAT(body, StartsWith("zz\r\n"));
}

TEST(RawHttpServerRepliesTest, LongHeaderLineIsExactlyThatLong) {
  for (size_t length : {size_t{100}, size_t{120 * 1024}}) {
    const std::string bytes = RawHttpServer::LongHeaderLineReply(length).bytes;
    int long_lines = 0;
    for (const std::string& line : HeaderLines(bytes)) {
      if (absl::StartsWith(line, "X-Long: ")) {
        ++long_lines;
        EXPECT_EQ(line.size() + 2, length);  // + CRLF
      }
    }
    EXPECT_EQ(long_lines, 1) << length;
    EXPECT_THAT(bytes, ::testing::EndsWith(
                           absl::StrCat("\r\n\r\n", kRawServerUserJson)));
  }
}

TEST(RawHttpServerRepliesTest, ManyHeaderLinesTotalExactlyThatMuch) {
  struct Case {
    size_t total;
    size_t line;
  };
  for (const Case& c : {Case{70 * 1024, 1024}, Case{40 * 1024, 1024},
                        Case{10 * 1024 + 5, 1024}, Case{10 * 1024 + 500, 1024},
                        Case{3000, 100}, Case{20, 1024}}) {
    SCOPED_TRACE(absl::StrCat(c.total, " in lines of ", c.line));
    const std::string bytes =
        RawHttpServer::ManyHeaderLinesReply(c.total, c.line).bytes;
    size_t total = 0;
    size_t lines = 0;
    for (const std::string& line : HeaderLines(bytes)) {
      if (!absl::StartsWith(line, "X-Pad-")) continue;
      ++lines;
      total += line.size() + 2;
      EXPECT_LE(line.size() + 2, c.line + c.line / 16 + 16);
      EXPECT_THAT(line, ::testing::MatchesRegex("X-Pad-[0-9]+: x+"));
    }
    EXPECT_EQ(total, c.total);
    EXPECT_GE(lines, c.total / (c.line + c.line / 16 + 16));
  }
  // 70 lines of exactly 1 KiB.
  const std::string bytes =
      RawHttpServer::ManyHeaderLinesReply(70 * 1024, 1024).bytes;
  size_t lines = 0;
  for (const std::string& line : HeaderLines(bytes)) {
    if (!absl::StartsWith(line, "X-Pad-")) continue;
    ++lines;
    EXPECT_EQ(line.size() + 2, 1024u);
  }
  EXPECT_EQ(lines, 70u);
}

TEST(RawHttpServerRepliesTest, ChunkedReplySplitsTheBodyAndEndsWithALastChunk) {
  const RawHttpServer::Reply reply = RawHttpServer::ChunkedReply("abcdefghij", 4);
  EXPECT_EQ(reply.bytes,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
            "4\r\nabcd\r\n4\r\nefgh\r\n2\r\nij\r\n0\r\n\r\n");
  EXPECT_EQ(reply.after, After::kKeepOpen);
}

TEST(RawHttpServerRepliesTest, CloseDelimitedAndContinueReplies) {
  const RawHttpServer::Reply http10 = RawHttpServer::CloseDelimitedReply("{}");
  EXPECT_EQ(http10.bytes,
            "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{}");
  EXPECT_EQ(http10.after, After::kClose);
  const RawHttpServer::Reply continued = RawHttpServer::ContinueThenOkReply();
  EXPECT_THAT(continued.bytes,
              StartsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(absl::EndsWith(continued.bytes, kRawServerUserJson));
}

TEST(RawHttpServerStartTest, DefaultReplyOption) {
  RawHttpServerOptions options;
  options.default_reply = RawHttpServer::ResetReply();
  absl::StatusOr<std::unique_ptr<RawHttpServer>> server =
      RawHttpServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  ClientSocket client((*server)->port());
  ASSERT_TRUE(client.Send(Put("/x", "")));
  EXPECT_EQ(client.ReadUntilClosed().error, ECONNRESET);
  EXPECT_EQ((*server)->RequestCount(), 1u);
}

TEST(RawHttpServerStartTest, TwoServersGetTwoPorts) {
  absl::StatusOr<std::unique_ptr<RawHttpServer>> a = RawHttpServer::Start();
  absl::StatusOr<std::unique_ptr<RawHttpServer>> b = RawHttpServer::Start();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->port(), (*b)->port());
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
