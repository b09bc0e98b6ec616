#include "gateway/ingress/admin_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>  // NOLINT(build/c++11)
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/observability/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace usergateway {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<AdminServer> StartOrDie(AdminServerOptions options,
                                        const metrics::Registry* registry) {
  absl::StatusOr<std::unique_ptr<AdminServer>> admin =
      AdminServer::Start(std::move(options), registry);
  EXPECT_TRUE(admin.ok()) << admin.status();
  return admin.ok() ? *std::move(admin) : nullptr;
}

std::unique_ptr<httplib::Client> ClientFor(int port) {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
  client->set_connection_timeout(5);
  client->set_read_timeout(5);
  return client;
}

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddCounter("test_requests_total", "Requests seen by the test.",
                         {})
        .Get({})
        .Inc(3);
    admin_ = StartOrDie(AdminServerOptions(), &registry_);
    ASSERT_NE(admin_, nullptr);
    client_ = ClientFor(admin_->port());
  }

  metrics::Registry registry_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<httplib::Client> client_;
};

struct RouteCase {
  std::string method;
  std::string path;
  Readiness readiness;
  int status;
  std::string body;  // exact, or a substring for /metrics
  std::string content_type;
  std::string allow;  // the Allow header; empty: none
};

void PrintTo(const RouteCase& c, std::ostream* os) {
  *os << c.method << " " << c.path;
}

constexpr char kText[] = "text/plain; charset=utf-8";
constexpr char kMetricsLine[] =
    "# TYPE test_requests_total counter\ntest_requests_total 3\n";

TEST_F(AdminServerTest, AnswersEachRoute) {
  const std::string exposition(metrics::kExpositionContentType);
  const std::vector<RouteCase> cases = {
      {"GET", "/metrics", Readiness::kServing, 200, kMetricsLine, exposition,
       ""},
      {"GET", "/metrics?name[]=x", Readiness::kServing, 200, kMetricsLine,
       exposition, ""},
      // Metrics and liveness do not depend on readiness.
      {"GET", "/metrics", Readiness::kStarting, 200, kMetricsLine, exposition,
       ""},
      {"GET", "/metrics", Readiness::kDraining, 200, kMetricsLine, exposition,
       ""},
      {"HEAD", "/metrics", Readiness::kServing, 200, "", exposition, ""},
      {"GET", "/healthz", Readiness::kStarting, 200, "ok\n", kText, ""},
      {"GET", "/healthz", Readiness::kServing, 200, "ok\n", kText, ""},
      {"GET", "/healthz", Readiness::kDraining, 200, "ok\n", kText, ""},
      {"HEAD", "/healthz", Readiness::kServing, 200, "", kText, ""},
      {"GET", "/readyz", Readiness::kStarting, 503, "starting\n", kText, ""},
      {"GET", "/readyz", Readiness::kServing, 200, "ready\n", kText, ""},
      {"GET", "/readyz", Readiness::kDraining, 503, "draining\n", kText, ""},
      {"HEAD", "/readyz", Readiness::kDraining, 503, "", kText, ""},
      {"GET", "/", Readiness::kServing, 404, "not found\n", kText, ""},
      {"GET", "/metrics/", Readiness::kServing, 404, "not found\n", kText,
       ""},
      {"GET", "/metricsx", Readiness::kServing, 404, "not found\n", kText,
       ""},
      {"GET", "/healthz/../metrics", Readiness::kServing, 404, "not found\n",
       kText, ""},
      {"HEAD", "/nope", Readiness::kServing, 404, "", kText, ""},
      {"POST", "/metrics", Readiness::kServing, 405, "method not allowed\n",
       kText, "GET, HEAD"},
      {"PUT", "/readyz", Readiness::kServing, 405, "method not allowed\n",
       kText, "GET, HEAD"},
      {"DELETE", "/healthz", Readiness::kServing, 405,
       "method not allowed\n", kText, "GET, HEAD"},
      {"PATCH", "/metrics", Readiness::kServing, 405, "method not allowed\n",
       kText, "GET, HEAD"},
      {"OPTIONS", "/readyz", Readiness::kServing, 405,
       "method not allowed\n", kText, "GET, HEAD"},
      {"POST", "/nope", Readiness::kServing, 404, "not found\n", kText, ""},
      {"DELETE", "/", Readiness::kServing, 404, "not found\n", kText, ""},
  };
  for (const RouteCase& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c));
    // A fresh server per readiness, since a drain cannot be undone.
    std::unique_ptr<AdminServer> admin =
        StartOrDie(AdminServerOptions(), &registry_);
    ASSERT_NE(admin, nullptr);
    if (c.readiness == Readiness::kServing) admin->SetServing();
    if (c.readiness == Readiness::kDraining) admin->SetDraining();
    ASSERT_EQ(admin->readiness(), c.readiness);
    std::unique_ptr<httplib::Client> client = ClientFor(admin->port());
    httplib::Request request;
    request.method = c.method;
    request.path = c.path;
    httplib::Result res = client->send(request);
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, c.status);
    if (c.path.rfind("/metrics", 0) == 0 && c.method == "GET" &&
        c.status == 200) {
      EXPECT_THAT(res->body, HasSubstr(c.body));
    } else {
      EXPECT_EQ(res->body, c.body);
    }
    EXPECT_EQ(res->get_header_value("Content-Type"), c.content_type);
    EXPECT_EQ(res->get_header_value("Allow"), c.allow);
  }
}

