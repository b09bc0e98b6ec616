// NginxFront: the access log parser, option checks, and a real nginx in
// front of the real emulator, driven by libcurl over TLS: h2 and
// HTTP/1.1, requests and faults passing through unchanged, GOAWAY after
// keepalive_requests, TLS session resumption, and Stop.
#include "tests/emulator/nginx_front.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/emulator/embedded_users.h"
#include "tests/emulator/emulator.h"
#include "tests/emulator/fault.h"
#include "tests/emulator/test_certificates.h"

namespace usergateway {
namespace testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Mode = NginxFrontOptions::Mode;

std::string TmpDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && dir[0] != '\0' ? dir : "/tmp";
}

// A fresh directory name per call, so that tests never share certificates
// or nginx work directories.
std::string FreshDir(absl::string_view what) {
  static int counter = 0;
  return absl::StrCat(TmpDir(), "/", what, "-", getpid(), "-", ++counter);
}

// --- The access log parser -------------------------------------------------

struct ParseCase {
  const char* name;
  const char* line;
  bool ok;
  NginxAccessLogEntry want;  // checked when ok
};

NginxAccessLogEntry Entry(int64_t connection, int requests,
                          const char* protocol, const char* ssl, bool reused,
                          const char* alpn, int status, const char* method,
                          const char* uri, const char* upstream,
                          absl::Duration time, int port,
                          absl::Time logged_at) {
  NginxAccessLogEntry e;
  e.connection = connection;
  e.connection_requests = requests;
  e.protocol = protocol;
  e.ssl_protocol = ssl;
  e.ssl_session_reused = reused;
  e.alpn = alpn;
  e.status = status;
  e.method = method;
  e.request_uri = uri;
  e.upstream_status = upstream;
  e.request_time = time;
  e.remote_port = port;
  e.logged_at = logged_at;
  return e;
}

class ParseLineTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseLineTest, ReadsEveryField) {
  const ParseCase& c = GetParam();
  absl::StatusOr<NginxAccessLogEntry> got = ParseNginxAccessLogLine(c.line);
  if (!c.ok) {
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument)
        << got.status();
    return;
  }
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->connection, c.want.connection);
  EXPECT_EQ(got->connection_requests, c.want.connection_requests);
  EXPECT_EQ(got->protocol, c.want.protocol);
  EXPECT_EQ(got->ssl_protocol, c.want.ssl_protocol);
  EXPECT_EQ(got->ssl_session_reused, c.want.ssl_session_reused);
  EXPECT_EQ(got->alpn, c.want.alpn);
  EXPECT_EQ(got->status, c.want.status);
  EXPECT_EQ(got->method, c.want.method);
  EXPECT_EQ(got->request_uri, c.want.request_uri);
  EXPECT_EQ(got->upstream_status, c.want.upstream_status);
  EXPECT_EQ(got->request_time, c.want.request_time);
  EXPECT_EQ(got->remote_port, c.want.remote_port);
  EXPECT_EQ(got->logged_at, c.want.logged_at);
}

INSTANTIATE_TEST_SUITE_P(
    Lines, ParseLineTest,
    ::testing::Values(
        ParseCase{"H2",
                  "7\t3\tHTTP/2.0\tTLSv1.3\t.\th2\t200\tPUT\t/api/a%2Fb?x=1\t"
                  "200\t0.301\t40123\t1764641427.123",
                  true,
                  Entry(7, 3, "HTTP/2.0", "TLSv1.3", false, "h2", 200, "PUT",
                        "/api/a%2Fb?x=1", "200", absl::Milliseconds(301),
                        40123, absl::FromUnixMillis(1764641427123))},
        ParseCase{"ResumedHttp1",
                  "12\t1\tHTTP/1.1\tTLSv1.2\tr\thttp/1.1\t429\tGET\t/\t429\t"
                  "0.000\t5\t1764641427.000",
                  true,
                  Entry(12, 1, "HTTP/1.1", "TLSv1.2", true, "http/1.1", 429,
                        "GET", "/", "429", absl::ZeroDuration(), 5,
                        absl::FromUnixSeconds(1764641427))},
        // nginx logs "-" for empty values: no ALPN, no upstream reply.
        ParseCase{"Dashes",
                  "1\t1\tHTTP/1.1\tTLSv1.3\t.\t-\t502\tPUT\t/x\t-\t1.5\t9\t"
                  "1.5",
                  true,
                  Entry(1, 1, "HTTP/1.1", "TLSv1.3", false, "", 502, "PUT",
                        "/x", "", absl::Milliseconds(1500), 9,
                        absl::FromUnixMillis(1500))},
        ParseCase{"TooFewFields", "1\t1\tHTTP/2.0", false, {}},
        ParseCase{"TooManyFields",
                  "1\t1\tHTTP/2.0\tTLSv1.3\t.\th2\t200\tPUT\t/\t200\t0.1\t9\t"
                  "1.0\textra",
                  false,
                  {}},
        ParseCase{"ConnectionNotANumber",
                  "x\t1\tHTTP/2.0\tTLSv1.3\t.\th2\t200\tPUT\t/\t200\t0.1\t9\t"
                  "1.0",
                  false,
                  {}},
        ParseCase{"StatusNotANumber",
                  "1\t1\tHTTP/2.0\tTLSv1.3\t.\th2\t-\tPUT\t/\t200\t0.1\t9\t1.0",
                  false,
                  {}},
        ParseCase{"RequestTimeNotANumber",
                  "1\t1\tHTTP/2.0\tTLSv1.3\t.\th2\t200\tPUT\t/\t200\tsoon\t9\t"
                  "1.0",
                  false,
                  {}}),
    [](const ::testing::TestParamInfo<ParseCase>& info) {
      return std::string(info.param.name);
    });

// --- Options ---------------------------------------------------------------

// TLS material shared by the tests of options that never start nginx.
const TestCertificates& SharedCertificates() {
  static const TestCertificates* certs = [] {
    absl::StatusOr<TestCertificates> made =
        GenerateTestCertificates(FreshDir("shared-certs"));
    return made.ok() ? new TestCertificates(*made) : new TestCertificates();
  }();
  return *certs;
}

NginxFrontOptions ValidOptions() {
  NginxFrontOptions options;
  options.upstream_origin = "http://127.0.0.1:9";
  options.tls_cert_path = SharedCertificates().server_cert_path;
  options.tls_key_path = SharedCertificates().server_key_path;
  options.work_dir = FreshDir("nginx-options");
  return options;
}

struct OptionsCase {
  const char* name;
  void (*mutate)(NginxFrontOptions*);
  absl::StatusCode code;
};

class OptionsTest : public ::testing::TestWithParam<OptionsCase> {};