TEST_F(AdminServerTest, MetricsIsTheRegistryExposition) {
  httplib::Result res = client_->Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, registry_.Expose());
  EXPECT_EQ(res->body,
            "# HELP test_requests_total Requests seen by the test.\n"
            "# TYPE test_requests_total counter\n"
            "test_requests_total 3\n");
}

// Prometheus asks for gzip; the body must still be the exposition.
TEST_F(AdminServerTest, MetricsServedCompressedWhenAsked) {
  httplib::Result res =
      client_->Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(res->body, registry_.Expose());  // the client decompressed it
}

TEST_F(AdminServerTest, ReadinessMovesForwardOnly) {
  const auto readyz = [this]() -> std::pair<int, std::string> {
    httplib::Result res = client_->Get("/readyz");
    if (!res) return {-1, httplib::to_string(res.error())};
    return {res->status, res->body};
  };
  EXPECT_EQ(readyz(), std::make_pair(503, std::string("starting\n")));
  admin_->SetServing();
  EXPECT_EQ(readyz(), std::make_pair(200, std::string("ready\n")));
  admin_->SetServing();
  EXPECT_EQ(readyz(), std::make_pair(200, std::string("ready\n")));
  admin_->SetDraining();
  EXPECT_EQ(readyz(), std::make_pair(503, std::string("draining\n")));
  admin_->SetServing();  // a drain is final
  EXPECT_EQ(readyz(), std::make_pair(503, std::string("draining\n")));
  EXPECT_EQ(admin_->readiness(), Readiness::kDraining);
}

TEST(AdminServerScrapeTest, BeforeScrapeRunsBeforeEachExposition) {
  metrics::Registry registry;
  metrics::Gauge& sampled =
      registry.AddGauge("test_sampled", "Set before each scrape.", {}).Get({});
  std::atomic<int> calls{0};
  AdminServerOptions options;
  options.before_scrape = [&] { sampled.Set(++calls * 10); };
  std::unique_ptr<AdminServer> admin = StartOrDie(options, &registry);
  ASSERT_NE(admin, nullptr);
  std::unique_ptr<httplib::Client> client = ClientFor(admin->port());
  for (int i = 1; i <= 3; ++i) {
    httplib::Result res = client->Get("/metrics");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_THAT(res->body, HasSubstr(absl::StrCat("test_sampled ", i * 10,
                                                  "\n")));
  }
  // Only scrapes run it.
  ASSERT_TRUE(client->Get("/healthz"));
  ASSERT_TRUE(client->Get("/readyz"));
  EXPECT_EQ(calls.load(), 3);
}

TEST(AdminServerStartTest, RefusesBadOptions) {
  metrics::Registry registry;
  struct BadCase {
    AdminServerOptions options;
    absl::StatusCode code;
    std::string message;
  };
  std::vector<BadCase> cases(4);
  cases[0].options.port = -1;
  cases[0].code = absl::StatusCode::kInvalidArgument;
  cases[0].message = "admin port -1 is not between 0 and 65535";
  cases[1].options.port = 65536;
  cases[1].code = absl::StatusCode::kInvalidArgument;
  cases[1].message = "admin port 65536";
  cases[2].options.threads = 0;
  cases[2].code = absl::StatusCode::kInvalidArgument;
  cases[2].message = "at least 1 thread";
  cases[3].options.host = "no-such-host.invalid";
  cases[3].code = absl::StatusCode::kUnavailable;
  cases[3].message = "cannot listen on no-such-host.invalid:0";
  for (const BadCase& c : cases) {
    absl::StatusOr<std::unique_ptr<AdminServer>> admin =
        AdminServer::Start(c.options, &registry);
    ASSERT_FALSE(admin.ok()) << c.message;
    EXPECT_EQ(admin.status().code(), c.code) << admin.status();
    EXPECT_THAT(std::string(admin.status().message()), HasSubstr(c.message));
  }
}