TEST_P(OptionsTest, AreRefusedBeforeNginxRuns) {
  ASSERT_FALSE(SharedCertificates().server_cert_path.empty());
  NginxFrontOptions options = ValidOptions();
  GetParam().mutate(&options);

  absl::StatusOr<std::unique_ptr<NginxFront>> front =
      NginxFront::Start(options);

  EXPECT_EQ(front.status().code(), GetParam().code) << front.status();
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, OptionsTest,
    ::testing::Values(
        OptionsCase{"NoUpstream",
                    [](NginxFrontOptions* o) { o->upstream_origin.clear(); },
                    absl::StatusCode::kInvalidArgument},
        OptionsCase{"HttpsUpstream",
                    [](NginxFrontOptions* o) {
                      o->upstream_origin = "https://127.0.0.1:9";
                    },
                    absl::StatusCode::kInvalidArgument},
        // A path would make nginx replace the matched part of each target.
        OptionsCase{"UpstreamWithPath",
                    [](NginxFrontOptions* o) {
                      o->upstream_origin = "http://127.0.0.1:9/api";
                    },
                    absl::StatusCode::kInvalidArgument},
        OptionsCase{"MissingCertificate",
                    [](NginxFrontOptions* o) {
                      o->tls_cert_path = FreshDir("absent") + ".pem";
                    },
                    absl::StatusCode::kInvalidArgument},
        OptionsCase{"NoKey",
                    [](NginxFrontOptions* o) { o->tls_key_path.clear(); },
                    absl::StatusCode::kInvalidArgument},
        OptionsCase{"WorkDirWithASpace",
                    [](NginxFrontOptions* o) { o->work_dir += " x"; },
                    absl::StatusCode::kInvalidArgument},
        OptionsCase{"WorkDirWithAVariable",
                    [](NginxFrontOptions* o) { o->work_dir += "$x"; },
                    absl::StatusCode::kInvalidArgument},
        OptionsCase{"ZeroKeepaliveRequests",
                    [](NginxFrontOptions* o) { o->keepalive_requests = 0; },
                    absl::StatusCode::kInvalidArgument},
        OptionsCase{"ZeroStreams",
                    [](NginxFrontOptions* o) {
                      o->http2_max_concurrent_streams = 0;
                    },
                    absl::StatusCode::kInvalidArgument},
        OptionsCase{"NoBinary",
                    [](NginxFrontOptions* o) {
                      o->nginx_binary = FreshDir("no-nginx");
                    },
                    absl::StatusCode::kFailedPrecondition}),
    [](const ::testing::TestParamInfo<OptionsCase>& info) {
      return std::string(info.param.name);
    });

TEST(NginxFrontTest, ConfigNginxRejectsIsReportedWithItsErrorLog) {
  NginxFrontOptions options = ValidOptions();
  // Readable, but not a key: nginx refuses the config and exits.
  options.tls_key_path = SharedCertificates().ca_cert_path;

  absl::StatusOr<std::unique_ptr<NginxFront>> front =
      NginxFront::Start(options);

  EXPECT_EQ(front.status().code(), absl::StatusCode::kFailedPrecondition)
      << front.status();
  EXPECT_THAT(std::string(front.status().message()),
              HasSubstr("cannot load certificate key"));
}

// --- A real nginx in front of the emulator ---------------------------------

// libcurl's outcome for one request.
struct Reply {
  CURLcode code = CURLE_OK;
  std::string error;
  long status = 0;        // NOLINT(runtime/int): libcurl's type
  long http_version = 0;  // NOLINT(runtime/int): CURL_HTTP_VERSION_*
  std::vector<std::string> header_lines;
  std::string body;

  // The value of the first header `name` (case-insensitive), or "".
  std::string Header(absl::string_view name) const {
    for (const std::string& line : header_lines) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      if (absl::EqualsIgnoreCase(absl::string_view(line).substr(0, colon),
                                 name)) {
        return std::string(absl::StripAsciiWhitespace(
            absl::string_view(line).substr(colon + 1)));
      }
    }
    return "";
  }
};

// One libcurl easy handle (so one connection cache and TLS session cache)
// for sequential requests. Not thread-safe.
class Client {
 public:
  // `http_version`: CURL_HTTP_VERSION_2TLS (offer h2 and http/1.1) or
  // CURL_HTTP_VERSION_1_1 (offer http/1.1 only).
  Client(std::string ca_path, long http_version)  // NOLINT(runtime/int)
      : ca_path_(std::move(ca_path)),
        http_version_(http_version),
        easy_(curl_easy_init(), &curl_easy_cleanup) {}

  // `fresh_connection`: open a new connection even if one is idle (the TLS
  // session cache is kept).
  Reply Send(const std::string& method, const std::string& url,
             const std::vector<std::string>& headers = {},
             const std::string& body = "", bool fresh_connection = false) {
    Reply reply;
    CURL* easy = easy_.get();
    curl_easy_reset(easy);
    char error[CURL_ERROR_SIZE] = {};
    curl_slist* list = nullptr;
    for (const std::string& header : headers) {
      list = curl_slist_append(list, header.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!body.empty() || method == "PUT") {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE,
                       static_cast<long>(body.size()));  // NOLINT
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(easy, CURLOPT_CAINFO, ca_path_.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, http_version_);
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, fresh_connection ? 1L : 0L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Client::OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Client::OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &reply.header_lines);
    reply.code = curl_easy_perform(easy);
    reply.error = error;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &reply.http_version);
    curl_slist_free_all(list);
    return reply;
  }

 private:
  static size_t OnBody(char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
  }
  static size_t OnHeader(char* data, size_t size, size_t count, void* out) {
    static_cast<std::vector<std::string>*>(out)->emplace_back(data,
                                                              size * count);
    return size * count;
  }

  const std::string ca_path_;
  const long http_version_;  // NOLINT(runtime/int)
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy_;
};

// An emulator behind a front, with their certificates.
struct Stack {
  TestCertificates certs;
  std::unique_ptr<Emulator> emulator;
  std::unique_ptr<NginxFront> front;

  std::string UserUrl(absl::string_view user_id = kAdaUserId) const {
    return absl::StrCat(front->origin(), "/api/authn2/v0/user/", user_id);
  }
};

// Starts both; ADD_FAILUREs and returns nullptr when one does not start.
std::unique_ptr<Stack> StartStack(Mode mode, int keepalive_requests = 1000000) {
  auto stack = std::make_unique<Stack>();
  absl::StatusOr<TestCertificates> certs =
      GenerateTestCertificates(FreshDir("certs"));
  if (!certs.ok()) {
    ADD_FAILURE() << certs.status();
    return nullptr;
  }
  stack->certs = *certs;
  absl::StatusOr<std::unique_ptr<Emulator>> emulator =
      Emulator::Start(EmulatorOptions());
  if (!emulator.ok()) {
    ADD_FAILURE() << emulator.status();
    return nullptr;
  }
  stack->emulator = *std::move(emulator);
  NginxFrontOptions options;
  options.upstream_origin = stack->emulator->origin();
  options.tls_cert_path = certs->server_cert_path;
  options.tls_key_path = certs->server_key_path;
  options.mode = mode;
  options.keepalive_requests = keepalive_requests;
  options.work_dir = FreshDir("nginx");
  absl::StatusOr<std::unique_ptr<NginxFront>> front =
      NginxFront::Start(options);
  if (!front.ok()) {
    ADD_FAILURE() << front.status();
    return nullptr;
  }
  stack->front = *std::move(front);
  return stack;
}

std::vector<NginxAccessLogEntry> LogOf(const NginxFront& front) {
  absl::StatusOr<std::vector<NginxAccessLogEntry>> log = front.AccessLog();
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? *std::move(log) : std::vector<NginxAccessLogEntry>();
}

TEST(NginxFrontTest, OriginIsHttpsOnLoopbackWithTheBoundPort) {
  std::unique_ptr<Stack> stack = StartStack(Mode::kH2);
  ASSERT_NE(stack, nullptr);

  EXPECT_GT(stack->front->port(), 0);
  EXPECT_EQ(stack->front->origin(),
            absl::StrCat("https://127.0.0.1:", stack->front->port()));
  // The start-up probe is not a request of the log's.
  EXPECT_THAT(LogOf(*stack->front), ::testing::IsEmpty());
  EXPECT_EQ(*stack->front->ConnectionCount(), 0);
}

// What the client offers and which protocol each mode gives it.
struct ProtocolCase {
  const char* name;
  Mode mode;
  long client_version;  // NOLINT(runtime/int)
  const char* want_protocol;
  const char* want_alpn;
  long want_curl_version;  // NOLINT(runtime/int)
};