TEST(AdminServerStartTest, PortInUseIsUnavailable) {
  metrics::Registry registry;
  std::unique_ptr<AdminServer> first =
      StartOrDie(AdminServerOptions(), &registry);
  ASSERT_NE(first, nullptr);
  AdminServerOptions same;
  same.port = first->port();
  absl::StatusOr<std::unique_ptr<AdminServer>> second =
      AdminServer::Start(same, &registry);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr(absl::StrCat("127.0.0.1:", first->port())));
}

// gRPC's listener sets SO_REUSEPORT; were the admin socket to set it too,
// both would bind one port and the kernel would split connections between
// them. The admin server must fail instead.
TEST(AdminServerStartTest, NeverSharesAPortWithAReusePortListener) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const int yes = 1;
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes)), 0);
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof(yes)), 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);

  metrics::Registry registry;
  AdminServerOptions options;
  options.port = port;
  absl::StatusOr<std::unique_ptr<AdminServer>> admin =
      AdminServer::Start(options, &registry);
  EXPECT_FALSE(admin.ok()) << "bound port " << port
                           << " beside a SO_REUSEPORT listener";
  if (!admin.ok()) {
    EXPECT_EQ(admin.status().code(), absl::StatusCode::kUnavailable);
  }
  close(fd);
}

TEST(AdminServerStartTest, AFixedFreePortIsUsed) {
  metrics::Registry registry;
  int port = 0;
  {
    std::unique_ptr<AdminServer> probe =
        StartOrDie(AdminServerOptions(), &registry);
    ASSERT_NE(probe, nullptr);
    port = probe->port();
  }
  // Freed by Stop (SO_REUSEADDR: TIME_WAIT connections do not block it).
  AdminServerOptions options;
  options.port = port;
  std::unique_ptr<AdminServer> admin = StartOrDie(options, &registry);
  ASSERT_NE(admin, nullptr);
  EXPECT_EQ(admin->port(), port);
  httplib::Result res = ClientFor(port)->Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST_F(AdminServerTest, StopIsIdempotentAndClosesThePort) {
  ASSERT_TRUE(client_->Get("/healthz"));
  const int port = admin_->port();
  std::thread other([this] { admin_->Stop(); });
  admin_->Stop();
  other.join();
  admin_->Stop();
  std::unique_ptr<httplib::Client> client = ClientFor(port);
  client->set_connection_timeout(1);
  httplib::Result res = client->Get("/healthz");
  EXPECT_FALSE(res) << "still answering after Stop: " << res->status;
  admin_.reset();  // the destructor's Stop is a no-op now
}

// A scraper's idle keep-alive connection must not hold Stop for the
// keep-alive timeout (5 s in cpp-httplib).
TEST_F(AdminServerTest, StopDoesNotWaitForIdleKeepAliveConnections) {
  client_->set_keep_alive(true);
  httplib::Result res = client_->Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200);
  // A second, raw connection that never sends a request.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(admin_->port());
  ASSERT_EQ(
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const absl::Time start = absl::Now();
  admin_->Stop();
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Seconds(2));
  close(fd);
}

// A stop right after the start, before the accept loop may have begun.
TEST(AdminServerStopTest, StopRightAfterStart) {
  metrics::Registry registry;
  for (int i = 0; i < 20; ++i) {
    std::unique_ptr<AdminServer> admin =
        StartOrDie(AdminServerOptions(), &registry);
    ASSERT_NE(admin, nullptr);
    admin->Stop();
  }
}

TEST(AdminServerConcurrencyTest, ConcurrentScrapesWhileCountersMove) {
  metrics::Registry registry;
  metrics::Counter& counter =
      registry.AddCounter("test_moving_total", "Moves during scrapes.", {})
          .Get({});
  AdminServerOptions options;
  options.threads = 4;
  std::unique_ptr<AdminServer> admin = StartOrDie(options, &registry);
  ASSERT_NE(admin, nullptr);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    while (!done.load()) counter.Inc();
  });
  std::vector<std::thread> scrapers;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    scrapers.emplace_back([&] {
      std::unique_ptr<httplib::Client> client = ClientFor(admin->port());
      for (int i = 0; i < 25; ++i) {
        httplib::Result res = client->Get("/metrics");
        if (res && res->status == 200 &&
            res->body.find("test_moving_total ") != std::string::npos) {
          ++ok;
        }
      }
    });
  }
  for (std::thread& t : scrapers) t.join();
  done = true;
  writer.join();
  EXPECT_EQ(ok.load(), 100);
}

}  // namespace
}  // namespace usergateway