class ProtocolTest : public ::testing::TestWithParam<ProtocolCase> {};

TEST_P(ProtocolTest, RequestPassesThroughUnchanged) {
  const ProtocolCase& c = GetParam();
  std::unique_ptr<Stack> stack = StartStack(c.mode);
  ASSERT_NE(stack, nullptr);
  Client client(stack->certs.ca_cert_path, c.client_version);
  const std::string body = R"({"first_name":"Fronted"})";

  Reply reply = client.Send(
      "PUT", stack->UserUrl(),
      {absl::StrCat("Authorization: Bearer ", kDefaultApiKey),
       "Content-Type: application/json", "X-Request-Id: front-req-1",
       "X_Underscored: kept"},
      body);

  ASSERT_EQ(reply.code, CURLE_OK) << reply.error;
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.http_version, c.want_curl_version);
  EXPECT_THAT(reply.body, HasSubstr(R"("first_name":"Fronted")"));
  // The emulator saw the request as the client sent it.
  std::vector<RecordedRequest> requests = stack->emulator->Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].target,
            absl::StrCat("/api/authn2/v0/user/", kAdaUserId));
  EXPECT_EQ(requests[0].body, body);
  EXPECT_THAT(requests[0].HeaderValues("Authorization"),
              ElementsAre(absl::StrCat("Bearer ", kDefaultApiKey)));
  EXPECT_THAT(requests[0].HeaderValues("X-Request-Id"),
              ElementsAre("front-req-1"));
  EXPECT_THAT(requests[0].HeaderValues("X_Underscored"), ElementsAre("kept"));
  EXPECT_THAT(requests[0].HeaderValues("Host"),
              ElementsAre(absl::StrCat("127.0.0.1:", stack->front->port())));
  // One line, naming the protocol the client got.
  ASSERT_TRUE(stack->front->WaitForRequests(1, absl::Seconds(5)));
  std::vector<NginxAccessLogEntry> log = LogOf(*stack->front);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].protocol, c.want_protocol);
  EXPECT_EQ(log[0].alpn, c.want_alpn);
  EXPECT_EQ(log[0].ssl_protocol, "TLSv1.3");
  EXPECT_FALSE(log[0].ssl_session_reused);
  EXPECT_EQ(log[0].status, 200);
  EXPECT_EQ(log[0].upstream_status, "200");
  EXPECT_EQ(log[0].method, "PUT");
  EXPECT_EQ(log[0].request_uri,
            absl::StrCat("/api/authn2/v0/user/", kAdaUserId));
  EXPECT_EQ(log[0].connection_requests, 1);
  EXPECT_GT(log[0].remote_port, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, ProtocolTest,
    ::testing::Values(
        ProtocolCase{"H2ToAnH2Client", Mode::kH2, CURL_HTTP_VERSION_2TLS,
                     "HTTP/2.0", "h2", CURL_HTTP_VERSION_2_0},
        ProtocolCase{"H2ToAnHttp1Client", Mode::kH2, CURL_HTTP_VERSION_1_1,
                     "HTTP/1.1", "http/1.1", CURL_HTTP_VERSION_1_1},
        ProtocolCase{"Http1OnlyToAnH2Client", Mode::kHttp1Only,
                     CURL_HTTP_VERSION_2TLS, "HTTP/1.1", "http/1.1",
                     CURL_HTTP_VERSION_1_1},
        ProtocolCase{"Http1OnlyToAnHttp1Client", Mode::kHttp1Only,
                     CURL_HTTP_VERSION_1_1, "HTTP/1.1", "http/1.1",
                     CURL_HTTP_VERSION_1_1}),
    [](const ::testing::TestParamInfo<ProtocolCase>& info) {
      return std::string(info.param.name);
    });

TEST(NginxFrontTest, EmulatorFaultsPassThroughOverH2) {
  std::unique_ptr<Stack> stack = StartStack(Mode::kH2);
  ASSERT_NE(stack, nullptr);
  Client client(stack->certs.ca_cert_path, CURL_HTTP_VERSION_2TLS);
  const std::string auth =
      absl::StrCat("Authorization: Bearer ", kDefaultApiKey);
  Fault busy;
  busy.status = 503;
  busy.body = R"({"message":"queued busy"})";
  stack->emulator->PushFault(busy);

  // The header form, for this request only.
  Reply limited = client.Send(
      "PUT", stack->UserUrl(),
      {auth, "Content-Type: application/json",
       "X-Emulator-Fault: status=429;retry_after=7;"
       "body={\"message\":\"slow\"}"},
      R"({"first_name":"A"})");
  // The queued one.
  Reply queued = client.Send("PUT", stack->UserUrl(),
                             {auth, "Content-Type: application/json"},
                             R"({"first_name":"B"})");
  // An RST from the emulator is nginx's to see: it answers 502 itself.
  Reply reset = client.Send(
      "PUT", stack->UserUrl(),
      {auth, "Content-Type: application/json",
       "X-Emulator-Fault: action=reset"},
      R"({"first_name":"C"})");

  ASSERT_EQ(limited.code, CURLE_OK) << limited.error;
  EXPECT_EQ(limited.http_version, CURL_HTTP_VERSION_2_0);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Header("Retry-After"), "7");
  EXPECT_EQ(limited.body, R"({"message":"slow"})");
  ASSERT_EQ(queued.code, CURLE_OK) << queued.error;
  EXPECT_EQ(queued.status, 503);
  EXPECT_EQ(queued.body, R"({"message":"queued busy"})");
  ASSERT_EQ(reset.code, CURLE_OK) << reset.error;
  EXPECT_EQ(reset.status, 502);
  EXPECT_THAT(reset.body, HasSubstr("nginx"));
  // Each request reached the emulator exactly once: nginx never retries.
  EXPECT_EQ(stack->emulator->Requests().size(), 3u);
  ASSERT_TRUE(stack->front->WaitForRequests(3, absl::Seconds(5)));
  std::vector<NginxAccessLogEntry> log = LogOf(*stack->front);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].status, 429);
  EXPECT_EQ(log[1].status, 503);
  EXPECT_EQ(log[2].status, 502);
  EXPECT_EQ(log[2].upstream_status, "502");
  // One h2 connection carried all three.
  EXPECT_EQ(*stack->front->ConnectionCount(), 1);
  EXPECT_EQ(log[2].connection_requests, 3);
}

class KeepaliveTest : public ::testing::TestWithParam<Mode> {};

TEST_P(KeepaliveTest, ConnectionEndsAfterKeepaliveRequests) {
  // GOAWAY on h2, Connection: close on HTTP/1.1: the client's next request
  // goes out on a new connection.
  std::unique_ptr<Stack> stack = StartStack(GetParam(), 2);
  ASSERT_NE(stack, nullptr);
  Client client(stack->certs.ca_cert_path, CURL_HTTP_VERSION_2TLS);

  for (int i = 0; i < 5; ++i) {
    Reply reply = client.Send(
        "PUT", stack->UserUrl(),
        {absl::StrCat("Authorization: Bearer ", kDefaultApiKey),
         "Content-Type: application/json"},
        absl::StrCat(R"({"first_name":"N)", i, R"("})"));
    ASSERT_EQ(reply.code, CURLE_OK) << i << ": " << reply.error;
    ASSERT_EQ(reply.status, 200) << i;
  }

  ASSERT_TRUE(stack->front->WaitForRequests(5, absl::Seconds(5)));
  std::vector<NginxAccessLogEntry> log = LogOf(*stack->front);
  ASSERT_EQ(log.size(), 5u);
  std::vector<int> per_connection;
  for (const NginxAccessLogEntry& entry : log) {
    per_connection.push_back(entry.connection_requests);
    EXPECT_EQ(entry.protocol,
              GetParam() == Mode::kH2 ? "HTTP/2.0" : "HTTP/1.1");
  }
  EXPECT_THAT(per_connection, ElementsAre(1, 2, 1, 2, 1));
  EXPECT_EQ(*stack->front->ConnectionCount(), 3);
  EXPECT_NE(log[1].connection, log[2].connection);
  EXPECT_EQ(stack->emulator->Requests().size(), 5u);
}

INSTANTIATE_TEST_SUITE_P(Modes, KeepaliveTest,
                         ::testing::Values(Mode::kH2, Mode::kHttp1Only),
                         [](const ::testing::TestParamInfo<Mode>& info) {
                           return info.param == Mode::kH2 ? "H2" : "Http1Only";
                         });

TEST(NginxFrontTest, SecondConnectionResumesTheTlsSession) {
  std::unique_ptr<Stack> stack = StartStack(Mode::kH2);
  ASSERT_NE(stack, nullptr);
  // One handle: libcurl keeps the session (TLS 1.3 ticket) it got.
  Client client(stack->certs.ca_cert_path, CURL_HTTP_VERSION_2TLS);
  const std::vector<std::string> headers = {
      absl::StrCat("Authorization: Bearer ", kDefaultApiKey),
      "Content-Type: application/json"};

  Reply first =
      client.Send("PUT", stack->UserUrl(), headers, R"({"first_name":"A"})");
  Reply second =
      client.Send("PUT", stack->UserUrl(), headers, R"({"first_name":"B"})",
                  /*fresh_connection=*/true);

  ASSERT_EQ(first.code, CURLE_OK) << first.error;
  ASSERT_EQ(second.code, CURLE_OK) << second.error;
  ASSERT_TRUE(stack->front->WaitForRequests(2, absl::Seconds(5)));
  std::vector<NginxAccessLogEntry> log = LogOf(*stack->front);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_NE(log[0].connection, log[1].connection);
  EXPECT_FALSE(log[0].ssl_session_reused);
  EXPECT_TRUE(log[1].ssl_session_reused);
}

TEST(NginxFrontTest, WaitForRequestsTimesOutWithoutRequests) {
  std::unique_ptr<Stack> stack = StartStack(Mode::kH2);
  ASSERT_NE(stack, nullptr);

  const absl::Time start = absl::Now();
  EXPECT_FALSE(stack->front->WaitForRequests(1, absl::Milliseconds(200)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
}

bool ConnectRefused(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool refused =
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
          0 &&
      errno == ECONNREFUSED;
  close(fd);
  return refused;
}

TEST(NginxFrontTest, StopEndsNginxAndKeepsTheLogs) {
  std::unique_ptr<Stack> stack = StartStack(Mode::kH2);
  ASSERT_NE(stack, nullptr);
  Client client(stack->certs.ca_cert_path, CURL_HTTP_VERSION_2TLS);
  // Left idle and open: nginx does not wait for it to close.
  Reply reply = client.Send(
      "PUT", stack->UserUrl(),
      {absl::StrCat("Authorization: Bearer ", kDefaultApiKey),
       "Content-Type: application/json"},
      R"({"first_name":"A"})");
  ASSERT_EQ(reply.code, CURLE_OK) << reply.error;
  const int port = stack->front->port();

  const absl::Time start = absl::Now();
  stack->front->Stop();
  stack->front->Stop();  // idempotent

  EXPECT_LT(absl::Now() - start, absl::Seconds(3)) << stack->front->ErrorLog();
  EXPECT_TRUE(ConnectRefused(port));
  EXPECT_EQ(LogOf(*stack->front).size(), 1u);
  EXPECT_THAT(stack->front->ErrorLog(), HasSubstr("exit"));
}

}  // namespace
}  // namespace testing
}  // namespace usergateway
